import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allPairSlopes, theilSen, theilSenExact } from './theil_sen.js';
import { mannKendall } from './mann_kendall.js';
import { median } from './select.js';
import { synth } from './synthetic.js';

test('exact for small n: the median of all pairwise slopes', () => {
  for (const n of [3, 10, 101, 600]) {
    const { t, v } = synth(n, 2, (x) => 7 * x, 100, n);
    const want = median(allPairSlopes(t, v));
    const got = theilSen(t, v);
    assert.equal(got.sampled, false);
    assert.equal(got.slope, want);
  }
});

test('sampled estimate stays within its stated error of the exact median (n <= 2000)', () => {
  for (const [n, seed] of [[1000, 1], [2000, 2], [2000, 3]] as const) {
    const { t, v } = synth(n, 5, (x) => 3 * x + 1e4 * Math.sin(x / 500), 2000, seed);
    const exact = median(allPairSlopes(t, v));
    const s = theilSen(t, v, { maxPairs: 50_000 });
    assert.equal(s.sampled, true);
    assert.ok(Math.abs(s.slope - exact) <= s.sampleError, `n ${n}: |${s.slope} - ${exact}| > ${s.sampleError}`);
    assert.ok(Math.abs(s.slope - exact) / Math.abs(exact) < 0.02);
  }
});

test('theilSenExact (bisection on inversion counts) equals the all-pairs median', () => {
  for (const n of [50, 301, 800]) {
    const { t, v } = synth(n, 1, (x) => -2 * x, 30, n + 1);
    const want = median(allPairSlopes(t, v));
    const got = theilSenExact(t, v);
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.abs(want), `${got} vs ${want}`);
  }
});

test('the same input gives the same slope (fixed seed)', () => {
  const { t, v } = synth(3000, 1, (x) => x, 10, 4);
  assert.equal(theilSen(t, v).slope, theilSen(t, v).slope);
});

test("Sen's interval covers the true slope in ~99% of white-noise cases", () => {
  let covered = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const { t, v } = synth(200, 1, (x) => 0.5 * x, 10, seed);
    const ts = theilSen(t, v);
    const [lo, hi] = ts.interval(mannKendall(v).varS, 0.01);
    if (lo <= 0.5 && 0.5 <= hi) covered++;
  }
  assert.ok(covered >= 95, `covered ${covered}/100`);
});
