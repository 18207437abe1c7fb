/**
 * Ordinary least squares v = a + b t with the classical t-test on b.
 * This is the "oracle": exact under white Gaussian noise and nothing else (it is fooled by autocorrelation,
 * outliers and sawtooth), so it serves as the reference a benchmark compares the robust tests against.
 */
import { normalQuantile } from './normal.js';

export interface OlsFit {
  n: number;
  slope: number;
  intercept: number;
  slopeSe: number;
  /** Residual sum of squares. */
  sse: number;
  r2: number;
  df: number;
  tStat: number;
  /** Two-sided p-value of slope = 0. */
  pValue: number;
  /** (1 - alpha) confidence interval of the slope. */
  ci: [number, number];
}

export function ols(t: Float64Array, v: Float64Array, alpha = 0.05, start = 0, end = t.length): OlsFit {
  const n = end - start;
  let mt = 0;
  let mv = 0;
  for (let i = start; i < end; i++) {
    mt += t[i] as number;
    mv += v[i] as number;
  }
  mt /= n;
  mv /= n;
  let stt = 0;
  let stv = 0;
  let svv = 0;
  for (let i = start; i < end; i++) {
    const dt = (t[i] as number) - mt;
    const dv = (v[i] as number) - mv;
    stt += dt * dt;
    stv += dt * dv;
    svv += dv * dv;
  }
  const slope = stt > 0 ? stv / stt : 0;
  const intercept = mv - slope * mt;
  const sse = Math.max(0, svv - slope * stv);
  const df = n - 2;
  const s2 = df > 0 ? sse / df : NaN;
  const slopeSe = stt > 0 ? Math.sqrt(s2 / stt) : NaN;
  const tStat = slopeSe > 0 ? slope / slopeSe : slope === 0 ? 0 : Infinity * Math.sign(slope);
  const pValue = df > 0 ? studentTTwoSidedP(tStat, df) : 1;
  const q = df > 0 ? studentTQuantile(1 - alpha / 2, df) : Infinity;
  return { n, slope, intercept, slopeSe, sse, r2: svv > 0 ? 1 - sse / svv : 1, df, tStat, pValue, ci: [slope - q * slopeSe, slope + q * slopeSe] };
}

/** ln Gamma by Lanczos (g = 7, n = 9). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const xx = x - 1;
  let a = c[0] as number;
  const tt = xx + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(tt) - tt + Math.log(a);
}

/** Continued fraction for the incomplete beta (Numerical Recipes betacf, modified Lentz). */
function betacf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const bt = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (bt * betacf(a, b, x)) / a;
  return 1 - (bt * betacf(b, a, 1 - x)) / b;
}

export function studentTTwoSidedP(tStat: number, df: number): number {
  if (!Number.isFinite(tStat)) return Number.isNaN(tStat) ? 1 : 0;
  return incompleteBeta(df / (df + tStat * tStat), df / 2, 0.5);
}

export function studentTCdf(x: number, df: number): number {
  const p = studentTTwoSidedP(x, df) / 2;
  return x >= 0 ? 1 - p : p;
}

/** Quantile of Student's t by bisection on the CDF, started from the normal quantile (rarely called). */
export function studentTQuantile(p: number, df: number): number {
  if (df > 1e6) return normalQuantile(p);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = Math.max(1, normalQuantile(p));
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
