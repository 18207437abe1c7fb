/**
 * Theil-Sen slope: the median of the pairwise slopes (v[j] - v[i]) / (t[j] - t[i]) over i < j.
 *
 * n <= ~630 (at most `maxPairs` pairs): exact, all pairs.
 * Larger n: the median of `maxPairs` (default 200,000) pairs drawn uniformly with a fixed-seed PRNG, so the
 * same series always gives the same slope. Estimator error: the sampled median sits at a rank fraction of the
 * full set of N pairs that is 0.5 +- 0.5/sqrt(m) (one s.d., binomial), i.e. +-0.22% of the pairs at 95% for
 * m = 200,000. `sampleError` is that band expressed in slope units (half the distance between the sample's
 * 0.5 - 1.96*0.5/sqrt(m) and 0.5 + 1.96*0.5/sqrt(m) quantiles): a distribution-free 95% bound on
 * |sampled - exact|. On a linear leak with noise it is ~0.01-0.05% of the slope (see bench/stats.ts).
 *
 * Confidence interval (Sen 1968): with C = z(1-alpha/2) * sqrt(Var S) (the Mann-Kendall variance, after the
 * autocorrelation correction), the bounds are the slopes of rank (N - C)/2 and (N + C)/2 + 1.
 * `theilSenExact` finds the exact median of all N pairs for any n by bisection on b: the number of pairs with
 * slope < b is the inversion count of v - b t (O(n log n) per step, ~60 steps).
 */
import { normalQuantile } from './normal.js';
import { Rng } from './prng.js';
import { quantileInPlace, selectInPlace } from './select.js';
import { sortCountingInversions } from './mann_kendall.js';

export interface TheilSenOptions {
  maxPairs?: number;
  seed?: number;
}

export interface TheilSen {
  slope: number;
  /** Median of v - slope * t. */
  intercept: number;
  /** Pairs in the full set (n(n-1)/2 with distinct t). */
  pairs: number;
  sampled: boolean;
  sampleSize: number;
  /** 95% bound on |slope - exact median| from sampling (0 when exact). */
  sampleError: number;
  /** Sen's (1 - alpha) interval for the slope given Var(S). */
  interval(varS: number, alpha: number): [number, number];
}

export function theilSen(t: Float64Array, v: Float64Array, options: TheilSenOptions = {}): TheilSen {
  const n = t.length;
  const maxPairs = options.maxPairs ?? 200_000;
  const total = (n * (n - 1)) / 2;
  const sampled = total > maxPairs;
  let slopes: Float64Array;
  if (!sampled) {
    slopes = allPairSlopes(t, v);
  } else {
    slopes = new Float64Array(maxPairs);
    const rng = new Rng(options.seed ?? 0x5eed);
    let k = 0;
    while (k < maxPairs) {
      const i = rng.int(n);
      const j = rng.int(n);
      const dt = (t[j] as number) - (t[i] as number);
      if (dt === 0) continue;
      slopes[k++] = ((v[j] as number) - (v[i] as number)) / dt;
    }
  }
  const m = slopes.length;
  if (m === 0) {
    return { slope: 0, intercept: n > 0 ? (v[0] as number) : 0, pairs: 0, sampled, sampleSize: 0, sampleError: 0, interval: () => [-Infinity, Infinity] };
  }
  const slope = quantileInPlace(slopes, 0.5);
  // quantileInPlace left the slopes partitioned at the median's index: every later order statistic is
  // selected within one half (half the work, and the halves stay partitioned for the next one).
  const km = Math.floor(0.5 * (m - 1));
  const pickIndex = (k: number): number => {
    if (k > km) return selectInPlace(slopes, k, km + 1, m - 1);
    if (k < km) return selectInPlace(slopes, k, 0, km - 1);
    return slopes[km] as number;
  };
  const pick = (q: number): number => pickIndex(Math.round(Math.min(1, Math.max(0, q)) * (m - 1)));
  let sampleError = 0;
  if (sampled) {
    const d = (1.96 * 0.5) / Math.sqrt(m);
    sampleError = (pick(0.5 + d) - pick(0.5 - d)) / 2;
  }
  const resid = new Float64Array(n);
  for (let i = 0; i < n; i++) resid[i] = (v[i] as number) - slope * (t[i] as number);
  const intercept = quantileInPlace(resid, 0.5);
  const pairs = sampled ? total : m;
  const interval = (varS: number, alpha: number): [number, number] => {
    const c = normalQuantile(1 - alpha / 2) * Math.sqrt(Math.max(0, varS));
    const m1 = (pairs - c) / 2; // 1-based ranks among the N slopes
    const m2 = (pairs + c) / 2 + 1;
    if (!sampled) {
      const lo = Math.max(0, Math.min(m - 1, Math.floor(m1) - 1));
      const hi = Math.max(0, Math.min(m - 1, Math.ceil(m2) - 1));
      return [pickIndex(lo), pickIndex(hi)];
    }
    return [pick((m1 - 1) / (pairs - 1)), pick((m2 - 1) / (pairs - 1))];
  };
  return { slope, intercept, pairs, sampled, sampleSize: m, sampleError, interval };
}


/** All pairwise slopes with distinct t (n(n-1)/2 of them when t is strictly increasing). */
export function allPairSlopes(t: Float64Array, v: Float64Array): Float64Array {
  const n = t.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const ti = t[i] as number;
    const vi = v[i] as number;
    for (let j = i + 1; j < n; j++) {
      const dt = (t[j] as number) - ti;
      if (dt !== 0) out[k++] = ((v[j] as number) - vi) / dt;
    }
  }
  return k === out.length ? out : out.slice(0, k);
}

/** Number of pairs i < j with slope < b (t strictly increasing). */
export function countSlopesBelow(t: Float64Array, v: Float64Array, b: number): number {
  const w = new Float64Array(t.length);
  for (let i = 0; i < t.length; i++) w[i] = (v[i] as number) - b * (t[i] as number);
  return sortCountingInversions(w);
}

/** Exact Theil-Sen median for any n (t strictly increasing), by bisection. ~1 s at n = 100,000. */
export function theilSenExact(t: Float64Array, v: Float64Array): number {
  const n = t.length;
  const total = (n * (n - 1)) / 2;
  if (total === 0) return 0;
  const kth = (k: number): number => {
    // k-th smallest slope, 0-based. All pair slopes lie within the range of consecutive slopes.
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 1; i < n; i++) {
      const s = ((v[i] as number) - (v[i - 1] as number)) / ((t[i] as number) - (t[i - 1] as number));
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    if (countSlopesBelow(t, v, hi) <= k) return hi;
    for (let it = 0; it < 200 && hi - lo > 1e-13 * Math.max(Math.abs(lo), Math.abs(hi)); it++) {
      const mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (countSlopesBelow(t, v, mid) <= k) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  if (total % 2 === 1) return kth((total - 1) / 2);
  return (kth(total / 2 - 1) + kth(total / 2)) / 2;
}
