/**
 * The byte-scanning path of ingestSeries() (capture_file.ts) for the common capture loop: meminfo, slabinfo and
 * free dumps between "####" separators, echoed "cat ...", printk lines, CRLF, and a terminal logger's stamp on every
 * line (minicom, tio, ts, ISO, dmesg -T: stampEnd() skips it on a hot row; the cleaner reads the time of a line that
 * opens a section, which times the sample as the generic clock would, FastClock). It reads reused Buffers and parses
 * the two line shapes that are nearly all of such a log (meminfo "Key:  123 kB" and the standard slabinfo row)
 * in place, byte by byte, making no string per line and finding each such line's end as it parses it; every
 * other line is decoded and goes through the same cleaner, shape tests and parser (parseFree) as the generic path.
 *
 * Values go into a Float64Array indexed by a stable key table (a key's string is built once, the first time its
 * name is seen); a row's name is first compared byte for byte with the name that followed the previous row's
 * name last time (dumps list the same names in the same order), and only hashed when that guess is wrong.
 *
 * It gives the generic path's answer or none: it follows the sectionizer's rules for these three kinds, and at
 * the first thing the generic path would handle differently or warn about (a line it does not know, a control
 * byte, non-ASCII text, an "@", a relative terminal stamp, a date/uptime section, a duplicate key, a wrapped row...)
 * it stops and says so, with where the sample it was reading began (byte, line, and what the sectionizer carries
 * from one sample to the next: the last free header and each kind's line count); ingestSeries() then runs the
 * generic path from there, so nothing before that sample is read twice. Every byte of a hot line is checked against the classes its shape allows, every other line's
 * bytes against printable ASCII, so a control byte or non-ASCII byte anywhere is seen. A test holds both paths
 * equal value for value on the real captures.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { warning } from '../model/parsed.js';
import { keyPart, processKey, type SeriesValues } from '../model/series.js';
import type { SnapshotWarning } from '../model/snapshot.js';
import type { FreeRow } from '../model/proc_files.js';
import { DEFAULT_PAGE_SIZE } from '../model/units.js';
import { CHUNK_NO_AT, CHUNK_NO_CONTROLS, LineCleaner, noControls, stampEnd } from '../capture/terminal_noise.js';
import type { TerminalTime } from '../capture/section.js';
import { FREE_ROW_RE, SHAPES, SHAPE_OF, isSeparator } from '../capture/shapes.js';
import { MARKER, parseMarker, type Marker } from '../capture/markers.js';
import { parseBootId, parseDate, parseUptime } from '../capture/clock.js';
import { parseBuddyinfo } from '../parse/buddyinfo.js';
import { parseStatus } from '../parse/status.js';
import { parseSmapsRollup } from '../parse/smaps_rollup.js';
import type { ProcessSample } from '../model/snapshot.js';
import type { SampleTimestamp } from './capture_file.js';
import { parseFree } from '../parse/free.js';
import type { SeriesMeta, SeriesOptions } from './capture_file.js';

/** True when the file's head shows nothing the fast path would stop at right away (a cheap guess; it checks every line anyway). */
export function canTakeFastPath(head: Buffer): boolean {
  if (!isAscii(head)) return false;
  // An "@" only at the start of a frame marker line (`memsleuth script` logs, saved live sessions).
  for (let at = head.indexOf(64 /* @ */); at >= 0; at = head.indexOf(64, at + 1)) {
    if ((at > 0 && head[at - 1] !== LF) || head.toString('latin1', at, at + MARKER_SP.length) !== MARKER_SP) return false;
    const lf = head.indexOf(LF, at);
    if (lf < 0) break;
    at = lf;
  }
  const lf = head.lastIndexOf(LF);
  return lf < 0 || noControls(head, 0, lf + 1);
}

const MARKER_SP = `${MARKER} `;

/**
 * Series keys numbered in the order they were first seen; a key keeps its number for the whole ingestion. It
 * holds every distinct key of the log (a few hundred to a few thousand for a capture loop).
 */
export class KeyTable {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  get size(): number {
    return this.names.length;
  }

  /** The key's number, given one if it is new. */
  id(key: string): number {
    let n = this.ids.get(key);
    if (n === undefined) {
      n = this.names.length;
      this.names.push(key);
      this.ids.set(key, n);
    }
    return n;
  }

  get(key: string): number | undefined {
    return this.ids.get(key);
  }
}

/**
 * One sample's values without a Map: the keys it holds are ids[0..count) (numbers of `keys`), the value of key
 * number k is values[k]. Slots of keys the sample lacks hold stale numbers. The object and its arrays are reused
 * (and the arrays replaced when they grow): read them during the callback, copy what you keep.
 */
export interface SeriesRow {
  readonly keys: KeyTable;
  ids: Int32Array;
  count: number;
  values: Float64Array;
}

/** A row's values as a Map (keys in the row's order), into `out` (not cleared). */
export function rowToMap(row: SeriesRow, out: SeriesValues = new Map()): SeriesValues {
  const { ids, values } = row;
  const names = row.keys.names;
  for (let i = 0; i < row.count; i++) {
    const id = ids[i] as number;
    out.set(names[id] as string, values[id] as number);
  }
  return out;
}

/** A reusable row over `keys`, with room for its keys. */
export function newSeriesRow(keys: KeyTable): SeriesRow {
  return { keys, ids: new Int32Array(1024), count: 0, values: new Float64Array(1024) };
}

/** Makes room in `row` for key number `id` and for `count` ids. */
export function growRow(row: SeriesRow, id: number, count: number): void {
  if (id >= row.values.length) {
    let n = row.values.length * 2;
    while (n <= id) n *= 2;
    const v = new Float64Array(n);
    v.set(row.values);
    row.values = v;
  }
  if (count > row.ids.length) {
    let n = row.ids.length * 2;
    while (n < count) n *= 2;
    const a = new Int32Array(n);
    a.set(row.ids);
    row.ids = a;
  }
}

/** Thrown to leave the scan: the generic path takes over. */
export class Stop extends Error {}

/** Names interned by their bytes (FNV-1a, checked byte for byte, so a collision costs time, never a wrong key). */
class Names {
  readonly names: string[] = [];
  readonly bytes: Uint8Array[] = [];
  /** Each name's whole big-endian 4-byte words, for nameAt(). */
  readonly words: Int32Array[] = [];
  private readonly byHash = new Map<number, number>();
  private readonly byName = new Map<string, number>();

  /** The name's number, or -1 - (number) when it is new. */
  id(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const id = this.byHash.get(h);
    if (id !== undefined) {
      if (sameBytes(this.bytes[id] as Uint8Array, buf, start, end)) return id;
      return this.slow(latin1(buf, start, end));
    }
    const name = latin1(buf, start, end);
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    const n = this.add(name);
    this.byHash.set(h, n);
    return -1 - n;
  }

  private slow(name: string): number {
    const known = this.byName.get(name);
    return known !== undefined ? known : -1 - this.add(name);
  }

