/**
 * Streams a capture log FILE (a terminal's saved output, a `memsleuth script` loop's log, notes with dumps pasted
 * in) into samples and Snapshots, in constant memory whatever its size: one reused read buffer, one pending line,
 * one open sample. Text goes through the same cleaner and sectionizer as everything else (DESIGN.md, "One text path").
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { warning, type ParseWarning } from '../model/parsed.js';
import type { ProcessSample, Snapshot, SnapshotWarning } from '../model/snapshot.js';
import { cleanLine } from '../capture/terminal_noise.js';
import { Sectionizer } from '../capture/sectionizer.js';
import { sectionText, type RawSample, type Section } from '../capture/section.js';
import { parseBootId, parseDate, parseUptime } from '../capture/clock.js';
import { parseMeminfo } from '../parse/meminfo.js';
import { parseSlabinfo } from '../parse/slabinfo.js';
import { parseFree } from '../parse/free.js';
import { parseVmallocinfo } from '../parse/vmallocinfo.js';
import { parseBuddyinfo } from '../parse/buddyinfo.js';
import { parseZoneinfo } from '../parse/zoneinfo.js';
import { parsePagetypeinfo } from '../parse/pagetypeinfo.js';
import { parseVmstat } from '../parse/vmstat.js';
import { parseStatus } from '../parse/status.js';
import { parseSmapsRollup } from '../parse/smaps_rollup.js';

export type TimeSource = 'date' | 'terminal' | 'uptime' | 'index';

export interface SampleTimestamp {
  /** Seconds on the log's time axis, from the best source the sample had. */
  sec: number;
  source: TimeSource;
  epochMs?: number;
  uptimeSec?: number;
  bootId?: string;
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
  chunkBytes?: number;
}

const DEFAULT_CHUNK = 1 << 20;
/** A "line" longer than this is not text a terminal printed; it is cut so memory stays bounded. */
const MAX_LINE_CHARS = 1 << 20;

/**
 * A file's lines, one buffer-full at a time, decoded as UTF-8 across chunk boundaries (Chinese notes are common).
 * A "line" over MAX_LINE_CHARS is cut so memory stays bounded; cutLines says where.
 */
export class ChunkedLines {
  readonly cutLines: number[] = [];
  private readonly fd: number;
  private readonly buf: Buffer;
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  private lineNo = 0;

