import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reclaimableRule } from './reclaimable.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

test('growing page cache is reclaimable, with its rate', () => {
  const { t, v } = synth(2000, 10, (x) => 1e9 + 500 * x, 1e5, 1);
  const d = reclaimableRule.apply(contextFor(t, v, { kind: 'reclaimable' }));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') {
    assert.equal(d.finding.verdict, 'reclaimable');
    assert.ok(d.finding.ci[0] < 500 && 500 < d.finding.ci[1]);
  }
});

test('a normal series passes', () => {
  const { t, v } = synth(200, 10, (x) => 1e9 + 500 * x, 1e5, 1);
  assert.equal(reclaimableRule.apply(contextFor(t, v)).kind, 'pass');
});
