import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepRule } from './step.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

test('a one-off step is stable, since the step', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + (x > 12000 ? 2e7 : 0), 1e5, 1);
  const d = stepRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') {
    assert.equal(d.finding.verdict, 'stable');
    assert.ok(Math.abs(d.finding.sinceSec - 12000) <= 200);
    assert.equal(d.finding.model?.best, 'step');
  }
});

test('a step followed by growth passes on the segment after the step', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + (x > 12000 ? 2e7 + 100 * (x - 12000) : 0), 1e5, 2);
  const d = stepRule.apply(contextFor(t, v));
  // Either the step model wins and the view is cut, or the hinge explains it better (warm-up rule's job).
  if (d.kind === 'pass' && d.view) assert.ok((d.view.t[0] as number) >= 11800);
  else assert.equal(d.kind, 'pass');
});

test('a line has no step', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + 100 * x, 1e5, 3);
  assert.deepEqual(stepRule.apply(contextFor(t, v)), { kind: 'pass', evidence: [] });
});
