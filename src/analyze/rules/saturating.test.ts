import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saturatingRule } from './saturating.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

test('a saturating exponential is bounded, with the model that fits and how well', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + 5e7 * (1 - Math.exp(-x / 4000)), 1e5, 1);
  const d = saturatingRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') {
    assert.equal(d.finding.verdict, 'bounded');
    assert.equal(d.finding.model?.best, 'saturating');
    assert.ok((d.finding.model?.r2 ?? 0) > 0.99);
    assert.ok(Math.abs((d.finding.model?.asymptoteBytes ?? 0) - 1.5e8) < 1e6);
    assert.ok(Math.abs((d.finding.model?.tauSec ?? 0) - 4000) < 200);
  }
});

test('a line is not saturating', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + 100 * x, 1e5, 2);
  assert.equal(saturatingRule.apply(contextFor(t, v)).kind, 'pass');
});

test('a curve still far from its asymptote is neither bounded nor a leak: inconclusive, with how long to record', () => {
  const { t, v } = synth(3000, 10, (x) => 1e8 + 5e8 * (1 - Math.exp(-x / 60000)), 1e5, 3);
  const d = saturatingRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') {
    assert.equal(d.finding.verdict, 'inconclusive');
    assert.ok((d.finding.recordMoreSec ?? 0) > 30000, `${d.finding.recordMoreSec}`);
  }
});

test('the first two minutes of a warm-up are inconclusive, not a leak', () => {
  // bench/detect.ts "user, warmup noise": 40 MB with tau 120 s, seen for 120 s.
  const { t, v } = synth(121, 1, (x) => 5e7 + 4e7 * (1 - Math.exp(-x / 120)), 1e5, 4);
  const d = saturatingRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') assert.equal(d.finding.verdict, 'inconclusive');
});

test('a leak under a finished warm-up is passed on, judged after the curve settled', () => {
  const { t, v } = synth(900, 1, (x) => 5e7 + 4e7 * (1 - Math.exp(-x / 120)) + 2400 * x, 1e5, 5);
  const d = saturatingRule.apply(contextFor(t, v));
  assert.equal(d.kind, 'pass');
  if (d.kind === 'pass') assert.ok((d.view?.t[0] ?? 0) >= 300, `${d.view?.t[0]}`);
});
