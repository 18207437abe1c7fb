/**
 * Streams a capture log FILE (a terminal's saved output, a `memsleuth script` loop's log, notes with dumps pasted
 * in) into samples and Snapshots, in constant memory whatever its size: one reused read buffer, one pending line,
 * one open sample. Text goes through the same cleaner and sectionizer as everything else (DESIGN.md, "One text path").
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { warning, type ParseWarning } from '../model/parsed.js';
import type { ProcessSample, Snapshot, SnapshotWarning } from '../model/snapshot.js';
import type { Zone } from '../model/proc_files.js';
import { SeriesFlattener, type SeriesValues } from '../model/series.js';
import {
  FAST_KINDS, FILE_START, KeyTable, addAside, MAX_LINE_BYTES, canTakeFastPath, growRow, newSeriesRow, scanSeriesFast, type ClockSeed, type ResumePoint, type SeriesRow,
} from './capture_fast.js';
import { PARALLEL_MIN_BYTES, scanSeriesParallel, type ParallelOptions } from './capture_parallel.js';

export { KeyTable, rowToMap, type SeriesRow } from './capture_fast.js';
import { CHUNK_NO_AT, CHUNK_NO_CONTROLS, LineCleaner, noControls } from '../capture/terminal_noise.js';
import { Sectionizer } from '../capture/sectionizer.js';
import { MARKER } from '../capture/markers.js';
import { PER_PROCESS_KINDS, sectionText, type RawSample, type Section, type SectionKind } from '../capture/section.js';
import { parseBootId, parseDate, parseUptime } from '../capture/clock.js';
import { parseMeminfo } from '../parse/meminfo.js';
import { parseSlabinfoLines } from '../parse/slabinfo.js';
import { parseFree } from '../parse/free.js';
import { parseVmallocinfo } from '../parse/vmallocinfo.js';
import { parseBuddyinfo } from '../parse/buddyinfo.js';
import { parseZoneinfo } from '../parse/zoneinfo.js';
import { parsePagetypeinfo } from '../parse/pagetypeinfo.js';
import { parseVmstat } from '../parse/vmstat.js';
import { parseStatus } from '../parse/status.js';
import { parseSmapsRollup } from '../parse/smaps_rollup.js';
import { parseSmaps, summarizeMappings } from '../parse/smaps.js';
import { parseStatm } from '../parse/statm.js';
import { parseFd } from '../parse/fd.js';
import { DMABUF_SYSFS_HEADER, KGSL_SYSFS_HEADER, reduceWatched } from './watch_file.js';
import { parseProcrank, procrankSeries } from '../parse/procrank.js';
import { dumpsysSeries, parseDumpsysMeminfo } from '../parse/dumpsys_meminfo.js';
import { librankSeries, parseLibrank } from '../parse/librank.js';

/** dma_buf/bufinfo by its own first lines (parse/dmabuf_bufinfo.ts). */
const DMABUF_SHAPE = /^\s*Dma-buf Objects:|^size\s+flags\s+mode\s+count\s+exp_name/m;
/** procrank's header row (parse/procrank.ts) and the `dumpsys meminfo` system summary's first list. */
const PROCRANK_SHAPE = /^\s*PID\s+(?:Vss\s+)?W?Rss\s+W?Pss\s+W?Uss\b.*\bcmdline\s*$/m;
/** mali0/gpu_memory's device line (parse/mali_gpu_memory.ts). */
const MALI_SHAPE = /^\s*mali\d+\s+(?:total used_pages\s+)?\d+(?:\s+\d+)?\s*$/m;
/** An ION heap's debugfs file (parse/ion_heap.ts): its "client pid size" title. */
const ION_SHAPE = /^\s*client\s+pid\s+size(?:\s|$)/m;
/** librank's header row (parse/librank.ts). */
const LIBRANK_SHAPE = /^\s*RSStot\s+VSS\s+RSS\s+PSS\s+USS\s+(?:Swap\s+)?Name\/PID\s*$/m;
const DUMPSYS_SUMMARY_SHAPE = /^Total PSS by (?:process|OOM adjustment|category):\s*$/m;

/**
 * Where a sample's time came from: 'date' (`date` or a framed date section), 'iso', 'epoch', 'screen', 'label:NAME'
 * (wall clocks), 'terminal' (a logger's per-line stamp with a date), 'terminal-tod' (one without), 'uptime-cmd'
 * (the `uptime` command's time of day), 'uptime' (/proc/uptime), 'printk' (a kernel message's stamp),
 * 'terminal-relative' (grabserial -t), or 'index' (none: sample index x interval).
 */
export type TimeSource = string;

export interface SampleTimestamp {
  /** Seconds on the log's time axis, from the best source the sample had. */
  sec: number;
  source: TimeSource;
  epochMs?: number;
  uptimeSec?: number;
  bootId?: string;
  /** The target's uptime fell since the last sample: a reboot, a new boot segment. */
  reboot?: boolean;
}

export interface CaptureSample {
  index: number;
  firstLine: number;
  sections: Section[];
  timestamp: SampleTimestamp;
  warnings: ParseWarning[];
}