  private add(name: string): number {
    const n = this.names.length;
    if (n >= MAX_NAMES) throw new Stop();
    this.names.push(name);
    const bytes = Buffer.from(name, 'latin1');
    this.bytes.push(bytes);
    this.words.push(Int32Array.from({ length: bytes.length >> 2 }, (_, k) => bytes.readInt32BE(4 * k)));
    this.byName.set(name, n);
    return n;
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

/** a equals buf[start, end): names are short, a loop beats Buffer.compare's argument checks. */
function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/**
 * buf[st, st + name.length) equals name (words: its whole big-endian words), compared four bytes at a time: the
 * name guessed for a hot row is nearly always right, and this is most of what checking it costs. The caller has
 * checked that the bytes are there.
 */
function nameAt(buf: Uint8Array, dv: DataView, st: number, name: Uint8Array, words: Int32Array): boolean {
  const nw = words.length;
  for (let k = 0; k < nw; k++) if (dv.getInt32(st + 4 * k) !== words[k]) return false;
  for (let j = nw << 2; j < name.length; j++) if (buf[st + j] !== name[j]) return false;
  return true;
}

/** Past this many distinct names the log is not the loop this path is for. */
const MAX_NAMES = 100_000;
const LF = 10, CR = 13, SP = 32, TAB = 9, COLON = 58, HASH = 35;
const SPACES4 = 0x20202020;
const COMMAND_WORDS: ReadonlySet<string> = new Set([
  'cat', 'echo', 'sleep', 'while', 'for', 'if', 'then', 'fi', 'busybox', 'dmesg', 'ls', 'cd', 'export', 'sh', 'bash', 'date', 'uptime', 'head', 'tail', 'grep',
]);
const MEMTOTAL = Buffer.from('MemTotal:');
/** A buddyinfo line parseBuddyinfo takes without a warning (counts short enough to be exact doubles). */
const BUDDY_LINE_RE = /^\s*Node\s+\d{1,9},\s*zone\s+[^\s,]+(?:\s+\d{1,15})+\s*$/;
/** SeriesFlattener's per-process series, in its order (model/series.ts). */
const STATUS_SERIES = ['VmRSS', 'VmSize', 'VmSwap', 'RssAnon', 'RssFile', 'RssShmem', 'VmPTE', 'VmData'] as const;
const PROC_SUFFIXES = ['uss', 'pss', 'rss', 'swap', 'vss', 'swap_pss', 'anon', ...STATUS_SERIES.map((k) => `status.${k}`), 'threads', 'fdsize', 'ppid'];
const NOT_NAMES: readonly Buffer[] = [...COMMAND_WORDS, 'tunables', 'slabdata'].map((w) => Buffer.from(w));
const TUNABLES = Buffer.from('tunables');
const SLABDATA = Buffer.from('slabdata');
/**
 * The tunables of every SLUB row as /proc/slabinfo prints them ("%4u" zeros) up to "slabdata": a row holding
 * exactly these bytes reads as label(TUNABLES), three zero columns and label(SLABDATA) would read it.
 */
const ZERO_TUNABLES = Buffer.from(' : tunables    0    0    0 : slabdata');

/**
 * True when buf[i...] is ZERO_TUNABLES with a byte after it (as label() wants one after "slabdata"). Its words are
 * written out, and their differences or'ed: independent loads, constants in the compares, one branch (a SLUB row
 * nearly always matches, and a row that does not is read column by column).
 */
function zeroTunables(buf: Uint8Array, dv: DataView, i: number, end: number): boolean {
  if (i + ZERO_TUNABLES.length >= end) return false;
  const diff = (dv.getInt32(i) ^ 0x203a2074) | (dv.getInt32(i + 4) ^ 0x756e6162) | (dv.getInt32(i + 8) ^ 0x6c657320)
    | (dv.getInt32(i + 12) ^ 0x20202030) | (dv.getInt32(i + 16) ^ 0x20202020) | (dv.getInt32(i + 20) ^ 0x30202020)
    | (dv.getInt32(i + 24) ^ 0x2030203a) | (dv.getInt32(i + 28) ^ 0x20736c61) | (dv.getInt32(i + 32) ^ 0x62646174);
  return diff === 0 && buf[i + 36] === 97 /* a */;
}
{
  // The words above are ZERO_TUNABLES's (a Uint8Array probe: the scanners' array type, not a Buffer).
  const probe = Uint8Array.from(Buffer.from(`${ZERO_TUNABLES.toString('latin1')} `));
  if (ZERO_TUNABLES.length !== 37 || !zeroTunables(probe, new DataView(probe.buffer), 0, probe.length)) throw new Error('zeroTunables() is not ZERO_TUNABLES');
}

const enum Mode { None, Meminfo, Slab, Free, Vmstat, Lines }
const KIND_BIT = { meminfo: 1, slabinfo: 2, free: 4, vmstat: 8, buddyinfo: 16, date: 32, uptime: 64, boot_id: 128, status: 256, smaps_rollup: 512 } as const;
const PER_PROCESS_BITS = KIND_BIT.status | KIND_BIT.smaps_rollup;
type FastKind = keyof typeof KIND_BIT;
const MODE_OF: Record<FastKind, Mode> = {
  meminfo: Mode.Meminfo, slabinfo: Mode.Slab, free: Mode.Free, vmstat: Mode.Vmstat, buddyinfo: Mode.Lines, date: Mode.Lines, uptime: Mode.Lines, boot_id: Mode.Lines,
  status: Mode.Lines, smaps_rollup: Mode.Lines,
};
/**
 * The kinds this path reads; the first three in free-form logs too (their line counts are ResumePoint.counts), all
 * of them inside frame markers (`memsleuth script` logs).
 */
export const FAST_KINDS: readonly FastKind[] = ['meminfo', 'slabinfo', 'free', 'vmstat', 'buddyinfo', 'date', 'uptime', 'boot_id', 'status', 'smaps_rollup'];
const KIND_INDEX: Record<FastKind, number> = { meminfo: 0, slabinfo: 1, free: 2, vmstat: 3, buddyinfo: 4, date: 5, uptime: 6, boot_id: 7, status: 8, smaps_rollup: 9 };
/** Kinds whose line count the sectionizer carries from sample to sample (ResumePoint.counts). */
const COUNTED = 3;
/** FastScan.openKind of a sample opened by a "begin" marker, before any section. */
export const BEGIN_KIND = FAST_KINDS.length;
/** A line of this many bytes or more is cut by the generic reader (ChunkedLines). */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * A sample's start as the sectionizer stands there: the generic reader starts at byte `byte` (a line start), line
 * numbers going on from `line`, sample indexes from `index`, primed with what the sectionizer carries over from
 * earlier samples: the line count of the last section of each kind (FAST_KINDS order; -1: none), which decides
 * the "capture ended inside this section" warning, and the last free header, which headerless free rows reuse.
 */
export interface ResumePoint {
  byte: number;
  line: number;
  index: number;
  counts: number[];
  freeHeader: string | undefined;
  /** Lines set aside before `byte` by the scan that stopped (ASIDE_REASONS order); absent: none counted. */
  aside?: number[];
  /** The clock as the samples before `byte` left it; absent: no sample before. */
  clock?: ClockSeed;
}

/** Why the fast path set a line aside, as the generic path names it (ReadReport.setAside). */
export const ASIDE_REASONS = ['blank', 'separator', 'command', 'printk', 'prompt'] as const;
const A_BLANK = 0, A_SEPARATOR = 1, A_COMMAND = 2;
const asideIndex = (reason: string | undefined): number => {
  const i = (ASIDE_REASONS as readonly string[]).indexOf(reason ?? 'blank');
  return i < 0 ? A_BLANK : i;
};

/** Adds counts (ASIDE_REASONS order) into a report's setAside. */
export function addAside(into: Record<string, number>, counts: ArrayLike<number> | undefined): void {
  if (!counts) return;
  ASIDE_REASONS.forEach((r, i) => {
    const n = counts[i] ?? 0;
    if (n > 0) into[r] = (into[r] ?? 0) + n;
  });
}

/** The start of a file. */
/**
 * What the generic clock (capture_file.ts SampleClock) holds after the samples before a resume point: the log's
 * primary source, the last sample's time and the period since the one before, and the offsets learnt to the
 * primary from samples that had both. Undefined: no sample before.
 */
export interface ClockSeed {
  primary: string | undefined;
  prevSec: number;
  prevPeriod: number;
  offsets: [string, number][];
  /** Days counted and the last time of day of the logger's time-of-day stamps ('terminal-tod'), if any. */
  tod?: [number, number];
}

/** The times of day of a sample's sections, in order, as SampleClock.timeOfDay() needs them: the first, the last,
 * and how often the day turned between them (a time an hour or more before the one before). */
export interface TodTimes { first: number; last: number; wraps: number }

export type FastSource = 'terminal' | 'terminal-tod' | 'date' | 'index';

/**
 * SampleClock for the samples this path delivers, which carry one source at most: a logger's dated stamp on the
 * line that opened a section ('terminal'), a framed sample's date (and uptime), or none ('index'). It follows
 * SampleClock.place() step by step; a sample whose source the generic clock would convert (not the log's primary
 * one) is not this path's (fits()).
 */
export class FastClock {
  primary: string | undefined;
  prevSec: number | undefined;
  prevPeriod: number;
  private readonly offsets = new Map<string, number>();
  /** SampleClock.days for 'terminal-tod' (undefined: no time of day yet). */
  private tod: [number, number] | undefined;
  constructor(private readonly interval: number, seed?: ClockSeed) {
    this.prevPeriod = interval;
    if (seed) {
      this.primary = seed.primary;
      this.prevSec = seed.prevSec;
      this.prevPeriod = seed.prevPeriod;
      for (const [k, v] of seed.offsets) this.offsets.set(k, v);
      if (seed.tod) this.tod = [seed.tod[0], seed.tod[1]];
    }
  }

  /** True when the generic clock would time a sample of this source by that source itself. */
  fits(source: FastSource): boolean {
    return source === 'index' || this.primary === undefined || this.primary === source;
  }

  /** SampleClock.timeOfDay() over a sample's sections: the first one's time on a day-counting axis. */
  timeOfDay(t: TodTimes): number {
    const d = (this.tod ??= [0, -1]);
    if (d[1] >= 0 && t.first + 3600 < d[1]) d[0] += 86400;
    const v = t.first + d[0];
    d[0] += 86400 * t.wraps;
    d[1] = t.last;
    return v;
  }

  /** The sample's time on the axis (sec: its source's reading; uptime: a framed sample's, NaN when none), as place() gives it. */
  place(source: FastSource, sec: number, index: number, uptime = NaN): number {
    if (source === 'index') sec = this.prevSec === undefined || this.primary === undefined ? index * this.interval : this.prevSec + this.prevPeriod;
    else {
      this.primary ??= source;
      if (!Number.isNaN(uptime)) this.offsets.set('uptime', sec - uptime);
    }
    if (this.prevSec !== undefined && sec > this.prevSec) this.prevPeriod = sec - this.prevSec;
    this.prevSec = sec;
    return sec;
  }

  seed(): ClockSeed | undefined {
    if (this.prevSec === undefined) return undefined;
    const seed: ClockSeed = { primary: this.primary, prevSec: this.prevSec, prevPeriod: this.prevPeriod, offsets: [...this.offsets] };
    if (this.tod) seed.tod = [this.tod[0], this.tod[1]];
    return seed;
  }
}

export const FILE_START: ResumePoint = { byte: 0, line: 0, index: 0, counts: [-1, -1, -1], freeHeader: undefined };

const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWord = (c: number): boolean => isAlpha(c) || (c >= 48 && c <= 57) || c === 95 || c === 40 || c === 41;
const isBlank = (c: number): boolean => c === SP || c === TAB;

/**
 * True when buf[start, end) is printable ASCII (tab allowed) without "@": what the chunk hints CHUNK_NO_CONTROLS and
 * CHUNK_NO_AT promise the cleaner, and what canTakeFastPath() asks of a log.
 */
function plainLine(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c < 32 ? c !== TAB : c >= 127 || c === 64) return false;
  }
  return true;
}

