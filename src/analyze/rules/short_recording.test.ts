import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortRecordingRule } from './short_recording.js';
import { contextFor } from './testing.js';
import { synth } from '../stats/synthetic.js';

const memTotalBytes = 24e9; // material growth: 2.4 MB

test('two minutes of a small rise (600 KB) are inconclusive, with how long to record', () => {
  const { t, v } = synth(120, 1, (x) => 7e5 + 5000 * x, 2e4, 1);
  const d = shortRecordingRule.apply(contextFor(t, v, { memTotalBytes }));
  assert.equal(d.kind, 'verdict');
  if (d.kind === 'verdict') {
    assert.equal(d.finding.verdict, 'inconclusive');
    assert.ok((d.finding.recordMoreSec ?? 0) > 0 && (d.finding.recordMoreSec ?? 0) <= 600 - 119, `${d.finding.recordMoreSec}`);
  }
});

test('two minutes of a fast leak (140 KB/s, 17 MB) pass on to the significance test', () => {
  const { t, v } = synth(120, 1, (x) => 2.6e7 + 1.4e5 * x, 2e5, 2);
  assert.equal(shortRecordingRule.apply(contextFor(t, v, { memTotalBytes })).kind, 'pass');
});

test('a recording of ten minutes or more is not short', () => {
  const { t, v } = synth(700, 1, (x) => 7e5 + 500 * x, 2e4, 3);
  assert.deepEqual(shortRecordingRule.apply(contextFor(t, v, { memTotalBytes })), { kind: 'pass', evidence: [] });
});