export interface ReadOptions {
  /** Seconds between samples when the log carries no time at all (the loop's `sleep`). */
  intervalSec?: number;
  /** Filled as the log is read: lines set aside by reason, and what the clock did. */
  report?: ReadReport;
  chunkBytes?: number;
  /** Told of each line cut at MAX_LINE_BYTES as soon as its end is read, even if no sample follows it. */
  onCutLine?: (cut: CutLine) => void;
}

const DEFAULT_CHUNK = 1 << 20;

/** What reading a log learnt besides its samples (for `memsleuth ingest`). */
export interface ReadReport {
  /** Lines set aside, by reason (blank, printk, prompt, command, error, separator, banner, note, clock, header). */
  setAside: Record<string, number>;
  clock: ClockReport;
}

export const newReadReport = (): ReadReport => ({ setAside: {}, clock: newClockReport() });
/** A "line" longer than this many bytes is not text a terminal printed: its head is kept, the rest skipped. */
export { MAX_LINE_BYTES };

/** A line cut at MAX_LINE_BYTES: where, and how many bytes of it were skipped. */
export interface CutLine { line: number; skippedBytes: number }

const LF = 10;

/**
 * A file's lines, one buffer-full at a time, in constant memory: one reused read buffer (grown only for a line
 * longer than a read, up to MAX_LINE_BYTES), the unfinished line carried as bytes at its front. Each read's
 * complete lines are decoded in one go: as Latin-1 when the bytes are ASCII (the same string, faster), else as
 * UTF-8 (Chinese notes are common; a read always ends at a line end, so no character is split). The hints
 * (CHUNK_NO_CONTROLS, CHUNK_NO_AT) say what no line of the read holds, so the cleaner can skip those steps.
 */
export class ChunkedLines {
  readonly cutLines: CutLine[] = [];
  private readonly fd: number;
  private buf: Buffer;
  private keep = 0;
  private lineNo = 0;
  /** Inside a line past MAX_LINE_BYTES: bytes skipped so far, -1 when not. */
  private skipping = -1;
  /** File offset of the next read; null: the descriptor's own position (the file is read from its start). */
  private pos: number | null = null;

  /** Reads from byte `from` (a line start), numbering lines on from `linesBefore`. */
  constructor(path: string, chunkBytes = DEFAULT_CHUNK, from = 0, linesBefore = 0) {
    this.fd = openSync(path, 'r');
    if (from > 0) this.pos = from;
    this.lineNo = linesBefore;
    // Its own ArrayBuffer, so the word-at-a-time control scan is aligned.
    this.buf = Buffer.from(new ArrayBuffer(Math.max(1, chunkBytes)));
  }

  /** Calls onLine for every line completed by the next read; false once the file is exhausted. */
  readChunk(onLine: (line: string, lineNo: number, hints: number) => void): boolean {
    let buf = this.buf;
    const n = readSync(this.fd, buf, this.keep, buf.length - this.keep, this.pos);
    if (this.pos !== null) this.pos += n;
    const end = this.keep + n;
    if (this.skipping >= 0) return this.skip(n, end, onLine);
    if (n === 0) {
      if (end > 0) this.emit(0, end, onLine);
      this.keep = 0;
      return false;
    }
    const last = buf.lastIndexOf(LF, end - 1);
    if (last < 0) {
      if (end < buf.length) {
        this.keep = end;
        return true;
      }
      if (buf.length < MAX_LINE_BYTES) {
        buf = Buffer.from(new ArrayBuffer(Math.min(MAX_LINE_BYTES, buf.length * 2)));
        this.buf.copy(buf, 0, 0, end);
        this.buf = buf;
        this.keep = end;
        return true;
      }
      // MAX_LINE_BYTES without a line end: keep the head (cut at a character boundary), skip to the next LF.
      let cut = end;
      while (cut > 0 && ((buf[cut] as number) & 0xc0) === 0x80) cut--;
      onLine(buf.toString('utf8', 0, cut), ++this.lineNo, 0);
      this.skipping = end - cut;
      this.keep = 0;
      return true;
    }
    this.lines(0, last + 1, onLine);
    this.keep = end - last - 1;
    if (this.keep > 0) buf.copy(buf, 0, last + 1, end);
    return true;
  }

  /** The rest of a cut line: nothing is decoded until its LF. */
  private skip(n: number, end: number, onLine: (line: string, lineNo: number, hints: number) => void): boolean {
    const lf = n > 0 ? this.buf.indexOf(LF, 0) : -1;
    if (lf < 0 || lf >= end) {
      this.skipping += end;
      this.keep = 0;
      if (n > 0) return true;
      this.cutLines.push({ line: this.lineNo, skippedBytes: this.skipping });
      this.skipping = -1;
      return false;
    }
    this.cutLines.push({ line: this.lineNo, skippedBytes: this.skipping + lf });
    this.skipping = -1;
    this.lines(lf + 1, end, onLine, true);
    return true;
  }

