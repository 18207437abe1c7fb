/**
 * Reads recordings back: series as dense arrays (one value per sample), samples with what was skipped,
 * boot segments, gaps and raw text. Safe to use while a recorder appends to the same file (WAL); what it
 * sees is the state after the last commit, flushed into chunks or not.
 *
 * readSeries semantics:
 * - one (t, v) pair per sample of the recording in [fromMs, toMs] (inclusive), in sample order;
 * - v is NaN at samples where the series was absent (process not there yet or gone, file skipped);
 *   values are never carried over a sample that lacked them and never invented as zeros;
 * - gaps and reboots are not filled: `segments` splits the arrays into runs of consecutive samples that
 *   share a boot segment and have no recorded gap between them. Plot or fit each segment on its own.
 */
import { brotliDecompressSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import { BugError, InputError } from '../model/errors.js';
import { decodeChanges, decodePoints, decodePointsInto, type DecodedPoints } from './codec.js';
import type { BootReason, SampleWarning, TargetRef } from './writer.js';
import { readBinned, type BinnedTable, type BinnedOptions } from './binned.js';
import { GrowingBins } from './growing_bins.js';
import { currentVersion, layoutOf, layoutSql, type Layout } from './schema.js';

export interface RecordingInfo {
  id: number;
  target: TargetRef;
  startedAtMs: number;
  intervalSec: number;
  options: Record<string, unknown>;
  /** Set by a clean close(); undefined while recording or after a crash. */
  endedAtMs?: number;
  sampleCount: number;
  firstSampleMs?: number;
  lastSampleMs?: number;
}

export interface SeriesInfo { id: number; key: string; firstSampleId: number }

export interface TimeRange { fromMs?: number; toMs?: number }

/** Indices [start, end) into SeriesData arrays. */
export interface SeriesSegment { start: number; end: number; bootSegment: number }

export interface SeriesData {
  key: string;
  /** Host wall-clock ms of each sample. */
  t: Float64Array;
  v: Float64Array;
  sampleIds: Float64Array;
  segments: SeriesSegment[];
}

export interface SampleInfo {
  id: number;
  takenAtMs: number;
  uptimeSec?: number;
  bootSegment: number;
  nValues: number;
  nChanged: number;
  rawKept: boolean;
  skipped: string[];
  warnings: SampleWarning[];
}

export interface BootSegmentInfo {
  id: number;
  seq: number;
  bootId?: string;
  firstSampleId?: number;
  startedAtMs: number;
  uptimeSec?: number;
  reason: BootReason;
}

export interface GapInfo { fromMs: number; toMs: number; reason: string; afterSampleId?: number }

export interface RecordingStats {
  samples: number;
  series: number;
  chunks: number;
  /** Stored change points in chunks (absent-markers included). */
  points: number;
  pendingSamples: number;
  rawSamples: number;
}

export interface RawSectionOut { kind: string; text: string }

type Row = Record<string, unknown>;
const num = (x: unknown): number => x as number;
const optNum = (x: unknown): number | undefined => (x === null || x === undefined ? undefined : (x as number));

export class StoreReader {
  private timelineCache: { recordingId: number; lastId: number; ids: Float64Array; t: Float64Array } | undefined;

  /** Schema layout of the file (a read-only handle reads a version-1 file as it is). */
  private readonly layout: Layout;
  private readonly sql: ReturnType<typeof layoutSql>;

  constructor(protected readonly db: Database.Database, readonly path: string) {
    this.layout = layoutOf(db);
    this.sql = layoutSql(this.layout);
  }

  /** PRAGMA user_version of the file (schema.ts SCHEMA_VERSION once a writable handle opened it). */
  get schemaVersion(): number { return currentVersion(this.db); }

  listRecordings(): RecordingInfo[] {
    const rows = this.db.prepare(`
      SELECT r.id, r.started_at_ms, r.interval_sec, r.options, r.ended_at_ms, t.name, t.via,
        -- O(flush windows), not O(samples): flushed samples are counted by their timeline chunks.
        (SELECT IFNULL(SUM(n), 0) FROM timeline tl WHERE tl.recording_id = r.id)
          + (SELECT COUNT(*) FROM sample s WHERE s.id > IFNULL((SELECT MAX(last_sample_id) FROM timeline tl WHERE tl.recording_id = r.id), 0)
             AND +s.recording_id = r.id) AS n,
        (SELECT MIN(taken_at_ms) FROM sample s WHERE s.recording_id = r.id) AS first_ms,
        (SELECT MAX(taken_at_ms) FROM sample s WHERE s.recording_id = r.id) AS last_ms
      FROM recording r JOIN target t ON t.id = r.target_id ORDER BY r.id`).all() as Row[];
    return rows.map((r) => {
      const info: RecordingInfo = {
        id: num(r['id']),
        target: r['via'] === '' ? { name: r['name'] as string } : { name: r['name'] as string, via: r['via'] as string },
        startedAtMs: num(r['started_at_ms']),
        intervalSec: num(r['interval_sec']),
        options: JSON.parse(r['options'] as string) as Record<string, unknown>,
        sampleCount: num(r['n']),
      };
      const ended = optNum(r['ended_at_ms']);
      if (ended !== undefined) info.endedAtMs = ended;
      const first = optNum(r['first_ms']);
      const last = optNum(r['last_ms']);
      if (first !== undefined) info.firstSampleMs = first;
      if (last !== undefined) info.lastSampleMs = last;
      return info;
    });
  }

  /** Series of a recording, by key; `glob` takes `*` (any run of characters) and `?` (one), nothing else. */
  listSeries(recordingId: number, glob?: string): SeriesInfo[] {
    const rows = this.db.prepare('SELECT id, key, first_sample_id FROM series WHERE recording_id = ? ORDER BY key')
      .raw(true).all(recordingId) as [number, string, number][];
    const re = glob === undefined ? undefined : globToRegExp(glob);
    const out: SeriesInfo[] = [];
    for (const [id, key, firstSampleId] of rows) if (!re || re.test(key)) out.push({ id, key, firstSampleId });
    return out;
  }

  /** Whether a recording has a series of this key (one indexed lookup). */
  hasSeries(recordingId: number, key: string): boolean {
    return this.db.prepare('SELECT 1 FROM series WHERE recording_id = ? AND key = ?').pluck().get(recordingId, key) !== undefined;
  }

  sampleCount(recordingId: number): number {
    const flushed = this.flushedUpTo(recordingId);
    const inChunks = num(this.db.prepare('SELECT IFNULL(SUM(n), 0) FROM timeline WHERE recording_id = ?').pluck().get(recordingId));
    return inChunks + num(this.db.prepare('SELECT COUNT(*) FROM sample WHERE id > ? AND +recording_id = ?').pluck().get(flushed, recordingId));
  }

  /**
   * Min and max of one series in buckets of consecutive samples: bucket b holds the samples at positions
   * [bounds[b], bounds[b+1]) of `ids` (a slice of the recording's timeline); null where the series is absent
   * throughout. Works from the change points (O(changes + buckets)), never a dense array: a series over a week
   * costs about what reading its chunks costs.
   */
  minMaxBuckets(recordingId: number, key: string, ids: Float64Array, bounds: readonly number[]): { min: (number | null)[]; max: (number | null)[] } {
    const buckets = Math.max(0, bounds.length - 1);
    const min: (number | null)[] = new Array<number | null>(buckets).fill(null);
    const max: (number | null)[] = new Array<number | null>(buckets).fill(null);
    const n = ids.length;
    if (n === 0 || buckets === 0) return { min, max };
    const pts = this.points(recordingId, this.seriesId(recordingId, key), ids[0] as number, ids[n - 1] as number);
    const ps = pts.samples;
    const vs = pts.values;
    let j = 0;
    let cur = NaN;
    for (let b = 0; b < buckets; b++) {
      const lo = bounds[b] as number;
      const hi = bounds[b + 1] as number;
      if (hi <= lo) continue;
      const firstId = ids[lo] as number;
      const lastId = ids[hi - 1] as number;
      while (j < ps.length && (ps[j] as number) <= firstId) cur = vs[j++] as number;
      let mn = Infinity;
      let mx = -Infinity;
      if (!Number.isNaN(cur)) { mn = cur; mx = cur; }
      while (j < ps.length && (ps[j] as number) <= lastId) {
        cur = vs[j++] as number;
        if (!Number.isNaN(cur)) { if (cur < mn) mn = cur; if (cur > mx) mx = cur; }
      }
      if (mn <= mx) { min[b] = mn; max[b] = mx; }
    }
    return { min, max };
  }

  /**
   * Sample ids and times of a recording in a time range, in sample order (see schema.ts, "timeline").
   * The whole timeline of the last recording read is cached until a sample is appended (samples are never
   * rewritten, so the last sample id is a complete version key).
   */
  timeline(recordingId: number, range: TimeRange = {}): { ids: Float64Array; t: Float64Array } {
    const full = this.fullTimeline(recordingId);
    const from = range.fromMs ?? -Infinity;
    const to = range.toMs ?? Infinity;
    if (from === -Infinity && to === Infinity) return { ids: full.ids.slice(), t: full.t.slice() };
    return this.timelineView(recordingId, range);
  }

  /** Like timeline(), without copying the cached whole timeline when no range is given: the caller must not modify it. */
  timelineView(recordingId: number, range: TimeRange = {}): { ids: Float64Array; t: Float64Array } {
    const full = this.fullTimeline(recordingId);
    const from = range.fromMs ?? -Infinity;
    const to = range.toMs ?? Infinity;
    if (from === -Infinity && to === Infinity) return { ids: full.ids, t: full.t };
    const ids = new Float64Array(full.ids.length);
    const t = new Float64Array(full.ids.length);
    let n = 0;
    for (let i = 0; i < full.t.length; i++) {
      const ms = full.t[i] as number;
      if (ms >= from && ms <= to) { ids[n] = full.ids[i] as number; t[n] = ms; n++; }
    }
    return { ids: ids.slice(0, n), t: t.slice(0, n) };
  }

  private fullTimeline(recordingId: number): { ids: Float64Array; t: Float64Array } {
    const lastId = optNum(this.db.prepare('SELECT id FROM sample WHERE +recording_id = ? ORDER BY id DESC LIMIT 1').pluck().get(recordingId)) ?? 0;
    const cached = this.timelineCache;
    if (cached && cached.recordingId === recordingId && cached.lastId === lastId) return cached;
    const chunks = this.db.prepare('SELECT first_sample_id, n, data FROM timeline WHERE recording_id = ? ORDER BY first_sample_id')
      .raw(true).all(recordingId) as [number, number, Uint8Array][];
    const flushed = this.flushedUpTo(recordingId);
    const tail = this.db.prepare('SELECT id, taken_at_ms FROM sample WHERE +recording_id = ? AND id > ? ORDER BY id')
      .raw(true).all(recordingId, flushed) as [number, number][];
    let total = tail.length;
    for (const c of chunks) total += c[1];
    const ids = new Float64Array(total);
    const t = new Float64Array(total);
    let at = 0;
    for (const [first, , data] of chunks) at = decodePointsInto(first, data, ids, t, at);
    for (const [id, ms] of tail) { ids[at] = id; t[at] = ms; at++; }
    if (at !== total) throw new BugError(`Timeline of recording "${recordingId}" holds ${at} samples, its chunks say ${total}`);
    this.timelineCache = { recordingId, lastId, ids, t };
    return this.timelineCache;
  }

  readSeries(recordingId: number, key: string, range: TimeRange = {}): SeriesData {
    const seriesId = this.seriesId(recordingId, key);
    const { ids, t } = this.timeline(recordingId, range);
    const n = ids.length;
    const out: SeriesData = { key, t, v: new Float64Array(n), sampleIds: ids, segments: [] };
    if (n === 0) return out;
    const pts = this.points(recordingId, seriesId, ids[0] as number, ids[n - 1] as number);
    let j = 0;
    let cur = NaN;
    const ps = pts.samples;
    for (let i = 0; i < n; i++) {
      const id = ids[i] as number;
      while (j < ps.length && (ps[j] as number) <= id) cur = pts.values[j++] as number;
      out.v[i] = cur;
    }
    out.segments = this.segments(recordingId, ids);
    return out;
  }

  /**
   * Every series of a recording in [fromMs, toMs], binned to at most `maxBins` points in one streamed pass over
   * the chunks (binned.ts): bounded memory whatever the recording's length.
   */
  readBinned(recordingId: number, options: BinnedOptions & TimeRange): BinnedTable {
    const full = this.fullTimeline(recordingId);
    const tl = options.fromMs === undefined && options.toMs === undefined ? full : this.timeline(recordingId, options);
    return readBinned(this.db, recordingId, tl.ids, tl.t, this.flushedUpTo(recordingId), this.sql.tailChanges, options);
  }

  /** Bin means of every series, kept up to date by update() as the recording grows (growing_bins.ts). */
  growingBins(recordingId: number, maxBins: number): GrowingBins {
    return new GrowingBins(this.db, recordingId, this.sql.tailChanges, maxBins);
  }

  /** Every series present at one sample, as the writer was given it. */
  valuesAt(sampleId: number): Map<string, number> {
    const recordingId = optNum(this.db.prepare('SELECT recording_id FROM sample WHERE id = ?').pluck().get(sampleId));
    if (recordingId === undefined) throw new InputError(`No sample "${sampleId}" in "${this.path}"`);
    const byId = new Map<number, { key: string; v: number }>();
    const carry = this.db.prepare(this.sql.carryChunk).raw(true);
    for (const s of this.listSeries(recordingId)) {
      if (s.firstSampleId > sampleId) continue;
      const e = { key: s.key, v: NaN };
      byId.set(s.id, e);
      const row = carry.get({ rec: recordingId, series: s.id, first: sampleId }) as [number, number, Uint8Array] | undefined;
      if (!row) continue;
      const p = decodePoints(row[0], row[2]);
      for (let i = 0; i < p.samples.length && (p.samples[i] as number) <= sampleId; i++) e.v = p.values[i] as number;
    }
    for (const [, data] of this.pendingRows(recordingId, sampleId)) {
      decodeChanges(data, (sid, v) => { const e = byId.get(sid); if (e) e.v = v; }, (sid) => byId.get(sid)?.v ?? NaN);
    }
    const out = new Map<string, number>();
    for (const { key, v } of byId.values()) if (!Number.isNaN(v)) out.set(key, v);
    return out;
  }

  /**
   * The values at each sample after `fromSampleId` up to `upTo` (one recording, ids ascending), each from the one
   * before by that sample's own changes, starting from `from` (the values at fromSampleId, as valuesAt gives
   * them): what the live feed needs for a few new samples, without valuesAt's lookup of every series per sample.
   * Undefined for a version-1 file, which does not keep a sample's changes once flushed (use valuesAt).
   */
  valuesAfter(recordingId: number, fromSampleId: number, from: ReadonlyMap<string, number>, upTo: number): { id: number; values: Map<string, number> }[] | undefined {
    if (this.layout !== 2) return undefined;
    const ids = this.db.prepare('SELECT id FROM sample WHERE id > ? AND id <= ? AND +recording_id = ? ORDER BY id').pluck()
      .all(fromSampleId, upTo, recordingId) as number[];
    const changes = new Map(this.db.prepare(this.sql.tailChanges).raw(true)
      .all({ rec: recordingId, after: fromSampleId, upTo }) as [number, Uint8Array][]);
    let keyOf = new Map(this.listSeries(recordingId).map((x) => [x.id, x.key]));
    let values = new Map(from);
    const out: { id: number; values: Map<string, number> }[] = [];
    for (const id of ids) {
      values = new Map(values);
      const data = changes.get(id);
      if (data !== undefined) {
        decodeChanges(data, (sid, v) => {
          let key = keyOf.get(sid);
          if (key === undefined) { keyOf = new Map(this.listSeries(recordingId).map((x) => [x.id, x.key])); key = keyOf.get(sid); }
          if (key === undefined) return;
          if (Number.isNaN(v)) values.delete(key); else values.set(key, v);
        }, (sid) => { const key = keyOf.get(sid); return key === undefined ? NaN : values.get(key) ?? NaN; });
      }
      out.push({ id, values });
    }
    return out;
  }

  readSamples(recordingId: number, range: TimeRange = {}): SampleInfo[] {
    const args = [recordingId, clampMs(range.fromMs ?? -Infinity), clampMs(range.toMs ?? Infinity)];
    const where = 's.recording_id = ? AND s.taken_at_ms >= ? AND s.taken_at_ms <= ?';
    const rows = this.db.prepare(`SELECT s.id, s.taken_at_ms, s.uptime_sec, s.boot_segment_id, s.n_values, s.n_changed,
      EXISTS(SELECT 1 FROM raw r WHERE r.sample_id = s.id) AS raw_kept FROM sample s WHERE ${where} ORDER BY s.id`).all(...args) as Row[];
    const byId = new Map<number, SampleInfo>();
    const out = rows.map((r) => {
      const info: SampleInfo = {
        id: num(r['id']), takenAtMs: num(r['taken_at_ms']), bootSegment: num(r['boot_segment_id']),
        nValues: num(r['n_values']), nChanged: num(r['n_changed']), rawKept: r['raw_kept'] === 1, skipped: [], warnings: [],
      };
      const up = optNum(r['uptime_sec']);
      if (up !== undefined) info.uptimeSec = up;
      byId.set(info.id, info);
      return info;
    });
    for (const r of this.db.prepare(`SELECT k.sample_id, k.what FROM skipped k JOIN sample s ON s.id = k.sample_id
      WHERE ${where} ORDER BY k.rowid`).raw(true).iterate(...args) as Iterable<[number, string]>) {
      byId.get(r[0])?.skipped.push(r[1]);
    }
    for (const r of this.db.prepare(`SELECT w.sample_id, w.source, w.line, w.text, w.reason, w.severity FROM warning w
      JOIN sample s ON s.id = w.sample_id WHERE ${where} ORDER BY w.id`).iterate(...args) as Iterable<Row>) {
      byId.get(num(r['sample_id']))?.warnings.push({
        source: r['source'] as string, line: num(r['line']), text: r['text'] as string, reason: r['reason'] as string, severity: r['severity'] as string,
      });
    }
    return out;
  }

  bootSegments(recordingId: number): BootSegmentInfo[] {
    const rows = this.db.prepare('SELECT * FROM boot_segment WHERE recording_id = ? ORDER BY seq').all(recordingId) as Row[];
    return rows.map((r) => {
      const b: BootSegmentInfo = { id: num(r['id']), seq: num(r['seq']), startedAtMs: num(r['started_at_ms']), reason: r['reason'] as BootReason };
      if (r['boot_id'] !== null) b.bootId = r['boot_id'] as string;
      const first = optNum(r['first_sample_id']);
      if (first !== undefined) b.firstSampleId = first;
      const up = optNum(r['uptime_sec']);
      if (up !== undefined) b.uptimeSec = up;
      return b;
    });
  }

  gaps(recordingId: number): GapInfo[] {
    const rows = this.db.prepare('SELECT from_ms, to_ms, reason, after_sample_id FROM gap WHERE recording_id = ? ORDER BY from_ms, id')
      .all(recordingId) as Row[];
    return rows.map((r) => {
      const g: GapInfo = { fromMs: num(r['from_ms']), toMs: num(r['to_ms']), reason: r['reason'] as string };
      const after = optNum(r['after_sample_id']);
      if (after !== undefined) g.afterSampleId = after;
      return g;
    });
  }

  /** Raw text kept for a sample, decompressed; [] when the raw policy did not keep this sample's text. */
  rawSections(sampleId: number): RawSectionOut[] {
    const row = this.db.prepare('SELECT codec, sections, data FROM raw WHERE sample_id = ?').get(sampleId) as
      { codec: string; sections: string; data: Buffer } | undefined;
    if (!row) return [];
    const all = row.codec === 'br' ? brotliDecompressSync(row.data) : row.data;
    const out: RawSectionOut[] = [];
    let at = 0;
    for (const [kind, len] of JSON.parse(row.sections) as [string, number][]) {
      out.push({ kind, text: all.subarray(at, at + len).toString('utf8') });
      at += len;
    }
    return out;
  }

  /** Bytes on disk per table and index, largest first (SQLite's dbstat; [] when the build lacks it). */
  tableSizes(): [string, number][] {
    try {
      return this.db.prepare('SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC').raw(true).all() as [string, number][];
    } catch {
      return [];
    }
  }

  /** Sizes of a recording, for `memsleuth info` and the benchmark. Points counts flushed chunks only; reads every chunk row (seconds on a week). */
  stats(recordingId: number): RecordingStats {
    const one = (sql: string): number => optNum(this.db.prepare(sql).pluck().get(recordingId)) ?? 0;
    return {
      samples: this.sampleCount(recordingId),
      series: one('SELECT COUNT(*) FROM series WHERE recording_id = ?'),
      chunks: one('SELECT COUNT(*) FROM chunk c JOIN series s ON s.id = c.series_id WHERE s.recording_id = ?'),
      points: one('SELECT SUM(c.n) FROM chunk c JOIN series s ON s.id = c.series_id WHERE s.recording_id = ?'),
      pendingSamples: this.sampleCount(recordingId) - one('SELECT IFNULL(SUM(n), 0) FROM timeline WHERE recording_id = ?'),
      rawSamples: one('SELECT COUNT(*) FROM raw r JOIN sample s ON s.id = r.sample_id WHERE s.recording_id = ?'),
    };
  }

  /**
   * SQLite's integrity and foreign-key checks plus the store's own invariants; [] when all hold.
   * Run after a crash, before trusting a file.
   */
  check(): string[] {
    const problems: string[] = [];
    for (const r of this.db.pragma('integrity_check') as { integrity_check: string }[]) {
      if (r.integrity_check !== 'ok') problems.push(`integrity_check: ${r.integrity_check}`);
    }
    for (const r of this.db.pragma('foreign_key_check') as Row[]) problems.push(`foreign_key_check: ${JSON.stringify(r)}`);
    const recordings = this.db.prepare('SELECT id FROM recording ORDER BY id').pluck().all() as number[];
    for (const rec of recordings) {
      const flushed = this.flushedUpTo(rec);
      if (this.layout === 1) {
        const stale = num(this.db.prepare('SELECT COUNT(*) FROM pending WHERE recording_id = ? AND sample_id <= ?').pluck().get(rec, flushed));
        if (stale > 0) problems.push(`recording ${rec}: ${stale} pending rows are older than its last flushed chunk`);
      }
      const unflushed = num(this.db.prepare('SELECT COUNT(*) FROM sample WHERE +recording_id = ? AND id > ?').pluck().get(rec, flushed));
      const withChanges = this.db.prepare(this.sql.tailChanges).raw(true).all({ rec, after: flushed, upTo: Number.MAX_SAFE_INTEGER }).length;
      if (withChanges !== unflushed) problems.push(`recording ${rec}: ${unflushed - withChanges} unflushed samples have no changes stored`);
      if (this.layout === 2) {
        const misplaced = num(this.db.prepare(`SELECT COUNT(*) FROM chunk c JOIN series s ON s.id = c.series_id WHERE s.recording_id = ?
          AND NOT EXISTS (SELECT 1 FROM timeline tl WHERE tl.id = (c.id - c.series_id) / 4294967296 AND (c.id - c.series_id) % 4294967296 = 0
            AND tl.recording_id = s.recording_id AND c.first_sample_id BETWEEN tl.first_sample_id AND tl.last_sample_id)`).pluck().get(rec));
        if (misplaced > 0) problems.push(`recording ${rec}: ${misplaced} chunks have an id that names no flush window holding them`);
      }
    }
    return problems;
  }

  private seriesId(recordingId: number, key: string): number {
    const id = optNum(this.db.prepare('SELECT id FROM series WHERE recording_id = ? AND key = ?').pluck().get(recordingId, key));
    if (id === undefined) throw new InputError(`No series "${key}" in recording "${recordingId}" of "${this.path}"`);
    return id;
  }

  private flushedUpTo(recordingId: number): number {
    return optNum(this.db.prepare('SELECT MAX(last_sample_id) FROM timeline WHERE recording_id = ?').pluck().get(recordingId)) ?? 0;
  }

  /** Changes of the unflushed samples of a recording up to sample `upTo`. */
  private pendingRows(recordingId: number, upTo: number): [number, Uint8Array][] {
    return this.db.prepare(this.sql.tailChanges).raw(true)
      .all({ rec: recordingId, after: this.flushedUpTo(recordingId), upTo }) as [number, Uint8Array][];
  }

  /** Change points of one series up to sample `last`, starting with the last one at or before `first`. */
  private points(recordingId: number, seriesId: number, first: number, last: number): { samples: Float64Array; values: Float64Array } {
    const carry = this.db.prepare(this.sql.carryChunk).raw(true).get({ rec: recordingId, series: seriesId, first }) as
      [number, number, Uint8Array] | undefined;
    const chunks = this.db.prepare(this.sql.seriesChunks)
      .raw(true).all({ rec: recordingId, series: seriesId, first, last }) as [number, number, Uint8Array][];
    if (carry) chunks.unshift(carry);
    let total = 0;
    for (const c of chunks) total += c[1];
    let samples = new Float64Array(total);
    let values = new Float64Array(total);
    let at = 0;
    for (const [f, , data] of chunks) at = decodePointsInto(f, data, samples, values, at);
    if (at !== total) throw new BugError(`Chunks of series "${seriesId}" hold ${at} points, their rows say ${total}`);
    // Unflushed changes are steps from the value before them: the last chunk point (codec.ts encodeChanges).
    const pending: DecodedPoints = { samples: [], values: [] };
    let cur = at > 0 ? values[at - 1] as number : NaN;
    for (const [sampleId, data] of this.pendingRows(recordingId, last)) {
      decodeChanges(data, (sid, v) => {
        if (sid === seriesId) { pending.samples.push(sampleId); pending.values.push(v); cur = v; }
      }, (sid) => (sid === seriesId ? cur : NaN));
    }
    if (pending.samples.length > 0) {
      const s2 = new Float64Array(total + pending.samples.length);
      const v2 = new Float64Array(total + pending.samples.length);
      s2.set(samples);
      v2.set(values);
      s2.set(pending.samples, total);
      v2.set(pending.values, total);
      samples = s2;
      values = v2;
    }
    return { samples, values };
  }

  /** Splits sample ids into runs without a boot change or a recorded gap inside (work per boundary, not per sample). */
  private segments(recordingId: number, ids: Float64Array): SeriesSegment[] {
    const boots = this.db.prepare('SELECT id, first_sample_id FROM boot_segment WHERE recording_id = ? AND first_sample_id IS NOT NULL ORDER BY seq')
      .raw(true).all(recordingId) as [number, number][];
    const gapAfter = this.db.prepare('SELECT after_sample_id FROM gap WHERE recording_id = ? AND after_sample_id IS NOT NULL')
      .pluck().all(recordingId) as number[];
    // A run starts at the first sample at or after a boot segment's first sample, and after a gap's last sample.
    const starts = new Set<number>();
    for (const [, first] of boots) starts.add(lowerBound(ids, first));
    for (const after of gapAfter) starts.add(lowerBound(ids, after + 1));
    const cuts = [...starts].filter((i) => i > 0 && i < ids.length).sort((a, b) => a - b);
    const bootOf = (id: number): number => {
      let b = boots[0]?.[0] ?? 0;
      for (const [segId, first] of boots) if (first <= id) b = segId;
      return b;
    };
    const out: SeriesSegment[] = [];
    let start = 0;
    for (const end of [...cuts, ids.length]) {
      out.push({ start, end, bootSegment: bootOf(ids[start] as number) });
      start = end;
    }
    return out;
  }
}

/** First index whose id is >= `id` (ids ascend). */
function lowerBound(ids: Float64Array, id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] as number) < id) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** SQLite compares numbers with -Infinity/Infinity fine, but binding them is clearer as extreme finite values. */
function clampMs(ms: number): number {
  return Math.max(-8.64e15, Math.min(8.64e15, ms));
}

/** A key glob: `*` any run of characters, `?` one, everything else itself. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}
