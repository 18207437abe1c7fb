/**
 * The live capture protocol (DESIGN.md, "Capture protocol"): one compound sh command per sample, every file
 * between nonce-tagged markers, and an incremental parser that keeps only the sample carrying that nonce.
 *
 *   echo '@@ms' 3f9a1c0b7d2e begin; echo '@@ms' 3f9a1c0b7d2e sec meminfo; cat '/proc/meminfo' 2>&1; echo '@@ms' 3f9a1c0b7d2e end $?; ...
 *
 * "@@ms" is quoted apart from the nonce so the shell's own echo of the command line (a tty echoes what it is sent)
 * never contains "@@ms <nonce>" and cannot pass for a marker. Only echo, cat, for and ${d#/proc/} are used:
 * all in POSIX sh and busybox ash.
 */
import { randomBytes } from 'node:crypto';
import { warning, type ParseWarning } from '../model/parsed.js';
import { BugError } from '../model/errors.js';
import { MARKER, SAFE_WORD, parseMarker, splitGluedMarker, type Marker } from './markers.js';
import { isSectionKind, type Section } from './section.js';
import { isPrintk, stripControls } from './terminal_noise.js';
import { shellQuote } from './shell_quote.js';

export { shellQuote } from './shell_quote.js';

export interface FrameFile {
  /** Section name: a kernel file kind ("meminfo") or a user's name for a watched file. */
  name: string;
  path: string;
  /** A shell command that prints the section instead of `cat PATH` (a directory tree read by a loop). */
  command?: string;
}

/** Per-process files, read for every pid in the same round trip by a loop that runs on the target. */
export interface ProcFiles { status?: boolean; smapsRollup?: boolean }

/** 48 random bits: a late sample or a log replay cannot collide with the one awaited. */
export const newNonce = (): string => randomBytes(6).toString('hex');

function checkWord(what: string, w: string): void {
  if (!SAFE_WORD.test(w)) throw new BugError(`Invalid ${what} "${w}" for a frame marker (allowed: letters, digits, _ . : -)`);
}

const mark = (nonce: string, rest: string): string => `echo '${MARKER}' ${nonce} ${rest}`;

/** One file: its section marker, the cat (stderr merged so an error's text lands in the section), its status. */
function catFile(nonce: string, name: string, pathExpr: string, pidExpr?: string): string {
  const sec = pidExpr === undefined ? `sec ${name}` : `sec ${name} ${pidExpr}`;
  return `${mark(nonce, sec)}; cat ${pathExpr} 2>&1; ${mark(nonce, 'end $?')}`;
}

/**
 * The for-loop over /proc/[0-9]* that reads every process's files in one round trip. A process that exits
 * between the glob and the cat gives a failed cat: an unreadable section, dropped by ingestion.
 */
export function buildProcLoop(nonce: string, procs: ProcFiles): string {
  checkWord('nonce', nonce);
  const body: string[] = [];
  if (procs.status !== false) body.push(catFile(nonce, 'status', '"$_ms_d/status"', '"${_ms_d#/proc/}"'));
  if (procs.smapsRollup) body.push(catFile(nonce, 'smaps_rollup', '"$_ms_d/smaps_rollup"', '"${_ms_d#/proc/}"'));
  if (body.length === 0) return '';
  return `for _ms_d in /proc/[0-9]*; do ${body.join('; ')}; done`;
}

export function buildSampleCommand(nonce: string, files: readonly FrameFile[], options: { procs?: ProcFiles } = {}): string {
  checkWord('nonce', nonce);
  const parts = [mark(nonce, 'begin')];
  for (const f of files) {
    checkWord('section name', f.name);
    parts.push(f.command === undefined ? catFile(nonce, f.name, shellQuote(f.path)) : `${mark(nonce, `sec ${f.name}`)}; ${f.command} 2>&1; ${mark(nonce, 'end $?')}`);
  }
  if (options.procs) {
    const loop = buildProcLoop(nonce, options.procs);
    if (loop) parts.push(loop);
  }
  parts.push(mark(nonce, 'done'));
  return parts.join('; ');
}