/** plainLine() that allows "@" (a frame marker line). */
function plainAtLine(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c < 32 ? c !== TAB : c >= 127) return false;
  }
  return true;
}

export type OnRow = (tSec: number, row: SeriesRow, meta: SeriesMeta) => void;

/** The scan's state: the open sample, the open section, and what it has learnt of the log's names. */
export class FastScan {
  readonly row: SeriesRow;
  private readonly interval: number;
  private readonly cleaner = new LineCleaner();
  private readonly memNames = new Names();
  private readonly slabNames = new Names();
  /** Key numbers by name number: meminfo's one, slab's three. */
  private readonly memKey: number[] = [];
  private readonly slabBytesKey: number[] = [];
  private readonly slabActiveKey: number[] = [];
  private readonly slabObjsKey: number[] = [];
  /** Name number that followed each name in its last section (-1: none yet): the guess for the next row. */
  private memFollow = new Int32Array(256).fill(-1);
  private slabFollow = new Int32Array(1024).fill(-1);
  private memFirst = -1;
  private slabFirst = -1;
  private memPrev = -1;
  private slabPrev = -1;
  /** Sample number each key was last given a value in (duplicates: meminfo's stop, slab's add up). */
  private keyStamp = new Int32Array(1024);
  private readonly freeKeys = new Map<string, number>();

  // The open sample.
  private stamp = 1;
  private open = false;
  private index = 0;
  private firstLine = 0;
  private kinds = 0;
  private sections: string[] = [];
  private warnings: SnapshotWarning[] = [];
  private readonly memBytesK: number[] = [];
  private readonly memCountK: number[] = [];
  /** Slab names (numbers) of the open sample, in order: emit() gives each its three keys (one push per row, not three). */
  private readonly slabIds: number[] = [];
  private freeMem: FreeRow | undefined;
  private freeSwap: FreeRow | undefined;
  /** The open sample was opened by a "begin" marker; the open section by a "sec" marker. */
  private sampleExplicit = false;
  private explicit = false;
  /** Lines of an open buddyinfo/date/uptime/boot_id section, and what those gave the open sample. */
  private secText: string[] = [];
  private readonly vmK: number[] = [];
  private dateMs: number | undefined;
  private uptimeSec: number | undefined;
  private bootId: string | undefined;
  /** Marker lines seen, parsed (markers.ts Marker objects are never changed). */
  private readonly markers: { bytes: Uint8Array; marker: Marker }[] = [];
  /** Processes of the open sample, in the order the snapshot would list them; the open section's pid. */
  private procs = new Map<number, ProcessSample>();
  private secPid = -1;
  /** Key numbers of a process's series, by its key base ("proc.comm:pid"), in PROC_SUFFIXES order. */
  private readonly procKeys = new Map<string, Int32Array>();
  private readonly vmNames = new Names();
  private readonly vmKey: number[] = [];
  private vmFollow = new Int32Array(512).fill(-1);
  private vmFirst = -1;
  private vmPrev = -1;

  // The open section (the sectionizer's state, for these kinds).
  mode = Mode.None;
  private secName: FastKind = 'meminfo';
  private secLines = 0;
  private secFirst = 0;
  private secFirstText = '';
  private slabRows = 0;
  private freeLines: string[] = [];
  /** The sectionizer's lineCounts (by KIND_INDEX; -1: none yet) and last free header: what a sample start carries. */
  private readonly counts = new Int32Array(3).fill(-1);
  private freeHeader: string | undefined;
  /** The same at the open sample's start, and where that start is (byte of its first line). */
  private readonly sampleCounts = new Int32Array(3).fill(-1);
  private sampleFreeHeader: string | undefined;
  private samplePos = 0;
  /** Where this scan began (reset()), and what it carried there. */
  private startPos = 0;
  private startLine = 0;
  private startIndex = 0;
  private readonly startCounts = new Int32Array(3).fill(-1);
  private startFreeHeader: string | undefined;
  private startClock: ClockSeed | undefined;
  /** Line and kind of the first section this scan opened (-1: none yet). */
  firstOpenLine = -1;
  firstOpenKind = -1;
  /** File offset of the chunk's buf[0], and the current line's start in it. */
  private base = 0;
  private p = 0;
  lineNo = 0;
  /** Lines set aside (ASIDE_REASONS order) since reset(), and as they stood at the open sample's start. */
  readonly aside = new Float64Array(ASIDE_REASONS.length);
  private readonly asideAtSample = new Float64Array(ASIDE_REASONS.length);
  /** A framed sample was delivered: free-form samples after it are timed by the generic clock. */
  private sawExplicit = false;
  /** The clock of the delivered samples; a line of this scan had a logger's stamp (hot rows are then looked at
   * past one); the stamp of the line slowLine() is placing; the open sample's time from the first stamped line
   * that opened a section in it (NaN: none yet). */
  private clock: FastClock;
  private stamped = false;
  private lineTime: TerminalTime | undefined;
  private sampleSec = NaN;
  /** The open sample's sections' times of day (a logger's stamps without a date), in order; the delivered one's. */
  private todSecs: number[] = [];
  readonly todTimes: TodTimes = { first: NaN, last: NaN, wraps: 0 };
  /** The value of the last number read by num() or col(); a slabinfo row's columns but the tunables (slabRow()). */
  private v = 0;
  private readonly cols = new Float64Array(8);
  private scratch = new Uint8Array(256);
  private scratchView = new DataView(this.scratch.buffer);

  constructor(keys: KeyTable, options: SeriesOptions, private readonly onRow: OnRow) {
    this.row = newSeriesRow(keys);
    this.interval = options.intervalSec ?? 1;
    this.clock = new FastClock(this.interval);
  }

  /**
   * Starts over at byte `pos` (a line start) of the file, as the sectionizer stands at a sample's start: no open
   * sample or section, `line` lines before, `index` samples before, carrying `counts` and `freeHeader`. What it
   * learnt of names is kept (guesses only).
   */
  reset(pos: number, line: number, index: number, counts: ArrayLike<number>, freeHeader: string | undefined, clock?: ClockSeed): void {
    this.open = false;
    this.clock = new FastClock(this.interval, clock);
    this.startClock = clock;
    this.mode = Mode.None;
    this.explicit = false;
    this.sampleExplicit = false;
    this.sawExplicit = false;
    this.aside.fill(0);
    this.lineNo = line;
    this.index = index;
    for (let i = 0; i < 3; i++) this.counts[i] = counts[i] as number;
    this.freeHeader = freeHeader;
    this.startPos = pos;
    this.startLine = line;
    this.startIndex = index;
    this.startCounts.set(this.counts);
    this.startFreeHeader = freeHeader;
    this.firstOpenLine = -1;
    this.firstOpenKind = -1;
  }

