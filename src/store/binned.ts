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

/** One series being binned: positions before `pos` are in its bins; `val` holds from `pos` on until its next change. */
interface Binning { out: Float64Array; pos: number; val: number; sum: number; cnt: number; any: boolean }

/**
 * The timeline (ids, ms) of the samples to bin is given by the caller (StoreReader.timeline); series are read
 * from their first chunk, so every value before the range is carried in. Chunks are read in the order they
 * were written (rowid: one flush window after another, 4x faster than per series through the index on a
 * week), with every series' state open at once; that state is its output bins and five numbers.
 */
export function readBinned(
  db: Database.Database, recordingId: number, ids: Float64Array, tMs: Float64Array, flushedUpTo: number, tailChangesSql: string, options: BinnedOptions,
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
  /** Position of the first sample with id >= `id` (0 before the range, n after it). */
  const position = (id: number): number => {
    if (id <= firstId) return 0;
    if (contiguous) return Math.min(n, id - firstId);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ids[mid] as number) < id) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  /** Fills positions [s.pos, to) with s.val, closing every bin it completes. */
  const advance = (s: Binning, to: number): void => {
    let pos = s.pos;
    const v = s.val;
    const finite = Number.isFinite(v);
    while (pos < to) {
      const b = binOf[pos] as number;
      const binEnd = bounds[b + 1] as number;
      const end = to < binEnd ? to : binEnd;
      if (finite) { s.sum += v * (end - pos); s.cnt += end - pos; }
      pos = end;
      if (pos === binEnd) {
        if (s.cnt > 0) { s.out[b] = s.sum / s.cnt; s.any = true; } else s.out[b] = NaN;
        s.sum = 0;
        s.cnt = 0;
      }
    }
    s.pos = pos;
  };

  const keys = new Map<number, string>();
  for (const [id, key] of db.prepare('SELECT id, key FROM series WHERE recording_id = ?').raw(true).iterate(recordingId) as Iterable<[number, string]>) {
    if (!options.keys || options.keys.has(key)) keys.set(id, key);
  }
  const state = new Map<number, Binning>();
  const stateOf = (sid: number): Binning => {
    let s = state.get(sid);
    if (!s) { s = { out: new Float64Array(bins), pos: 0, val: NaN, sum: 0, cnt: 0, any: false }; state.set(sid, s); }
    return s;
  };
  const change = (s: Binning, sampleId: number, v: number): void => {
    const p = position(sampleId);
    if (p < s.pos) throw new RangeError('chunks out of order');
    advance(s, p);
    s.val = v;
  };
  let samples = new Float64Array(FLUSH_POINTS);
  let values = new Float64Array(FLUSH_POINTS);
  const chunks = db.prepare(`SELECT series_id, first_sample_id, n, data FROM chunk
    WHERE +series_id IN (SELECT id FROM series WHERE recording_id = ?) AND first_sample_id <= ? ORDER BY id`).raw(true)
    .iterate(recordingId, lastId) as Iterable<[number, number, number, Uint8Array]>;
  for (const [sid, first, m, data] of chunks) {
    if (!keys.has(sid)) continue;
    if (m > samples.length) { samples = new Float64Array(m); values = new Float64Array(m); }
    const count = decodePointsInto(first, data, samples, values, 0);
    const s = stateOf(sid);
    for (let k = 0; k < count; k++) {
      const id = samples[k] as number;
      if (id > lastId) break;
      // The common case inline: contiguous ids, a change inside the bin being filled.
      const p = contiguous ? (id <= firstId ? 0 : id - firstId) : position(id);
      if (p < s.pos) throw new RangeError('chunks out of order');
      if (p < (bounds[(binOf[s.pos] as number) + 1] as number) && s.pos < n) {
        const len = p - s.pos;
        if (len > 0 && Number.isFinite(s.val)) { s.sum += s.val * len; s.cnt += len; }
        s.pos = p;
      } else advance(s, p);
      s.val = values[k] as number;
    }
  }
  // Changes not yet flushed into chunks (at most one flush window), in sample order.
  const pendingRows = db.prepare(tailChangesSql).raw(true)
    .iterate({ rec: recordingId, after: flushedUpTo, upTo: lastId }) as Iterable<[number, Uint8Array]>;
  // Each log is decoded after the state before its sample (codec.ts: changes are steps from the previous value).
  const previous = (sid: number): number => state.get(sid)?.val ?? NaN;
  for (const [sampleId, data] of pendingRows) decodeChanges(data, (sid, v) => { if (keys.has(sid)) change(stateOf(sid), sampleId, v); }, previous);
  for (const [sid, s] of state) {
    advance(s, n);
    const key = keys.get(sid);
    if (s.any && key !== undefined) table.series.set(key, s.out);
  }
  return table;
}

/** Points a chunk holds at most (FLUSH_SAMPLES, schema.ts), grown on demand. */
const FLUSH_POINTS = 1024;
