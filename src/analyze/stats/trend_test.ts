/**
 * The robust trend test used by every rule: Theil-Sen slope, Mann-Kendall with tie correction and the
 * Hamed-Rao autocorrelation correction, and Sen's confidence interval from the corrected variance.
 * Detrending for Hamed-Rao uses the Theil-Sen slope, as Hamed and Rao do.
 */
import { mannKendall, type HamedRaoOptions, type MannKendall } from './mann_kendall.js';
import { theilSen, type TheilSenOptions } from './theil_sen.js';

export interface TrendTestOptions extends TheilSenOptions {
  alpha?: number;
  hamedRao?: HamedRaoOptions | false;
}

export interface TrendTest {
  n: number;
  spanSec: number;
  slope: number;
  intercept: number;
  ci: [number, number];
  pValue: number;
  z: number;
  mk: MannKendall | undefined;
  /** n / n* applied to Var(S) (1 when no correction). */
  varianceFactor: number;
  sampled: boolean;
  sampleError: number;
  test: string;
}

export function trendTest(t: Float64Array, v: Float64Array, options: TrendTestOptions = {}): TrendTest {
  const n = t.length;
  const alpha = options.alpha ?? 0.01;
  const spanSec = n > 0 ? (t[n - 1] as number) - (t[0] as number) : 0;
  if (n < 3) {
    const slope = n === 2 && spanSec > 0 ? ((v[1] as number) - (v[0] as number)) / spanSec : 0;
    return { n, spanSec, slope, intercept: n > 0 ? (v[0] as number) : 0, ci: [-Infinity, Infinity], pValue: 1, z: 0, mk: undefined, varianceFactor: 1, sampled: false, sampleError: 0, test: 'too few points' };
  }
  const ts = theilSen(t, v, options);
  const hr = options.hamedRao;
  const mk = mannKendall(v, hr === false ? {} : { ...(hr ?? {}), t, detrendSlope: ts.slope });
  const ci = ts.interval(mk.varSCorrected, alpha);
  return {
    n,
    spanSec,
    slope: ts.slope,
    intercept: ts.intercept,
    ci,
    pValue: mk.pValue,
    z: mk.z,
    mk,
    varianceFactor: mk.varSCorrected / mk.varS,
    sampled: ts.sampled,
    sampleError: ts.sampleError,
    test: hr === false ? 'Mann-Kendall + Theil-Sen' : 'Mann-Kendall (Hamed-Rao) + Theil-Sen',
  };
}
