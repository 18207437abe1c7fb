/**
 * Append-only recorder API (schema.ts explains the tables). Samples are committed in groups: one transaction
 * holds the samples of `commitEverySec` seconds of target time (default 10 s; each sample is a savepoint in
 * it), so a kill -9 loses at most the samples of the last commitEverySec seconds, and the sample in flight.
 * Why: a commit rewrites every page it touches (the right edges of the sample B-tree and its time index, the
 * header page) into the WAL, so committing every 1 s sample wrote ~16 KiB for ~0.5 KiB of file growth
 * (30-40x, schema version 1 with 4 KiB pages; 3.8 KiB, 6.4x with version 2); ten samples a commit share those
 * pages (1.8 KiB, 3.0x). Recordings sampled every commitEverySec or slower still commit every sample;
 * commitEverySec 0 commits every sample (the live dashboard of `watch --ui` reads the file from another
 * connection and sees only committed samples). AppendResult.committedThrough says what is
 * durable. In-memory state (last value of every series, the unflushed points) only changes after a sample's
 * savepoint succeeded, so a failed append can be retried; a failed commit rolls the group back and reloads
 * the state from the file.
 *
 *   const w = store.beginRecording({ target: { name: 'cam-01', via: 'ssh cam-01' }, startedAtMs, intervalSec: 1 });
 *   w.appendSample({ takenAtMs, uptimeSec, bootId, values: flattenSnapshot(snap), raw, skipped, warnings });
 *   w.recordGap({ fromMs, toMs, reason: 'ssh: connection reset' });   // after a reconnect
 *   w.close();
 *
 * Boot segments are detected here: a new bootId, or uptime going back, starts one. Series keys are taken as
 * given (processKey() puts comm and pid in the key, so a reused PID is another series). A series missing from
 * a sample is stored as absent (NaN) at that sample, never as the previous value or zero.
 */
import { brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import type Database from 'better-sqlite3';
import { BugError, InputError } from '../model/errors.js';
import { FLUSH_SAMPLES, chunkId, layoutSql } from './schema.js';
import { decodeChanges, encodeChanges, encodePoints } from './codec.js';

export interface TargetRef {
  name: string;
  /** The --via command or serial device the target is reached through; absent for the local machine. */
  via?: string;
}

export interface RecordingStart {
  target: TargetRef;
  startedAtMs: number;
  intervalSec: number;
  /** Recorder options, kept as JSON for the report. */
  options?: object;
  /** Keep raw text at most every this many seconds (0: every sample). Default 60. */
  rawEverySec?: number;
  /** Commit the samples of this many seconds together (0: every sample). Default 10 (writer.ts says why). */
  commitEverySec?: number;
}

export interface RawSection {
  /** What the text is ("meminfo", "slabinfo", "/proc/412/smaps_rollup", ...). */
  kind: string;
  text: string;
}

export interface SampleWarning {
  source: string;
  line: number;
  text?: string;
  reason: string;
  severity: string;
}

export interface SampleInput {
  /** Host wall-clock time, ms since the epoch. */
  takenAtMs: number;
  uptimeSec?: number;
  bootId?: string;
  values: ReadonlyMap<string, number>;
  /** Kept when the raw policy says so (wantsRaw()); otherwise dropped. */
  raw?: RawSection[];
  /** What was not read this sample and why ("/proc/412/smaps_rollup: permission denied"). */
  skipped?: string[];
  warnings?: SampleWarning[];
}

export interface AppendResult {
  sampleId: number;
  /** Boot segment id (boot_segment.id) the sample belongs to. */
  bootSegment: number;
  /** True when this sample started the boot segment. */
  newBootSegment: boolean;
  rawKept: boolean;
  /** Last sample id known committed (this one when its group was committed with it); undefined before any commit. */
  committedThrough: number | undefined;
}

export interface GapInput { fromMs: number; toMs: number; reason: string }

export type BootReason = 'start' | 'boot_id' | 'uptime';

interface SeriesState {
  id: number;
  /** Last stored value; NaN when absent. */
  last: number;
  /** Stamp of the last append that saw this series. */
  seen: number;
  live: boolean;
  pendS: number[];
  pendV: number[];
  dirty: boolean;
}

interface Segment { id: number; bootId: string | undefined; lastUptime: number | undefined }

const DEFAULT_RAW_EVERY_SEC = 60;
export const DEFAULT_COMMIT_EVERY_SEC = 10;
const MAX_GROUP_SAMPLES = 100;

export class RecordingWriter {
  readonly recordingId: number;
  private readonly series = new Map<string, SeriesState>();
  private readonly live: SeriesState[] = [];
  private readonly dirty: SeriesState[] = [];
  private pendIds: number[] = [];
  private pendTimes: number[] = [];
  private segment: Segment | undefined;
  private segmentSeq = 0;
  private lastSampleId: number | undefined;
  private lastTakenAtMs: number | undefined;
  private lastRawMs = -Infinity;
  private gapSinceLastSample = false;
  private stamp = 0;
  private appended = 0;
  /** Why the last automatic flush failed (disk full, ...); undefined once one succeeds. For the recorder's log. */
  flushError: Error | undefined;
  private closed = false;
  private readonly rawEveryMs: number;
  private readonly commitEveryMs: number;
  /** takenAtMs of the first sample of the open group; undefined when no group is open. */
  private groupStartMs: number | undefined;
  private groupSamples = 0;
  private committedThrough: number | undefined;
  private readonly st: ReturnType<typeof prepare>;

  /** Use Store.beginRecording / Store.resumeRecording. */
  constructor(private readonly db: Database.Database, recordingId: number, rawEverySec: number | undefined, commitEverySec?: number) {
    this.recordingId = recordingId;
    this.rawEveryMs = (rawEverySec ?? DEFAULT_RAW_EVERY_SEC) * 1000;
    this.commitEveryMs = Math.max(0, commitEverySec ?? DEFAULT_COMMIT_EVERY_SEC) * 1000;
    this.st = prepare(db);
  }

  static begin(db: Database.Database, start: RecordingStart): RecordingWriter {
    if (!Number.isFinite(start.startedAtMs) || !(start.intervalSec > 0)) {
      throw new InputError(`Cannot start a recording of "${start.target.name}": startedAtMs "${start.startedAtMs}" and intervalSec "${start.intervalSec}" must be finite and positive`);
    }
    const id = db.transaction(() => {
      const via = start.target.via ?? '';
      db.prepare('INSERT OR IGNORE INTO target(name, via) VALUES (?, ?)').run(start.target.name, via);
      const t = db.prepare('SELECT id FROM target WHERE name = ? AND via = ?').get(start.target.name, via) as { id: number };
      const r = db.prepare('INSERT INTO recording(target_id, started_at_ms, interval_sec, options) VALUES (?, ?, ?, ?)')
        .run(t.id, start.startedAtMs, start.intervalSec, JSON.stringify(start.options ?? {}));
      return Number(r.lastInsertRowid);
    })();
    return new RecordingWriter(db, id, start.rawEverySec, start.commitEverySec);
  }

  /**
   * Continues a recording (after a crash or a restart of the recorder): reloads the last value of every series
   * and the unflushed changes. The caller records the gap since the last sample with recordGap().
   */
  static resume(db: Database.Database, recordingId: number, rawEverySec?: number, commitEverySec?: number): RecordingWriter {
    const rec = db.prepare('SELECT id FROM recording WHERE id = ?').get(recordingId);
    if (rec === undefined) throw new InputError(`Cannot resume recording "${recordingId}": no such recording`);
    const w = new RecordingWriter(db, recordingId, rawEverySec, commitEverySec);
    w.load();
    db.prepare('UPDATE recording SET ended_at_ms = NULL WHERE id = ?').run(recordingId);
    return w;
  }

  private load(): void {
    const db = this.db;
    this.series.clear();
    this.live.length = 0;
    this.dirty.length = 0;
    this.pendIds = [];
    this.pendTimes = [];
    this.segment = undefined;
    this.segmentSeq = 0;
    this.lastSampleId = undefined;
    this.lastTakenAtMs = undefined;
    this.lastRawMs = -Infinity;
    const byId = new Map<number, SeriesState>();
    for (const row of db.prepare('SELECT id, key FROM series WHERE recording_id = ?').iterate(this.recordingId) as Iterable<{ id: number; key: string }>) {
      const s = newState(row.id, NaN);
      this.series.set(row.key, s);
      byId.set(row.id, s);
    }
    // Last stored value of every series: the last value of its newest chunk, flush windows newest first.
    let unseen = byId.size;
    const found = new Set<number>();
    const windows = db.prepare('SELECT id FROM timeline WHERE recording_id = ? ORDER BY id DESC').pluck().all(this.recordingId) as number[];
    const ofWindow = db.prepare('SELECT series_id, last_value FROM chunk WHERE id >= ? AND id < ?').raw(true);
    for (const tl of windows) {
      if (unseen === 0) break;
      for (const [sid, lv] of ofWindow.iterate(chunkId(tl, 0), chunkId(tl + 1, 0)) as Iterable<[number, number | null]>) {
        if (found.has(sid)) continue;
        found.add(sid);
        unseen--;
        const s = byId.get(sid);
        if (s) s.last = lv === null ? NaN : lv;
      }
    }
    const flushed = db.prepare('SELECT MAX(last_sample_id) FROM timeline WHERE recording_id = ?').pluck().get(this.recordingId) as number | null;
    for (const r of db.prepare('SELECT id, taken_at_ms FROM sample WHERE +recording_id = ? AND id > ? ORDER BY id')
      .raw(true).iterate(this.recordingId, flushed ?? 0) as Iterable<[number, number]>) {
      this.pendIds.push(r[0]);
      this.pendTimes.push(r[1]);
    }
    for (const r of db.prepare(layoutSql(2).tailChanges)
      .raw(true).iterate({ rec: this.recordingId, after: flushed ?? 0, upTo: Number.MAX_SAFE_INTEGER }) as Iterable<[number, Uint8Array]>) {
      decodeChanges(r[1], (sid, v) => {
        const s = byId.get(sid);
        if (!s) throw new BugError(`Pending change of sample "${r[0]}" names unknown series "${sid}"`);
        this.addPoint(s, r[0], v);
      }, (sid) => byId.get(sid)?.last ?? NaN);
    }
    this.live.length = 0;
    for (const s of this.series.values()) {
      s.live = !Number.isNaN(s.last);
      if (s.live) this.live.push(s);
    }
    const seg = db.prepare('SELECT id, seq, boot_id FROM boot_segment WHERE recording_id = ? ORDER BY seq DESC LIMIT 1')
      .get(this.recordingId) as { id: number; seq: number; boot_id: string | null } | undefined;
    const last = db.prepare('SELECT id, taken_at_ms, uptime_sec FROM sample WHERE +recording_id = ? ORDER BY id DESC LIMIT 1')
      .get(this.recordingId) as { id: number; taken_at_ms: number; uptime_sec: number | null } | undefined;
    if (seg) {
      this.segment = { id: seg.id, bootId: seg.boot_id ?? undefined, lastUptime: last?.uptime_sec ?? undefined };
      this.segmentSeq = seg.seq + 1;
    }
    if (last) { this.lastSampleId = last.id; this.lastTakenAtMs = last.taken_at_ms; }
    const lastRaw = db.prepare('SELECT MAX(s.taken_at_ms) FROM raw r JOIN sample s ON s.id = r.sample_id WHERE s.recording_id = ?')
      .pluck().get(this.recordingId) as number | null;
    if (lastRaw !== null) this.lastRawMs = lastRaw;
  }

  /** Whether appendSample would keep raw text for a sample with this clock; lets a caller skip building it. */
  wantsRaw(clock: { takenAtMs: number; uptimeSec?: number; bootId?: string }, hasWarnings = false): boolean {
    return this.rawEveryMs <= 0 || hasWarnings || this.gapSinceLastSample || this.bootReason(clock) !== undefined ||
      clock.takenAtMs - this.lastRawMs >= this.rawEveryMs;
  }

  private bootReason(clock: { uptimeSec?: number; bootId?: string }): BootReason | undefined {
    const seg = this.segment;
    if (!seg) return 'start';
    if (clock.bootId !== undefined && seg.bootId !== undefined && clock.bootId !== seg.bootId) return 'boot_id';
    if (clock.uptimeSec !== undefined && seg.lastUptime !== undefined && clock.uptimeSec < seg.lastUptime) return 'uptime';
    return undefined;
  }

  appendSample(sample: SampleInput): AppendResult {
    if (this.closed) throw new BugError(`appendSample on closed recording "${this.recordingId}"`);
    if (!Number.isFinite(sample.takenAtMs)) throw new InputError(`Cannot store a sample taken at "${sample.takenAtMs}": not a time`);
    const stamp = ++this.stamp;
    const reason = this.bootReason(sample);
    const warnings = sample.warnings ?? [];
    const keepRaw = sample.raw !== undefined && sample.raw.length > 0 && this.wantsRaw(sample, warnings.length > 0);

    const changed: SeriesState[] = [];
    const changedV: number[] = [];
    const fresh: [string, number][] = [];
    for (const [key, v] of sample.values) {
      // Stored values are finite: NaN or Infinity from a source reads as "no value this sample" (absent), as the
      // store already says for a series that went missing; it never reaches a chart or a slope.
      if (!Number.isFinite(v)) continue;
      const s = this.series.get(key);
      if (s === undefined) { fresh.push([key, v]); continue; }
      s.seen = stamp;
      if (!Object.is(s.last, v)) { changed.push(s); changedV.push(v); }
    }
    for (const s of this.live) {
      if (s.seen !== stamp) { changed.push(s); changedV.push(NaN); }
    }
    const rawBlob = keepRaw ? packRaw(sample.raw ?? []) : undefined;

    const st = this.st;
    this.openGroup(sample.takenAtMs);
    const committed = this.db.transaction(() => {
      let segId = this.segment?.id;
      if (reason !== undefined) {
        segId = Number(st.insSegment.run(this.recordingId, this.segmentSeq, sample.bootId ?? null, sample.takenAtMs, sample.uptimeSec ?? null, reason).lastInsertRowid);
      } else if (this.segment && this.segment.bootId === undefined && sample.bootId !== undefined) {
        st.setSegmentBootId.run(sample.bootId, segId);
      }
      // A new series' id is needed in the sample's changes: the sample row takes the id it will have, and the
      // rows of new series are inserted first.
      const sampleId = ((st.maxSampleId.get() as number | null) ?? 0) + 1;
      const freshIds: number[] = [];
      for (const [key] of fresh) freshIds.push(Number(st.insSeries.run(this.recordingId, key, sampleId).lastInsertRowid));
      const ids = changed.map((s) => s.id).concat(freshIds);
      const lastOf = new Map<number, number>();
      for (const s of changed) lastOf.set(s.id, s.last);
      const vals = changedV.concat(fresh.map(([, v]) => v));
      st.insSample.run(sampleId, this.recordingId, segId, sample.takenAtMs, sample.uptimeSec ?? null,
        sample.values.size, changed.length + fresh.length, encodeChanges(ids, vals, (id) => lastOf.get(id) ?? NaN));
      if (reason !== undefined) st.setSegmentFirst.run(sampleId, segId);
      if (rawBlob) st.insRaw.run(sampleId, rawBlob.codec, rawBlob.sections, rawBlob.data);
      for (const what of sample.skipped ?? []) st.insSkipped.run(sampleId, what);
      for (const w of warnings) st.insWarning.run(sampleId, w.source, w.line, w.text ?? '', w.reason, w.severity);
      return { sampleId, segId: segId as number, freshIds };
    })();

    // Committed: now the in-memory state follows.
    const { sampleId, segId, freshIds } = committed;
    if (reason !== undefined) {
      this.segment = { id: segId, bootId: sample.bootId, lastUptime: sample.uptimeSec };
      this.segmentSeq++;
    } else if (this.segment) {
      if (this.segment.bootId === undefined) this.segment.bootId = sample.bootId;
      if (sample.uptimeSec !== undefined) this.segment.lastUptime = sample.uptimeSec;
    }
    for (let i = 0; i < changed.length; i++) this.addPoint(changed[i] as SeriesState, sampleId, changedV[i] as number);
    fresh.forEach(([key, v], i) => {
      const s = newState(freshIds[i] as number, NaN);
      s.seen = stamp;
      this.series.set(key, s);
      this.addPoint(s, sampleId, v);
    });
    this.updateLive();
    this.pendIds.push(sampleId);
    this.pendTimes.push(sample.takenAtMs);
    this.lastSampleId = sampleId;
    this.lastTakenAtMs = sample.takenAtMs;
    this.gapSinceLastSample = false;
    this.appended++;
    if (rawBlob) this.lastRawMs = sample.takenAtMs;
    if (this.pendIds.length >= FLUSH_SAMPLES) {
      // The sample is stored whatever happens here: a failed flush must not make the caller retry it.
      // Its changes stay pending (readers see them) and the flush is retried with the next sample.
      try { this.flush(); this.flushError = undefined; } catch (e) { this.flushError = e as Error; }
    }
    this.groupSamples++;
    const start = this.groupStartMs;
    // A clock that steps back, or samples faster than 1/s, still commit at least every MAX_GROUP_SAMPLES samples.
    if (start !== undefined && (sample.takenAtMs - start >= this.commitEveryMs || sample.takenAtMs < start || this.groupSamples >= MAX_GROUP_SAMPLES)) this.commit();
    return { sampleId, bootSegment: segId, newBootSegment: reason !== undefined, rawKept: rawBlob !== undefined, committedThrough: this.committedThrough };
  }

  /** Opens a group of samples committed together (writer.ts: commitEverySec), unless one is open. */
  private openGroup(takenAtMs: number): void {
    if (this.groupStartMs !== undefined) return;
    this.db.exec('BEGIN');
    this.groupStartMs = takenAtMs;
    this.groupSamples = 0;
  }

  /**
   * Commits the open group. When the commit fails (disk full, I/O error) the group is rolled back and the
   * in-memory state reloaded from the file, so the writer goes on from what is durable; the error is thrown.
   */
  commit(): void {
    if (this.groupStartMs === undefined) return;
    this.groupStartMs = undefined;
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.load();
      throw e;
    }
    this.committedThrough = this.lastSampleId;
  }

  private addPoint(s: SeriesState, sampleId: number, v: number): void {
    s.last = v;
    s.pendS.push(sampleId);
    s.pendV.push(v);
    if (!s.dirty) { s.dirty = true; this.dirty.push(s); }
    if (!Number.isNaN(v) && !s.live) { s.live = true; this.live.push(s); }
  }

  /** Drops series that became absent from the live list (swap-remove keeps it O(changes)). */
  private updateLive(): void {
    const live = this.live;
    for (let i = 0; i < live.length;) {
      const s = live[i] as SeriesState;
      if (Number.isNaN(s.last)) {
        s.live = false;
        live[i] = live[live.length - 1] as SeriesState;
        live.pop();
      } else i++;
    }
  }

  /** Records that the target was not sampled between fromMs and toMs (reconnect, recorder restart). */
  recordGap(gap: GapInput): void {
    if (this.closed) throw new BugError(`recordGap on closed recording "${this.recordingId}"`);
    this.st.insGap.run(this.recordingId, gap.fromMs, gap.toMs, gap.reason, this.lastSampleId ?? null);
    this.gapSinceLastSample = true;
    this.commit();
  }

  /** Replaces the recorder options kept with the recording (facts learned while recording: the pid of `run`'s command). */
  setOptions(options: object): void {
    if (this.closed) throw new BugError(`setOptions on closed recording "${this.recordingId}"`);
    this.db.prepare('UPDATE recording SET options = ? WHERE id = ?').run(JSON.stringify(options), this.recordingId);
    this.commit();
  }

  /** Moves unflushed changes into chunks (also done every FLUSH_SAMPLES samples and by close()). */
  flush(): void {
    const ids = this.pendIds;
    if (ids.length === 0) return;
    const first = ids[0] as number;
    const last = ids[ids.length - 1] as number;
    const st = this.st;
    // In series order, so the chunk ids (chunkId) ascend: the flush appends to the chunk B-tree.
    this.dirty.sort((a, b) => a.id - b.id);
    this.db.transaction(() => {
      const tl = Number(st.insTimeline.run(this.recordingId, first, last, ...minMax(this.pendTimes), ids.length,
        encodePoints(first, ids, this.pendTimes)).lastInsertRowid);
      for (const s of this.dirty) {
        const f = s.pendS[0] as number;
        const lv = s.pendV[s.pendV.length - 1] as number;
        st.insChunk.run(chunkId(tl, s.id), s.id, f, s.pendS[s.pendS.length - 1], s.pendS.length, Number.isNaN(lv) ? null : lv, encodePoints(f, s.pendS, s.pendV));
      }
    })();
    for (const s of this.dirty) { s.pendS = []; s.pendV = []; s.dirty = false; }
    this.dirty.length = 0;
    this.pendIds = [];
    this.pendTimes = [];
  }

  /** Flushes and marks the recording complete. The Store stays open. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.db.prepare('UPDATE recording SET ended_at_ms = ? WHERE id = ?').run(this.lastTakenAtMs ?? null, this.recordingId);
    this.commit();
    this.closed = true;
  }

  /** Samples committed by this writer (not counting those of a resumed recording's past). */
  get appendedCount(): number { return this.appended; }
}

