/**
 * Cuts a cleaned free-form capture log into sections and samples (DESIGN.md, "Capture protocol"), line by line
 * in constant memory. Each file is recognised by its own shape (shapes.ts); frame markers (markers.ts), as the
 * capture script and a saved live session print them, are obeyed exactly.
 *
 * A sample is one pass of the user's loop. When does it end? In order:
 *  1. a frame marker says so ("@@ms TAG begin" / "done");
 *  2. a system kind comes round again (the second meminfo of a `while true; do cat ...; done` loop). Per-process
 *     kinds (status, smaps_rollup) never end a sample: one pass holds many processes. When the log's first pass
 *     printed something before its first system file (per-process files, a clock), what follows the last system
 *     file of a pass is the lead-in of the next pass and moves there;
 *  3. two or more lines of prose stand between two sections: notes pasted between dumps ("复现到内存泄漏时...")
 *     part runs of output that were taken apart in time. Banners, comments and lines naming a file or a pid
 *     ("=== pid 1234 ===", "# round 3", "==> /proc/12/status <==") are part of a loop and do not.
 * A line inside a dump that fits no shape (an application's print, an error message) is set aside without ending
 * the dump, up to MAX_INTERRUPT in a row. Clocks on lines of their own (clock.ts) and printk times ride with the
 * sample. A per-process file takes its pid from a header line naming it (a /proc/N path, "pid N"), each header
 * serving one file of each kind; toSnapshot() prefers the file's own Pid:.
 * `free` rows without a header of their own (a `free | grep Mem` loop, or a log trimmed to rows) reuse the last
 * header seen, and each `Mem:` row is one `free` section: so a log of N rows gives N samples holding only `free`.
 */
import { warning, type ParseWarning } from '../model/parsed.js';
import { ERROR_RE, type CleanLine } from './terminal_noise.js';
import {
  isSectionKind, PER_PROCESS_KINDS, type ClockAt, type RawSample, type Section, type SectionKind, type TerminalTime,
} from './section.js';
import { parseMarker, splitGluedMarker, MARKER, type Marker } from './markers.js';
import { FREE_ROW_RE, SHAPES, SHAPE_OF, isSeparator, isSmapsField, isStatusBlock, type Shape } from './shapes.js';
import { readClockLine, type ClockReading } from './clock.js';

interface OpenSection { section: Section; shape?: Shape; explicit: boolean; interrupted: number }
interface SampleState {
  raw: RawSample; kinds: Set<string>; explicit: boolean; unknown: number; firstUnknown: number;
  /** Index of the first system section (-1: none yet) and the end of the last one. */
  firstSystem: number; lastSystemEnd: number;
  /** For each of raw.clocks: how many sections (the open one included) came before it. */
  clockPos: number[];
}

const GAP_LINES = 2;
/** Unrecognised lines in a row that an open dump survives. */
const MAX_INTERRUPT = 3;

/** Why a line was set aside: the cleaner's reasons, and the sectionizer's own. */
export type SetAsideReason = 'blank' | 'printk' | 'prompt' | 'command' | 'error' | 'separator' | 'banner' | 'note' | 'clock' | 'header';