  constructor(path: string, private readonly chunkBytes = DEFAULT_CHUNK) {
    this.fd = openSync(path, 'r');
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** Calls onLine for every line completed by the next chunk; false once the file is exhausted. */
  readChunk(onLine: (line: string, lineNo: number) => void): boolean {
    const n = readSync(this.fd, this.buf, 0, this.chunkBytes, null);
    const text = n > 0 ? this.decoder.write(this.buf.subarray(0, n)) : this.decoder.end();
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl >= 0 && this.carry) {
      onLine(this.carry + text.slice(0, nl), ++this.lineNo);
      this.carry = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    while (nl >= 0) {
      onLine(text.slice(start, nl), ++this.lineNo);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.carry += text.slice(start);
    if (this.carry.length > MAX_LINE_CHARS) {
      onLine(this.carry.slice(0, MAX_LINE_CHARS), ++this.lineNo);
      this.cutLines.push(this.lineNo);
      this.carry = '';
    }
    if (n > 0) return true;
    if (this.carry) onLine(this.carry, ++this.lineNo);
    this.carry = '';
    return false;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Samples of a capture log, one at a time. */
export function* readCaptureFile(path: string, options: ReadOptions = {}): Generator<CaptureSample> {
  const queue: RawSample[] = [];
  const sectionizer = new Sectionizer((s) => queue.push(s));
  const clock = new SampleClock(options.intervalSec ?? 1);
  const lines = new ChunkedLines(path, options.chunkBytes ?? DEFAULT_CHUNK);
  const push = (raw: string, lineNo: number): void => {
    const c = cleanLine(raw, lineNo);
    if (c) sectionizer.push(c);
  };
  let index = 0;
  try {
    for (let more = true; more;) {
      more = lines.readChunk(push);
      if (!more) sectionizer.end();
      for (let raw = queue.shift(); raw; raw = queue.shift()) {
        for (const l of lines.cutLines.splice(0)) raw.warnings.push(warning(l, '', `line longer than ${MAX_LINE_CHARS} characters cut`, 'data-loss'));
        yield { index, firstLine: raw.firstLine, sections: raw.sections, timestamp: clock.stamp(raw, index), warnings: raw.warnings };
        index++;
      }
    }
  } finally {
    lines.close();
  }
}

/** Picks each sample's time: `date`, else the terminal's prefix, else uptime, else index x interval. */
class SampleClock {
  private dayOffset = 0;
  private lastSecOfDay = -1;
  constructor(private readonly intervalSec: number) {}

  stamp(raw: RawSample, index: number): SampleTimestamp {
    let epochMs: number | undefined;
    let uptimeSec: number | undefined;
    let bootId: string | undefined;
    let terminalSec: number | undefined;
    for (const s of raw.sections) {
      if (s.exitStatus !== undefined && s.exitStatus !== 0) continue;
      if (s.kind === 'date') epochMs ??= parseDate(s.lines[0] ?? '')?.epochMs;
      else if (s.kind === 'uptime') uptimeSec ??= parseUptime(s.lines[0] ?? '');
      else if (s.kind === 'boot_id') bootId ??= parseBootId(s.lines[0] ?? '');
      if (terminalSec === undefined && s.time) terminalSec = this.terminal(s.time.secOfDay, s.time.epochMs);
    }
    const out: SampleTimestamp = epochMs !== undefined ? { sec: epochMs / 1000, source: 'date', epochMs }
      : terminalSec !== undefined ? { sec: terminalSec, source: 'terminal' }
      : uptimeSec !== undefined ? { sec: uptimeSec, source: 'uptime' }
      : { sec: index * this.intervalSec, source: 'index' };
    if (uptimeSec !== undefined) out.uptimeSec = uptimeSec;
    if (bootId !== undefined) out.bootId = bootId;
    return out;
  }

  /** A time of day without a date wraps at midnight: count the days so the axis keeps going up. */
  private terminal(secOfDay: number, epochMs: number | undefined): number {
    if (epochMs !== undefined) return epochMs / 1000;
    if (this.lastSecOfDay >= 0 && secOfDay + 3600 < this.lastSecOfDay) this.dayOffset += 86400;
    this.lastSecOfDay = secOfDay;
    return secOfDay + this.dayOffset;
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

/** Parses a sample's sections with the parsers of src/parse/ and assembles the Snapshot. */
export function toSnapshot(sample: CaptureSample): Snapshot {
  const ts = sample.timestamp;
  const snap: Snapshot = { takenAtMs: ts.epochMs ?? Math.round(ts.sec * 1000), target: {}, processes: [], warnings: [] };
  if (ts.uptimeSec !== undefined) snap.target.uptimeSec = ts.uptimeSec;
  if (ts.bootId !== undefined) snap.target.bootId = ts.bootId;
  for (const w of sample.warnings) snap.warnings.push({ ...w, source: 'capture' });
  const procs = new Map<number, ProcessSample>();
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
    if (s.pid === undefined && s.kind !== 'status' && s.kind !== 'smaps_rollup' && s.kind !== 'file') {
      if (seen.has(s.kind)) add([warning(0, '', `a second ${s.kind} in one sample; the later one is kept`, 'info')]);
      seen.add(s.kind);
    }
    const text = sectionText(s);
    switch (s.kind) {
      case 'meminfo': { const r = parseMeminfo(text); snap.meminfo = r.value; add(r.warnings); break; }
      case 'slabinfo': { const r = parseSlabinfo(text); snap.slabinfo = r.value; add(r.warnings); break; }
      case 'free': { const r = parseFree(text); snap.free = r.value; add(r.warnings); break; }
      case 'vmallocinfo': { const r = parseVmallocinfo(text); snap.vmallocinfo = r.value; add(r.warnings); break; }
      case 'buddyinfo': { const r = parseBuddyinfo(text); snap.buddyinfo = r.value; add(r.warnings); break; }
      case 'zoneinfo': { const r = parseZoneinfo(text); snap.zoneinfo = r.value; add(r.warnings); break; }
      case 'pagetypeinfo': { const r = parsePagetypeinfo(text); snap.pagetypeinfo = r.value; add(r.warnings); break; }
      case 'vmstat': { const r = parseVmstat(text); snap.vmstat = r.value; add(r.warnings); break; }
      case 'status': {
        const r = parseStatus(text);
        add(r.warnings);
        const pid = r.value.pid ?? s.pid;
        if (pid === undefined) { add([warning(0, '', 'status without a Pid: line; skipped', 'data-loss')]); break; }
        const p = processOf(procs, pid, r.value.name);
        p.status = r.value;
        break;
      }
      case 'smaps_rollup': {
        const r = parseSmapsRollup(text);
        add(r.warnings);
        if (s.pid === undefined) { add([warning(0, '', 'smaps_rollup without a pid (not framed); skipped', 'info')]); break; }
        processOf(procs, s.pid, undefined).memory = r.value.memory;
        break;
      }
      case 'uptime': case 'date': case 'boot_id':
        break; // already in the timestamp
      case 'file':
        add([warning(0, '', `"${s.name}" has no declared format here; kept out of the snapshot`, 'info')]);
        break;
    }
  }
  snap.processes = [...procs.values()];
  return snap;
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
