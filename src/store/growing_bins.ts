/**
 * Bin means of every series of a recording that is still being written, kept up to date: update() reads only
 * what was committed since the last call (new timeline rows, chunks and unflushed changes), so the dashboard's
 * analysis of a week-long recording costs milliseconds of reading a refresh instead of a full binned read
 * (~3 s CPU a week, binned.ts).
 *
 * Bins: `width` consecutive samples each, bin b = samples [b width, (b+1) width); the last bin holds what has
 * arrived of it. Whenever more than `maxBins` bins would be needed, neighbouring bins are merged in pairs and
 * the width doubles (sums and counts merge exactly), so there are between maxBins/2 and maxBins bins. This
 * differs from binned.ts, whose B bins split n samples evenly (they move whenever n grows); both are means of
 * runs of consecutive samples, and `counts` says how many samples each bin holds.
 * Per series the state is the running mean per bin of its finite values (updated as values arrive: a bin's
 * mean moves by (v - mean) * k / count), a count per bin of the samples without a value (only for series that
 * ever lacked one) and the value holding since its last change: ~8 bytes a bin, ~92 MB for 1,150 series x
 * 10,000 bins, what binned.ts holds. table() hands out views of the means, valid until the next update().
 * Every update runs in one read transaction, so a flush committed meanwhile is seen whole or not at all.
 */
import type Database from 'better-sqlite3';
import { decodeChanges, decodePointsInto } from './codec.js';
import type { BinnedTable } from './binned.js';

/**
 * `mean`: per bin, the mean of the series' values at the samples binned so far (positions before `pos`), NaN
 * while it has none; `gap`: per bin, the samples without a value, allocated only once there is one (most
 * series never lack one). A bin's count of values is its samples before `pos` minus its gap.
 */
interface SeriesBins { mean: Float64Array; gap: Int32Array | undefined; val: number; pos: number; any: boolean }

export class GrowingBins {
  private width = 1;
  private n = 0;
  private ids = new Float64Array(1024);
  private tMs = new Float64Array(1024);
  /** Sum of sample times and sample count per bin. */
  private tSum: Float64Array;
  private tCnt: Int32Array;
  private readonly state = new Map<number, SeriesBins>();
  private readonly keys = new Map<number, string>();
  /** Changes of samples up to this id are in the bins. */
  private appliedThrough = 0;
  /** Chunk rows up to this rowid were read. */
  private lastChunkRowid = 0;
  private lastTimelineId = 0;

  constructor(
    private readonly db: Database.Database,
    readonly recordingId: number,
    private readonly tailChangesSql: string,
    readonly maxBins: number,
  ) {
    if (!Number.isInteger(maxBins) || maxBins < 2) throw new RangeError(`maxBins must be an integer >= 2, got ${maxBins}`);
    this.tSum = new Float64Array(maxBins);
    this.tCnt = new Int32Array(maxBins);
  }

  /** Samples binned so far. */
  get samples(): number { return this.n; }
  /** Samples per bin. */
  get binWidth(): number { return this.width; }

  /** Reads what was committed since the last update; returns the number of new samples. */
  update(): number {
    return this.db.transaction(() => this.readNew())();
  }

  /**
   * The bins as a BinnedTable (means; NaN where a series had no value in a whole bin). Its series are views of
   * this object's state: use the table before the next update().
   */
  table(): BinnedTable {
    const nb = this.binCount();
    const tMs = new Float64Array(nb);
    const counts = new Int32Array(nb);
    for (let b = 0; b < nb; b++) { tMs[b] = (this.tSum[b] as number) / (this.tCnt[b] as number); counts[b] = this.tCnt[b] as number; }
    const out: BinnedTable = {
      tMs, counts, samples: this.n, firstSampleId: this.n > 0 ? (this.ids[0] as number) : null,
      lastSampleId: this.n > 0 ? (this.ids[this.n - 1] as number) : null, series: new Map(),
    };
    for (const [sid, s] of this.state) {
      if (!s.any) continue;
      const key = this.keys.get(sid);
      if (key === undefined) continue;
      out.series.set(key, s.mean.subarray(0, nb));
    }
    return out;
  }

  private binCount(): number { return Math.ceil(this.n / this.width); }