const PID_PATH_RE = /\/proc\/(\d+)(?:\/|\b)/;
const PID_WORD_RE = /\b(?:pid|PID)\s*[:=#]?\s*(\d+)\b/;
const BANNER_WORD_RE = /\b(?:meminfo|slabinfo|vmstat|buddyinfo|zoneinfo|pagetypeinfo|vmallocinfo|status|smaps|smaps_rollup|statm|free|pid|uptime|date|time|sample|loop|round|iteration|pass|dump|start|end|begin|done|proc)\b/i;

/** The per-process files a header names ("cat /proc/12/status /proc/12/statm", "# statm of pid 12"). */
const FILE_NAME_RE = /\/proc\/\d+\/(\w+)|\b(statm|smaps_rollup|smaps|maps|status|fd)\b/g;
/** statm: seven page counts on one line. */
const STATM_RE = /^\d+ \d+ \d+ \d+ \d+ \d+ \d+$/;
/** A count of descriptors (`ls /proc/N/fd | wc -l`; busybox wc pads it), and the head of an `ls -l` listing. */
const COUNT_RE = /^\s*\d+$/;
const LS_TOTAL_RE = /^total \d+$/;
const WC_RE = /^[+ ]*wc -l\s*$/;

/** What a header line says: the pid, the files it names, and whether a bare number after it counts descriptors. */
interface PidHint { pid: number; used: Set<string>; files: Set<string>; fdCount: boolean }

function hintOf(pid: number, t: string): PidHint {
  const files = new Set<string>();
  for (const m of t.matchAll(FILE_NAME_RE)) files.add(m[1] ?? m[2] ?? '');
  return { pid, used: new Set(), files, fdCount: files.has('fd') && /\bwc\s+-l\b|\bcount\b/.test(t) };
}

/** The pid a header line names ("==> /proc/12/status <==", "cat /proc/12/smaps_rollup", "--- pid 12 ---"). */
export function pidOfHeader(t: string): number | undefined {
  const m = PID_PATH_RE.exec(t) ?? PID_WORD_RE.exec(t);
  return m ? Number(m[1]) : undefined;
}

/** Kinds whose first line no other file has, so it ends whatever section is open. */
function strongOpener(t: string): SectionKind | undefined {
  const c = t.charCodeAt(0);
  if (c === 77 && t.startsWith('MemTotal:')) return 'meminfo';
  if (c === 115 && t.startsWith('slabinfo - version:')) return 'slabinfo';
  if (c === 78 && t.startsWith('Name:') && SHAPE_OF.get('status')?.opens(t)) return 'status';
  return undefined;
}

/** Whose length a section is compared with at the end of input: one process's smaps is not another's. */
const lengthKey = (s: Section): string => (s.kind !== 'file' && PER_PROCESS_KINDS.has(s.kind) ? `${s.name}:${s.pid ?? ''}` : s.name);

/** A loop's banner or comment (short, or led by punctuation), as opposed to a note of prose. */
function isBanner(t: string): boolean {
  const s = t.trimStart();
  const c = s.charCodeAt(0);
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 128;
  if (!alnum) return true;
  // Numbers only (a statm or a count nothing named): not prose.
  if (c <= 57 && !/[^\d\s.,:;/-]/.test(s)) return true;
  return s.split(/\s+/).length <= 5 && (BANNER_WORD_RE.test(s) || /\d/.test(s));
}

export class Sectionizer {
  private sample: SampleState | undefined;
  private open: OpenSection | undefined;
  private freeHeader: string | undefined;
  /** Lines of prose since the last section opened, and how many clocks the open sample had at the first of them. */
  private gap = 0;
  private clocksAtGap = 0;
  private readonly lineCounts = new Map<string, number>();
  /** Number and terminal time of the line being pushed. */
  private line = 0;
  private time: TerminalTime | undefined;
  /** What a pass has before its first system file (learnt from the log's first pass; undefined: not yet). */
  private leadIn: { procs: boolean; clock: boolean } | undefined;
  /** Clocks read while no sample was open: they belong to the next one. */
  private pendingClocks: ClockAt[] = [];
  /** The pid the last header named, and the per-process kinds it has served. */
  private pidHint: PidHint | undefined;
  /** The command just set aside was a `wc -l` (its `ls /proc/N/fd` may come next). */
  private wcBefore = false;
  /** Lines set aside in the whole log, by reason. */
  readonly setAside = new Map<SetAsideReason, number>();

  constructor(private readonly onSample: (sample: RawSample) => void) {}

  push(cl: CleanLine): void {
    this.pushText(cl.text, cl.line, cl.time);
  }

  /** push() without a CleanLine per line; `noAt` promises the text holds no "@" (so no frame marker). */
  pushText(t: string, line: number, time: TerminalTime | undefined, noAt = false): void {
    this.line = line;
    this.time = time;
    if (noAt) return this.content(t);
    if (t.startsWith(MARKER)) {
      const marker = parseMarker(t);
      if (marker) return this.marker(marker);
    } else if (t.includes(MARKER)) {
      const glued = splitGluedMarker(t);
      if (glued) {
        this.content(glued[0]);
        return this.marker(glued[1]);
      }
    }
    this.content(t);
  }

  /**
   * A line the cleaner set aside: counted; a command or prompt may name a pid ("cat /proc/12/status"). A printk
   * line's time ("[  123.456789] ...") is when the kernel logged something, not when the loop read its files: it
   * is not taken as the sample's clock.
   */
  aside(reason: SetAsideReason, text: string): void {
    this.count(reason);
    if (reason === 'blank' || reason === 'printk') return;
    if (this.open?.explicit) return;
    const pid = text.includes('/proc/') ? pidOfHeader(text) : undefined;
    if (pid !== undefined) {
      this.pidHint = hintOf(pid, text);
      if (this.wcBefore && this.pidHint.files.has('fd')) this.pidHint.fdCount = true;
      this.wcBefore = false;
    } else if (WC_RE.test(text)) {
      // `sh -x` traces the two sides of `ls /proc/N/fd | wc -l` on lines of their own, in either order.
      const hint = this.pidHint;
      if (hint?.files.has('fd') && !hint.used.has('fd')) hint.fdCount = true;
      else this.wcBefore = true;
    }
  }

  /** End of input: whatever is open is kept, with a warning when it looks cut short. */
  end(): void {
    const open = this.open;
    if (open) {
      const s = open.section;
      const before = this.lineCounts.get(lengthKey(s));
      if (open.explicit) this.truncated(s, 'the capture ended inside this section (no end marker)');
      else if (before !== undefined && s.lines.length < before && s.kind !== 'free') {
        this.truncated(s, `the capture ended inside this section (${s.lines.length} lines, the previous one had ${before})`);
      }
    }
    this.closeSection();
    this.emit();
  }

  private count(reason: SetAsideReason): void {
    this.setAside.set(reason, (this.setAside.get(reason) ?? 0) + 1);
  }

  private content(t: string): void {
    this.wcBefore = false;
    const open = this.open;
    if (open?.explicit) {
      open.section.lines.push(t);
      return;
    }
    if (isSeparator(t)) {
      this.count('separator');
      this.closeSection();
      return;
    }
    // "cat: /proc/123/smaps_rollup: Permission denied" between or inside dumps: set aside, the dump goes on.
    if (t.charCodeAt(0) >= 97 && ERROR_RE.test(t)) {
      this.count('error');
      return;
    }
    if (t.includes('/proc/') || t.includes('pid') || t.includes('PID')) {
      const pid = pidOfHeader(t);
      if (pid !== undefined && this.isHeader(t, open)) {
        this.count('header');
        this.closeSection();
        this.pidHint = hintOf(pid, t);
        return;
      }
    }
    if (open?.shape) {
      const { shape, section } = open;
      if (shape.opens(t) && shape.restarts(t, section.lines)) {
        this.closeSection();
        this.openSection(shape.kind, [t]);
        return;
      }
      // "MemTotal:" would fit a smaps_rollup or status block ("Key:  123 kB"): a file's first line wins.
      const strong = strongOpener(t);
      // Android kernels name anonymous mappings in smaps ("Name:           [anon:dalvik-main space]"), space-padded;
      // status's "Name:" has a tab.
      if (strong !== undefined && strong !== shape.kind && !(shape.kind === 'smaps' && t.charCodeAt(5) === 32)) {
        this.closeSection();
        this.openSection(strong, [t]);
        return;
      }
      const fit = shape.fits(t);
      if (fit === 'join' && section.lines.length > 0) {
        const last = section.lines.length - 1;
        section.lines[last] = `${section.lines[last] ?? ''}${t.trimStart().startsWith(':') ? ' ' : ' : '}${t.trim()}`;
        this.continued(open);
        return;
      }
      if (fit === 'append') {
        if (shape.kind === 'free' && t.startsWith('Mem:') && section.lines.some((l) => l.startsWith('Mem:'))) {
          this.closeSection();
          this.openSection('free', this.freeHeader ? [this.freeHeader, t] : [t]);
          return;
        }
        section.lines.push(t);
        this.continued(open);
        return;
      }
    }
    for (const shape of SHAPES) {
      if (shape.opens(t)) {
        this.closeSection();
        this.openSection(shape.kind, [t]);
        return;
      }
    }
    if (this.freeHeader !== undefined && t.startsWith('Mem:') && FREE_ROW_RE.test(t)) {
      this.closeSection();
      this.openSection('free', [this.freeHeader, t]);
      return;
    }
    // statm and a descriptor count are numbers any line could hold: read only where a header or command named them.
    const hint = this.pidHint;
    if (hint !== undefined && hint.files.size > 0 && !open?.explicit && this.namedFile(hint, t)) return;
    // Not a line of any kernel file: a clock, a banner, a note; an open dump survives a few of them.
    const clock = readClockLine(t);
    if (clock) {
      this.count('clock');
      this.clock(clock, this.line);
    } else {
      const banner = isBanner(t);
      this.count(banner ? 'banner' : 'note');
      if (!banner && this.gap++ === 0) this.clocksAtGap = this.sample?.raw.clocks?.length ?? 0;
      const st = this.sample;
      if (st && st.unknown++ === 0) st.firstUnknown = this.line;
    }
    if (open && !open.explicit && open.interrupted < MAX_INTERRUPT) open.interrupted++;
    else this.closeSection();
  }

  /** Opens the statm or fd section `t` begins when the last header named that file; false when it does not. */
  private namedFile(hint: PidHint, t: string): boolean {
    let kind: SectionKind;
    if (hint.files.has('statm') && !hint.used.has('statm') && STATM_RE.test(t)) kind = 'statm';
    else if (hint.files.has('fd') && !hint.used.has('fd') && (hint.fdCount ? COUNT_RE.test(t) : LS_TOTAL_RE.test(t))) kind = 'fd';
    else return false;
    this.closeSection();
    this.openSection(kind, [t.trim()]);
    // One line: statm, a count. An `ls -l` listing goes on under its "total N".
    if (kind === 'statm' || hint.fdCount) this.closeSection();
    return true;
  }

  /**
   * A line naming a pid is a header unless it is a line of the open file ("pid  1234 1234 128 ..." is the slab cache
   * named pid); a status block's fields are capitalised, so "pid: 12" after one is a header.
   */
  private isHeader(t: string, open: OpenSection | undefined): boolean {
    if (!open?.shape || open.shape.fits(t) === false) return true;
    if (PID_PATH_RE.test(t) || !/^\w/.test(t)) return true;
    return open.shape.kind === 'status' && /^(?:pid|PID)\b/.test(t);
  }

  /** A line fitted the open dump: the lines set aside since were inside it, not notes between dumps. */
  private continued(open: OpenSection): void {
    if (open.interrupted > 0) {
      open.interrupted = 0;
      this.gap = 0;
    }
  }

  private clock(reading: ClockReading, line: number): void {
    const st = this.sample;
    if (!st) {
      this.pendingClocks.push({ reading, line });
      return;
    }
    (st.raw.clocks ??= []).push({ reading, line });
    st.clockPos.push(st.raw.sections.length + (this.open ? 1 : 0));
  }

  private marker(m: Marker): void {
    switch (m.op) {
      case 'begin':
        this.closeSection();
        this.emit();
        this.startSample(this.line, true);
        return;
      case 'sec': {
        if (this.open?.explicit) this.truncated(this.open.section, 'a new section began before this one\'s end marker');
        this.closeSection();
        if (!this.sample?.explicit) {
          this.emit();
          this.startSample(this.line, true);
        }
        const kind = isSectionKind(m.name) ? m.name : 'file';
        const section: Section = { kind, name: m.name, lines: [], firstLine: this.line + 1 };
        if (m.pid !== undefined) {
          section.pid = m.pid;
          section.pidFrom = 'marker';
        }
        if (this.time) section.time = this.time;
        this.open = { section, explicit: true, interrupted: 0 };
        return;
      }
      case 'end':
        if (this.open?.explicit) {
          this.open.section.exitStatus = m.status;
          this.closeSection();
        }
        return;
      case 'done':
        this.closeSection();
        this.emit();
        return;
    }
  }

  private openSection(kind: SectionKind, lines: string[]): void {
    const st = this.sample;
    const perProcess = PER_PROCESS_KINDS.has(kind);
    if (st && !st.explicit) {
      if (this.gap >= GAP_LINES) this.afterNotes(st);
      else if (!perProcess && st.kinds.has(kind)) this.nextPass();
    }
    if (!this.sample) this.startSample(this.line, false);
    this.gap = 0;
    if (kind === 'free' && lines[0] !== undefined && !FREE_ROW_RE.test(lines[0])) this.freeHeader = lines[0];
    const section: Section = { kind, name: kind, lines, firstLine: this.line };
    if (this.time) section.time = this.time;
    const hint = this.pidHint;
    if (perProcess) {
      if (hint && !hint.used.has(kind)) {
        hint.used.add(kind);
        section.pid = hint.pid;
        section.pidFrom = 'header';
      }
    } else this.pidHint = undefined;
    const shape = SHAPE_OF.get(kind);
    this.open = shape ? { section, shape, explicit: false, interrupted: 0 } : { section, explicit: false, interrupted: 0 };
  }

  /** Notes ended the open sample: clocks read after they began belong to the next one. */
  private afterNotes(st: SampleState): void {
    const clocks = st.raw.clocks?.splice(this.clocksAtGap) ?? [];
    st.clockPos.splice(this.clocksAtGap);
    this.emit();
    if (clocks.length === 0) return;
    this.pendingClocks.push(...clocks);
  }

  /**
   * A system kind came round again: the open sample ends, less the next pass's lead-in. What leads a pass is learnt
   * from the log's first one: per-process files before its first system file (then every per-process file after
   * the last system file of a pass, and clocks among them, lead the next), or only a clock (then clocks after the
   * pass's last file lead the next).
   */
  private nextPass(): void {
    const st = this.sample as SampleState;
    this.leadIn ??= { procs: st.firstSystem > 0, clock: st.clockPos.some((p) => p <= st.firstSystem) };
    const { procs, clock } = this.leadIn;
    const from = st.lastSystemEnd;
    const moved = procs ? st.raw.sections.splice(from) : [];
    const clocks: ClockAt[] = [];
    if (st.raw.clocks && (clock || procs)) {
      const after = procs ? from : st.raw.sections.length;
      const keep: ClockAt[] = [];
      const keepPos: number[] = [];
      st.raw.clocks.forEach((c, i) => {
        const p = st.clockPos[i] as number;
        if (p >= after && (clock || procs)) clocks.push(c);
        else {
          keep.push(c);
          keepPos.push(p);
        }
      });
      st.raw.clocks = keep;
      st.clockPos = keepPos;
    }
    this.emit();
    if (moved.length === 0 && clocks.length === 0) return;
    this.startSample(Math.min(moved[0]?.firstLine ?? Infinity, clocks[0]?.line ?? Infinity), false);
    const next = this.sample as SampleState;
    next.raw.sections.push(...moved);
    if (clocks.length) {
      next.raw.clocks = clocks;
      next.clockPos = clocks.map(() => 0);
    }
  }

  private closeSection(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const s = open.section;
    // Mapping lines without their fields are /proc/PID/maps.
    if (!open.explicit && s.kind === 'smaps' && !s.lines.some(isSmapsField)) {
      s.kind = 'maps';
      s.name = 'maps';
    }
    if (!open.explicit && s.kind === 'status' && !isStatusBlock(s.lines)) {
      this.warn(warning(s.firstLine, s.lines[0] ?? '', 'a "Name:" block without Umask:/State: is not a /proc/PID/status; skipped', 'info'));
      return;
    }
    if (!this.sample) this.startSample(s.firstLine, open.explicit);
    const st = this.sample as SampleState;
    st.raw.sections.push(s);
    if (!(s.kind !== 'file' && PER_PROCESS_KINDS.has(s.kind))) {
      st.kinds.add(s.name);
      if (st.firstSystem < 0) st.firstSystem = st.raw.sections.length - 1;
      st.lastSystemEnd = st.raw.sections.length;
    }
    if (!s.truncated) this.lineCounts.set(lengthKey(s), s.lines.length);
  }

  private startSample(firstLine: number, explicit: boolean): void {
    this.sample = {
      raw: { sections: [], firstLine, warnings: [] }, kinds: new Set(), explicit, unknown: 0, firstUnknown: 0,
      firstSystem: -1, lastSystemEnd: 0, clockPos: [],
    };
    if (this.pendingClocks.length > 0) {
      const st = this.sample;
      st.raw.clocks = this.pendingClocks;
      st.clockPos = this.pendingClocks.map(() => 0);
      st.raw.firstLine = Math.min(firstLine, this.pendingClocks[0]?.line ?? firstLine);
      this.pendingClocks = [];
    }
  }

  private emit(): void {
    const st = this.sample;
    this.sample = undefined;
    if (!st || st.raw.sections.length === 0) return;
    if (st.unknown > 0) {
      st.raw.warnings.push(warning(st.firstUnknown, '', `${st.unknown} unrecognised line(s) skipped, first at line ${st.firstUnknown}`, 'info'));
    }
    this.onSample(st.raw);
  }

  private truncated(s: Section, reason: string): void {
    s.truncated = true;
    this.warn(warning(s.firstLine, s.lines[0] ?? '', `${s.name}: ${reason}; kept as is`, 'data-loss'));
  }

  private warn(w: ParseWarning): void {
    if (!this.sample) this.startSample(w.line, false);
    (this.sample as SampleState).raw.warnings.push(w);
  }
}

/** Whole-text convenience (tests, small logs): cleaned lines in, samples out. */
export function sectionize(lines: Iterable<CleanLine>): RawSample[] {
  const out: RawSample[] = [];
  const s = new Sectionizer((r) => out.push(r));
  for (const l of lines) s.push(l);
  s.end();
  return out;
}
