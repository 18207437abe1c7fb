/**
 * The fast path (capture_fast.ts) on more than one core, for a large log: the file is cut into byte ranges at
 * lines that start a "MemTotal:" line, each range is scanned by a FastScan of its own (this thread and worker
 * threads take ranges in turn), and the samples are delivered here in file order, at most `maxPending` ranges
 * parsed ahead of the one being delivered (constant memory whatever the log's size).
 *
 * Same answers as one sequential scan, checked at every join rather than assumed: a range's scan reads on through
 * the first line of the next range and reports whether that line started a sample (so the sample before it is
 * complete and delivered), which kind it opened, and what the sectionizer carries there (each kind's last line
 * count, the last free header); the next range's scan, started fresh at that line, must open the same kind at
 * its first line. Everything else a scan keeps across samples is a guess that only saves time (name order).
 * Where a join does not hold, a range's scan stops (a line left to the generic path), or a worker fails, the
 * samples up to the last sample start known to be exact are delivered and the sequential scan goes on from there
 * (handing over to the generic path as usual). Sample indexes and line numbers are made global here.
 *
 * Keys: this thread scans the first range before any worker starts one; the keys of that scan are numbered in
 * the caller's (empty) table in the scan's order and seeded into every scanner's own table, so all number them
 * alike. A sample whose keys are all among these shared keys travels as its scanner's whole row and reaches the
 * caller as a view of it; any other is renumbered value by value, a key the first time a delivered sample holds
 * it (numbering depends on the samples only, never on timing). Results are on SharedArrayBuffers (ResultArrays).
 *
 * The API stays synchronous: this thread blocks on Atomics.wait and takes results with receiveMessageOnPort.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { SnapshotWarning } from '../model/snapshot.js';
import {
  FAST_KINDS, FastClock, FastScan, KeyTable, ScanBuffers, drive, finish, growRow, newSeriesRow, scanSeriesFast, withClock,
  type FastResult, type FastSource, type OnRow, type ResumePoint, type SeriesRow,
} from './capture_fast.js';
import type { SampleTimestamp, SeriesMeta, SeriesOptions } from './capture_file.js';

export interface ParallelOptions {
  /** Smallest file worth the threads (default PARALLEL_MIN_BYTES). */
  minBytes?: number;
  /** Bytes per range (default: the file / 128, between 4 and 16 MB). */
  rangeBytes?: number;
  /** Worker threads besides this one, which scans ranges too (default 1). */
  workers?: number;
  /** Ranges scanned and not yet delivered, at most (default 4). */
  maxPending?: number;
}

export const PARALLEL_MIN_BYTES = 64 << 20;

export interface Range { start: number; end: number }

/** What a range's scan gives back. Lines and sample indexes count from the range's start. */
export interface RangeResult {
  k: number;
  /** Which scanner (0: this thread, 1...: workers): whose key numbers `ids` are. */
  source: number;
  error?: string;
  samples: number;
  /** Per sample (HDR slots): number of values, first line, where its section kinds start in `secs` and how many,
   * where its pids start in `pids` and how many, where its dense values start in `dense` (-1: none, see `dense`);
   * arrays may be longer than used. */
  hdr: Int32Array<ArrayBufferLike>;
  /** Section kinds (FAST_KINDS indexes) of the samples, one after another. */
  secs: Uint8Array<ArrayBufferLike>;
  /** Pids of the samples' processes, one after another. */
  pids: Int32Array<ArrayBufferLike>;
  /**
   * Per sample (TIMES slots), by its source (the 4th slot, SOURCES order): 'index' (NaN, NaN, NaN), 'terminal' (the
   * stamp's s, NaN, NaN), 'date' (a framed sample's date in s, epoch ms, uptime or NaN), 'terminal-tod' (TodTimes:
   * first, last, wraps; the day count is the delivering side's).
   */
  times: Float64Array<ArrayBufferLike>;
  /** Per sample: a framed sample's boot id. */
  bootIds: (string | undefined)[];
  /** A sample's key numbers, one sample after another (in the scanner's numbering). */
  ids: Int32Array<ArrayBufferLike>;
  /** A sparse sample's values, beside its ids. */
  values: Float64Array<ArrayBufferLike>;
  /**
   * A dense sample's values: the scanner's whole row (one slot per shared key, key k's value at k), copied in one go;
   * the delivering side hands a view of it to the caller instead of copying value by value. Only for a sample whose
   * keys are all among the shared ones (numbered alike by every scanner and the caller).
   */
  dense: Float64Array<ArrayBufferLike>;
  /** Keys the scanner numbered since its last result, in number order. */
  newKeys: string[];
  warnings: { sample: number; warning: SnapshotWarning }[];
  /**
   * 'join': the next range's first line started a sample (kind joinKind, carrying `carry`), `lines` lines in this
   * range; 'eof': the file's end, all delivered; 'stop' / 'badjoin': go on sequentially from `resume`.
   */
  how: 'join' | 'eof' | 'stop' | 'badjoin';
  lines: number;
  firstOpenLine: number;
  firstOpenKind: number;
  joinKind: number;
  carry: { counts: number[]; freeHeader: string | undefined };
  resume?: ResumePoint;
  /** Lines set aside in the range (to the join, or to the file's end). */
  aside: number[];
}