function minMax(xs: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) { if (x < lo) lo = x; if (x > hi) hi = x; }
  return [lo, hi];
}

function newState(id: number, last: number): SeriesState {
  return { id, last, seen: 0, live: false, pendS: [], pendV: [], dirty: false };
}

function prepare(db: Database.Database) {
  return {
    insSegment: db.prepare('INSERT INTO boot_segment(recording_id, seq, boot_id, started_at_ms, uptime_sec, reason) VALUES (?, ?, ?, ?, ?, ?)'),
    setSegmentFirst: db.prepare('UPDATE boot_segment SET first_sample_id = ? WHERE id = ?'),
    setSegmentBootId: db.prepare('UPDATE boot_segment SET boot_id = ? WHERE id = ?'),
    insSample: db.prepare('INSERT INTO sample(id, recording_id, boot_segment_id, taken_at_ms, uptime_sec, n_values, n_changed, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    maxSampleId: db.prepare('SELECT MAX(id) FROM sample').pluck(),
    insSeries: db.prepare('INSERT INTO series(recording_id, key, first_sample_id) VALUES (?, ?, ?)'),
    insRaw: db.prepare('INSERT INTO raw(sample_id, codec, sections, data) VALUES (?, ?, ?, ?)'),
    insSkipped: db.prepare('INSERT INTO skipped(sample_id, what) VALUES (?, ?)'),
    insWarning: db.prepare('INSERT INTO warning(sample_id, source, line, text, reason, severity) VALUES (?, ?, ?, ?, ?, ?)'),
    insGap: db.prepare('INSERT INTO gap(recording_id, from_ms, to_ms, reason, after_sample_id) VALUES (?, ?, ?, ?, ?)'),
    insTimeline: db.prepare('INSERT INTO timeline(recording_id, first_sample_id, last_sample_id, min_ms, max_ms, n, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insChunk: db.prepare('INSERT INTO chunk(id, series_id, first_sample_id, last_sample_id, n, last_value, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
  };
}

/** All sections of a sample in one brotli stream (they share vocabulary); byte lengths say where each ends. */
function packRaw(sections: RawSection[]): { codec: string; sections: string; data: Buffer } {
  const bufs = sections.map((s) => Buffer.from(s.text, 'utf8'));
  const all = Buffer.concat(bufs);
  const data = brotliCompressSync(all, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: 5,
      [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: all.length,
    },
  });
  return { codec: 'br', sections: JSON.stringify(sections.map((s, i) => [s.kind, (bufs[i] as Buffer).length])), data };
}
