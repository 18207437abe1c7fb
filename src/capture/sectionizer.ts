/**
 * Cuts a cleaned free-form capture log into sections and samples (DESIGN.md, "Capture protocol"), line by line
 * in constant memory. Each file is recognised by its own shape (shapes.ts); frame markers (markers.ts), as the
 * capture script and a saved live session print them, are obeyed exactly.
 *
 * When does a sample end? In order:
 *  1. a frame marker says so ("@@ms TAG begin" / "done");
 *  2. a kind comes round again (the second meminfo of a `while true; do cat ...; done` loop), per-process kinds
 *     (status, smaps_rollup) excepted: one sample holds many processes;
 *  3. two or more unrecognised lines stand between two sections: notes pasted between dumps ("复现到内存泄漏时...")
 *     part runs of output that were taken apart in time. One stray line (an application's debug print) does not.
 * `free` rows without a header of their own (a `free | grep Mem` loop, or a log trimmed to rows) reuse the last
 * header seen, and each `Mem:` row is one `free` section: so a log of N rows gives N samples holding only `free`.
 */
import { warning, type ParseWarning } from '../model/parsed.js';
import type { CleanLine } from './terminal_noise.js';
import { isSectionKind, PER_PROCESS_KINDS, type RawSample, type Section, type SectionKind, type TerminalTime } from './section.js';
import { parseMarker, splitGluedMarker, MARKER, type Marker } from './markers.js';
import { FREE_ROW_RE, SHAPES, SHAPE_OF, isSeparator, isStatusBlock, type Shape } from './shapes.js';

interface OpenSection { section: Section; shape?: Shape; explicit: boolean }
interface SampleState { raw: RawSample; kinds: Set<string>; explicit: boolean; unknown: number; firstUnknown: number }

const GAP_LINES = 2;

export class Sectionizer {
  private sample: SampleState | undefined;
  private open: OpenSection | undefined;
  private freeHeader: string | undefined;
  private gap = 0;
  private readonly lineCounts = new Map<string, number>();
  /** Number and terminal time of the line being pushed. */
  private line = 0;
  private time: TerminalTime | undefined;

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

  /** End of input: whatever is open is kept, with a warning when it looks cut short. */
  end(): void {
    const open = this.open;
    if (open) {
      const s = open.section;
      const before = this.lineCounts.get(s.name);
      if (open.explicit) this.truncated(s, 'the capture ended inside this section (no end marker)');
      else if (before !== undefined && s.lines.length < before && s.kind !== 'free') {
        this.truncated(s, `the capture ended inside this section (${s.lines.length} lines, the previous one had ${before})`);
      }
    }
    this.closeSection();
    this.emit();
  }

  private content(t: string): void {
    const open = this.open;
    if (open?.explicit) {
      open.section.lines.push(t);
      return;
    }
    if (isSeparator(t)) {
      this.closeSection();
      return;
    }
    if (open?.shape) {
      const { shape, section } = open;
      if (shape.opens(t) && shape.restarts(t, section.lines)) {
        this.closeSection();
        this.openSection(shape.kind, [t]);
        return;
      }
      const fit = shape.fits(t);
      if (fit === 'join' && section.lines.length > 0) {
        const last = section.lines.length - 1;
        section.lines[last] = `${section.lines[last] ?? ''}${t.trimStart().startsWith(':') ? ' ' : ' : '}${t.trim()}`;
        return;
      }
      if (fit === 'append') {
        if (shape.kind === 'free' && t.startsWith('Mem:') && section.lines.some((l) => l.startsWith('Mem:'))) {
          this.closeSection();
          this.openSection('free', this.freeHeader ? [this.freeHeader, t] : [t]);
          return;
        }
        section.lines.push(t);
        return;
      }
      this.closeSection();
    }
    for (const shape of SHAPES) {
      if (shape.opens(t)) {
        this.openSection(shape.kind, [t]);
        return;
      }
    }
    if (this.freeHeader !== undefined && FREE_ROW_RE.test(t) && t.startsWith('Mem:')) {
      this.openSection('free', [this.freeHeader, t]);
      return;
    }
    this.gap++;
    const st = this.sample;
    if (st) {
      if (st.unknown++ === 0) st.firstUnknown = this.line;
    }
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
        if (m.pid !== undefined) section.pid = m.pid;
        if (this.time) section.time = this.time;
        this.open = { section, explicit: true };
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
    if (st && !st.explicit && (this.gap >= GAP_LINES || (st.kinds.has(kind) && !PER_PROCESS_KINDS.has(kind)))) this.emit();
    if (!this.sample) this.startSample(this.line, false);
    this.gap = 0;
    if (kind === 'free' && lines[0] !== undefined && !FREE_ROW_RE.test(lines[0])) this.freeHeader = lines[0];
    const section: Section = { kind, name: kind, lines, firstLine: this.line };
    if (this.time) section.time = this.time;
    const shape = SHAPE_OF.get(kind);
    this.open = shape ? { section, shape, explicit: false } : { section, explicit: false };
  }

  private closeSection(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const s = open.section;
    if (!open.explicit && s.kind === 'status' && !isStatusBlock(s.lines)) {
      this.warn(warning(s.firstLine, s.lines[0] ?? '', 'a "Name:" block without Umask:/State: is not a /proc/PID/status; skipped', 'info'));
      return;
    }
    if (!this.sample) this.startSample(s.firstLine, open.explicit);
    const st = this.sample as SampleState;
    st.raw.sections.push(s);
    st.kinds.add(s.name);
    if (!s.truncated) this.lineCounts.set(s.name, s.lines.length);
  }

  private startSample(firstLine: number, explicit: boolean): void {
    this.sample = { raw: { sections: [], firstLine, warnings: [] }, kinds: new Set(), explicit, unknown: 0, firstUnknown: 0 };
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
