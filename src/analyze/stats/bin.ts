/**
 * Downsampling into at most `maxBins` consecutive bins. Shape questions (change points, saturation) are asked
 * on bin means: O(n) once, then the model searches run on ~500 points whatever the recording's length.
 */
export interface Binned {
  t: Float64Array;
  v: Float64Array;
  /** First sample index of each bin, plus n at the end. */
  starts: Int32Array;
}

export function binSeries(t: Float64Array, v: Float64Array, maxBins: number): Binned {
  const n = t.length;
  const bins = Math.max(1, Math.min(n, maxBins));
  const bt = new Float64Array(bins);
  const bv = new Float64Array(bins);
  const starts = new Int32Array(bins + 1);
  for (let b = 0; b < bins; b++) {
    const lo = Math.floor((b * n) / bins);
    const hi = Math.floor(((b + 1) * n) / bins);
    starts[b] = lo;
    let st = 0;
    let sv = 0;
    for (let i = lo; i < hi; i++) {
      st += t[i] as number;
      sv += v[i] as number;
    }
    bt[b] = st / (hi - lo);
    bv[b] = sv / (hi - lo);
  }
  starts[bins] = n;
  return { t: bt, v: bv, starts };
}

/** Index of the first sample with t >= t0 (t ascending). */
export function lowerBound(t: Float64Array, t0: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if ((t[m] as number) < t0) lo = m + 1;
    else hi = m;
  }
  return lo;
}