  /** Where a generic reader must start to go on from here: the open sample's start, else where this scan began. */
  resumePoint(): ResumePoint {
    if (this.open) {
      return {
        byte: this.samplePos, line: this.firstLine - 1, index: this.index, counts: Array.from(this.sampleCounts), freeHeader: this.sampleFreeHeader,
        aside: Array.from(this.asideAtSample), ...withClock(this.clock.seed()),
      };
    }
    // No sample open: only before this scan's first section (after one, a sample is always open).
    return {
      byte: this.startPos, line: this.startLine, index: this.startIndex, counts: Array.from(this.startCounts), freeHeader: this.startFreeHeader,
      ...withClock(this.startClock),
    };
  }

  /** Samples delivered by this scan since reset(). */
  get delivered(): number {
    return this.index - this.startIndex;
  }

  /** True when the line just read started a sample (nothing else of it read yet but that line). */
  get sampleStartedHere(): boolean {
    return this.open && this.firstLine === this.lineNo && this.sections.length === 0;
  }

  /** Kind (KIND_INDEX) of the open section, -1 when none. */
  get openKind(): number {
    if (this.mode === Mode.None) return this.open && this.sampleExplicit && this.sections.length === 0 ? BEGIN_KIND : -1;
    return KIND_INDEX[this.secName];
  }

  /** The carried state at the open sample's start (what a scan from there needs). */
  sampleCarry(): { counts: number[]; freeHeader: string | undefined } {
    return { counts: Array.from(this.sampleCounts), freeHeader: this.sampleFreeHeader };
  }

  /** True when end() would look up a line count this scan has not seen (it started past the file's start). */
  endNeedsCarry(): boolean {
    return this.mode !== Mode.None && this.mode !== Mode.Free && this.counts[KIND_INDEX[this.secName]] === -1
      && this.startCounts[KIND_INDEX[this.secName]] === -1 && this.startPos > 0;
  }

  /** The file offset of buf[0] for the next chunk() call. */
  setBase(base: number): void {
    this.base = base;
  }

  /** Lines of buf[start, end): end is just past an LF, or the end of the file. */
  chunk(buf: Buffer, u8: Uint8Array, dv: DataView, start: number, end: number): void {
    let p = start;
    while (p < end) {
      this.lineNo++;
      this.p = p;
      const c = u8[p] as number;
      let nl = -1;
      if (c === 64 /* @ */) {
        nl = buf.indexOf(LF, p);
        if (nl < 0 || nl >= end) nl = end;
        this.markerLine(buf, p, nl);
        p = nl + 1;
        continue;
      }
      // A logger's stamp in front of a row: the row starts past it (stampEnd() strips what the cleaner would).
      let q = p;
      let h = c;
      if (this.stamped && !this.sampleExplicit) {
        const s = stampEnd(u8, p, end);
        if (s > 0) {
          q = s;
          h = u8[q] as number;
        }
      }
      const mode = this.mode;
      if (mode === Mode.Slab || mode === Mode.Vmstat) {
        nl = this.hotRow(mode, u8, dv, q, end);
        // The rows after it, in a loop of their own: a row changes nothing the dispatch above looks at.
        if (nl >= 0 && q === p && nl - p < MAX_LINE_BYTES - 2 && (!this.stamped || this.sampleExplicit)) {
          p = this.hotRun(mode, u8, dv, nl + 1, end);
          continue;
        }
      } else if (mode === Mode.Meminfo) {
        if (isAlpha(h) && !(h === 77 && end - q >= 9 && sameBytes(MEMTOTAL, u8, q, q + 9))) nl = this.memRow(u8, dv, q, end);
      }
      if (nl < 0) {
        nl = buf.indexOf(LF, p);
        if (nl < 0 || nl >= end) nl = end;
        // A line the generic reader would cut (MAX_LINE_BYTES) is its business (a hot row of that length too,
        // below: a row adds to the open sample only, which the generic path reads again).
        if (nl - p >= MAX_LINE_BYTES - 2) throw new Stop();
        this.otherLine(buf, p, nl, nl < end);
      } else if (nl - p >= MAX_LINE_BYTES - 2) throw new Stop();
      p = nl + 1;
    }
  }

  /** A slabinfo or vmstat row of the open section at buf[q] (a line's first byte past any stamp): its line's end, else -1. */
  private hotRow(mode: Mode, u8: Uint8Array, dv: DataView, q: number, end: number): number {
    const h = u8[q] as number;
    if (mode === Mode.Slab) return isAlpha(h) && (h > 83 || u8[q + 3] !== SP) ? this.slabRow(u8, dv, q, end) : -1;
    return h >= 97 && h <= 122 ? this.vmRow(u8, dv, q, end) : -1;
  }

  /**
   * Rows of the open slabinfo or vmstat section from p (a line start, no logger's stamps to strip), read as chunk()
   * reads them: where the first line that is not one starts (a row that returns -1 changed nothing, chunk() reads
   * that line again).
   */
  private hotRun(mode: Mode, u8: Uint8Array, dv: DataView, p: number, end: number): number {
    while (p < end) {
      this.lineNo++;
      this.p = p;
      const nl = this.hotRow(mode, u8, dv, p, end);
      if (nl < 0) {
        this.lineNo--;
        break;
      }
      if (nl - p >= MAX_LINE_BYTES - 2) throw new Stop();
      p = nl + 1;
    }
    return p;
  }

  /** After a number: blanks to the line's end (LF, CR LF, or the end); its LF (or end), else -1. */
  private lineEnd(buf: Uint8Array, i: number, end: number): number {
    while (i < end && isBlank(buf[i] as number)) i++;
    if (i >= end) return end;
    const c = buf[i] as number;
    if (c === LF) return i;
    if (c === CR && i + 1 < end && buf[i + 1] === LF) return i + 1;
    return -1;
  }

  /** One or more blanks then 1 to `max` digits, from i: the index past them (value in this.v), else -1. */
  private num(buf: Uint8Array, i: number, end: number, max: number): number {
    const ws = i;
    let c = buf[i] as number;
    while ((c === SP || c === TAB) && i < end) c = buf[++i] as number;
    if (i === ws || i >= end) return -1;
    const from = i;
    let v = 0;
    while (c >= 48 && c <= 57 && i < end) {
      v = v * 10 + c - 48;
      c = buf[++i] as number;
    }
    if (i === from || i - from > max) return -1;
    this.v = v;
    return i;
  }

  /** A slabinfo column from i: one or more blanks, then 1 to 16 digits; the index past them (value in this.v), else -1. */
  private col(buf: Uint8Array, dv: DataView, i: number, end: number): number {
    const ws = i;
    // Columns are right-aligned in runs of spaces: four at a time first.
    while (i + 4 <= end && dv.getUint32(i) === SPACES4) i += 4;
    let c = buf[i] as number;
    while ((c === SP || c === TAB) && i < end) c = buf[++i] as number;
    if (i === ws) return -1;
    const from = i;
    let v = 0;
    while (c >= 48 && c <= 57 && i < end) {
      v = v * 10 + c - 48;
      c = buf[++i] as number;
    }
    if (i === from || i - from > 16) return -1;
    this.v = v;
    return i;
  }

  /** ": tunables" or ": slabdata" from i (blanks around the colon, at least one byte after the word): the index past the word, else -1. */
  private label(buf: Uint8Array, dv: DataView, i: number, end: number, word: Uint8Array): number {
    let ws = i;
    while (i + 4 <= end && dv.getUint32(i) === SPACES4) i += 4;
    while (i < end && isBlank(buf[i] as number)) i++;
    if (i === ws || i >= end || buf[i] !== COLON) return -1;
    ws = ++i;
    while (i < end && isBlank(buf[i] as number)) i++;
    if (i === ws || end - i < 9) return -1;
    for (let j = 0; j < 8; j++) if (buf[i + j] !== word[j]) return -1;
    return i + 8;
  }