/**
 * A result's typed arrays. A worker's are on SharedArrayBuffers: posted to the delivering side without a copy, and
 * back to their worker once delivered, never transferred. Transferring detaches an ArrayBuffer, and the first
 * detach in an isolate makes V8 check for detached buffers on every typed-array access of its optimized code: the
 * worker's scan ran 15-20% slower after its first transferred result (measured).
 */
export type ResultArrays = Pick<RangeResult, 'hdr' | 'secs' | 'pids' | 'times' | 'ids' | 'values' | 'dense'>;

type Typed = Int32Array<ArrayBufferLike> | Uint8Array<ArrayBufferLike> | Float64Array<ArrayBufferLike>;

/** A typed array of n elements, on a SharedArrayBuffer when `shared`. */
function alloc<T extends Typed>(Ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, n: number, shared: boolean): T {
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  return new Ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

export interface WorkerJob {
  path: string;
  ranges: Range[];
  ctl: SharedArrayBuffer;
  port: MessagePort;
  source: number;
  maxPending: number;
}

/** Slots of the shared control array. */
const NEXT = 0, POSTED = 1, DELIVERED = 2, ABORT = 3, SEEDED = 4;
const NO_COUNTS: readonly number[] = [-1, -1, -1];
const NEEDLE = Buffer.from('\nMemTotal:');
/** In a framed log (`memsleuth script`), ranges start at a sample's "@@ms TAG begin" line. */
const FRAMED_NEEDLE = Buffer.from('\n@@ms ');
const BEGIN = Buffer.from(' begin');
const HDR = 7;
const TIMES = 4;
const SOURCES: readonly FastSource[] = ['index', 'terminal', 'date', 'terminal-tod'];
/** A worker that has posted nothing for this long is taken for dead: the scan goes on without it. */
const STALL_MS = 60_000;

/** Ranges of about rangeBytes, each after the first starting at a "MemTotal:" line. */
export function planRanges(path: string, rangeBytes: number): Range[] {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const starts = [0];
    const probe = Buffer.allocUnsafe(256 << 10);
    const head = probe.subarray(0, readSync(fd, probe, 0, 64 << 10, 0));
    const framed = head.indexOf(FRAMED_NEEDLE.subarray(1)) === 0 || head.indexOf(FRAMED_NEEDLE) >= 0;
    for (let at = rangeBytes; at < size; at += rangeBytes) {
      const n = readSync(fd, probe, 0, probe.length, at - 1);
      const i = framed ? beginLine(probe.subarray(0, n)) : memTotalLine(probe.subarray(0, n));
      if (i < 0) continue;
      const cut = at + i;
      if (cut > (starts.at(-1) as number) && cut < size) starts.push(cut);
    }
    return starts.map((start, k) => ({ start, end: starts[k + 1] ?? size }));
  } finally {
    closeSync(fd);
  }
}

const MEMTOTAL = Buffer.from('MemTotal:');

/**
 * Where a "MemTotal:" line starts in buf (at the LF before it), or -1: one that starts with it, else (a logger's
 * stamp or a tag on every line) the first line that holds it past a prefix. A wrong guess costs only speed: the
 * join check then fails and the scan goes on sequentially.
 */
