import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeSeries } from './trend.js';
import { synth } from './stats/synthetic.js';

const cases = [
  { name: 'linear leak + white noise => leak, CI contains the truth', gen: () => synth(2000, 10, (x) => 1e8 + 50 * x, 1e5, 1), want: ['leak'], truth: 50 },
  { name: 'leak under a sawtooth => leak at the trough rate', gen: () => synth(5000, 10, (x) => 1e8 + 20 * x + ((x % 3000) / 3000) * 5e7, 1e5, 2), want: ['leak'], truth: 20 },
  { name: 'sawtooth without a leak => not a leak', gen: () => synth(5000, 10, (x) => 1e8 + ((x % 3000) / 3000) * 5e7, 1e5, 3), want: ['stable', 'inconclusive'] },
  { name: 'warm-up then plateau => bounded/stable', gen: () => synth(3000, 10, (x) => 1e8 + Math.min(x, 5000) * 2000, 1e5, 4), want: ['bounded', 'stable'] },
  { name: 'warm-up then leak => leak since the change point', gen: () => synth(3000, 10, (x) => 1e8 + Math.min(x, 5000) * 2000 + 30 * x, 1e5, 5), want: ['leak'], truth: 30 },
  { name: 'saturating exponential => bounded', gen: () => synth(3000, 10, (x) => 1e8 + 5e7 * (1 - Math.exp(-x / 4000)), 1e5, 6), want: ['bounded'] },
  { name: 'a step => not a leak', gen: () => synth(3000, 10, (x) => 1e8 + (x > 12000 ? 2e7 : 0), 1e5, 7), want: ['stable'] },
  { name: 'noise around a constant => stable', gen: () => synth(3000, 10, () => 1e8, 1e5, 8), want: ['stable'] },
] as const;

for (const c of cases) {
  test(c.name, () => {
    const { t, v } = c.gen();
    const f = analyzeSeries(t, v, { subject: 'meminfo.SUnreclaim' });
    assert.ok((c.want as readonly string[]).includes(f.verdict), `${f.verdict} by ${f.rule}\n${f.evidence.join('\n')}`);
    if ('truth' in c) assert.ok(f.ci[0] <= c.truth && c.truth <= f.ci[1], `CI ${f.ci} misses ${c.truth}`);
    assert.ok(f.evidence.length > 0);
  });
}

test('reclaimable kind => reclaimable', () => {
  const { t, v } = synth(2000, 10, (x) => 1e9 + 500 * x, 1e5, 9);
  assert.equal(analyzeSeries(t, v, { kind: 'reclaimable' }).verdict, 'reclaimable');
});

test('too-short recording of a small leak => inconclusive with recordMoreSec > 0', () => {
  const { t, v } = synth(120, 5, (x) => 1e8 + 100 * x, 1e5, 10);
  const f = analyzeSeries(t, v);
  assert.equal(f.verdict, 'inconclusive');
  assert.ok((f.recordMoreSec ?? 0) > 0);
});

test('AR(1) noise (phi = 0.9), no trend: false leak rate over 200 seeds <= 5% at alpha 0.01', () => {
  let leaks = 0;
  let naiveLeaks = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const { t, v } = synth(1000, 10, () => 1e8, 1e6, 1000 + seed, 0.9);
    if (analyzeSeries(t, v).verdict === 'leak') leaks++;
    // Without the Hamed-Rao correction the same test cries wolf far more often.
    if (analyzeSeries(t, v, { hamedRao: { maxLag: 0 } }).verdict === 'leak') naiveLeaks++;
  }
  assert.ok(leaks <= 10, `false leaks ${leaks}/200 (uncorrected: ${naiveLeaks}/200)`);
  assert.ok(naiveLeaks > leaks, `correction should matter: ${naiveLeaks} vs ${leaks}`);
});

test('deterministic: same input, same finding', () => {
  const { t, v } = synth(5000, 10, (x) => 1e8 + 50 * x, 1e5, 11);
  assert.deepEqual(analyzeSeries(t, v), analyzeSeries(t, v));
});
