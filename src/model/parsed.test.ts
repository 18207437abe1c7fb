import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withFiniteValues } from './parsed.js';
import { parseMeminfo } from '../parse/meminfo.js';
import { parseOomReports } from '../parse/evidence/oom.js';
import { corpus } from '../../test/corpus.js';

test('withFiniteValues: a non-finite number takes its array record with it, or its own key outside arrays; one warning', () => {
  const shared = { bytes: Infinity, line: 7 };
  const r = withFiniteValues({
    value: { total: NaN, kept: 1, nested: { a: 2, b: -Infinity }, sites: [{ bytes: 1 }, shared, { bytes: 3, ages: { min: NaN } }], again: [shared], pids: [1, NaN, 3] },
    warnings: [],
  });
  assert.deepStrictEqual(r.value, { kept: 1, nested: { a: 2 }, sites: [{ bytes: 1 }], again: [], pids: [1, 3] });
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!.reason, /^number out of range \(309\+ digits, or not a number\) at value\.total and 4 more: dropped/);
  assert.equal(r.warnings[0]!.severity, 'data-loss');
});

test('meminfo with a 309-digit value: a warning and the key left out (it was Infinity, stored as such)', () => {
  const r = parseMeminfo(`MemTotal:       16384 kB\nMemFree:        ${'9'.repeat(309)} kB\n`);
  assert.equal(Object.values(r.value).some((v) => v === Infinity), false);
  assert.ok(JSON.stringify(r.value).includes('16777216'));
  assert.ok(r.warnings.some((w) => /number out of range/.test(w.reason)), JSON.stringify(r.warnings));
});

test('an OOM report with a 309-digit page count keeps its other reports and no Infinity', () => {
  const text = corpus('oom')[0]!.text.replace(/(\d+) pages RAM/, `${'9'.repeat(320)} pages RAM`);
  const r = parseOomReports(text);
  assert.ok(!JSON.stringify(r.value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? 'NONFINITE' : v)).includes('NONFINITE'));
});
