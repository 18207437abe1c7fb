/**
 * Every series of a recording in one pass over its chunks, binned to at most `maxBins` points: what analysis
 * of a long recording reads. A week at 1 s is 604,800 samples x ~1,150 series (5.6 GB as dense float64);
 * binned to 10,000 points it is ~90 MB, whatever the length, and nothing dense is ever built: each series'
 * change points go straight into its bins (a piecewise-constant series has an exact bin mean from its runs).
 *
 * Bins: consecutive runs of samples, bin b = samples [floor(b n / B), floor((b+1) n / B)), as
 * analyze/stats/bin.ts cuts them; n <= B gives one sample a bin (the exact series). A bin's time is the mean of
 * its samples' times (shared by every series); its value is the mean of the series' finite values in it, NaN
 * when the series was absent throughout the bin. Chunks are streamed (statement.iterate), one series' bins
 * are built at a time.
 */
import type Database from 'better-sqlite3';
import { decodeChanges, decodePointsInto } from './codec.js';

export interface BinnedTable {
  /** Bin times: mean taken_at_ms of the samples in each bin. */
  tMs: Float64Array;
  /** Samples in each bin. */
  counts: Int32Array;
  /** Samples binned (the recording's samples in range). */
  samples: number;
  firstSampleId: number | null;
  lastSampleId: number | null;
  /** Series key -> bin means (NaN: absent in the whole bin). Series with no value in range are left out. */
  series: Map<string, Float64Array>;
}

export interface BinnedOptions {
  maxBins: number;
  /** Only these keys (default every series). */
  keys?: ReadonlySet<string>;
}

/**
 * Bins one piecewise-constant series given its change points as timeline positions `idx` (ascending; -1 before
 * the range) and values; false when it has no finite value in range.
 */
function binSteps(
  idx: Int32Array, values: Float64Array, count: number, n: number, binOf: Int32Array, bounds: Int32Array,
  sum: Float64Array, cnt: Float64Array, out: Float64Array,
): boolean {
  sum.fill(0);
  cnt.fill(0);
  for (let k = 0; k < count; k++) {
    const v = values[k] as number;
    if (!Number.isFinite(v)) continue;
    let from = idx[k] as number;
    const to = k + 1 < count ? (idx[k + 1] as number) : n;
    if (from < 0) from = 0;
    while (from < to) {
      const b = binOf[from] as number;
      const end = Math.min(to, bounds[b + 1] as number);
      const len = end - from;
      sum[b] = (sum[b] as number) + v * len;
      cnt[b] = (cnt[b] as number) + len;
      from = end;
    }
  }
  let any = false;
  for (let b = 0; b < out.length; b++) {
    const c = cnt[b] as number;
    out[b] = c > 0 ? (sum[b] as number) / c : NaN;
    if (c > 0) any = true;
  }
  return any;
}

/**
 * The timeline (ids, ms) of the samples to bin is given by the caller (StoreReader.timeline); series are read
 * from their first chunk, so every value before the range is carried in.
 */
