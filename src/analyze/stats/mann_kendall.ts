/**
 * Mann-Kendall trend test in O(n log n).
 *
 * S = sum over i < j of sign(v[j] - v[i]). With P = n(n-1)/2 pairs, D = pairs with v[i] > v[j] (the strict
 * inversions of v in time order) and T = tied pairs, S = (P - T - D) - D. D is counted by a merge sort
 * (Knight 1966) or, faster, by a Fenwick tree over ranks from a radix argsort; the sorted order gives the tie
 * groups for free.
 *
 * Variance with ties: Var(S) = [n(n-1)(2n+5) - sum g(g-1)(2g+5)] / 18 over tie groups of size g.
 *
 * Autocorrelation: memory samples taken every few seconds are strongly autocorrelated, and the plain test then
 * finds "trends" in noise. We use the Hamed-Rao (1998) variance correction rather than Yue-Wang pre-whitening:
 * pre-whitening assumes AR(1) and removes part of a real trend with the lag-1 term (it loses power exactly where
 * sampling is dense, i.e. phi near 1), while Hamed-Rao corrects Var(S) by the effective sample size computed
 * from the autocorrelation of the ranks of the detrended series, at any lag structure, and leaves S alone.
 *   n/n* = 1 + 2 / (n(n-1)(n-2)) * sum_k (n-k)(n-k-1)(n-k-2) rho_k    (only lags with significant rho_k)
 * Lags are computed until `stopAfter` consecutive insignificant ones or `maxLag` (by default capped so the
 * work is at most ~3e7 multiply-adds), which keeps it O(n * lags) with lags ~ 50 for phi = 0.9.
 * The factor is floored at 1: negative autocorrelation never makes the test bolder (never cry wolf).
 */
import { normalQuantile, twoSidedP } from './normal.js';
import { argsort } from './argsort.js';

export interface MannKendallS {
  n: number;
  s: number;
  /** Strict inversions (pairs i < j with v[i] > v[j]). */
  discordant: number;
  tiedPairs: number;
  /** sum over tie groups of g(g-1)(2g+5). */
  tieTerm: number;
  tieGroups: number;
}

/** Sorts `a` in place (ascending) and returns the number of strict inversions it had. */
export function sortCountingInversions(a: Float64Array): number {
  const n = a.length;
  let inv = 0;
  const RUN = 24;
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const x = a[i] as number;
      let j = i - 1;
      while (j >= lo && (a[j] as number) > x) {
        a[j + 1] = a[j] as number;
        j--;
      }
      inv += i - 1 - j;
      a[j + 1] = x;
    }
  }
  let src: Float64Array = a;
  let dst: Float64Array = new Float64Array(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      if (mid >= hi || (src[mid - 1] as number) <= (src[mid] as number)) {
        // Already in order: copy the run (common for trending series).
        dst.set(src.subarray(lo, hi), lo);
        continue;
      }
      while (i < mid && j < hi) {
        const l = src[i] as number;
        const r = src[j] as number;
        if (l <= r) {
          dst[k++] = l;
          i++;
        } else {
          dst[k++] = r;
          j++;
          inv += mid - i;
        }
      }
      while (i < mid) dst[k++] = src[i++] as number;
      while (j < hi) dst[k++] = src[j++] as number;
    }
    const tmp = src;
    src = dst;
    dst = tmp;
  }
  if (src !== a) a.set(src);
  return inv;
}

export function mannKendallS(v: Float64Array, start = 0, end = v.length): MannKendallS {
  const n = end - start;
  const x = start === 0 && end === v.length ? v : v.subarray(start, end);
  // Dense ranks from a radix argsort, then strict inversions with a Fenwick tree: O(n log n) with small
  // constants (the merge sort above does the same in O(n log n) too; this is ~2x faster at n = 100,000).
  const order = argsort(x);
  const rank = new Int32Array(n);
  let tiedPairs = 0;
  let tieTerm = 0;
  let tieGroups = 0;
  let r = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    const val = x[order[i] as number] as number;
    while (j < n && x[order[j] as number] === val) j++;
    r++;
    for (let k = i; k < j; k++) rank[order[k] as number] = r;
    const g = j - i;
    if (g > 1) {
      tiedPairs += (g * (g - 1)) / 2;
      tieTerm += g * (g - 1) * (2 * g + 5);
      tieGroups++;
    }
    i = j;
  }
  const tree = new Int32Array(r + 1);
  let discordant = 0;
  for (let i = 0; i < n; i++) {
    const ri = rank[i] as number;
    let le = 0;
    for (let k = ri; k > 0; k -= k & -k) le += tree[k] as number;
    discordant += i - le;
    for (let k = ri; k <= r; k += k & -k) tree[k] = (tree[k] as number) + 1;
  }
  const pairs = (n * (n - 1)) / 2;
  return { n, s: pairs - tiedPairs - 2 * discordant, discordant, tiedPairs, tieTerm, tieGroups };
}

