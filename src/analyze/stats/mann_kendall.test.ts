import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './prng.js';
import { averageRanks, hamedRaoFactor, mannKendall, mannKendallS, mannKendallVariance, sortCountingInversions } from './mann_kendall.js';
import { synth } from './synthetic.js';

function naiveS(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) for (let j = i + 1; j < v.length; j++) s += Math.sign((v[j] as number) - (v[i] as number));
  return s;
}

function naiveVar(v: Float64Array): number {
  const n = v.length;
  const counts = new Map<number, number>();
  for (const x of v) counts.set(x, (counts.get(x) ?? 0) + 1);
  let tie = 0;
  for (const g of counts.values()) tie += g * (g - 1) * (2 * g + 5);
  return (n * (n - 1) * (2 * n + 5) - tie) / 18;
}

function randomSeries(seed: number, n: number, levels: number): Float64Array {
  const r = new Rng(seed);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.floor(r.next() * levels) + 0.01 * i * (seed % 3);
  return v;
}

test('S and tie-corrected variance match the O(n^2) definition on random data with and without ties', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const n = 2 + (seed * 37) % 400;
    const v = randomSeries(seed, n, seed % 2 === 0 ? 5 : 1e9);
    const got = mannKendallS(v);
    assert.equal(got.s, naiveS(v), `seed ${seed} n ${n}`);
    assert.equal(mannKendallVariance(n, got.tieTerm), naiveVar(v), `seed ${seed} variance`);
  }
});

test('merge-sort inversion count matches the naive count and sorts', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const v = randomSeries(seed, 1 + seed * 13, 7);
    let naive = 0;
    for (let i = 0; i < v.length; i++) for (let j = i + 1; j < v.length; j++) if ((v[i] as number) > (v[j] as number)) naive++;
    const a = v.slice();
    assert.equal(sortCountingInversions(a), naive);
    assert.deepEqual(Array.from(a), Array.from(v).sort((x, y) => x - y));
  }
});

test('average ranks share ties', () => {
  assert.deepEqual(Array.from(averageRanks(new Float64Array([3, 1, 3, 2, -5]))), [4.5, 2, 4.5, 3, 1]);
});

/** Hamed-Rao as written in the paper (and pyMannKendall): all lags 1..n-2, significant ones only, biased ACF. */
function referenceHamedRao(v: Float64Array, slope: number): number {
  const n = v.length;
  const x = Array.from(v, (y, i) => y - slope * i);
  const sorted = [...x].sort((a, b) => a - b);
  const rank = x.map((y) => {
    const first = sorted.indexOf(y);
    const last = sorted.lastIndexOf(y);
    return (first + last) / 2 + 1;
  });
  const mean = rank.reduce((a, b) => a + b, 0) / n;
  const y = rank.map((r) => r - mean);
  const c0 = y.reduce((a, b) => a + b * b, 0);
  const bound = 1.959963984540054 / Math.sqrt(n);
  let sum = 0;
  for (let k = 1; k <= n - 2; k++) {
    let c = 0;
    for (let i = 0; i + k < n; i++) c += (y[i] as number) * (y[i + k] as number);
    const rho = c / c0;
    if (Math.abs(rho) > bound) sum += (n - k) * (n - k - 1) * (n - k - 2) * rho;
  }
  return 1 + (2 * sum) / (n * (n - 1) * (n - 2));
}

test('Hamed-Rao factor equals the textbook all-lags computation', () => {
  for (const [seed, phi] of [[1, 0.9], [2, 0.5], [3, 0], [4, -0.4]] as const) {
    const { v } = synth(300, 1, (t) => 3 * t, 50, seed, phi);
    const t = Float64Array.from({ length: 300 }, (_, i) => i);
    const got = hamedRaoFactor(t, v, 3, { stopAfter: Infinity, maxLag: 298 });
    const want = referenceHamedRao(v, 3);
    assert.ok(Math.abs(got.rawFactor - want) < 1e-9 * Math.abs(want), `phi ${phi}: ${got.rawFactor} vs ${want}`);
  }
  // A known value: AR(1) with phi = 0.9 inflates Var(S) by roughly (1+phi)/(1-phi) in theory (~19 for values;
  // less for ranks and at finite n).
  const { v } = synth(2000, 1, () => 0, 1, 9, 0.9);
  const t = Float64Array.from({ length: 2000 }, (_, i) => i);
  const f = hamedRaoFactor(t, v, 0).factor;
  assert.ok(f > 5 && f < 25, `factor ${f}`);
});

test('the adaptive lag cut-off stays close to the all-lags factor on AR(1) noise', () => {
  const { t, v } = synth(1500, 1, () => 0, 1, 5, 0.9);
  const all = hamedRaoFactor(t, v, 0, { stopAfter: Infinity, maxLag: 1498 }).rawFactor;
  const cut = hamedRaoFactor(t, v, 0).rawFactor;
  assert.ok(Math.abs(cut - all) / all < 0.35, `cut ${cut} all ${all}`);
});

test('mannKendall finds a trend and none in white noise', () => {
  const up = synth(500, 1, (t) => 0.05 * t, 1, 1);
  assert.ok(mannKendall(up.v).pValue < 1e-6);
  const flat = synth(500, 1, () => 0, 1, 2);
  assert.ok(mannKendall(flat.v).pValue > 0.01);
});