export function readBinned(
  db: Database.Database, recordingId: number, ids: Float64Array, tMs: Float64Array, flushedUpTo: number, options: BinnedOptions,
): BinnedTable {
  const n = ids.length;
  const bins = Math.max(0, Math.min(n, Math.floor(options.maxBins)));
  const bounds = new Int32Array(bins + 1);
  for (let b = 0; b <= bins; b++) bounds[b] = Math.floor((b * n) / Math.max(1, bins));
  const binOf = new Int32Array(n);
  const tOut = new Float64Array(bins);
  const counts = new Int32Array(bins);
  for (let b = 0; b < bins; b++) {
    let s = 0;
    for (let i = bounds[b] as number; i < (bounds[b + 1] as number); i++) { binOf[i] = b; s += tMs[i] as number; }
    counts[b] = (bounds[b + 1] as number) - (bounds[b] as number);
    tOut[b] = s / (counts[b] as number);
  }
  const table: BinnedTable = {
    tMs: tOut, counts, samples: n, firstSampleId: n > 0 ? (ids[0] as number) : null, lastSampleId: n > 0 ? (ids[n - 1] as number) : null, series: new Map(),
  };
  if (n === 0) return table;
  const firstId = ids[0] as number;
  const lastId = ids[n - 1] as number;
  const contiguous = lastId - firstId === n - 1;
  /** Position of the first sample with id >= `id` (-1 before the range, n after it). */
  const position = (id: number): number => {
    if (id < firstId) return -1;
    if (contiguous) return id - firstId;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ids[mid] as number) < id) lo = mid + 1; else hi = mid;
    }
    return lo;
  };

  const keys = new Map<number, string>();
  for (const [id, key] of db.prepare('SELECT id, key FROM series WHERE recording_id = ?').raw(true).iterate(recordingId) as Iterable<[number, string]>) {
    if (!options.keys || options.keys.has(key)) keys.set(id, key);
  }
  // Changes not yet flushed into chunks (at most one flush window): per series, in sample order.
  const pending = new Map<number, { samples: number[]; values: number[] }>();
  const pendingRows = db.prepare('SELECT sample_id, data FROM pending WHERE recording_id = ? AND sample_id > ? AND sample_id <= ? ORDER BY sample_id')
    .raw(true).iterate(recordingId, flushedUpTo, lastId) as Iterable<[number, Uint8Array]>;
  for (const [sampleId, data] of pendingRows) {
    decodeChanges(data, (sid, v) => {
      if (!keys.has(sid)) return;
      let p = pending.get(sid);
      if (!p) { p = { samples: [], values: [] }; pending.set(sid, p); }
      p.samples.push(sampleId);
      p.values.push(v);
    });
  }

  const sum = new Float64Array(bins);
  const cnt = new Float64Array(bins);
  let samples = new Float64Array(4096);
  let values = new Float64Array(4096);
  let idx = new Int32Array(4096);
  let count = 0;
  let current = -1;
  const finish = (): void => {
    if (current < 0) return;
    const key = keys.get(current);
    const p = pending.get(current);
    if (p) {
      ensure(count + p.samples.length);
      samples.set(p.samples, count);
      values.set(p.values, count);
      count += p.samples.length;
      pending.delete(current);
    }
    if (key !== undefined && count > 0) {
      // Points after the range are dropped; the last point before it is where the range starts.
      let end = count;
      while (end > 0 && (samples[end - 1] as number) > lastId) end--;
      let start = 0;
      while (start + 1 < end && (samples[start + 1] as number) <= firstId) start++;
      if (end > start) {
        for (let k = start; k < end; k++) idx[k - start] = position(samples[k] as number);
        const out = new Float64Array(bins);
        if (binSteps(idx, values.subarray(start, end), end - start, n, binOf, bounds, sum, cnt, out)) table.series.set(key, out);
      }
    }
    count = 0;
  };
  const ensure = (need: number): void => {
    if (need <= samples.length) return;
    let size = samples.length;
    while (size < need) size *= 2;
    const s = new Float64Array(size); s.set(samples.subarray(0, count)); samples = s;
    const v = new Float64Array(size); v.set(values.subarray(0, count)); values = v;
    idx = new Int32Array(size);
  };
  const chunks = db.prepare(`SELECT c.series_id, c.first_sample_id, c.n, c.data FROM chunk c JOIN series s ON s.id = c.series_id
    WHERE s.recording_id = ? AND c.first_sample_id <= ? ORDER BY c.series_id, c.first_sample_id`).raw(true).iterate(recordingId, lastId) as Iterable<[number, number, number, Uint8Array]>;
  for (const [sid, first, m, data] of chunks) {
    if (sid !== current) { finish(); current = sid; }
    if (!keys.has(sid)) continue;
    ensure(count + m);
    count = decodePointsInto(first, data, samples, values, count);
  }
  finish();
  // Series that exist only in pending rows (appeared after the last flush).
  for (const sid of [...pending.keys()]) { current = sid; count = 0; finish(); }
  return table;
}
