/**
 * What the capture layer hands on: sections of text, each one kernel file's output, grouped into samples.
 * Both the live framing (framing.ts) and the free-form sectionizer (sectionizer.ts) produce these, so one
 * parse path serves a log and a live target alike (DESIGN.md, "One text path").
 */
import type { ParseWarning } from '../model/parsed.js';
import type { ClockReading } from './clock.js';

export const SECTION_KINDS = [
  'meminfo', 'slabinfo', 'free', 'buddyinfo', 'zoneinfo', 'vmstat', 'vmallocinfo', 'pagetypeinfo',
  'status', 'smaps_rollup', 'statm', 'smaps', 'maps', 'fd', 'uptime', 'date', 'boot_id',
] as const;
export type SectionKind = (typeof SECTION_KINDS)[number];

const KIND_SET: ReadonlySet<string> = new Set(SECTION_KINDS);
export const isSectionKind = (name: string): name is SectionKind => KIND_SET.has(name);

/**
 * Per-process kinds: many of them live in one sample, one per pid. 'fd' is the directory /proc/PID/fd as a loop
 * prints it (an `ls -l` listing, or the count `ls | wc -l` gives).
 */
export const PER_PROCESS_KINDS: ReadonlySet<SectionKind> = new Set<SectionKind>(['status', 'smaps_rollup', 'statm', 'smaps', 'maps', 'fd']);

/** A time printed by the terminal program in front of a line ("[2024-03-01 10:00:01.123] "). */
export interface TerminalTime {
  text: string;
  /** Seconds since local midnight as printed. */
  secOfDay: number;
  /** Set when the prefix carried a date; the terminal's zone is unknown, so read it as UTC. */
  epochMs?: number;
  /** Seconds since the logger started (grabserial -t), in place of a time of day. */
  relative?: boolean;
  /** The relative time is a printk stamp (seconds since boot) of a line the loop wrote to /dev/kmsg. */
  printk?: boolean;
}

export interface Section {
  /** A known kernel file, or 'file' for a user-declared file framed under its own name. */
  kind: SectionKind | 'file';
  /** The kind, or the user's name for a 'file' section. */
  name: string;
  lines: string[];
  /** 1-based line number (in the capture) of the first content line, or of the opening marker when empty. */
  firstLine: number;
  /** For per-process sections (status, smaps_rollup, statm, smaps, maps, fd): from a frame marker ("sec status 1234") or a header naming it. */
  pid?: number;
  /** Where `pid` came from: a frame marker, or a line before the section naming it ("==> /proc/12/status <=="). */
  pidFrom?: 'marker' | 'header';
  /** Exit status of the `cat` that printed it (framed sections only); non-zero means the file was unreadable. */
  exitStatus?: number;
  /** Terminal timestamp on the first line, when the log had them. */
  time?: TerminalTime;
  /** The section ended before its natural end (end of input, missing end marker). */
  truncated?: boolean;
}

/** Sections of one look at the target, before parsing. */
export interface RawSample {
  sections: Section[];
  firstLine: number;
  warnings: ParseWarning[];
  /** Clocks printed on lines of their own in this sample (free-form logs), in order. */
  clocks?: ClockAt[];
}

/** A clock reading and the line it was on. */
export interface ClockAt { reading: ClockReading; line: number }

export const sectionText = (s: Section): string => (s.lines.length ? `${s.lines.join('\n')}\n` : '');