  /** The standard slabinfo row of an open slabinfo section at buf[st]: its line's end (LF or end), else -1. */
  private slabRow(buf: Uint8Array, dv: DataView, st: number, end: number): number {
    let i = st;
    let id = -1;
    const guess = this.slabPrev < 0 ? this.slabFirst : this.slabFollow[this.slabPrev] as number;
    if (guess >= 0) {
      const nb = this.slabNames.bytes[guess] as Uint8Array;
      const n = nb.length;
      if (st + n < end) {
        const b = buf[st + n] as number;
        if ((b === SP || b === TAB) && nameAt(buf, dv, st, nb, this.slabNames.words[guess] as Int32Array)) {
          id = guess;
          i = st + n;
        }
      }
    }
    if (id < 0) {
      for (; i < end; i++) {
        const c = buf[i] as number;
        if (c === SP || c === TAB) break;
        if (c <= SP || c >= 127 || c === 60 /* < */ || c === 64 /* @ */) return -1;
      }
      if (i >= end || buf[i - 1] === COLON) return -1;
    }
    const nameEnd = i;
    // 5 numbers, ": tunables" and 3, ": slabdata" and 3. Few call sites of col(), in loops: V8 inlines them all.
    const cv = this.cols;
    for (let k = 0; k < 5; k++) {
      if ((i = this.col(buf, dv, i, end)) < 0) return -1;
      cv[k] = this.v;
    }
    if (zeroTunables(buf, dv, i, end)) i += ZERO_TUNABLES.length;
    else {
      // SLAB's tunables (or SLUB's columns padded otherwise): read as any other columns.
      if ((i = this.label(buf, dv, i, end, TUNABLES)) < 0) return -1;
      for (let k = 0; k < 3; k++) if ((i = this.col(buf, dv, i, end)) < 0) return -1;
      if ((i = this.label(buf, dv, i, end, SLABDATA)) < 0) return -1;
    }
    for (let k = 5; k < 8; k++) {
      if ((i = this.col(buf, dv, i, end)) < 0) return -1;
      cv[k] = this.v;
    }
    const activeObjs = cv[0] as number, objSize = cv[2] as number, pagesPerSlab = cv[4] as number, numSlabs = cv[6] as number;
    const nl = this.lineEnd(buf, i, end);
    if (nl < 0) return -1;
    if (id < 0) {
      // A command word is an echoed command to the cleaner; "tunables"/"slabdata" start a wrapped row's tail.
      if (nameEnd - st <= 8) for (const w of NOT_NAMES) if (sameBytes(w, buf, st, nameEnd)) return -1;
      id = this.slabName(buf, st, nameEnd);
    }
    if (this.slabPrev >= 0) this.slabFollow[this.slabPrev] = id;
    else this.slabFirst = id;
    this.slabPrev = id;
    const kb = this.slabBytesKey[id] as number;
    const ka = this.slabActiveKey[id] as number;
    const ko = this.slabObjsKey[id] as number;
    const bytes = numSlabs * pagesPerSlab * DEFAULT_PAGE_SIZE;
    const active = activeObjs * objSize;
    const values = this.row.values;
    if (this.keyStamp[kb] !== this.stamp) {
      this.keyStamp[kb] = this.stamp;
      this.slabIds.push(id);
      values[kb] = bytes;
      values[ka] = active;
      values[ko] = activeObjs;
    } else {
      // Same-named caches (per-memcg copies before 5.9) add up, as flattenSnapshot adds them.
      values[kb] = (values[kb] as number) + bytes;
      values[ka] = (values[ka] as number) + active;
      values[ko] = (values[ko] as number) + activeObjs;
    }
    this.slabRows++;
    this.secLines++;
    return nl;
  }

  private slabName(buf: Uint8Array, st: number, nameEnd: number): number {
    let id = this.slabNames.id(buf, st, nameEnd);
    if (id < 0) {
      id = -1 - id;
      const base = `slab.${keyPart(this.slabNames.names[id] as string)}`;
      const keys = this.row.keys;
      this.slabBytesKey.push(keys.id(`${base}.bytes`));
      this.slabActiveKey.push(keys.id(`${base}.active_bytes`));
      this.slabObjsKey.push(keys.id(`${base}.objs`));
      if (id >= this.slabFollow.length) {
        const f = new Int32Array(this.slabFollow.length * 2).fill(-1);
        f.set(this.slabFollow);
        this.slabFollow = f;
      }
      this.keysGrown();
    }
    return id;
  }

  /** The key table grew: room for its keys in the row and the stamps. */
  private keysGrown(): void {
    const n = this.row.keys.size;
    growRow(this.row, n - 1, 0);
    if (n > this.keyStamp.length) {
      const s = new Int32Array(this.row.values.length);
      s.set(this.keyStamp);
      this.keyStamp = s;
    }
  }

  /** A "Key:  123 [kB]" line of an open meminfo section at buf[st]: its line's end (LF or end), else -1. */
  private memRow(buf: Uint8Array, dv: DataView, st: number, end: number): number {
    let keyEnd = -1;
    const guess = this.memPrev < 0 ? this.memFirst : this.memFollow[this.memPrev] as number;
    if (guess >= 0) {
      const nb = this.memNames.bytes[guess] as Uint8Array;
      const n = nb.length;
      if (st + n < end && buf[st + n] === COLON && nameAt(buf, dv, st, nb, this.memNames.words[guess] as Int32Array)) keyEnd = st + n;
    }
    let id = keyEnd >= 0 ? guess : -1;
    if (id < 0) {
      let i = st + 1;
      while (i < end && isWord(buf[i] as number)) i++;
      if (i >= end || buf[i] !== COLON) return -1;
      keyEnd = i;
    }
    let i = this.num(buf, keyEnd + 1, end, Infinity);
    if (i < 0) return -1;
    let kb = false;
    if (i + 2 < end && buf[i] === SP && buf[i + 1] === 107 /* k */ && buf[i + 2] === 66 /* B */) {
      kb = true;
      i += 3;
    }
    const nl = this.lineEnd(buf, i, end);
    if (nl < 0) return -1;
    const v = this.v;
    if (id < 0) {
      // The 2.4 summary table's "total:" is skipped by the parser with a warning: the generic path's business.
      if (keyEnd - st === 5 && latin1(buf, st, keyEnd) === 'total') throw new Stop();
      id = this.memName(buf, st, keyEnd);
    }
    if (this.memPrev >= 0) this.memFollow[this.memPrev] = id;
    else this.memFirst = id;
    this.memPrev = id;
    const k = this.memKey[id] as number;
    if (this.keyStamp[k] === this.stamp) throw new Stop(); // a key twice: the parser warns
    this.keyStamp[k] = this.stamp;
    this.row.values[k] = kb ? v * 1024 : v;
    (kb ? this.memBytesK : this.memCountK).push(k);
    this.secLines++;
    return nl;
  }

  private memName(buf: Uint8Array, st: number, keyEnd: number): number {
    let id = this.memNames.id(buf, st, keyEnd);
    if (id < 0) {
      id = -1 - id;
      this.memKey.push(this.row.keys.id(`meminfo.${keyPart(this.memNames.names[id] as string)}`));
      if (id >= this.memFollow.length) {
        const f = new Int32Array(this.memFollow.length * 2).fill(-1);
        f.set(this.memFollow);
        this.memFollow = f;
      }
      this.keysGrown();
    }
    return id;
  }

  /** A line that is not a hot one, buf[st, nl) (nl: its LF when `lf`, else the end of the file). */
  private otherLine(buf: Buffer, st: number, nl: number, lf: boolean): void {
    let e = nl;
    // A CR is a line end only before an LF: a last line ending in CR is the generic path's (stripControls).
    if (lf && e > st && buf[e - 1] === CR) e--;
    if (!plainLine(buf, st, e)) throw new Stop();
    const rawEnd = e;
    while (e > st && isBlank(buf[e - 1] as number)) e--;
    if (e === st) {
      this.count(A_BLANK); // dropped by the cleaner
      return;
    }
    const c = buf[st] as number;
    if (this.sampleExplicit) return this.explicitLine(buf.toString('latin1', st, rawEnd));
    if (c === HASH && buf[st + 1] === HASH && buf[st + 2] === HASH) {
      this.count(A_SEPARATOR);
      return this.closeSection();
    }
    if (c >= 97 && c <= 122) {
      const sp = buf.indexOf(SP, st);
      if (sp > st && sp < e && sp - st <= 7 && COMMAND_WORDS.has(latin1(buf, st, sp))) {
        this.count(A_COMMAND); // echoed command
        return;
      }
    }
    this.slowLine(buf.toString('latin1', st, rawEnd));
  }