export function mannKendallVariance(n: number, tieTerm = 0): number {
  return (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
}

/** Average ranks (1-based), ties sharing the mean of their positions. */
export function averageRanks(v: Float64Array): Float64Array {
  const n = v.length;
  const order = argsort(v);
  const out = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    const val = v[order[i] as number] as number;
    while (j < n && v[order[j] as number] === val) j++;
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) out[order[k] as number] = avg;
    i = j;
  }
  return out;
}

export interface HamedRaoOptions {
  /** Significance level for including a lag's autocorrelation (Hamed-Rao use 5%). */
  lagAlpha?: number;
  maxLag?: number;
  /** Stop after this many consecutive insignificant lags. Infinity = all lags up to maxLag (the textbook form). */
  stopAfter?: number;
}

export interface HamedRao {
  /** n / n*: Var(S) is multiplied by this. */
  factor: number;
  /** Factor before flooring at 1. */
  rawFactor: number;
  lagsExamined: number;
  significantLags: number;
  rho1: number;
}

export function hamedRaoFactor(t: Float64Array, v: Float64Array, slope: number, options: HamedRaoOptions = {}): HamedRao {
  const n = v.length;
  if (n < 4) return { factor: 1, rawFactor: 1, lagsExamined: 0, significantLags: 0, rho1: 0 };
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = (v[i] as number) - slope * (t[i] as number);
  const r = averageRanks(x);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += r[i] as number;
  mean /= n;
  let c0 = 0;
  for (let i = 0; i < n; i++) {
    const y = (r[i] as number) - mean;
    r[i] = y;
    c0 += y * y;
  }
  if (c0 === 0) return { factor: 1, rawFactor: 1, lagsExamined: 0, significantLags: 0, rho1: 0 };
  const bound = normalQuantile(1 - (options.lagAlpha ?? 0.05) / 2) / Math.sqrt(n);
  const maxLag = Math.min(n - 2, options.maxLag ?? Math.max(50, Math.floor(3e7 / n)));
  const stopAfter = options.stopAfter ?? 10;
  let sum = 0;
  let quiet = 0;
  let k = 1;
  let significant = 0;
  let rho1 = 0;
  for (; k <= maxLag && quiet < stopAfter; k++) {
    let acc = 0;
    for (let i = 0, m = n - k; i < m; i++) acc += (r[i] as number) * (r[i + k] as number);
    const rho = acc / c0;
    if (k === 1) rho1 = rho;
    if (Math.abs(rho) > bound) {
      sum += (n - k) * (n - k - 1) * (n - k - 2) * rho;
      quiet = 0;
      significant++;
    } else quiet++;
  }
  const rawFactor = 1 + (2 * sum) / (n * (n - 1) * (n - 2));
  return { factor: Math.max(1, rawFactor), rawFactor, lagsExamined: k - 1, significantLags: significant, rho1 };
}

export interface MannKendall extends MannKendallS {
  varS: number;
  /** Var(S) after the autocorrelation correction (equal to varS when none). */
  varSCorrected: number;
  z: number;
  pValue: number;
  /** Kendall's tau = S / (n(n-1)/2). */
  tau: number;
  hamedRao: HamedRao | undefined;
}

export interface MannKendallOptions extends HamedRaoOptions {
  /** Slope used to detrend before the autocorrelation of ranks (the Sen slope); omit to skip the correction. */
  detrendSlope?: number;
  t?: Float64Array;
}

export function mannKendall(v: Float64Array, options: MannKendallOptions = {}): MannKendall {
  const base = mannKendallS(v);
  const n = base.n;
  const varS = mannKendallVariance(n, base.tieTerm);
  let hamedRao: HamedRao | undefined;
  let varSCorrected = varS;
  if (options.detrendSlope !== undefined) {
    const t = options.t ?? indexAxis(n);
    hamedRao = hamedRaoFactor(t, v, options.detrendSlope, options);
    varSCorrected = varS * hamedRao.factor;
  }
  const z = mannKendallZ(base.s, varSCorrected);
  return { ...base, varS, varSCorrected, z, pValue: twoSidedP(z), tau: n > 1 ? base.s / ((n * (n - 1)) / 2) : 0, hamedRao };
}

/** z with the continuity correction. */
export function mannKendallZ(s: number, varS: number): number {
  if (varS <= 0 || s === 0) return 0;
  return (s > 0 ? s - 1 : s + 1) / Math.sqrt(varS);
}

function indexAxis(n: number): Float64Array {
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = i;
  return t;
}
