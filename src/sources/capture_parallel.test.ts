import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtures } from '../../test/corpus.js';
import { planRanges } from './capture_parallel.js';
import { STAMPS, series, reference, stampLines, withFile } from './capture_testing.js';
import type { SeriesOptions } from './capture_file.js';

/** The plain capture `copies` times over (3 samples each, about 27 KB a sample), MemFree varied per copy. */
function bigLog(copies: number): string {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  const out: string[] = [];
  for (let i = 0; i < copies; i++) out.push(f.text.replace(/^MemFree: +\d+/gm, `MemFree:        ${1000 + i}`));
  return out.join('');
}

/** Samples of slabinfo, meminfo, free in that order: a MemTotal line is inside a sample, never at its start. */
function slabFirstLog(samples: number): string {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  const t = f.text;
  const mem = t.slice(t.indexOf('MemTotal:'), t.indexOf('#####', t.indexOf('MemTotal:')));
  const slab = t.slice(t.indexOf('slabinfo - version'), t.indexOf('#####', t.indexOf('slabinfo - version')));
  const free = t.slice(t.indexOf('               total'), t.indexOf('#####', t.indexOf('               total')));
  const sep = '#'.repeat(68);
  const out: string[] = [];
  for (let i = 0; i < samples; i++) {
    out.push(`${sep}\ncat slabinfo...\n${slab}${sep}\ncat meminfo...\n${mem.replace(/^MemFree: +\d+/m, `MemFree:        ${1000 + i}`)}${'#'.repeat(19)}\n${free}`);
  }
  return out.join('');
}

function insertBefore(text: string, prefix: string, nth: number, ...add: string[]): string {
  const lines = text.split('\n');
  let seen = 0;
  const at = lines.findIndex((l) => l.startsWith(prefix) && seen++ === nth);
  assert.ok(at >= 0, `${prefix} #${nth}`);
  lines.splice(at, 0, ...add);
  return lines.join('\n');
}

/** Ranges of about one sample (the joins are many), or of several. */
const SPLITS: { name: string; options: SeriesOptions }[] = [
  { name: '1 worker, ranges of ~1 sample', options: { intervalSec: 5, parallel: { minBytes: 0, rangeBytes: 20_000, workers: 1, maxPending: 2 } } },
  { name: '2 workers, ranges of ~3 samples', options: { intervalSec: 5, parallel: { minBytes: 0, rangeBytes: 80_000, workers: 2, maxPending: 3 } } },
];

test('ranges start at a MemTotal line and cover the file', () => {
  withFile(bigLog(4), (path) => {
    const ranges = planRanges(path, 20_000);
    assert.ok(ranges.length > 5);
    assert.equal(ranges[0]?.start, 0);
    for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]?.start, ranges[i - 1]?.end);
  });
});

test('ranges of a stamped log start at a stamped MemTotal line', () => {
  withFile(stampLines(bigLog(4), STAMPS['minicom'] as (ms: number) => string), (path) => {
    const ranges = planRanges(path, 20_000);
    assert.ok(ranges.length > 5);
    const text = readFileSync(path, 'latin1');
    for (const r of ranges.slice(1)) assert.match(text.slice(r.start, r.start + 40), /^\[[-0-9 :.]+\] MemTotal:/);
  });
});

test('the parallel fast path equals the generic path value for value, line for line', () => {
  const variants: [string, string, 'fast' | 'fast+generic'][] = [
    ['plain', bigLog(12), 'fast'],
    ['CRLF', bigLog(12).replace(/\n/g, '\r\n'), 'fast'],
    ['no final newline', bigLog(12).trimEnd(), 'fast'],
    ['a stray line mid-log (a range stops: the generic path goes on)', insertBefore(bigLog(12), 'kmalloc-64 ', 17, 'debug: stray print'), 'fast+generic'],
    ['cut inside the last slabinfo (its line count comes from an earlier range)', (() => {
      const t = bigLog(12);
      return t.slice(0, t.lastIndexOf('kmalloc-64 '));
    })(), 'fast'],
    ['a headerless free row in a later range (the header comes from an earlier one)', insertBefore(bigLog(12), 'slabinfo - version', 25, 'Mem:        24684096      462668    23900104        8788      564172    24221428'), 'fast+generic'],
    ['samples that do not start at MemTotal (the joins fail: sequential from there)', slabFirstLog(36), 'fast'],
    ['meminfo only', bigLog(12).replace(/^slabinfo - version[^]*?(?=^#{68})/gm, ''), 'fast'],
    // Keys the first range never saw (a cache created later, from sample 20 on; its own row copied under a new
    // name): those samples are renumbered value by value, the others delivered as views of their scanner's row.
    ['a slab cache that appears after the first range', (() => {
      const lines = bigLog(12).split('\n');
      const rows = lines.flatMap((l, i) => (l.startsWith('kmalloc-64 ') ? [i] : []));
      assert.equal(rows.length, 36);
      for (const i of rows.slice(20).reverse()) lines.splice(i, 0, (lines[i] as string).replace('kmalloc-64 ', 'late-cache '));
      return lines.join('\n');
    })(), 'fast'],
    // A logger's stamp on every line: ranges cut at stamped MemTotal lines, samples timed by the stamps, the clock
    // carried from range to range (an unstamped sample is timed one period after the one before, in another range).
    ['tio time-of-day stamps across midnight (the day counted from range to range)', stampLines(bigLog(12), STAMPS['tio'] as (ms: number) => string, Date.UTC(2026, 11, 7, 23, 59, 0)), 'fast'],
    ['minicom stamps', stampLines(bigLog(12), STAMPS['minicom'] as (ms: number) => string), 'fast'],
    ['ts %.s stamps, CRLF', stampLines(bigLog(12), STAMPS['epoch'] as (ms: number) => string).replace(/\n/g, '\r\n'), 'fast'],
    ['dmesg -T stamps, two samples without stamps', (() => {
      const ls = stampLines(bigLog(12), STAMPS['dmesgT'] as (ms: number) => string).split('\n');
      const starts = ls.flatMap((l, i) => (l.includes('] MemTotal:') ? [i] : []));
      for (const k of [13, 27]) for (let i = (starts[k] as number) - 2; i < (starts[k + 1] as number); i++) ls[i] = (ls[i] as string).slice((ls[i] as string).indexOf('] ') + 2);
      return ls.join('\n');
    })(), 'fast'],
  ];
  for (const [name, text, wantPath] of variants) {
    withFile(text, (path) => {
      const want = reference(path, 5);
      assert.ok(want.length > 20, name);
      for (const s of SPLITS) {
        const { got, path: which } = series(path, s.options);
        assert.equal(which, wantPath, `${name} (${s.name})`);
        assert.deepStrictEqual(got, want, `${name} (${s.name})`);
      }
    });
  }
});
