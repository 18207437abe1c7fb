import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSeries } from '../trend.js';
import { synth } from '../stats/synthetic.js';

const GiB = 1024 ** 3;

test('a GC sawtooth whose troughs stay level over 6 cycles is bounded, with the level and the rate bound', () => {
  // 41.2 MB troughs, 20 MB of garbage collected every 100 s, 2 s samples for 10 minutes, on 24 GiB.
  const { t, v } = synth(300, 2, (x) => 41.2e6 + ((x % 100) / 100) * 20e6, 3e5, 7);
  const f = analyzeSeries(t, v, { memTotalBytes: 24 * GiB, subject: 'proc.java:42.anon' });
  assert.equal(f.verdict, 'bounded', f.evidence.join(' | '));
  assert.equal(f.bound?.what, 'troughs');
  assert.ok(f.bound && f.bound.cycles !== null && f.bound.cycles >= 5, JSON.stringify(f.bound));
  assert.ok(f.bound && Math.abs(f.bound.levelBytes - 41.2e6) < 1e6, JSON.stringify(f.bound));
  assert.ok(f.bound && f.bound.maxRateBytesPerSec <= (1e-3 * 24 * GiB) / 3600);
  assert.match(f.evidence.join(' | '), /bounded: troughs flat at .* over \d+ cycles/);
});

test('a leak under the same sawtooth is not bounded', () => {
  // Troughs rise by 20 KB/s: 0.3% of 24 GiB per hour.
  const { t, v } = synth(300, 2, (x) => 41.2e6 + 2e4 * x + ((x % 100) / 100) * 20e6, 3e5, 8);
  const f = analyzeSeries(t, v, { memTotalBytes: 24 * GiB, subject: 'proc.java:42.anon' });
  // Five troughs in 10 minutes: not yet significant at p < 0.01, but never called bounded.
  assert.notEqual(f.verdict, 'bounded', f.evidence.join(' | '));
  assert.notEqual(f.verdict, 'stable', f.evidence.join(' | '));
});

test('three cycles are too few to read a bound from troughs', () => {
  const { t, v } = synth(150, 2, (x) => 41.2e6 + ((x % 100) / 100) * 20e6, 3e5, 9);
  const f = analyzeSeries(t, v, { memTotalBytes: 24 * GiB });
  assert.notEqual(f.bound?.what, 'troughs');
});
