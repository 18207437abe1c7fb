/**
 * Shape-preserving downsampling for charts: a week at 1 s is 604,800 points, a chart is ~1,200 pixels wide.
 * The full data stays in the database; the report keeps, per pixel-wide time bucket, each series' minimum and
 * maximum in the order they occurred (a spike of one sample survives, a sawtooth keeps its teeth).
 * LTTB (Steinarsson 2013, "Downsampling Time Series for Visual Representation") is here for sparklines, where
 * one point per bucket reads better than an envelope.
 * Pure: arrays in, arrays out. NaN (not sampled) becomes null, and an empty stretch of time becomes a null
 * point so the line breaks over a gap instead of bridging it.
 */

export interface Downsampled {
  /** Times of the kept points, same axis as the input. */
  t: number[];
  /** One array per input series, aligned with t; null where the series has no value. */
  ys: (number | null)[][];
}

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/**
 * Min/max per time bucket for several series on one axis. Each bucket yields two points (at the times of its
 * first and last sample); for every series the two slots hold its extremes in the order they occurred.
 * Input with at most 2 x buckets samples comes back unchanged (NaN -> null).
 */
export function downsampleMinMax(t: ArrayLike<number>, ys: readonly ArrayLike<number>[], buckets: number): Downsampled {
  const n = t.length;
  const nb = Math.max(1, Math.floor(buckets));
  if (n <= 2 * nb) {
    return { t: Array.from(t), ys: ys.map((y) => Array.from({ length: n }, (_, i) => (finite(y[i]) ? y[i] as number : null))) };
  }
  const t0 = t[0] as number;
  const span = (t[n - 1] as number) - t0;
  const width = span > 0 ? span / nb : 1;
  const outT: number[] = [];
  const outY: (number | null)[][] = ys.map(() => []);
  let i = 0;
  let lastBucket = -1;
  while (i < n) {
    const b = Math.min(nb - 1, Math.floor(((t[i] as number) - t0) / width));
    let j = i;
    while (j < n && Math.min(nb - 1, Math.floor(((t[j] as number) - t0) / width)) === b) j++;
    if (lastBucket >= 0 && b > lastBucket + 1) {
      // No sample for at least one whole bucket: break the line.
      outT.push(((t[i - 1] as number) + (t[i] as number)) / 2);
      for (const o of outY) o.push(null);
    }
    outT.push(t[i] as number, t[j - 1] as number);
    ys.forEach((y, s) => {
      let lo = Infinity;
      let hi = -Infinity;
      let loAt = -1;
      let hiAt = -1;
      for (let k = i; k < j; k++) {
        const v = y[k];
        if (!finite(v)) continue;
        if (v < lo) { lo = v; loAt = k; }
        if (v > hi) { hi = v; hiAt = k; }
      }
      const o = outY[s] as (number | null)[];
      if (loAt < 0) o.push(null, null);
      else if (loAt <= hiAt) o.push(lo, hi);
      else o.push(hi, lo);
    });
    lastBucket = b;
    i = j;
  }
  return { t: outT, ys: outY };
}

/**
 * Largest-Triangle-Three-Buckets on one series: `threshold` points, first and last kept, each bucket's point
 * the one making the largest triangle with the previous pick and the next bucket's average. NaN points are
 * dropped first.
 */
export function lttb(t: ArrayLike<number>, y: ArrayLike<number>, threshold: number): { t: number[]; y: number[] } {
  const xs: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const v = y[i];
    if (finite(v) && finite(t[i])) { xs.push(t[i] as number); vs.push(v); }
  }
  const n = xs.length;
  const m = Math.max(3, Math.floor(threshold));
  if (n <= m) return { t: xs, y: vs };
  const outT = [xs[0] as number];
  const outY = [vs[0] as number];
  const every = (n - 2) / (m - 2);
  let a = 0;
  for (let b = 0; b < m - 2; b++) {
    const start = Math.floor(b * every) + 1;
    const end = Math.min(n - 1, Math.floor((b + 1) * every) + 1);
    const nextStart = end;
    const nextEnd = Math.min(n, Math.floor((b + 2) * every) + 1);
    let avgX = 0;
    let avgY = 0;
    const cnt = Math.max(1, nextEnd - nextStart);
    for (let k = nextStart; k < nextEnd; k++) { avgX += xs[k] as number; avgY += vs[k] as number; }
    if (nextEnd > nextStart) { avgX /= cnt; avgY /= cnt; } else { avgX = xs[n - 1] as number; avgY = vs[n - 1] as number; }
    const ax = xs[a] as number;
    const ay = vs[a] as number;
    let best = start;
    let bestArea = -1;
    for (let k = start; k < end; k++) {
      const area = Math.abs((ax - avgX) * ((vs[k] as number) - ay) - (ax - (xs[k] as number)) * (avgY - ay));
      if (area > bestArea) { bestArea = area; best = k; }
    }
    outT.push(xs[best] as number);
    outY.push(vs[best] as number);
    a = best;
  }
  outT.push(xs[n - 1] as number);
  outY.push(vs[n - 1] as number);
  return { t: outT, y: outY };
}