  /**
   * A frame marker line (markers.ts), obeyed as the sectionizer obeys it; anything it would warn about or that
   * this path does not read (an unreadable file, a per-process or user-declared section) is the generic path's.
   */
  private markerLine(buf: Buffer, st: number, nl: number): void {
    let e = nl;
    while (e > st && (buf[e - 1] === CR || isBlank(buf[e - 1] as number))) e--;
    // A loop prints the same few marker lines every round: each is parsed once.
    let m: Marker | undefined;
    const cache = this.markers;
    for (let i = 0; i < cache.length; i++) {
      const c = cache[i] as { bytes: Uint8Array; marker: Marker };
      if (c.bytes.length === e - st && sameBytes(c.bytes, buf, st, e)) {
        m = c.marker;
        break;
      }
    }
    if (!m) {
      if (!plainAtLine(buf, st, e)) throw new Stop();
      m = parseMarker(buf.toString('latin1', st, e));
      if (!m) throw new Stop();
      if (cache.length < 24) cache.push({ bytes: Uint8Array.from(buf.subarray(st, e)), marker: m });
    }
    switch (m.op) {
      case 'begin':
        if (this.explicit) throw new Stop();
        this.closeSection();
        this.emit();
        this.startSample(this.lineNo);
        this.sampleExplicit = true;
        this.noteOpen(BEGIN_KIND);
        return;
      case 'sec': {
        if (this.explicit || !this.sampleExplicit || !Object.hasOwn(KIND_BIT, m.name)) throw new Stop();
        const kind = m.name as FastKind;
        const perProcess = (KIND_BIT[kind] & PER_PROCESS_BITS) !== 0;
        if (perProcess !== (m.pid !== undefined)) throw new Stop();
        if (kind === 'free' || (!perProcess && (this.kinds & KIND_BIT[kind]) !== 0)) throw new Stop();
        this.secPid = m.pid ?? -1;
        this.explicit = true;
        this.mode = MODE_OF[kind];
        this.secName = kind;
        this.secLines = 0;
        this.secFirst = this.lineNo + 1;
        this.secText = [];
        if (kind === 'meminfo') this.memPrev = -1;
        else if (kind === 'slabinfo') {
          this.slabRows = 0;
          this.slabPrev = -1;
        } else if (kind === 'vmstat') this.vmPrev = -1;
        return;
      }
      case 'end':
        if (!this.explicit) return;
        if (m.status !== 0) {
          // A process gone between the glob and the cat: toSnapshot() notes it and reads nothing of it.
          if (this.secPid < 0) throw new Stop();
          const w = warning(0, this.secText.join(' ').trim(), `unreadable on the target (cat exit status ${m.status})`, 'info');
          this.warnings.push({ ...w, line: this.secFirst, source: `/proc/${this.secPid}/${this.secName}` });
          this.sections.push(this.secName);
          this.secText = [];
          this.mode = Mode.None;
          this.explicit = false;
          return;
        }
        this.closeSection();
        return;
      case 'done':
        this.closeSection();
        this.emit();
        return;
    }
  }

  /** A cleaned line inside a frame: the sectionizer keeps it as the section's text, whatever it is. */
  private explicitLine(raw: string): void {
    const t = this.cleaner.clean(raw, CHUNK_NO_CONTROLS | CHUNK_NO_AT);
    if (t === undefined) {
      this.count(asideIndex(this.cleaner.aside));
      return;
    }
    if (this.cleaner.time || !this.explicit) throw new Stop();
    switch (this.mode) {
      case Mode.Meminfo:
        return this.memString(t);
      case Mode.Slab:
        if (this.slabRows === 0 && this.secLines === 0 && t.startsWith('slabinfo - version:')) {
          this.secLines = 1;
          return;
        }
        if (this.slabRows === 0 && this.secLines === 1 && t.startsWith('# name')) {
          this.secLines++;
          return;
        }
        if (this.secLines === 0 || this.slabRow(this.bytesOf(t), this.scratchView, 0, t.length) < 0) throw new Stop();
        return;
      case Mode.Vmstat:
        if (this.vmRow(this.bytesOf(t), this.scratchView, 0, t.length) < 0) throw new Stop();
        return;
      case Mode.Lines:
        this.secText.push(t);
        this.secLines++;
        return;
      default:
        throw new Stop();
    }
  }