function memTotalLine(buf: Buffer): number {
  const i = buf.indexOf(NEEDLE);
  if (i >= 0) return i;
  for (let m = buf.indexOf(MEMTOTAL); m >= 0; m = buf.indexOf(MEMTOTAL, m + 1)) {
    const lf = buf.lastIndexOf(10, m);
    if (lf >= 0 && m - lf <= 64) return lf;
  }
  return -1;
}

/** Where "\n@@ms TAG begin" starts in buf (at its LF), or -1. */
function beginLine(buf: Buffer): number {
  for (let i = buf.indexOf(FRAMED_NEEDLE); i >= 0; i = buf.indexOf(FRAMED_NEEDLE, i + 1)) {
    const lf = buf.indexOf(10, i + 1);
    if (lf < 0) return -1;
    let e = lf;
    while (e > i && (buf[e - 1] === 13 || buf[e - 1] === 32)) e--;
    // "@@ms TAG begin": the first space after the tag is the one before "begin".
    const b = e - BEGIN.length;
    if (b > i + FRAMED_NEEDLE.length && buf.subarray(b, e).equals(BEGIN) && buf.indexOf(32, i + FRAMED_NEEDLE.length) === b) return i;
  }
  return -1;
}

/** Scans ranges of one file with one FastScan and KeyTable (one per thread), packing the samples for delivery. */
export class RangeParser {
  private readonly keys = new KeyTable();
  private sentKeys = 0;
  private readonly scan: FastScan;
  private readonly bufs = new ScanBuffers();
  private readonly fd: number;
  private hdr: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private secs: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private nSecs = 0;
  private pids: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private nPids = 0;
  private times: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private bootIds: (string | undefined)[] = [];
  private ids: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private values: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private dense: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private nSamples = 0;
  private nValues = 0;
  private nDense = 0;
  /** How many keys, from number 0, the scanners and the caller number alike (0: none yet; see seed()). */
  private sharedKeys = 0;
  private warnings: { sample: number; warning: SnapshotWarning }[] = [];
  /** Array sets of delivered results, given back for reuse. */
  readonly spare: ResultArrays[] = [];

  /** A worker's results go to another thread: their arrays are on SharedArrayBuffers (see ResultArrays). */
  private readonly shared: boolean;

  constructor(path: string, private readonly ranges: readonly Range[], private readonly source: number) {
    this.shared = source !== 0;
    this.fd = openSync(path, 'r');
    this.scan = new FastScan(this.keys, {}, (_t, row, meta) => this.add(row, meta));
  }

  /** This scanner's key names, in number order. */
  get keyNames(): readonly string[] {
    return this.keys.names;
  }

  /**
   * From now on keys 0..names.length-1 are numbered as in `names` by every scanner and by the caller: samples
   * whose keys are all among them are packed dense. A worker's table is empty when seeded; the scanner whose
   * table the names came from passes its own.
   */
  seed(names: readonly string[]): void {
    for (const name of names) this.keys.id(name);
    if (this.keys.size !== names.length) throw new Error('seed: key tables differ');
    this.sentKeys = Math.max(this.sentKeys, names.length);
    this.sharedKeys = names.length;
  }