  private readNew(): number {
    const db = this.db;
    const rec = this.recordingId;
    const known = this.n > 0 ? (this.ids[this.n - 1] as number) : 0;
    // New samples: timeline chunks that end after the last known one, then unflushed sample rows.
    const before = this.n;
    for (const [tlId, first, count, data] of db.prepare(`SELECT id, first_sample_id, n, data FROM timeline
      WHERE recording_id = ? AND last_sample_id > ? ORDER BY first_sample_id`).raw(true).iterate(rec, known) as Iterable<[number, number, number, Uint8Array]>) {
      const ids = new Float64Array(count);
      const t = new Float64Array(count);
      decodePointsInto(first, data, ids, t, 0);
      for (let i = 0; i < count; i++) if ((ids[i] as number) > known) this.pushSample(ids[i] as number, t[i] as number);
      if (tlId > this.lastTimelineId) this.lastTimelineId = tlId;
    }
    const flushed = (db.prepare('SELECT MAX(last_sample_id) FROM timeline WHERE recording_id = ?').pluck().get(rec) as number | null) ?? 0;
    for (const [id, ms] of db.prepare('SELECT id, taken_at_ms FROM sample WHERE +recording_id = ? AND id > ? ORDER BY id')
      .raw(true).iterate(rec, Math.max(known, flushed)) as Iterable<[number, number]>) this.pushSample(id, ms);
    if (this.n === before) return 0;
    const lastId = this.ids[this.n - 1] as number;
    for (const [id, key] of db.prepare('SELECT id, key FROM series WHERE recording_id = ?').raw(true).iterate(rec) as Iterable<[number, string]>) {
      this.keys.set(id, key);
    }
    // Changes: chunk rows written since the last update (rowids ascend with every flush, in both layouts),
    // skipping points already applied from unflushed rows; then the unflushed rows not yet applied.
    let samples = new Float64Array(1024);
    let values = new Float64Array(1024);
    for (const [rowid, sid, first, m, data] of db.prepare(`SELECT id, series_id, first_sample_id, n, data FROM chunk
      WHERE id > ? AND +series_id IN (SELECT id FROM series WHERE recording_id = ?) ORDER BY id`).raw(true)
      .iterate(this.lastChunkRowid, rec) as Iterable<[number, number, number, number, Uint8Array]>) {
      this.lastChunkRowid = rowid;
      if (first > lastId) continue;
      if (m > samples.length) { samples = new Float64Array(m); values = new Float64Array(m); }
      const count = decodePointsInto(first, data, samples, values, 0);
      const s = this.stateOf(sid);
      for (let k = 0; k < count; k++) {
        const id = samples[k] as number;
        if (id <= this.appliedThrough) continue;
        if (id > lastId) break;
        this.change(s, id, values[k] as number);
      }
    }
    const previous = (sid: number): number => this.state.get(sid)?.val ?? NaN;
    for (const [sampleId, data] of db.prepare(this.tailChangesSql).raw(true)
      .iterate({ rec, after: Math.max(this.appliedThrough, flushed), upTo: lastId }) as Iterable<[number, Uint8Array]>) {
      decodeChanges(data, (sid, v) => this.change(this.stateOf(sid), sampleId, v), previous);
    }
    this.appliedThrough = lastId;
    for (const s of this.state.values()) this.advance(s, this.n);
    return this.n - before;
  }

  private pushSample(id: number, ms: number): void {
    if (this.n === this.ids.length) {
      const ids = new Float64Array(this.n * 2);
      ids.set(this.ids);
      this.ids = ids;
      const t = new Float64Array(this.n * 2);
      t.set(this.tMs);
      this.tMs = t;
    }
    // The bin this sample opens must exist: merge pairs first when it would be one too many.
    if (this.n % this.width === 0 && this.n / this.width >= this.maxBins) this.mergePairs();
    this.ids[this.n] = id;
    this.tMs[this.n] = ms;
    const b = Math.floor(this.n / this.width);
    this.tSum[b] = (this.tSum[b] as number) + ms;
    this.tCnt[b] = (this.tCnt[b] as number) + 1;
    this.n++;
  }

  /** Bin pairs (2b, 2b+1) become bin b; the width doubles. Series are advanced no further than before. */
  private mergePairs(): void {
    const merge = (a: Float64Array | Int32Array): void => {
      const nb = a.length;
      for (let b = 0; b < nb; b++) {
        const x = 2 * b < nb ? (a[2 * b] as number) : 0;
        const y = 2 * b + 1 < nb ? (a[2 * b + 1] as number) : 0;
        a[b] = x + y;
      }
    };
    const w = this.width;
    merge(this.tSum);
    merge(this.tCnt);
    for (const s of this.state.values()) {
      // Values a series holds in bin b: its samples there before s.pos, less its gap there (before merging it).
      const held = (b: number): number => Math.max(0, Math.min(w, s.pos - b * w)) - (s.gap ? s.gap[b] as number : 0);
      const m = s.mean;
      const nb = m.length;
      for (let b = 0; b < nb; b++) {
        const c1 = 2 * b < nb ? held(2 * b) : 0;
        const c2 = 2 * b + 1 < nb ? held(2 * b + 1) : 0;
        const m1 = m[2 * b] as number;
        const m2 = m[2 * b + 1] as number;
        m[b] = c1 > 0 && c2 > 0 ? (m1 * c1 + m2 * c2) / (c1 + c2) : c1 > 0 ? m1 : c2 > 0 ? m2 : NaN;
      }
      if (s.gap) merge(s.gap);
    }
    this.width *= 2;
  }

  private stateOf(sid: number): SeriesBins {
    let s = this.state.get(sid);
    if (!s) {
      s = { mean: new Float64Array(this.maxBins).fill(NaN), gap: undefined, val: NaN, pos: 0, any: false };
      this.state.set(sid, s);
    }
    return s;
  }

  /** Position of the sample with id `id` (the first at or after it). */
  private position(id: number): number {
    const ids = this.ids;
    const first = ids[0] as number;
    const p = id - first;
    if (p >= 0 && p < this.n && ids[p] === id) return p;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ids[mid] as number) < id) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  private change(s: SeriesBins, id: number, v: number): void {
    const p = this.position(id);
    if (p < s.pos) throw new RangeError(`change of sample ${id} arrived after sample position ${s.pos} was binned`);
    this.advance(s, p);
    s.val = v;
  }

  /** Adds s.val at positions [s.pos, to) to the means (or counts them as gaps when it is absent). */
  private advance(s: SeriesBins, to: number): void {
    const v = s.val;
    const finite = Number.isFinite(v);
    if (s.pos < to && !finite) s.gap ??= new Int32Array(this.maxBins);
    let pos = s.pos;
    const w = this.width;
    while (pos < to) {
      const b = Math.floor(pos / w);
      const start = b * w;
      const end = Math.min(to, start + w);
      if (finite) {
        const held = pos - start - (s.gap ? s.gap[b] as number : 0);
        const m = s.mean[b] as number;
        s.mean[b] = held > 0 ? m + ((v - m) * (end - pos)) / (held + end - pos) : v;
      } else (s.gap as Int32Array)[b] = ((s.gap as Int32Array)[b] as number) + (end - pos);
      pos = end;
    }
    if (finite && s.pos < to) s.any = true;
    s.pos = to;
  }
}