  /** A "name 123" line of an open vmstat section at buf[st]: its line's end (LF or end), else -1. */
  private vmRow(buf: Uint8Array, dv: DataView, st: number, end: number): number {
    let keyEnd = -1;
    const guess = this.vmPrev < 0 ? this.vmFirst : this.vmFollow[this.vmPrev] as number;
    if (guess >= 0) {
      const nb = this.vmNames.bytes[guess] as Uint8Array;
      const n = nb.length;
      if (st + n < end && buf[st + n] === SP && nameAt(buf, dv, st, nb, this.vmNames.words[guess] as Int32Array)) keyEnd = st + n;
    }
    let id = keyEnd >= 0 ? guess : -1;
    if (id < 0) {
      let i = st;
      for (; i < end; i++) {
        const c = buf[i] as number;
        if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) break;
      }
      if (i >= end || buf[i] !== SP) return -1;
      keyEnd = i;
    }
    let i = keyEnd;
    while (i < end && buf[i] === SP) i++;
    let neg = false;
    if (buf[i] === 45 /* - */) {
      neg = true;
      i++;
    }
    const from = i;
    let v = 0;
    while (i < end) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    // Past 15 digits a double may not hold the number Number() reads: the generic path's.
    if (i === from || i - from > 15) return -1;
    const nl = this.lineEnd(buf, i, end);
    if (nl < 0) return -1;
    if (id < 0) id = this.vmName(buf, st, keyEnd);
    if (this.vmPrev >= 0) this.vmFollow[this.vmPrev] = id;
    else this.vmFirst = id;
    this.vmPrev = id;
    const k = this.vmKey[id] as number;
    if (this.keyStamp[k] === this.stamp) throw new Stop(); // a name twice: the parser warns
    this.keyStamp[k] = this.stamp;
    this.row.values[k] = neg ? -v : v;
    this.vmK.push(k);
    this.secLines++;
    return nl;
  }

  private vmName(buf: Uint8Array, st: number, keyEnd: number): number {
    let id = this.vmNames.id(buf, st, keyEnd);
    if (id < 0) {
      id = -1 - id;
      this.vmKey.push(this.row.keys.id(`vmstat.${keyPart(this.vmNames.names[id] as string)}`));
      if (id >= this.vmFollow.length) {
        const f = new Int32Array(this.vmFollow.length * 2).fill(-1);
        f.set(this.vmFollow);
        this.vmFollow = f;
      }
      this.keysGrown();
    }
    return id;
  }

  private count(reason: number): void {
    this.aside[reason] = (this.aside[reason] as number) + 1;
  }

  private noteOpen(kind: number): void {
    if (this.firstOpenLine < 0) {
      this.firstOpenLine = this.lineNo;
      this.firstOpenKind = kind;
    }
  }

  /** A line that is not a hot one: cleaned and placed exactly as the sectionizer would, or Stop. */
  private slowLine(raw: string): void {
    const cleaner = this.cleaner;
    const t = cleaner.clean(raw, CHUNK_NO_CONTROLS | CHUNK_NO_AT);
    if (cleaner.time) this.stamped = true;
    if (t === undefined) {
      this.count(asideIndex(cleaner.aside));
      return;
    }
    // A tag learnt from this log (terminal_noise.ts) is stripped from every later line by the generic path's
    // cleaner too, but a scan started mid-file (a range) would not know it: not this path's.
    if (cleaner.tag !== undefined) throw new Stop();
    this.lineTime = cleaner.time;
    if (isSeparator(t)) {
      this.count(A_SEPARATOR);
      return this.closeSection();
    }
    if (this.mode !== Mode.None) {
      const shape = SHAPE_OF.get(this.secName);
      if (!shape) throw new Stop();
      if (shape.opens(t)) {
        this.closeSection();
        return this.openSection(this.secName, t);
      }
      const fit = shape.fits(t);
      if (fit === 'join') throw new Stop();
      if (fit === 'append') {
        if (this.mode === Mode.Meminfo) return this.memString(t);
        if (this.mode === Mode.Slab) {
          // The "# name ..." header before any row, or a row whose first letters needed a closer look ("RAW  14 ...").
          if (this.slabRows === 0 && t.startsWith('# name')) {
            this.secLines++;
            return;
          }
          if (this.slabRow(this.bytesOf(t), this.scratchView, 0, t.length) < 0) throw new Stop();
          return;
        }
        if (t.startsWith('Mem:') && this.freeLines.some((l) => l.startsWith('Mem:'))) throw new Stop();
        this.freeLines.push(t);
        this.secLines++;
        return;
      }
      this.closeSection();
    }
    for (const shape of SHAPES) {
      if (shape.opens(t)) {
        if (shape.kind !== 'meminfo' && shape.kind !== 'slabinfo' && shape.kind !== 'free') throw new Stop();
        return this.openSection(shape.kind, t);
      }
    }
    // An unrecognised line (counted and warned about by the generic path), or a free row without a header.
    throw new Stop();
  }

  /** A meminfo line that came as a string (MemTotal, which opens the section, or one that needed cleaning). */
  private memString(t: string): void {
    if (this.memRow(this.bytesOf(t), this.scratchView, 0, t.length) < 0) throw new Stop();
  }

  /** A cleaned (ASCII) line's bytes, in a reused Uint8Array: the scanners see one array type. */
  private bytesOf(t: string): Uint8Array {
    if (this.scratch.length < t.length + 1) {
      this.scratch = new Uint8Array(2 * t.length + 1);
      this.scratchView = new DataView(this.scratch.buffer);
    }
    const b = this.scratch;
    for (let i = 0; i < t.length; i++) b[i] = t.charCodeAt(i);
    b[t.length] = 0;
    return b;
  }

  private openSection(kind: FastKind, t: string): void {
    // A free-form section inside a frame, or after framed samples (timed by another clock): the generic path's.
    if (this.sampleExplicit || this.sawExplicit) throw new Stop();
    // The line's stamp times the section (the sample's, if it is its first stamped one): a dated stamp only, read
    // as the generic clock reads it ('terminal'); a time of day or a relative stamp is the generic path's.
    const time = this.lineTime;
    if (time !== undefined && time.relative === true) throw new Stop();
    if (this.open && (this.kinds & KIND_BIT[kind]) !== 0) this.emit();
    if (!this.open) this.startSample(this.lineNo);
    if (time !== undefined) {
      // A time of day (tio): every section's counts (SampleClock.timeOfDay() sees each).
      if (time.epochMs === undefined) this.todSecs.push(time.secOfDay);
      else if (Number.isNaN(this.sampleSec)) this.sampleSec = time.epochMs / 1000;
    }
    this.noteOpen(KIND_INDEX[kind]);
    if (kind === 'free' && !FREE_ROW_RE.test(t)) this.freeHeader = t;
    this.mode = MODE_OF[kind];
    this.secName = kind;
    this.secLines = 1;
    this.secFirst = this.lineNo;
    this.secFirstText = t;
    if (this.mode === Mode.Meminfo) {
      this.memPrev = -1;
      this.secLines = 0; // memString counts the line
      this.memString(t);
    } else if (this.mode === Mode.Slab) {
      this.slabRows = 0;
      this.slabPrev = -1;
    } else this.freeLines = [t];
  }

  closeSection(): void {
    if (this.mode === Mode.None) return;
    if (this.mode === Mode.Slab && this.slabRows === 0) throw new Stop();
    if (this.mode === Mode.Lines) this.closeLines();
    this.explicit = false;
    if (this.mode === Mode.Free) {
      const r = parseFree(`${this.freeLines.join('\n')}\n`);
      if (r.warnings.length > 0) throw new Stop();
      this.freeMem = r.value.mem;
      this.freeSwap = r.value.swap;
    }
    this.mode = Mode.None;
    if ((KIND_BIT[this.secName] & PER_PROCESS_BITS) === 0) this.kinds |= KIND_BIT[this.secName];
    this.sections.push(this.secName);
    if (KIND_INDEX[this.secName] < COUNTED) this.counts[KIND_INDEX[this.secName]] = this.secLines;
  }

  private process(pid: number, comm: string | undefined): ProcessSample {
    let p = this.procs.get(pid);
    if (!p) {
      p = { pid, comm: comm ?? String(pid) };
      this.procs.set(pid, p);
    } else if (comm !== undefined) p.comm = comm;
    return p;
  }

  /** The open sample's processes into the row, as SeriesFlattener flattens them (key numbers kept per process). */
  private processValues(n: number): number {
    const row = this.row;
    for (const p of this.procs.values()) {
      const base = processKey(p.comm, p.pid);
      let ids = this.procKeys.get(base);
      if (!ids) {
        ids = Int32Array.from(PROC_SUFFIXES, (sfx) => row.keys.id(`${base}.${sfx}`));
        if (this.procKeys.size > 100_000) this.procKeys.clear();
        this.procKeys.set(base, ids);
        this.keysGrown();
      }
      growRow(row, 0, n + PROC_SUFFIXES.length);
      const put = (i: number, v: number | undefined): void => {
        if (v === undefined) return;
        const k = (ids as Int32Array)[i] as number;
        row.values[k] = v;
        row.ids[n++] = k;
      };
      const m = p.memory;
      if (m) {
        put(0, m.uss);
        put(1, m.pss);
        put(2, m.rss);
        put(3, m.swap);
        put(4, m.vss);
        put(5, m.swapPss);
      }
      const st = p.status;
      const rssAnon = st?.bytes['RssAnon'];
      if (rssAnon !== undefined) put(6, rssAnon + (st?.bytes['VmSwap'] ?? 0));
      else if (m?.anon !== undefined) put(6, m.anon + m.swap);
      if (st) {
        STATUS_SERIES.forEach((k, i) => put(7 + i, st.bytes[k]));
        put(7 + STATUS_SERIES.length, st.threads);
        put(8 + STATUS_SERIES.length, st.fdSize);
        put(9 + STATUS_SERIES.length, st.ppid);
      }
    }
    return n;
  }

  /** A closed buddyinfo/date/uptime/boot_id section: read as the generic path reads it, or Stop. */
  private closeLines(): void {
    const lines = this.secText;
    const first = lines[0] ?? '';
    switch (this.secName) {
      case 'buddyinfo': {
        // Not a series (OOM watermarks come from zoneinfo): only what the parser would warn about matters.
        // Lines of the usual shape are what parseBuddyinfo reads without a word; others are asked of it.
        if (lines.length === 0 || (!lines.every((l) => BUDDY_LINE_RE.test(l)) && parseBuddyinfo(`${lines.join('\n')}\n`).warnings.length > 0)) throw new Stop();
        return;
      }
      case 'date': {
        const d = lines.length === 1 ? parseDate(first) : undefined;
        if (!d || d.zone !== '') throw new Stop();
        this.dateMs = d.epochMs;
        return;
      }
      case 'uptime': {
        const u = lines.length === 1 ? parseUptime(first) : undefined;
        if (u === undefined) throw new Stop();
        this.uptimeSec = u;
        return;
      }
      case 'boot_id': {
        const b = lines.length === 1 ? parseBootId(first) : undefined;
        if (b === undefined) throw new Stop();
        this.bootId = b;
        return;
      }
      case 'status': {
        // As toSnapshot() reads it; anything it would warn about is the generic path's.
        const r = parseStatus(lines.length ? `${lines.join('\n')}\n` : '', { rawFields: false });
        if (r.warnings.length > 0 || r.value.pid !== this.secPid || this.procs.get(this.secPid)?.status) throw new Stop();
        this.process(this.secPid, r.value.name).status = r.value;
        return;
      }
      case 'smaps_rollup': {
        const r = parseSmapsRollup(lines.length ? `${lines.join('\n')}\n` : '');
        const p = this.process(this.secPid, undefined);
        if (r.warnings.length > 0 || p.memory !== undefined) throw new Stop();
        p.memory = r.value.memory;
        return;
      }
      default:
        throw new Stop();
    }
  }

  private startSample(line: number): void {
    this.open = true;
    this.stamp++;
    this.firstLine = line;
    this.samplePos = this.base + this.p;
    this.sampleCounts.set(this.counts);
    this.sampleFreeHeader = this.freeHeader;
    this.asideAtSample.set(this.aside);
    this.kinds = 0;
    this.sections = [];
    this.warnings = [];
    this.memBytesK.length = 0;
    this.memCountK.length = 0;
    this.slabIds.length = 0;
    this.freeMem = undefined;
    this.freeSwap = undefined;
    this.sampleExplicit = false;
    this.procs = new Map();
    this.vmK.length = 0;
    this.dateMs = undefined;
    this.uptimeSec = undefined;
    this.bootId = undefined;
    this.sampleSec = NaN;
    this.todSecs.length = 0;
  }

  /** Delivers the open sample: keys in flattenSnapshot's order (meminfo bytes, counts, free, slab). */
  emit(): void {
    if (!this.open) return;
    if (this.sections.length === 0) {
      this.open = false;
      return;
    }
    // Its time first: a sample this path cannot time as the generic clock would stays open (resumed at its start).
    let timestamp: SampleTimestamp;
    const clock = this.clock;
    if (this.sampleExplicit) {
      // Framed samples are timed by their date section (the generic clock's first choice), else not ours.
      if (this.dateMs === undefined || !clock.fits('date')) throw new Stop();
      const sec = clock.place('date', this.dateMs / 1000, this.index, this.uptimeSec ?? NaN);
      timestamp = { sec, source: 'date', epochMs: this.dateMs };
      if (this.uptimeSec !== undefined) timestamp.uptimeSec = this.uptimeSec;
      if (this.bootId !== undefined) timestamp.bootId = this.bootId;
      this.sawExplicit = true;
    } else if (this.todSecs.length > 0) {
      // Both kinds of stamp in one sample: the generic clock would learn an offset between them.
      if (!Number.isNaN(this.sampleSec) || !clock.fits('terminal-tod')) throw new Stop();
      const secs = this.todSecs;
      const t = this.todTimes;
      t.first = secs[0] as number;
      t.last = secs[secs.length - 1] as number;
      t.wraps = 0;
      for (let i = 1; i < secs.length; i++) if ((secs[i] as number) + 3600 < (secs[i - 1] as number)) t.wraps++;
      timestamp = { sec: clock.place('terminal-tod', clock.timeOfDay(t), this.index), source: 'terminal-tod' };
    } else if (!Number.isNaN(this.sampleSec)) {
      if (!clock.fits('terminal')) throw new Stop();
      timestamp = { sec: clock.place('terminal', this.sampleSec, this.index), source: 'terminal' };
    } else timestamp = { sec: clock.place('index', NaN, this.index), source: 'index' };
    this.open = false;
    const row = this.row;
    let n = 0;
    const freeN = (this.freeMem ? 8 : 0) + (this.freeSwap ? 8 : 0);
    growRow(row, 0, this.memBytesK.length + this.memCountK.length + freeN + 3 * this.slabIds.length + this.vmK.length);
    let ids = row.ids;
    for (const k of this.memBytesK) ids[n++] = k;
    for (const k of this.memCountK) ids[n++] = k;
    n = this.freeRow('free.mem.', this.freeMem, n);
    n = this.freeRow('free.swap.', this.freeSwap, n);
    ids = row.ids;
    for (const id of this.slabIds) {
      ids[n++] = this.slabBytesKey[id] as number;
      ids[n++] = this.slabActiveKey[id] as number;
      ids[n++] = this.slabObjsKey[id] as number;
    }
    for (const k of this.vmK) ids[n++] = k;
    n = this.processValues(n);
    row.count = n;
    const sec = timestamp.sec;
    const meta: SeriesMeta = {
      index: this.index, firstLine: this.firstLine, sections: this.sections, kinds: this.sections.slice(),
      timestamp, warnings: this.warnings,
    };
    if (this.procs.size > 0) meta.pids = [...this.procs.keys()];
    this.index++;
    this.onRow(sec, row, meta);
  }

  private freeRow(prefix: string, r: FreeRow | undefined, n: number): number {
    if (!r) return n;
    for (const k in r) {
      const v = r[k as keyof FreeRow];
      if (v === undefined) continue;
      const name = prefix + k;
      let key = this.freeKeys.get(name);
      if (key === undefined) {
        key = this.row.keys.id(prefix + keyPart(k));
        this.freeKeys.set(name, key);
        this.keysGrown();
      }
      growRow(this.row, key, n + 1);
      this.row.values[key] = v;
      this.row.ids[n++] = key;
    }
    return n;
  }

  /** End of input, as Sectionizer.end() sees it. */
  end(): void {
    if (this.explicit) throw new Stop(); // the generic path warns: no end marker
    if (this.mode !== Mode.None) {
      const before = this.counts[KIND_INDEX[this.secName]] as number;
      if (before >= 0 && this.secLines < before && this.mode !== Mode.Free) {
        const w = warning(this.secFirst, this.secFirstText, `${this.secName}: the capture ended inside this section (${this.secLines} lines, the previous one had ${before}); kept as is`, 'data-loss');
        this.warnings.push({ ...w, source: 'capture' });
      }
    }
    this.closeSection();
    this.emit();
  }
}