  run(k: number): RangeResult {
    const range = this.ranges[k] as Range;
    const last = k === this.ranges.length - 1;
    // Arrays given back by the delivering side when there are (their pages are already mapped: fresh ones of a few
    // MB cost a page fault per 4 KB), else new ones sized from the last range's; the result gives them away.
    const set = this.spare.pop();
    const wantHdr = Math.max(HDR * 256, this.nSamples * HDR + 128);
    const wantIds = Math.max(1 << 14, this.nValues + (this.nValues >> 4));
    const wantDense = this.sharedKeys > 0 ? Math.max(1 << 14, this.nDense + (this.nDense >> 4)) : 0;
    if (set !== undefined && set.hdr.length >= wantHdr && set.ids.length >= wantIds && set.dense.length >= wantDense) {
      ({ hdr: this.hdr, times: this.times, secs: this.secs, pids: this.pids, ids: this.ids, values: this.values, dense: this.dense } = set);
    } else {
      const sh = this.shared;
      this.hdr = alloc(Int32Array, wantHdr, sh);
      this.times = alloc(Float64Array, Math.ceil(this.hdr.length / HDR) * TIMES, sh);
      this.secs = alloc(Uint8Array, Math.max(4096, this.nSecs + (this.nSecs >> 3)), sh);
      this.pids = alloc(Int32Array, Math.max(256, this.nPids + (this.nPids >> 3)), sh);
      this.ids = alloc(Int32Array, wantIds, sh);
      this.values = alloc(Float64Array, this.ids.length, sh);
      this.dense = alloc(Float64Array, wantDense, sh);
    }
    this.nSecs = 0;
    this.nPids = 0;
    this.bootIds = [];
    this.nSamples = 0;
    this.nValues = 0;
    this.nDense = 0;
    this.warnings = [];
    const scan = this.scan;
    scan.reset(range.start, 0, 0, NO_COUNTS, undefined);
    let how: RangeResult['how'];
    const end = drive(scan, this.fd, range.start, last ? -1 : range.end, this.bufs);
    if (end === 'stopAt') how = scan.sampleStartedHere ? 'join' : 'badjoin';
    else if (end === 'eof') how = !last || scan.endNeedsCarry() || finish(scan) === 'stop' ? 'stop' : 'eof';
    else how = 'stop';
    const newKeys = this.keys.names.slice(this.sentKeys);
    this.sentKeys = this.keys.size;
    const r: RangeResult = {
      k, source: this.source, samples: this.nSamples,
      hdr: this.hdr, secs: this.secs, pids: this.pids, times: this.times, bootIds: this.bootIds, ids: this.ids, values: this.values,
      dense: this.dense, newKeys, warnings: this.warnings, how, lines: scan.lineNo - 1,
      firstOpenLine: scan.firstOpenLine, firstOpenKind: scan.firstOpenKind, joinKind: scan.openKind, carry: scan.sampleCarry(),
      aside: Array.from(scan.aside),
    };
    if (how === 'stop' || how === 'badjoin') r.resume = scan.resumePoint();
    return r;
  }

  private add(row: SeriesRow, meta: SeriesMeta): void {
    const n = row.count;
    if ((this.nSamples + 1) * HDR > this.hdr.length) {
      const h = alloc(Int32Array, this.hdr.length * 2, this.shared);
      h.set(this.hdr);
      this.hdr = h;
      const t = alloc(Float64Array, this.times.length * 2, this.shared);
      t.set(this.times);
      this.times = t;
    }
    if (this.nValues + n > this.ids.length) {
      let len = this.ids.length * 2;
      while (len < this.nValues + n) len *= 2;
      const a = alloc(Int32Array, len, this.shared);
      a.set(this.ids);
      this.ids = a;
      const v = alloc(Float64Array, len, this.shared);
      v.set(this.values);
      this.values = v;
    }
    const sections = meta.sections;
    const pids = meta.pids ?? [];
    if (this.nSecs + sections.length > this.secs.length) {
      const a = alloc(Uint8Array, 2 * (this.nSecs + sections.length), this.shared);
      a.set(this.secs);
      this.secs = a;
    }
    if (this.nPids + pids.length > this.pids.length) {
      const a = alloc(Int32Array, 2 * (this.nPids + pids.length), this.shared);
      a.set(this.pids);
      this.pids = a;
    }
    const h = this.nSamples * HDR;
    this.hdr[h] = n;
    this.hdr[h + 1] = meta.firstLine;
    this.hdr[h + 2] = this.nSecs;
    this.hdr[h + 3] = sections.length;
    this.hdr[h + 4] = this.nPids;
    this.hdr[h + 5] = pids.length;
    this.hdr[h + 6] = this.packValues(row);
    for (const sec of sections) this.secs[this.nSecs++] = FAST_KINDS.indexOf(sec as (typeof FAST_KINDS)[number]);
    for (const pid of pids) this.pids[this.nPids++] = pid;
    const ts = meta.timestamp;
    const t = this.nSamples * TIMES;
    const times = this.times;
    times[t] = times[t + 1] = times[t + 2] = NaN;
    times[t + 3] = SOURCES.indexOf(ts.source as FastSource);
    if (ts.source === 'terminal') times[t] = ts.sec;
    else if (ts.source === 'date') {
      times[t] = ts.sec;
      times[t + 1] = ts.epochMs ?? NaN;
      times[t + 2] = ts.uptimeSec ?? NaN;
    } else if (ts.source === 'terminal-tod') {
      const tod = this.scan.todTimes;
      times[t] = tod.first;
      times[t + 1] = tod.last;
      times[t + 2] = tod.wraps;
    }
    this.bootIds[this.nSamples] = ts.bootId;
    for (const w of meta.warnings) this.warnings.push({ sample: this.nSamples, warning: w });
    this.nSamples++;
  }

