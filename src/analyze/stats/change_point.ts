/**
 * Single change-point searches by exhaustive scan with prefix sums: O(m) for m points, each candidate an O(1)
 * 3-regressor least-squares solve. Run on binned data (bin.ts), so m is a few hundred.
 *
 *  - hinge: continuous piecewise linear, v = a + b1 t + b2 max(0, t - t_k). Finds the end of a warm-up
 *    (steep then flat) and the onset of a leak (flat then rising).
 *  - step:  a level shift with a common slope, v = a + b t + c [t >= t_k]. Finds a one-off step.
 * Models are compared by BIC (models.ts); a change point is kept only when it wins clearly.
 */

export interface HingeFit {
  index: number;
  breakT: number;
  slopeBefore: number;
  slopeAfter: number;
  sse: number;
}

export interface StepFit {
  index: number;
  stepT: number;
  jump: number;
  slope: number;
  sse: number;
}

interface Normalized {
  x: Float64Array;
  y: Float64Array;
  tScale: number;
  vScale: number;
}

/** t to [0, 1], v to zero mean and unit variance, so the sums of squares stay well conditioned in bytes. */
function normalize(t: Float64Array, v: Float64Array): Normalized {
  const n = t.length;
  const t0 = t[0] as number;
  const span = (t[n - 1] as number) - t0 || 1;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i] as number;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((v[i] as number) - mean) ** 2;
  const sd = Math.sqrt(ss / n) || 1;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = ((t[i] as number) - t0) / span;
    y[i] = ((v[i] as number) - mean) / sd;
  }
  return { x, y, tScale: span, vScale: sd };
}

/** Solves the 3x3 normal equations; returns [beta0, beta1, beta2, sse] or undefined when singular. */
function solve3(
  n: number, st: number, sz: number, stt: number, stz: number, szz: number,
  sv: number, stv: number, szv: number, svv: number,
): [number, number, number, number] | undefined {
  const a11 = n, a12 = st, a13 = sz, a22 = stt, a23 = stz, a33 = szz;
  const c11 = a22 * a33 - a23 * a23;
  const c12 = a13 * a23 - a12 * a33;
  const c13 = a12 * a23 - a13 * a22;
  const det = a11 * c11 + a12 * c12 + a13 * c13;
  if (!(Math.abs(det) > 1e-12 * Math.max(1, n * n * n))) return undefined;
  const c22 = a11 * a33 - a13 * a13;
  const c23 = a12 * a13 - a11 * a23;
  const c33 = a11 * a22 - a12 * a12;
  const b0 = (c11 * sv + c12 * stv + c13 * szv) / det;
  const b1 = (c12 * sv + c22 * stv + c23 * szv) / det;
  const b2 = (c13 * sv + c23 * stv + c33 * szv) / det;
  const sse = svv - (b0 * sv + b1 * stv + b2 * szv);
  return [b0, b1, b2, Math.max(0, sse)];
}

interface Suffix {
  t: Float64Array;
  tt: Float64Array;
  v: Float64Array;
  tv: Float64Array;
}

function suffixSums(x: Float64Array, y: Float64Array): Suffix {
  const n = x.length;
  const s: Suffix = { t: new Float64Array(n + 1), tt: new Float64Array(n + 1), v: new Float64Array(n + 1), tv: new Float64Array(n + 1) };
  for (let i = n - 1; i >= 0; i--) {
    const a = x[i] as number;
    const b = y[i] as number;
    s.t[i] = (s.t[i + 1] as number) + a;
    s.tt[i] = (s.tt[i + 1] as number) + a * a;
    s.v[i] = (s.v[i + 1] as number) + b;
    s.tv[i] = (s.tv[i + 1] as number) + a * b;
  }
  return s;
}

export function bestHinge(t: Float64Array, v: Float64Array, minSegment = 5): HingeFit | undefined {
  const n = t.length;
  if (n < 2 * minSegment + 1) return undefined;
  const { x, y, tScale, vScale } = normalize(t, v);
  const s = suffixSums(x, y);
  let svv = 0;
  for (let i = 0; i < n; i++) svv += (y[i] as number) ** 2;
  const St = s.t[0] as number, Stt = s.tt[0] as number, Sv = s.v[0] as number, Stv = s.tv[0] as number;
  let best: HingeFit | undefined;
  for (let k = minSegment; k <= n - minSegment; k++) {
    const tk = x[k] as number;
    const c = n - k;
    const st = s.t[k] as number, stt = s.tt[k] as number, sv = s.v[k] as number, stv = s.tv[k] as number;
    const sz = st - tk * c;
    const szz = stt - 2 * tk * st + tk * tk * c;
    const stz = stt - tk * st;
    const szv = stv - tk * sv;
    const r = solve3(n, St, sz, Stt, stz, szz, Sv, Stv, szv, svv);
    if (!r) continue;
    const sse = r[3] * vScale * vScale;
    if (!best || sse < best.sse) {
      best = { index: k, breakT: t[k] as number, slopeBefore: (r[1] * vScale) / tScale, slopeAfter: ((r[1] + r[2]) * vScale) / tScale, sse };
    }
  }
  return best;
}

export function bestStep(t: Float64Array, v: Float64Array, minSegment = 3): StepFit | undefined {
  const n = t.length;
  if (n < 2 * minSegment + 1) return undefined;
  const { x, y, tScale, vScale } = normalize(t, v);
  const s = suffixSums(x, y);
  let svv = 0;
  for (let i = 0; i < n; i++) svv += (y[i] as number) ** 2;
  const St = s.t[0] as number, Stt = s.tt[0] as number, Sv = s.v[0] as number, Stv = s.tv[0] as number;
  let best: StepFit | undefined;
  for (let k = minSegment; k <= n - minSegment; k++) {
    const c = n - k;
    const r = solve3(n, St, c, Stt, s.t[k] as number, c, Sv, Stv, s.v[k] as number, svv);
    if (!r) continue;
    const sse = r[3] * vScale * vScale;
    if (!best || sse < best.sse) best = { index: k, stepT: t[k] as number, jump: r[2] * vScale, slope: (r[1] * vScale) / tScale, sse };
  }
  return best;
}
