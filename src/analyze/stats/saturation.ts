/**
 * Saturating growth v = a - b exp(-(t - t0) / tau): for a fixed tau the model is linear in (a, b), so it is
 * fitted exactly by least squares over a log-spaced grid of tau (span/200 .. 20 span), then refined by golden
 * section between the best grid neighbours. An LRU cache or a pool filling up fits this; a leak fits a line.
 */

export interface SaturatingFit {
  /** Asymptote (bytes). */
  a: number;
  /** Distance below the asymptote at t0 (positive: approaches from below). */
  b: number;
  tauSec: number;
  t0: number;
  sse: number;
  r2: number;
}

export interface LinearFit {
  slope: number;
  intercept: number;
  sse: number;
  r2: number;
}

export function fitLinear(t: Float64Array, v: Float64Array): LinearFit {
  const n = t.length;
  let mt = 0;
  let mv = 0;
  for (let i = 0; i < n; i++) {
    mt += t[i] as number;
    mv += v[i] as number;
  }
  mt /= n;
  mv /= n;
  let stt = 0;
  let stv = 0;
  let svv = 0;
  for (let i = 0; i < n; i++) {
    const a = (t[i] as number) - mt;
    const b = (v[i] as number) - mv;
    stt += a * a;
    stv += a * b;
    svv += b * b;
  }
  const slope = stt > 0 ? stv / stt : 0;
  const sse = Math.max(0, svv - slope * stv);
  return { slope, intercept: mv - slope * mt, sse, r2: svv > 0 ? 1 - sse / svv : 1 };
}

function fitForTau(t: Float64Array, v: Float64Array, tau: number, svvTotal: number): SaturatingFit {
  const n = t.length;
  const t0 = t[0] as number;
  let mx = 0;
  let mv = 0;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = Math.exp(-((t[i] as number) - t0) / tau);
    x[i] = e;
    mx += e;
    mv += v[i] as number;
  }
  mx /= n;
  mv /= n;
  let sxx = 0;
  let sxv = 0;
  let svv = 0;
  for (let i = 0; i < n; i++) {
    const a = (x[i] as number) - mx;
    const b = (v[i] as number) - mv;
    sxx += a * a;
    sxv += a * b;
    svv += b * b;
  }
  const c = sxx > 0 ? sxv / sxx : 0;
  const sse = Math.max(0, svv - c * sxv);
  return { a: mv - c * mx, b: -c, tauSec: tau, t0, sse, r2: svvTotal > 0 ? 1 - sse / svvTotal : 1 };
}

export function fitSaturating(t: Float64Array, v: Float64Array, gridSize = 40): SaturatingFit {
  const n = t.length;
  const span = (t[n - 1] as number) - (t[0] as number) || 1;
  let mv = 0;
  for (let i = 0; i < n; i++) mv += v[i] as number;
  mv /= n;
  let svv = 0;
  for (let i = 0; i < n; i++) svv += ((v[i] as number) - mv) ** 2;
  const lo = Math.log(span / 200);
  const hi = Math.log(span * 20);
  const taus: number[] = [];
  for (let g = 0; g < gridSize; g++) taus.push(Math.exp(lo + ((hi - lo) * g) / (gridSize - 1)));
  let bestG = 0;
  let best = fitForTau(t, v, taus[0] as number, svv);
  for (let g = 1; g < gridSize; g++) {
    const f = fitForTau(t, v, taus[g] as number, svv);
    if (f.sse < best.sse) {
      best = f;
      bestG = g;
    }
  }
  // Golden section on log(tau) between the neighbours of the best grid point.
  let a = Math.log(taus[Math.max(0, bestG - 1)] as number);
  let b = Math.log(taus[Math.min(gridSize - 1, bestG + 1)] as number);
  const phi = (Math.sqrt(5) - 1) / 2;
  let c = b - phi * (b - a);
  let d = a + phi * (b - a);
  let fc = fitForTau(t, v, Math.exp(c), svv);
  let fd = fitForTau(t, v, Math.exp(d), svv);
  for (let it = 0; it < 30; it++) {
    if (fc.sse < fd.sse) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = fitForTau(t, v, Math.exp(c), svv);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = fitForTau(t, v, Math.exp(d), svv);
    }
  }
  for (const f of [fc, fd]) if (f.sse < best.sse) best = f;
  return best;
}
