import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warmupRule } from './warmup.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

test('warm-up then plateau is bounded, judged after the change point', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + Math.min(x, 5000) * 2000, 1e5, 1);
  const d = warmupRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') {
    assert.equal(d.finding.verdict, 'bounded');
    assert.ok(Math.abs(d.finding.sinceSec - 5000) < 300);
  }
});

test('warm-up then a leak passes with the view cut at the change point', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + Math.min(x, 5000) * 2000 + 30 * x, 1e5, 2);
  const d = warmupRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'pass');
  if (d.kind === 'pass') assert.ok(Math.abs((d.view?.t[0] ?? 0) - 5000) < 300);
});

test('a straight line has no change point', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + 30 * x, 1e5, 3);
  assert.deepEqual(warmupRule.apply(contextFor(t, v)), { kind: 'pass', evidence: [] });
});
