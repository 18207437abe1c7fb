import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flatRule } from './flat.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

test('noise within a page is flat', () => {
  const { t, v } = synth(1000, 5, () => 5e7, 300, 1);
  const d = flatRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') assert.equal(d.finding.verdict, 'stable');
});

test('a range too small for any trend above the threshold is flat', () => {
  const { t, v } = synth(10000, 10, () => 5e7, 1e4, 2); // range ~8e4 over 1e5 s: < 0.8 B/s < threshold
  const d = flatRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
});

test('a leak is not flat', () => {
  const { t, v } = synth(1000, 10, (x) => 5e7 + 100 * x, 1e4, 3);
  assert.equal(flatRule.apply(contextFor(t, v)).kind, 'pass');
});