  /** Complete lines of buf[start, end) (end just past an LF), or, with partial, lines then a carried tail. */
  private lines(start: number, end: number, onLine: (line: string, lineNo: number, hints: number) => void, partial = false): void {
    const buf = this.buf;
    if (partial) {
      const last = buf.lastIndexOf(LF, end - 1);
      const stop = last >= start ? last + 1 : start;
      if (stop > start) this.lines(start, stop, onLine);
      this.keep = end - stop;
      if (this.keep > 0) buf.copy(buf, 0, stop, end);
      return;
    }
    const ascii = isAscii(buf.subarray(start, end));
    const text = buf.toString(ascii ? 'latin1' : 'utf8', start, end - 1);
    const at = buf.indexOf(AT, start);
    const hints = (noControls(buf, start, end) ? CHUNK_NO_CONTROLS : 0) | (at < 0 || at >= end ? CHUNK_NO_AT : 0);
    let from = 0;
    let lf = text.indexOf('\n');
    while (lf >= 0) {
      onLine(text.slice(from, lf), ++this.lineNo, hints);
      from = lf + 1;
      lf = text.indexOf('\n', from);
    }
    onLine(from === 0 ? text : text.slice(from), ++this.lineNo, hints);
  }

  private emit(start: number, end: number, onLine: (line: string, lineNo: number, hints: number) => void): void {
    onLine(this.buf.toString('utf8', start, end), ++this.lineNo, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

const AT = 64;

/** Samples of a capture log, one at a time. */
export function readCaptureFile(path: string, options: ReadOptions = {}): Generator<CaptureSample> {
  return readCaptureFrom(path, options, FILE_START);
}

/**
 * readCaptureFile() from a sample's start (a ResumePoint the fast path found). The sectionizer is primed with what
 * it would carry there, the clock with what the samples before left it.
 */
function* readCaptureFrom(path: string, options: ReadOptions, from: ResumePoint): Generator<CaptureSample> {
  const queue: RawSample[] = [];
  let primed = false;
  const sectionizer = new Sectionizer((s) => {
    if (primed) queue.push(s);
  });
  primeSectionizer(sectionizer, from);
  primed = true;
  const clock = new SampleClock(options.intervalSec ?? 1, options.report?.clock ?? newClockReport());
  if (from.clock) clock.seed(from.clock);
  const lines = new ChunkedLines(path, options.chunkBytes ?? DEFAULT_CHUNK, from.byte, from.line);
  const cleaner = new LineCleaner();
  const push = (raw: string, lineNo: number, hints: number): void => {
    const c = cleaner.clean(raw, hints);
    if (c !== undefined) sectionizer.pushText(c, lineNo, cleaner.time, (hints & CHUNK_NO_AT) !== 0);
    else sectionizer.aside(cleaner.aside ?? 'blank', cleaner.asideText);
  };
  let index = from.index;
  let told = 0;
  try {
    for (let more = true; more;) {
      more = lines.readChunk(push);
      if (!more) sectionizer.end();
      if (options.onCutLine) for (; told < lines.cutLines.length; told++) options.onCutLine(lines.cutLines[told] as CutLine);
      for (let q = 0; q < queue.length; q++) {
        const raw = queue[q] as RawSample;
        if (lines.cutLines.length > 0) {
          for (const c of lines.cutLines) raw.warnings.push(cutWarning(c));
          lines.cutLines.length = 0;
          told = 0;
        }
        yield { index, firstLine: raw.firstLine, sections: raw.sections, timestamp: clock.stamp(raw, index), warnings: raw.warnings };
        index++;
      }
      queue.length = 0;
    }
  } finally {
    lines.close();
    const aside = options.report?.setAside;
    if (aside) for (const [k, n] of sectionizer.setAside) aside[k] = (aside[k] ?? 0) + n;
  }
}

/**
 * Brings a new Sectionizer to the state the one that read the file up to `from` had there, through its public
 * input only: the free header (a header line opens a free section), then each kind's line count (a framed
 * section of that many lines: the count is all a closed section leaves), then "done" to close what is open.
 * The samples this makes are dropped by the caller; the gap count and open sample end as a fresh one's.
 */
function primeSectionizer(sectionizer: Sectionizer, from: ResumePoint): void {
  const counts = from.counts;
  if (from.freeHeader === undefined && counts.every((n) => n < 0)) return;
  if (from.freeHeader !== undefined) sectionizer.pushText(from.freeHeader, 0, undefined);
  FAST_KINDS.forEach((kind, i) => {
    const n = counts[i] ?? -1;
    if (n < 0) return;
    sectionizer.pushText(`${MARKER} resume sec ${kind}`, 0, undefined);
    for (let k = 0; k < n; k++) sectionizer.pushText('-', 0, undefined);
    sectionizer.pushText(`${MARKER} resume end 0`, 0, undefined);
  });
  sectionizer.pushText(`${MARKER} resume done`, 0, undefined);
}

function cutWarning(c: CutLine): ParseWarning {
  return warning(c.line, '', `line longer than ${MAX_LINE_BYTES} bytes: the first ${MAX_LINE_BYTES} kept, the other ${c.skippedBytes} skipped`, 'data-loss');
}

/** What the clock did over a log: sources used, and anything odd, by sample index (first 20 of each). */
export interface ClockReport {
  /** The source the log's axis follows (the first sample's best). */
  primary: TimeSource | undefined;
  /** Samples per source. */
  sources: Record<string, number>;
  backwards: number[];
  repeats: number[];
  jumps: { index: number; fromSec: number; toSec: number }[];
  reboots: number[];
  /** Samples whose source is not the primary one and could not be converted to it (no sample had both). */
  unconverted: number[];
  /** Zone names read as UTC because the table lacks them. */
  unknownZones: string[];
  counts: { backwards: number; repeats: number; jumps: number; reboots: number; unconverted: number };
}

export const newClockReport = (): ClockReport => ({
  primary: undefined, sources: {}, backwards: [], repeats: [], jumps: [], reboots: [], unconverted: [], unknownZones: [],
  counts: { backwards: 0, repeats: 0, jumps: 0, reboots: 0, unconverted: 0 },
});

/** Sources in order of preference: wall clocks, then times of day, then seconds since some start. */
const RANK = ['date', 'iso', 'epoch', 'screen', 'label-wall', 'terminal', 'uptime-cmd', 'terminal-tod', 'uptime', 'label', 'printk', 'terminal-relative'];
const rankOf = (source: string): number => {
  const r = RANK.indexOf(source.startsWith('label:') ? (source.endsWith('#wall') ? 'label-wall' : 'label') : source);
  return r < 0 ? RANK.length : r;
};
const MAX_LISTED = 20;

/**
 * Picks each sample's time from what it printed (clock.ts readings, framed date/uptime sections, the logger's
 * per-line stamps). The log's axis follows one source, the first sample's best; a sample without it is placed
 * through the offset between its own best source and the axis learnt from the last sample that had both, else
 * taken as it is and reported. Times of day wrap at midnight. What the clock then does over the log (back,
 * repeats, jumps, reboots) is ClockWatch's business, on the samples as they are delivered.
 */
class SampleClock {
  private readonly days = new Map<string, { offset: number; last: number }>();
  private readonly offsets = new Map<string, number>();
  private primary: string | undefined;
  private prevSec: number | undefined;
  private prevPeriod: number;
  constructor(private readonly intervalSec: number, private readonly report: ClockReport) {
    this.prevPeriod = intervalSec;
  }

  /** The state the samples before a resume point left (the fast path's FastClock kept it). */
  seed(s: ClockSeed): void {
    this.primary = s.primary;
    this.prevSec = s.prevSec;
    this.prevPeriod = s.prevPeriod;
    for (const [k, v] of s.offsets) this.offsets.set(k, v);
    if (s.tod) this.days.set('terminal-tod', { offset: s.tod[0], last: s.tod[1] });
  }

  stamp(raw: RawSample, index: number): SampleTimestamp {
    const values = new Map<string, number>();
    let epochMs: number | undefined;
    let uptimeSec: number | undefined;
    let bootId: string | undefined;
    const put = (source: string, sec: number): void => {
      if (!values.has(source) && Number.isFinite(sec)) values.set(source, sec);
    };
    for (const s of raw.sections) {
      if (s.exitStatus !== undefined && s.exitStatus !== 0) continue;
      if (s.kind === 'date') {
        const d = parseDate(s.lines[0] ?? '');
        if (d) {
          epochMs ??= d.epochMs;
          put('date', d.epochMs / 1000);
          if (d.zone !== '') this.unknownZone(d.zone);
        }
      } else if (s.kind === 'uptime') {
        const u = parseUptime(s.lines[0] ?? '');
        if (u !== undefined) {
          uptimeSec ??= u;
          put('uptime', u);
        }
      } else if (s.kind === 'boot_id') bootId ??= parseBootId(s.lines[0] ?? '');
      if (s.time) {
        const t = s.time;
        if (t.epochMs !== undefined) put('terminal', t.epochMs / 1000);
        else if (t.relative) put(t.printk ? 'printk' : 'terminal-relative', t.secOfDay);
        else put('terminal-tod', this.timeOfDay('terminal-tod', t.secOfDay));
      }
    }
    for (const { reading: r } of raw.clocks ?? []) {
      if (r.unknownZone !== undefined) this.unknownZone(r.unknownZone);
      const source = r.form.startsWith('label:') && r.kind === 'wall' ? `${r.form}#wall` : r.form;
      if (r.kind === 'wall') {
        epochMs ??= r.value;
        put(source, r.value / 1000);
      } else if (r.kind === 'tod') put(source, this.timeOfDay(source, r.value));
      else {
        if (r.form === 'uptime' || r.form.startsWith('label:up')) uptimeSec ??= r.value;
        put(source, r.value);
      }
    }
    const out = this.place(values, index);
    if (epochMs !== undefined && out.source !== 'index' && rankOf(out.source) <= rankOf('terminal')) out.epochMs = epochMs;
    if (uptimeSec !== undefined) out.uptimeSec = uptimeSec;
    if (bootId !== undefined) out.bootId = bootId;
    return out;
  }

  private place(values: Map<string, number>, index: number): SampleTimestamp {
    let out: SampleTimestamp;
    if (values.size === 0) {
      // No clock: index x interval, or after clocked samples one period on from the last.
      const sec = this.prevSec === undefined || this.primary === undefined ? index * this.intervalSec : this.prevSec + this.prevPeriod;
      out = { sec, source: 'index' };
    } else {
      const best = [...values.keys()].sort((a, b) => rankOf(a) - rankOf(b));
      this.primary ??= best[0];
      const primary = this.primary as string;
      let source = primary;
      let sec = values.get(primary);
      if (sec !== undefined) {
        for (const [k, v] of values) if (k !== primary) this.offsets.set(k, sec - v);
      } else {
        source = best.find((k) => this.offsets.has(k)) ?? (best[0] as string);
        const off = this.offsets.get(source);
        sec = (values.get(source) as number) + (off ?? 0);
        if (off === undefined) {
          this.report.counts.unconverted++;
          if (this.report.unconverted.length < MAX_LISTED) this.report.unconverted.push(index);
        }
      }
      out = { sec, source };
    }
    if (this.prevSec !== undefined && out.sec > this.prevSec) this.prevPeriod = out.sec - this.prevSec;
    this.prevSec = out.sec;
    return out;
  }

  private unknownZone(z: string): void {
    if (!this.report.unknownZones.includes(z) && this.report.unknownZones.length < MAX_LISTED) this.report.unknownZones.push(z);
  }

  /** A time of day without a date wraps at midnight: count the days so the axis keeps going up. */
  private timeOfDay(source: string, secOfDay: number): number {
    let d = this.days.get(source);
    if (!d) this.days.set(source, (d = { offset: 0, last: -1 }));
    if (d.last >= 0 && secOfDay + 3600 < d.last) d.offset += 86400;
    d.last = secOfDay;
    return secOfDay + d.offset;
  }
}

/**
 * Watches the delivered samples' times, in order, whichever path read them: counts sources, reports a clock that
 * goes back, repeats or jumps (more than 3 periods), and marks a reboot where /proc/uptime falls in a log that prints
 * no boot id (it gets "uptime-segment-N" ones from the first reboot on), as the live recorder starts a boot segment;
 * where boot ids are printed, a new one is the reboot.
 */
export class ClockWatch {
  private prevSec: number | undefined;
  private prevUptime: number | undefined;
  private lastBootId: string | undefined;
  private segment = 1;
  private readonly intervals: number[] = [];
  private smallest = Infinity;
  constructor(private readonly report: ClockReport) {}

  observe(ts: SampleTimestamp, index: number): void {
    const r = this.report;
    r.sources[ts.source] = (r.sources[ts.source] ?? 0) + 1;
    if (ts.source !== 'index') r.primary ??= ts.source;
    if (ts.uptimeSec !== undefined) {
      if (this.prevUptime !== undefined && ts.uptimeSec + 1 < this.prevUptime && ts.bootId === undefined && this.lastBootId === undefined) {
        ts.reboot = true;
        this.segment++;
        this.note('reboots', index);
      }
      this.prevUptime = ts.uptimeSec;
    }
    if (ts.bootId !== undefined) this.lastBootId = ts.bootId;
    else if (this.segment > 1) ts.bootId = `uptime-segment-${this.segment}`;
    const prev = this.prevSec;
    this.prevSec = ts.sec;
    if (prev === undefined || ts.source === 'index') return;
    const d = ts.sec - prev;
    if (d < 0) {
      if (!ts.reboot) this.note('backwards', index);
    } else if (d === 0) this.note('repeats', index);
    else {
      // The period (median of the last intervals) is only worked out for an interval that may be a jump.
      if (this.intervals.length >= 3 && d > 3 * this.smallest) {
        const s = [...this.intervals].sort((a, b) => a - b);
        const period = s[Math.floor(s.length / 2)] as number;
        if (d > Math.max(3 * period, period + 2)) {
          r.counts.jumps++;
          if (r.jumps.length < MAX_LISTED) r.jumps.push({ index, fromSec: prev, toSec: ts.sec });
        }
      }
      this.intervals.push(d);
      if (this.intervals.length > 15) this.intervals.shift();
      this.smallest = Math.min(...this.intervals);
    }
  }

  private note(what: 'backwards' | 'repeats' | 'reboots', index: number): void {
    this.report.counts[what]++;
    const list = this.report[what];
    if (list.length < MAX_LISTED) list.push(index);
  }
}

export interface IngestOptions extends ReadOptions {
  onSample: (snapshot: Snapshot, sample: CaptureSample) => void;
}

export interface IngestSummary { samples: number; sections: number; warnings: number }

/** Reads a capture log and parses every section of every sample into a Snapshot. */
export function ingestToSnapshots(path: string, options: IngestOptions): IngestSummary {
  const summary: IngestSummary = { samples: 0, sections: 0, warnings: 0 };
  for (const sample of readCaptureFile(path, options)) {
    const snapshot = toSnapshot(sample);
    summary.samples++;
    summary.sections += sample.sections.length;
    summary.warnings += snapshot.warnings.length;
    options.onSample(snapshot, sample);
  }
  return summary;
}

/** How a warning about a per-process file whose pid could not be found starts (ingest counts them). */
export const PID_NOT_FOUND = 'pid not found';

/** Parses a sample's sections with the parsers of src/parse/ and assembles the Snapshot. */
export function toSnapshot(sample: CaptureSample): Snapshot {
  const ts = sample.timestamp;
  const snap: Snapshot = { takenAtMs: ts.epochMs ?? Math.round(ts.sec * 1000), target: {}, processes: [], warnings: [] };
  if (ts.uptimeSec !== undefined) snap.target.uptimeSec = ts.uptimeSec;
  if (ts.bootId !== undefined) snap.target.bootId = ts.bootId;
  for (const w of sample.warnings) snap.warnings.push({ ...w, source: 'capture' });
  const procs = new Map<number, ProcessSample>();
  let lastStatus: ProcessSample | undefined;
  const seen = new Set<string>();
  for (const s of sample.sections) {
    const source = s.pid !== undefined ? `/proc/${s.pid}/${s.name}` : s.name;
    const add = (ws: readonly ParseWarning[]): void => {
      for (const w of ws) snap.warnings.push(relocate(w, s, source));
    };
    if (s.exitStatus !== undefined && s.exitStatus !== 0) {
      // A process gone between the glob and the cat is routine; anything else is worth saying.
      const severity = s.pid !== undefined ? 'info' : 'data-loss';
      add([warning(0, s.lines.join(' ').trim(), `unreadable on the target (cat exit status ${s.exitStatus})`, severity)]);
      continue;
    }
    if (s.pid === undefined && !PER_PROCESS_KINDS.has(s.kind as SectionKind) && s.kind !== 'file') {
      if (seen.has(s.kind)) add([warning(0, '', `a second ${s.kind} in one sample; the later one is kept`, 'info')]);
      seen.add(s.kind);
    }
    const text = s.kind === 'slabinfo' ? '' : sectionText(s);
    switch (s.kind) {
      case 'meminfo': { const r = parseMeminfo(text); snap.meminfo = r.value; add(r.warnings); break; }
      case 'slabinfo': { const r = parseSlabinfoLines(s.lines); snap.slabinfo = r.value; add(r.warnings); break; }
      case 'free': { const r = parseFree(text); snap.free = r.value; add(r.warnings); break; }
      case 'vmallocinfo': { const r = parseVmallocinfo(text); snap.vmallocinfo = r.value; add(r.warnings); break; }
      case 'buddyinfo': { const r = parseBuddyinfo(text); snap.buddyinfo = r.value; add(r.warnings); break; }
      case 'zoneinfo': { const r = parseZoneinfo(text); snap.zoneinfo = r.value; add(r.warnings); break; }
      case 'pagetypeinfo': { const r = parsePagetypeinfo(text); snap.pagetypeinfo = r.value; add(r.warnings); break; }
      case 'vmstat': { const r = parseVmstat(text); snap.vmstat = r.value; add(r.warnings); break; }
      case 'status': {
        const r = parseStatus(text, { rawFields: false });
        add(r.warnings);
        // The file's own Pid: first; a header's pid only for a status without one (some vendor kernels trim it).
        const pid = r.value.pid ?? s.pid;
        if (pid === undefined) { add([warning(0, '', `${PID_NOT_FOUND}: status without a Pid: line and no header naming it; skipped`, 'data-loss')]); break; }
        if (r.value.pid !== undefined && s.pid !== undefined && s.pid !== r.value.pid) {
          add([warning(0, '', `a header named pid ${s.pid} but the status says Pid: ${r.value.pid}; the file's is kept`, 'info')]);
        }
        const p = processOf(procs, pid, r.value.name);
        p.status = r.value;
        lastStatus = p;
        break;
      }
      case 'smaps_rollup': {
        const r = parseSmapsRollup(text);
        add(r.warnings);
        // A header naming it, else the status block just before it in this sample (a loop printing both per pid).
        let p = s.pid !== undefined ? processOf(procs, s.pid, undefined) : undefined;
        if (!p && lastStatus && lastStatus.memory === undefined) p = lastStatus;
        if (!p) { add([warning(0, '', `${PID_NOT_FOUND}: smaps_rollup with no header naming its pid and no status block before it; skipped`, 'data-loss')]); break; }
        if (p.memory !== undefined) add([warning(0, '', `a second smaps_rollup for pid ${p.pid} in one sample; the later one is kept`, 'info')]);
        p.memory = r.value.memory;
        break;
      }
      case 'statm': case 'smaps': case 'maps': case 'fd': {
        // No pid of their own: a header or marker naming it, else the status block just before it in this sample.
        const kind = s.kind;
        let p = s.pid !== undefined ? processOf(procs, s.pid, undefined) : undefined;
        if (!p && lastStatus && !hasFile(lastStatus, kind)) p = lastStatus;
        if (!p) { add([warning(0, '', `${PID_NOT_FOUND}: ${kind} with no header naming its pid and no status block before it; skipped`, 'data-loss')]); break; }
        if (hasFile(p, kind)) add([warning(0, '', `a second ${kind} for pid ${p.pid} in one sample; the later one is kept`, 'info')]);
        if (kind === 'statm') { const r = parseStatm(text); add(r.warnings); p.statm = r.value; }
        else if (kind === 'fd') { const r = parseFd(text); add(r.warnings); p.fds = r.value.count; }
        else {
          const r = parseSmaps(text);
          add(r.warnings);
          if (kind === 'maps') p.maps = r.value;
          else p.smaps = r.value;
        }
        break;
      }
      case 'uptime': case 'date': case 'boot_id':
        break; // already in the timestamp
      case 'file': {
        // A log declares no format, but dma_buf/bufinfo names itself: a `script --files bufinfo=PATH` loop on an
        // Android or camera board gives the same series as `--watch-file PATH:dmabuf` live.
        // Android tools' outputs name themselves too: a loop that frames `procrank` or `dumpsys meminfo` under any
        // name gives their processes' PSS/USS as proc.<name>:<pid>.* series and their totals as procrank.ram.* /
        // dumpsys.ram.*, dumpsys.pss.oom.*, dumpsys.pss.category.*; librank each process's share of each mapping as
        // proc.<name>:<pid>.map.<mapping>.* and the mapping's total as librank.<mapping>.pss.
        if (PROCRANK_SHAPE.test(text) || DUMPSYS_SUMMARY_SHAPE.test(text) || LIBRANK_SHAPE.test(text)) {
          let values: Record<string, number>;
          if (PROCRANK_SHAPE.test(text)) { const r = parseProcrank(text); values = procrankSeries(r.value); add(r.warnings); }
          else if (LIBRANK_SHAPE.test(text)) { const r = parseLibrank(text); values = librankSeries(r.value); add(r.warnings); }
          else { const r = parseDumpsysMeminfo(text); values = dumpsysSeries(r.value); add(r.warnings); }
          snap.series = { ...snap.series, ...values };
          break;
        }
        if (MALI_SHAPE.test(text) || ION_SHAPE.test(text)) {
          const r = reduceWatched(text, { kind: MALI_SHAPE.test(text) ? 'mali' : 'ion' }, s.name);
          (snap.watched ??= []).push({ name: s.name, values: r.value });
          add(r.warnings);
          break;
        }
        // The dma-buf and KGSL sysfs trees as the loop lists them (watch_file.ts, treeCommand): their first line says so.
        if (text.trimStart().startsWith(DMABUF_SYSFS_HEADER) || text.trimStart().startsWith(KGSL_SYSFS_HEADER)) {
          const r = reduceWatched(text, { kind: text.trimStart().startsWith(DMABUF_SYSFS_HEADER) ? 'dmabuf_sysfs' : 'kgsl_sysfs' }, s.name);
          (snap.watched ??= []).push({ name: s.name, values: r.value });
          add(r.warnings);
          break;
        }
        if (DMABUF_SHAPE.test(text)) {
          const r = reduceWatched(text, { kind: 'dmabuf' }, s.name);
          (snap.watched ??= []).push({ name: s.name, values: r.value });
          add(r.warnings);
          break;
        }
        add([warning(0, '', `"${s.name}" has no declared format here; kept out of the snapshot`, 'info')]);
        break;
      }
    }
  }
  // smaps gives a process's totals where no smaps_rollup did (kernels before 4.14, loops that print only smaps).
  for (const p of procs.values()) if (p.smaps && p.memory === undefined) p.memory = summarizeMappings(p.smaps.mappings);
  snap.processes = [...procs.values()];
  return snap;
}

function hasFile(p: ProcessSample, kind: 'statm' | 'smaps' | 'maps' | 'fd'): boolean {
  return (kind === 'statm' ? p.statm : kind === 'smaps' ? p.smaps : kind === 'maps' ? p.maps : p.fds) !== undefined;
}

function processOf(procs: Map<number, ProcessSample>, pid: number, comm: string | undefined): ProcessSample {
  let p = procs.get(pid);
  if (!p) {
    p = { pid, comm: comm ?? String(pid) };
    procs.set(pid, p);
  } else if (comm !== undefined) p.comm = comm;
  return p;
}

/** Parser line numbers count from the section's first line; the capture's own numbering is what a user can open. */
function relocate(w: ParseWarning, s: Section, source: string): SnapshotWarning {
  return { ...w, line: w.line > 0 ? s.firstLine + w.line - 1 : s.firstLine, source };
}


/** What ingestSeries() says about each sample besides its values. */
export interface SeriesMeta {
  index: number;
  /** 1-based line of the capture where the sample starts. */
  firstLine: number;
  /** Section names in the order the log had them ("meminfo", "slabinfo", "free", ...). */
  sections: string[];
  /** Their kinds ('file' for a user-declared file, whose name is the user's). */
  kinds: string[];
  timestamp: SampleTimestamp;
  /** Exactly toSnapshot(sample).warnings: the capture's, then each parser's, with capture line numbers. */
  warnings: SnapshotWarning[];
  /** Pids of the processes the sample holds (absent on the fast path, which reads no per-process file). */
  pids?: number[];
  /** The sample's zoneinfo zones, when it had zoneinfo (not a series: OOM watermarks). */
  zones?: Zone[];
}

export interface SeriesOptions {
  intervalSec?: number;
  chunkBytes?: number;
  /** 'auto' (default): the byte-scanning path where the log allows it, else the generic one. */
  path?: 'auto' | 'generic' | 'fast';
  /**
   * The byte-scanning path on worker threads for a large log (PARALLEL_MIN_BYTES and up; default: one worker
   * besides this thread); false: never.
   */
  parallel?: ParallelOptions | false;
}

export interface SeriesSummary {
  samples: number;
  /** Which path produced the samples; 'fast+generic' when the fast one met something it leaves to the generic. */
  path: 'fast' | 'generic' | 'fast+generic';
  /** Lines cut at MAX_LINE_BYTES (at most the first 100). */
  cutLines: CutLine[];
  /** Lines set aside and the clock's story, from the generic path (the fast path sets aside only blank lines,
   * separators, echoed commands and printk lines, which it does not count, and has no clock). */
  report: ReadReport;
}

/**
 * Streams a capture log as flattened series (the keys of flattenSnapshot), one sample at a time, without keeping
 * Snapshot objects: values equal flattenSnapshot(toSnapshot(sample)), meta.warnings equal its warnings.
 * `values` is one Map reused for every sample: copy what you keep.
 */
export function ingestSeries(
  path: string, options: SeriesOptions,
  onSample: (tSec: number, values: SeriesValues, meta: SeriesMeta) => void,
): SeriesSummary {
  return ingest(path, options, undefined, onSample);
}

/**
 * ingestSeries() without a Map: each sample's values come as a SeriesRow, numbered by one KeyTable that keeps
 * every key's number for the whole log (keys are added as they are first seen). The same samples, keys and
 * values as ingestSeries() (rowToMap(row) is its Map); the fast path fills the row directly, so this is the
 * cheaper way to read a large log. The row is reused: read it during the callback.
 */
export function ingestSeriesTyped(
  path: string, options: SeriesOptions,
  onSample: (tSec: number, row: SeriesRow, meta: SeriesMeta) => void,
): SeriesSummary {
  return ingest(path, options, onSample, undefined);
}

type OnRow = (tSec: number, row: SeriesRow, meta: SeriesMeta) => void;
type OnMap = (tSec: number, values: SeriesValues, meta: SeriesMeta) => void;

function ingest(path: string, options: SeriesOptions, onRow: OnRow | undefined, onMap: OnMap | undefined): SeriesSummary {
  const mode = options.path ?? 'auto';
  const cutLines: CutLine[] = [];
  const report = newReadReport();
  const keys = new KeyTable();
  let from = FILE_START;
  const watch = new ClockWatch(report.clock);
  if (mode !== 'generic' && (mode === 'fast' || sniffFast(path))) {
    const give = onRow ?? mapOfRows(onMap as OnMap);
    const deliver: OnRow = (t, row, meta) => {
      watch.observe(meta.timestamp, meta.index);
      give(t, row, meta);
    };
    const par = options.parallel;
    const r = par !== false && fileSize(path) >= (par?.minBytes ?? PARALLEL_MIN_BYTES)
      ? scanSeriesParallel(path, options, par ?? {}, keys, deliver)
      : scanSeriesFast(path, options, keys, deliver);
    if (r.complete) {
      addAside(report.setAside, r.aside);
      return { samples: r.samples, path: 'fast', cutLines, report };
    }
    from = r.resume;
    addAside(report.setAside, from.aside);
  }
  // The generic path from the start of the sample the fast path left (the ones before are delivered).
  const flattener = new SeriesFlattener();
  const values: SeriesValues = new Map();
  const row = newSeriesRow(keys);
  let samples = from.index;
  const read: ReadOptions = { report, onCutLine: (c) => { if (cutLines.length < 100) cutLines.push(c); } };
  if (options.intervalSec !== undefined) read.intervalSec = options.intervalSec;
  if (options.chunkBytes !== undefined) read.chunkBytes = options.chunkBytes;
  for (const sample of readCaptureFrom(path, read, from)) {
    samples++;
    watch.observe(sample.timestamp, sample.index);
    const snap = toSnapshot(sample);
    values.clear();
    flattener.flatten(snap, values);
    const meta: SeriesMeta = {
      index: sample.index, firstLine: sample.firstLine, sections: sample.sections.map((s) => s.name), kinds: sample.sections.map((s) => s.kind),
      timestamp: sample.timestamp, warnings: snap.warnings,
    };
    if (snap.processes.length > 0) meta.pids = snap.processes.map((p) => p.pid);
    if (snap.zoneinfo) meta.zones = snap.zoneinfo.zones;
    if (onMap) onMap(sample.timestamp.sec, values, meta);
    else if (onRow) {
      let n = 0;
      growRow(row, 0, values.size);
      for (const [k, v] of values) {
        const id = keys.id(k);
        growRow(row, id, 0);
        row.values[id] = v;
        row.ids[n++] = id;
      }
      row.count = n;
      onRow(sample.timestamp.sec, row, meta);
    }
  }
  return { samples, path: from.index > 0 ? 'fast+generic' : 'generic', cutLines, report };
}

/** Rows as one Map updated in place: most keys come back every sample; keys a sample lacks are deleted. */
function mapOfRows(onMap: OnMap): OnRow {
  const values: SeriesValues = new Map();
  let mark = new Int32Array(1024);
  let stamp = 0;
  let last = new Int32Array(1024);
  let lastCount = 0;
  return (t, row, meta) => {
    stamp++;
    const names = row.keys.names;
    if (mark.length < names.length) {
      const m = new Int32Array(Math.max(names.length, mark.length * 2));
      m.set(mark);
      mark = m;
    }
    const { ids, values: vals, count } = row;
    for (let i = 0; i < count; i++) {
      const id = ids[i] as number;
      mark[id] = stamp;
      values.set(names[id] as string, vals[id] as number);
    }
    for (let i = 0; i < lastCount; i++) {
      const id = last[i] as number;
      if (mark[id] !== stamp) values.delete(names[id] as string);
    }
    if (last.length < count) last = new Int32Array(Math.max(count, last.length * 2));
    last.set(ids.subarray(0, count));
    lastCount = count;
    onMap(t, values, meta);
  };
}

function fileSize(path: string): number {
  return statSync(path).size;
}

function sniffFast(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.allocUnsafe(64 << 10);
    const n = readSync(fd, head, 0, head.length, 0);
    return canTakeFastPath(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
