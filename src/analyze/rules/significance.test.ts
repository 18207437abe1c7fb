import { test } from 'node:test';
import assert from 'node:assert/strict';
import { significanceRule } from './significance.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

function verdictOf(t: Float64Array, v: Float64Array) {
  const d = significanceRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind !== 'verdict') throw new Error('unreachable');
  return d.finding;
}

test('a linear leak in white noise is a leak whose CI contains the truth', () => {
  const { t, v } = synth(2000, 10, (x) => 1e8 + 50 * x, 1e5, 1);
  const f = verdictOf(t, v);
  assert.equal(f.verdict, 'leak');
  assert.ok(f.ci[0] <= 50 && 50 <= f.ci[1], `${f.ci}`);
  assert.ok(f.confidence > 0.99);
});

test('noise around a constant is stable', () => {
  const { t, v } = synth(2000, 10, () => 1e8, 1e5, 2);
  assert.equal(verdictOf(t, v).verdict, 'stable');
});

test('a short recording of a small leak is inconclusive, and says how much longer to record', () => {
  const { t, v } = synth(120, 5, (x) => 1e8 + 100 * x, 1e5, 3);
  const f = verdictOf(t, v);
  assert.equal(f.verdict, 'inconclusive');
  assert.ok((f.recordMoreSec ?? 0) > 0);
  // Recording that much longer does decide.
  const longer = synth(Math.ceil((600 + (f.recordMoreSec ?? 0)) / 5) * 2, 5, (x) => 1e8 + 100 * x, 1e5, 3);
  assert.equal(verdictOf(longer.t, longer.v).verdict, 'leak');
});