  /**
   * The row's ids, and its values: its whole row (dense: two block copies) when its keys are all shared and the row
   * is not mostly empty slots, else value by value beside the ids. Where its dense values start, or -1.
   */
  private packValues(row: SeriesRow): number {
    const n = row.count;
    const ids = row.ids;
    const limit = this.sharedKeys;
    let dense = limit > 0 && limit <= 4 * n + 256;
    // Only a scanner that numbered keys since its seed can hold one that is not shared.
    if (this.keys.size > limit) for (let i = 0; dense && i < n; i++) if ((ids[i] as number) >= limit) dense = false;
    const o = this.nValues;
    if (dense) {
      if (this.nDense + limit > this.dense.length) {
        const d = alloc(Float64Array, Math.max(2 * this.dense.length, this.nDense + limit), this.shared);
        d.set(this.dense.subarray(0, this.nDense));
        this.dense = d;
      }
      this.ids.set(ids.subarray(0, n), o);
      this.dense.set(row.values.subarray(0, limit), this.nDense);
      const at = this.nDense;
      this.nDense += limit;
      this.nValues = o + n;
      return at;
    }
    const values = row.values, outIds = this.ids, outValues = this.values;
    let p = o;
    for (let i = 0; i < n; i++) {
      const id = ids[i] as number;
      outIds[p] = id;
      outValues[p++] = values[id] as number;
    }
    this.nValues = p;
    return -1;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A worker's loop: takes ranges in turn until none are left or it is told to stop. */
export function runWorker(job: WorkerJob): void {
  const ctl = new Int32Array(job.ctl);
  let parser: RangeParser | undefined;
  try {
    parser = new RangeParser(job.path, job.ranges, job.source);
    // The shared key names come once the first range is scanned (by the delivering thread).
    while (Atomics.load(ctl, SEEDED) === 0 && Atomics.load(ctl, ABORT) === 0) Atomics.wait(ctl, SEEDED, 0, 1000);
    const seed = receiveMessageOnPort(job.port);
    if (seed !== undefined) parser.seed(seed.message as string[]);
    for (;;) {
      if (Atomics.load(ctl, ABORT) !== 0) break;
      const d = Atomics.load(ctl, DELIVERED);
      if (Atomics.load(ctl, NEXT) - d >= job.maxPending) {
        Atomics.wait(ctl, DELIVERED, d, 1000);
        continue;
      }
      const k = Atomics.add(ctl, NEXT, 1);
      if (k >= job.ranges.length) break;
      for (let m = receiveMessageOnPort(job.port); m !== undefined; m = receiveMessageOnPort(job.port)) parser.spare.push(m.message as ResultArrays);
      let r: RangeResult;
      try {
        r = parser.run(k);
      } catch (e) {
        r = failed(k, job.source, e);
      }
      job.port.postMessage(r);
      Atomics.add(ctl, POSTED, 1);
      Atomics.notify(ctl, POSTED);
    }
  } finally {
    parser?.close();
    job.port.close();
  }
}

function failed(k: number, source: number, e: unknown): RangeResult {
  return {
    k, source, error: e instanceof Error ? e.message : String(e), samples: 0, hdr: new Int32Array(0), secs: new Uint8Array(0), pids: new Int32Array(0), times: new Float64Array(0), bootIds: [], ids: new Int32Array(0),
    values: new Float64Array(0), dense: new Float64Array(0), newKeys: [], warnings: [], how: 'badjoin', lines: 0, firstOpenLine: -1, firstOpenKind: -1,
    joinKind: -1, carry: { counts: [...NO_COUNTS], freeHeader: undefined }, aside: [],
  };
}

/** Key numbers of one scanner mapped to the caller's. */
interface Source { names: string[]; remap: Int32Array }

/**
 * The fast path over `path` on this thread and `workers` worker threads; the same result as scanSeriesFast()
 * (which it falls back to where it cannot prove a join, or for a file too small to split).
 */
export function scanSeriesParallel(path: string, options: SeriesOptions, par: ParallelOptions, keys: KeyTable, onRow: OnRow): FastResult {
  const size = statSync(path).size;
  const rangeBytes = par.rangeBytes ?? Math.min(16 << 20, Math.max(4 << 20, Math.ceil(size / 128)));
  const ranges = planRanges(path, rangeBytes);
  const nWorkers = par.workers ?? 1;
  if (ranges.length < 2 || nWorkers < 1) return scanSeriesFast(path, options, keys, onRow);
  const maxPending = Math.max(2, par.maxPending ?? 4);
  const interval = options.intervalSec ?? 1;
  const ctl = new Int32Array(new SharedArrayBuffer(32));
  // This thread scans the first range itself, before the workers take any (see below).
  ctl[NEXT] = 1;
  const ports: MessagePort[] = [];
  const workers: Worker[] = [];
  const sources: Source[] = [];
  const local = new RangeParser(path, ranges, 0);
  const results = new Map<number, RangeResult>();
  const row = newSeriesRow(keys);
  // The row's own arrays: a dense sample lends it views of a result's (given back after delivery), a sparse one
  // is written here.
  const own = { ids: row.ids, values: row.values };
  /** Keys numbered alike by every scanner and by `keys` (see RangeParser.seed). */
  let sharedKeys = 0;
  // Where the range being delivered starts: a sample start, exact (checked at the join).
  const carry = { line: 0, index: 0, counts: [...NO_COUNTS], freeHeader: undefined as string | undefined };
  let expectKind = -1;
  let next = 0;
  let resumeAt: ResumePoint | undefined;

  const received = (r: RangeResult): void => {
    const src = (sources[r.source] ??= { names: [], remap: new Int32Array(0) });
    for (const k of r.newKeys) src.names.push(k);
    if (src.remap.length < src.names.length) {
      const m = new Int32Array(Math.max(src.names.length, src.remap.length * 2)).fill(-1);
      m.set(src.remap);
      src.remap = m;
    }
    results.set(r.k, r);
  };
  const aside: number[] = [];
  // The clock of the delivered samples, as one sequential scan's would stand (a range's scan starts with none).
  const clock = new FastClock(interval);
  const carryPoint = (): ResumePoint => ({
    byte: (ranges[next] as Range).start, line: carry.line, index: carry.index, counts: [...carry.counts], freeHeader: carry.freeHeader, aside: [...aside],
    ...withClock(clock.seed()),
  });
  /** A sample's source: 'index' (no time), 'terminal' (a logger's dated stamp: no epoch ms) or 'date' (framed). */
  const sourceOf = (r: RangeResult, s: number): FastSource => SOURCES[r.times[TIMES * s + 3] as number] as FastSource;
  /** True when the clock times every sample of r by its own source (the range's scan checked that only within it). */
  const clockFits = (r: RangeResult): boolean => {
    let primary = clock.primary;
    for (let s = 0; s < r.samples; s++) {
      const source = sourceOf(r, s);
      if (source === 'index') continue;
      if (primary !== undefined && primary !== source) return false;
      primary ??= source;
    }
    return true;
  };

  /** Delivers range `next`; false when the scan must go on sequentially from resumeAt. */
  const deliver = (r: RangeResult): boolean => {
    if (r.error !== undefined || (next > 0 && (r.firstOpenLine !== 1 || r.firstOpenKind !== expectKind)) || !clockFits(r)) {
      resumeAt = carryPoint();
      return false;
    }
    const src = sources[r.source] as Source;
    const { hdr, ids, values, dense } = r;
    let v = 0;
    let w = 0;
    for (let s = 0; s < r.samples; s++) {
      const n = hdr[HDR * s] as number;
      const d = hdr[HDR * s + 6] as number;
      if (d >= 0) {
        // All its keys are shared (numbered alike here): the scanner's row as it was, viewed, not copied.
        row.ids = ids.subarray(v, v + n);
        row.values = dense.subarray(d, d + sharedKeys);
        v += n;
      } else {
        row.ids = own.ids;
        row.values = own.values;
        growRow(row, 0, n);
        let out = row.ids;
        let vals = row.values;
        const remap = src.remap;
        for (let i = 0; i < n; i++, v++) {
          const id = ids[v] as number;
          let g = remap[id] as number;
          if (g < 0) {
            g = keys.id(src.names[id] as string);
            remap[id] = g;
            growRow(row, g, 0);
            out = row.ids;
            vals = row.values;
          }
          out[i] = g;
          vals[g] = values[v] as number;
        }
        own.ids = row.ids;
        own.values = row.values;
      }
      row.count = n;
      const sections: string[] = [];
      const secFrom = hdr[HDR * s + 2] as number;
      for (let j = secFrom; j < secFrom + (hdr[HDR * s + 3] as number); j++) sections.push(FAST_KINDS[r.secs[j] as number] as string);
      const warnings: SnapshotWarning[] = [];
      // r.warnings are in sample order.
      for (; w < r.warnings.length && (r.warnings[w] as { sample: number }).sample === s; w++) {
        const x = (r.warnings[w] as { warning: SnapshotWarning }).warning;
        warnings.push({ ...x, line: x.line + carry.line });
      }
      const index = carry.index + s;
      const source = sourceOf(r, s);
      const t = TIMES * s;
      const up = source === 'date' ? r.times[t + 2] as number : NaN;
      const reading = source === 'terminal-tod'
        ? clock.timeOfDay({ first: r.times[t] as number, last: r.times[t + 1] as number, wraps: r.times[t + 2] as number })
        : r.times[t] as number;
      const sec = clock.place(source, reading, index, up);
      let timestamp: SampleTimestamp;
      if (source !== 'date') timestamp = { sec, source };
      else {
        timestamp = { sec, source: 'date', epochMs: r.times[t + 1] as number };
        if (!Number.isNaN(up)) timestamp.uptimeSec = up;
        const boot = r.bootIds[s];
        if (boot !== undefined) timestamp.bootId = boot;
      }
      const meta: SeriesMeta = {
        index, firstLine: carry.line + (hdr[HDR * s + 1] as number), sections, kinds: sections.slice(),
        timestamp, warnings,
      };
      const pidFrom = hdr[HDR * s + 4] as number;
      const pidCount = hdr[HDR * s + 5] as number;
      if (pidCount > 0) meta.pids = Array.from(r.pids.subarray(pidFrom, pidFrom + pidCount));
      onRow(sec, row, meta);
    }
    // Nothing may write into a view of r's arrays once they are given back.
    row.ids = own.ids;
    row.values = own.values;
    if (r.how === 'join' || r.how === 'eof') for (let i = 0; i < r.aside.length; i++) aside[i] = (aside[i] ?? 0) + (r.aside[i] as number);
    if (r.how === 'join') {
      carry.line += r.lines;
      carry.index += r.samples;
      overlay(carry, r.carry.counts, r.carry.freeHeader);
      expectKind = r.joinKind;
      return true;
    }
    if (r.how === 'eof') return true;
    const at = r.resume as ResumePoint;
    const counts = [...carry.counts];
    for (let i = 0; i < counts.length; i++) if ((at.counts[i] as number) >= 0) counts[i] = at.counts[i] as number;
    resumeAt = {
      byte: at.byte, line: carry.line + at.line, index: carry.index + at.index, counts, freeHeader: at.freeHeader ?? carry.freeHeader, aside: sum(aside, at.aside),
      ...withClock(clock.seed()),
    };
    return false;
  };

  /** A delivered result's arrays, back to the scanner that filled them (a closed port drops them). */
  const giveBack = (r: RangeResult): void => {
    if (r.error !== undefined) return;
    const arrays: ResultArrays = { hdr: r.hdr, secs: r.secs, pids: r.pids, times: r.times, ids: r.ids, values: r.values, dense: r.dense };
    if (r.source === 0) local.spare.push(arrays);
    else ports[r.source - 1]?.postMessage(arrays);
  };

  let total = -1;
  try {
    for (let i = 0; i < nWorkers; i++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const job: WorkerJob = { path, ranges, ctl: ctl.buffer as SharedArrayBuffer, port: port2, source: i + 1, maxPending };
      try {
        const w = new Worker(new URL('./capture_worker.js', import.meta.url), { workerData: job, transferList: [port2] });
        // A worker that dies is noticed by its silence (STALL_MS); its error event must not end the process.
        w.on('error', () => undefined);
        workers.push(w);
      } catch {
        port2.close();
        break;
      }
    }
    // The first range here, before any worker takes one (they load meanwhile). When `keys` is empty, its scan's
    // keys are numbered there in the scan's own order, and every worker numbers them alike: a sample whose keys
    // are all among them is delivered as a view of its scanner's row (dense), not renumbered value by value.
    const first = local.run(0);
    const seed: string[] = [];
    if (keys.size === 0 && first.error === undefined) {
      seed.push(...local.keyNames);
      for (const name of seed) keys.id(name);
      local.seed(seed);
      sharedKeys = seed.length;
    }
    for (const p of ports) p.postMessage(seed);
    Atomics.store(ctl, SEEDED, 1);
    Atomics.notify(ctl, SEEDED);
    received(first);
    for (let i = 0; i <= ports.length; i++) {
      const src = (sources[i] ??= { names: [], remap: new Int32Array(0) });
      if (i > 0) src.names.push(...seed);
      if (src.remap.length < src.names.length) src.remap = new Int32Array(src.names.length).fill(-1);
      for (let k = 0; k < seed.length; k++) src.remap[k] = k;
    }
    while (next < ranges.length) {
      const seen = Atomics.load(ctl, POSTED);
      for (const p of ports) {
        for (let m = receiveMessageOnPort(p); m !== undefined; m = receiveMessageOnPort(p)) received(m.message as RangeResult);
      }
      const r = results.get(next);
      if (r !== undefined) {
        results.delete(next);
        const ok = deliver(r);
        if (!ok) break;
        giveBack(r);
        if (r.how === 'eof') {
          total = carry.index + r.samples;
          break;
        }
        next++;
        Atomics.add(ctl, DELIVERED, 1);
        Atomics.notify(ctl, DELIVERED);
        continue;
      }
      const claimed = Atomics.load(ctl, NEXT);
      if (claimed < ranges.length && claimed - next < maxPending) {
        const k = Atomics.add(ctl, NEXT, 1);
        if (k < ranges.length) received(local.run(k));
        continue;
      }
      if (Atomics.wait(ctl, POSTED, seen, STALL_MS) === 'timed-out' && Atomics.load(ctl, POSTED) === seen) {
        resumeAt = carryPoint();
        break;
      }
    }
  } finally {
    Atomics.store(ctl, ABORT, 1);
    Atomics.notify(ctl, DELIVERED);
    Atomics.notify(ctl, SEEDED);
    for (const p of ports) p.close();
    for (const w of workers) void w.terminate().catch(() => undefined);
    local.close();
  }
  if (total >= 0) return { complete: true, samples: total, aside };
  const from = resumeAt ?? carryPoint();
  const rest = scanSeriesFast(path, options, keys, onRow, from);
  // The sequential scan counts from `from`; what was set aside before it rides along.
  return rest.complete ? { ...rest, aside: sum(rest.aside, from.aside) } : { complete: false, resume: { ...rest.resume, aside: sum(rest.resume.aside, from.aside) } };
}

function sum(a: readonly number[] | undefined, b: readonly number[] | undefined): number[] {
  const n = Math.max(a?.length ?? 0, b?.length ?? 0);
  return Array.from({ length: n }, (_, i) => (a?.[i] ?? 0) + (b?.[i] ?? 0));
}

function overlay(carry: { counts: number[]; freeHeader: string | undefined }, counts: readonly number[], freeHeader: string | undefined): void {
  for (let i = 0; i < carry.counts.length; i++) if ((counts[i] as number) >= 0) carry.counts[i] = counts[i] as number;
  if (freeHeader !== undefined) carry.freeHeader = freeHeader;
}
