/**
 * GC / pool sawtooth: slow rises cut by sudden drops (a collection, a pool trim). Peaks say how much garbage
 * piled up; the troughs (what survives a collection) say whether memory leaks. So: find the drops, take the
 * minimum between consecutive drops, and judge the trend of those troughs.
 *
 * A drop is a run of consecutive decreasing samples whose total fall exceeds max(k sigma sqrt(len), f range),
 * where sigma is the robust s.d. of first differences (1.4826 MAD) and range the 1%..99% spread of the
 * series. A sawtooth needs at least `minDrops` drops. O(n).
 */
import { quantileInPlace } from './select.js';

export interface SawtoothOptions {
  /** Drop threshold in robust s.d.s of the first differences (times sqrt(run length)). */
  sigmas?: number;
  /** Drop threshold as a fraction of the series' 1%..99% range. */
  rangeFraction?: number;
  minDrops?: number;
}

export interface Sawtooth {
  /** Sample index where each drop starts (the peak). */
  dropStarts: number[];
  meanDrop: number;
  /** Median time between drops and its coefficient of variation (0 = perfectly periodic). */
  periodSec: number;
  periodCv: number;
  /** Trough = minimum between consecutive drops (after the first drop), as its own series. */
  troughT: Float64Array;
  troughV: Float64Array;
  noiseSd: number;
}

export function detectSawtooth(t: Float64Array, v: Float64Array, options: SawtoothOptions = {}): Sawtooth | undefined {
  const n = v.length;
  const minDrops = options.minDrops ?? 3;
  if (n < 4 * minDrops) return undefined;
  const d = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) d[i - 1] = (v[i] as number) - (v[i - 1] as number);
  const dm = quantileInPlace(d.slice(), 0.5);
  const dev = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) dev[i] = Math.abs((d[i] as number) - dm);
  const sigma = 1.4826 * quantileInPlace(dev, 0.5);
  const vs = v.slice();
  const range = quantileInPlace(vs, 0.99) - quantileInPlace(vs, 0.01);
  if (!(range > 0)) return undefined;
  const k = options.sigmas ?? 8;
  const f = options.rangeFraction ?? 0.05;
  const drops: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n - 1; ) {
    if ((d[i] as number) >= 0) {
      i++;
      continue;
    }
    let j = i;
    let fall = 0;
    while (j < n - 1 && (d[j] as number) < 0) fall -= d[j++] as number;
    const len = j - i;
    if (fall > Math.max(k * sigma * Math.sqrt(len), f * range)) {
      drops.push(i);
      sizes.push(fall);
    }
    i = j;
  }
  if (drops.length < minDrops) return undefined;
  const troughT = new Float64Array(drops.length);
  const troughV = new Float64Array(drops.length);
  for (let c = 0; c < drops.length; c++) {
    const lo = (drops[c] as number) + 1;
    const hi = c + 1 < drops.length ? (drops[c + 1] as number) + 1 : n;
    let bi = lo;
    for (let i = lo; i < hi; i++) if ((v[i] as number) < (v[bi] as number)) bi = i;
    troughT[c] = t[bi] as number;
    troughV[c] = v[bi] as number;
  }
  const gaps = new Float64Array(drops.length - 1);
  for (let c = 1; c < drops.length; c++) gaps[c - 1] = (t[drops[c] as number] as number) - (t[drops[c - 1] as number] as number);
  let gm = 0;
  for (const g of gaps) gm += g;
  gm /= gaps.length;
  let gv = 0;
  for (const g of gaps) gv += (g - gm) ** 2;
  const periodCv = gm > 0 ? Math.sqrt(gv / gaps.length) / gm : 0;
  return {
    dropStarts: drops,
    meanDrop: sizes.reduce((a, b) => a + b, 0) / sizes.length,
    periodSec: quantileInPlace(gaps, 0.5),
    periodCv,
    troughT,
    troughV,
    noiseSd: sigma / Math.SQRT2,
  };
}
