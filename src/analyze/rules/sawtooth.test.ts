import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sawtoothRule } from './sawtooth.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

test('a GC sawtooth is judged on its troughs', () => {
  const { t, v } = synth(5000, 10, (x) => 1e8 + 20 * x + ((x % 3000) / 3000) * 5e7, 1e5, 1);
  const d = sawtoothRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'pass');
  if (d.kind === 'pass') {
    assert.equal(d.view?.what, 'troughs');
    assert.equal(d.view?.t.length, 16);
    // Troughs sit at the start of each cycle, so they rise by 20 B/s * 3000 s per cycle.
    const tv = d.view?.v ?? new Float64Array(0);
    assert.ok(Math.abs(((tv[15] as number) - (tv[0] as number)) / 15 - 6e4) < 2e5);
  }
});

test('a straight line with noise has no sawtooth', () => {
  const { t, v } = synth(5000, 10, (x) => 1e8 + 20 * x, 1e5, 2);
  const d = sawtoothRule.apply(contextFor(t, v));
  assert.deepEqual(d, { kind: 'pass', evidence: [] });
});