/** `{ clock }` when there is a seed (optional properties stay absent, not undefined). */
export function withClock(clock: ClockSeed | undefined): { clock?: ClockSeed } {
  return clock === undefined ? {} : { clock };
}

/** All samples delivered (`samples` in all), or where the generic path goes on. */
export type FastResult = { complete: true; samples: number; aside: number[] } | { complete: false; resume: ResumePoint };

/** How a drive() ended: the end of the file, the line at `stopAt` read, or a Stop (nothing past it delivered). */
export type DriveEnd = 'eof' | 'stopAt' | 'stop';

/** Bytes read past a stop line's start at first (its line is read on if longer). */
const STOP_SLACK = 64 << 10;

/** Reused read buffers (one per thread). */
export class ScanBuffers {
  readonly buf: Buffer;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  constructor(readonly size = 4 << 20) {
    const ab = new ArrayBuffer(size);
    this.buf = Buffer.from(ab);
    // The scanners read a plain Uint8Array: V8 indexes it faster than a Buffer (a subclass).
    this.u8 = new Uint8Array(ab);
    this.dv = new DataView(ab);
  }
}

/**
 * Feeds the lines of the open file `fd` from byte `from` (a line start) to `scan`: to the end of the file, or,
 * with stopAt >= 0 (a line start past `from`), up to and including the line that starts at stopAt. Does not
 * call scan.end().
 */
export function drive(scan: FastScan, fd: number, from: number, stopAt: number, b: ScanBuffers): DriveEnd {
  const { buf, u8, dv } = b;
  const size = b.size;
  let base = from;
  let keep = 0;
  try {
    for (;;) {
      // With a stop line, no further than a little past it: a range's last read would otherwise read up to a
      // buffer's worth of the next range, which that range's scanner reads again.
      const room = size - keep;
      const n = readSync(fd, buf, keep, stopAt >= 0 ? Math.min(room, Math.max(0, stopAt - base - keep) + STOP_SLACK) : room, base + keep);
      const end = keep + n;
      scan.setBase(base);
      if (stopAt >= 0 && stopAt - base < end) {
        const lf = buf.indexOf(LF, stopAt - base);
        if (lf >= 0 && lf < end) {
          scan.chunk(buf, u8, dv, 0, lf + 1);
          return 'stopAt';
        }
        if (n === 0) {
          scan.chunk(buf, u8, dv, 0, end);
          return 'stopAt';
        }
      }
      if (n === 0) {
        if (end > 0) scan.chunk(buf, u8, dv, 0, end);
        return 'eof';
      }
      const last = buf.lastIndexOf(LF, end - 1);
      if (last < 0) {
        if (end === size) throw new Stop(); // a line longer than the buffer: the generic path cuts it
        keep = end;
        continue;
      }
      scan.chunk(buf, u8, dv, 0, last + 1);
      keep = end - last - 1;
      if (keep > 0) buf.copy(buf, 0, last + 1, end);
      base += last + 1;
    }
  } catch (e) {
    if (e instanceof Stop) return 'stop';
    throw e;
  }
}

/** scan.end(), or 'stop' when it met something of the generic path's. */
export function finish(scan: FastScan): 'eof' | 'stop' {
  try {
    scan.end();
    return 'eof';
  } catch (e) {
    if (e instanceof Stop) return 'stop';
    throw e;
  }
}

/**
 * Scans the log from `from` (default: its start) to its end; returns complete: false when it stopped early, with
 * where the generic path must go on (samples delivered so far are the generic path's first ones). Keys are
 * numbered in `keys`.
 */
export function scanSeriesFast(
  path: string, options: SeriesOptions, keys: KeyTable, onRow: OnRow, from: ResumePoint = FILE_START, chunkBytes = 4 << 20,
): FastResult {
  const scan = new FastScan(keys, options, onRow);
  scan.reset(from.byte, from.line, from.index, from.counts, from.freeHeader, from.clock);
  const fd = openSync(path, 'r');
  try {
    let how: DriveEnd | 'eof' = drive(scan, fd, from.byte, -1, new ScanBuffers(chunkBytes));
    if (how === 'eof') how = finish(scan);
    return how === 'eof' ? { complete: true, samples: from.index + scan.delivered, aside: Array.from(scan.aside) } : { complete: false, resume: scan.resumePoint() };
  } finally {
    closeSync(fd);
  }
}