/** A file whose cat failed: on the target it does not exist, is root-only, or the process has gone. */
export interface UnreadableFile { name: string; pid?: number; exitStatus: number; error: string }

export interface FramedSample {
  nonce: string;
  /** Sections whose cat succeeded. */
  sections: Section[];
  unreadable: UnreadableFile[];
  /** False when the input ended before the "done" marker. */
  complete: boolean;
  warnings: ParseWarning[];
}

/**
 * Incremental reader of a shell's output: feed it chunks as they arrive, get samples as they complete.
 * Text outside this nonce's frame (banner, prompt, echo of the command, printk, a late sample of another nonce)
 * is ignored; printk lines inside a frame are dropped too.
 */
export class FrameParser {
  private partial = '';
  private lineNo = 0;
  private current: FramedSample | undefined;
  private section: Section | undefined;

  constructor(private nonce: string) {}

  /** Awaits another nonce from now on (the next sample on a persistent shell). */
  expect(nonce: string): void {
    this.nonce = nonce;
    this.current = undefined;
    this.section = undefined;
  }

  feed(chunk: string): FramedSample[] {
    const out: FramedSample[] = [];
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      this.partial += chunk;
      return out;
    }
    let first = true;
    while (nl >= 0) {
      const piece = chunk.slice(start, nl);
      this.line(first ? this.partial + piece : piece, out);
      first = false;
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    this.partial = chunk.slice(start);
    return out;
  }

  /** End of input: a sample still open comes back incomplete, with what it had. */
  flush(): FramedSample[] {
    const out: FramedSample[] = [];
    if (this.partial) this.line(this.partial, out);
    this.partial = '';
    const cur = this.current;
    if (cur) {
      if (this.section) this.closeSection(cur, undefined);
      cur.warnings.push(warning(this.lineNo, '', `sample ${cur.nonce} ended before its "done" marker`, 'data-loss'));
      out.push(cur);
      this.current = undefined;
    }
    return out;
  }

  private line(raw: string, out: FramedSample[]): void {
    this.lineNo++;
    const text = stripControls(raw);
    let marker: Marker | undefined;
    if (text.startsWith(MARKER)) marker = parseMarker(text);
    else if (this.section && text.includes(MARKER)) {
      const glued = splitGluedMarker(text);
      if (glued && glued[1].tag === this.nonce) {
        this.section.lines.push(glued[0]);
        marker = glued[1];
      }
    }
    if (marker) {
      if (marker.tag === this.nonce) this.marker(marker, out);
      return;
    }
    if (this.section && !isPrintk(text)) this.section.lines.push(text);
  }

  private marker(m: Marker, out: FramedSample[]): void {
    if (m.op === 'begin') {
      this.current = { nonce: this.nonce, sections: [], unreadable: [], complete: false, warnings: [] };
      this.section = undefined;
      return;
    }
    const cur = this.current;
    if (!cur) return;
    if (m.op === 'sec') {
      if (this.section) this.closeSection(cur, undefined);
      const kind = isSectionKind(m.name) ? m.name : 'file';
      this.section = { kind, name: m.name, lines: [], firstLine: this.lineNo + 1 };
      if (m.pid !== undefined) this.section.pid = m.pid;
    } else if (m.op === 'end') {
      if (this.section) this.closeSection(cur, m.status);
    } else {
      if (this.section) this.closeSection(cur, undefined);
      cur.complete = true;
      out.push(cur);
      this.current = undefined;
    }
  }

  private closeSection(cur: FramedSample, status: number | undefined): void {
    const s = this.section as Section;
    this.section = undefined;
    if (status === undefined) {
      s.truncated = true;
      cur.warnings.push(warning(s.firstLine, s.lines[0] ?? '', `${s.name}: no end marker; kept as is`, 'data-loss'));
      cur.sections.push(s);
      return;
    }
    s.exitStatus = status;
    if (status === 0) {
      cur.sections.push(s);
      return;
    }
    const u: UnreadableFile = { name: s.name, exitStatus: status, error: s.lines.join('\n').trim() };
    if (s.pid !== undefined) u.pid = s.pid;
    cur.unreadable.push(u);
  }
}
