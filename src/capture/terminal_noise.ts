/**
 * Strips what a terminal adds around a kernel file's text, line by line, keeping each line's number:
 *
 *   \x1b[1;32m/ # \x1b[0mcat /proc/meminfo\r      <- colour, prompt, echoed command, CR of a pty
 *   [2024-03-01 10:00:01.123] MemTotal:  44792 kB  <- terminal program's timestamp (kept as the line's time)
 *   <4>[  123.456789] usb 1-1: new device          <- printk interleaved in the middle of a block
 *   > > Slab:           14508 kB                   <- mail quoting
 *
 * Blank lines are dropped (notes often double-space every line); leading blanks are kept because zoneinfo
 * indents its fields. Most lines carry none of this, so each step is guarded by a cheap character test.
 */
import type { TerminalTime } from './section.js';
import { readClockLine } from './clock.js';
import { isSlabRow } from './shapes.js';

export interface CleanLine {
  text: string;
  /** 1-based line number in the input. */
  line: number;
  time?: TerminalTime;
}

const ESC = '\x1b';
const ANSI_RE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+][0-9A-Za-z]|[@-Z\\-_=>78c])/g;
// "Erase in line" after a CR is how a shell redraws a line: it must clear what the CR left behind.
const ERASE_RE = /\x1b\[[0-2]?K/g;
const ERASE_MARK = '\x0b';
const OTHER_CONTROLS_RE = /[\x00-\x07\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;
const HAS_OTHER_CONTROL_RE = /[\x00-\x07\x0c\x0e-\x1a\x1c-\x1f\x7f]/;

/** Removes CR (keeping what a bare CR overwrote last), ANSI escapes, backspaces and other control bytes. */
export function stripControls(raw: string): string {
  let s = raw;
  while (s.endsWith('\r')) s = s.slice(0, -1);
  if (s.includes(ESC)) s = s.replace(ERASE_RE, ERASE_MARK).replace(ANSI_RE, '');
  if (s.includes('\r') || s.includes('\b') || s.includes(ERASE_MARK)) s = overwrite(s);
  if (HAS_OTHER_CONTROL_RE.test(s)) s = s.replace(OTHER_CONTROLS_RE, '');
  return s;
}

/** Replays CR, backspace and erase-line the way a terminal would draw them. */
function overwrite(s: string): string {
  const cells: string[] = [];
  let cursor = 0;
  for (const ch of s) {
    if (ch === '\r') cursor = 0;
    else if (ch === '\b') cursor = Math.max(0, cursor - 1);
    else if (ch === ERASE_MARK) cells.length = cursor;
    else cells[cursor++] = ch;
  }
  return Array.from(cells, (c) => c ?? ' ').join('');
}

const QUOTE_RE = /^(?:>[ \t]?)+/;

// tio "[10:00:01.123] ", SecureCRT/minicom "[2024-03-01 10:00:01] ", ISO or bare "10:00:01.123 ",
// moreutils ts "Mar 01 10:00:01 " (default) and "1701400000.123456 " (ts %.s), grabserial -t "[    1.234567 0.000123] ".
// The printk "[  123.456789]" has no colon and one number, so it never matches these.
const TS_BRACKET_RE = /^\[(?:(\d{4})[-/](\d\d)[-/](\d\d)[ T])?(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\][ \t]?/;
const TS_BARE_RE = /^(?:(\d{4})-(\d\d)-(\d\d)[ T])?(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?[ \t]/;
const TS_MONTH_RE = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?[ \t]/;
const TS_EPOCH_RE = /^(1[0-9]{9})(?:\.(\d{1,9}))?[ \t]+(?=\S)/;
const TS_GRAB_RE = /^\[\s*(\d+\.\d+) +\d+\.\d+\][ \t]?/;
// dmesg -T: "[Mon Dec  7 01:24:03 2026] ".
const TS_DMESG_T_RE = /^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})\][ \t]?/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Splits a terminal timestamp off the front of a line. */
export function splitTerminalTime(s: string): [TerminalTime, string] | undefined {
  const c = s.charCodeAt(0);
  if (c === 91 /* [ */) {
    const m = TS_BRACKET_RE.exec(s);
    if (m) return [m[0] === last.text ? last.time : remember(m[0], timeOf(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7])), s.slice(m[0].length)];
    const g = TS_GRAB_RE.exec(s);
    if (g) return [{ text: g[0].trim(), secOfDay: Number(g[1]), relative: true }, s.slice(g[0].length)];
    const t = TS_DMESG_T_RE.exec(s);
    if (!t) return undefined;
    if (t[0] === last.text) return [last.time, s.slice(t[0].length)];
    const month = String(MONTHS.indexOf(t[1] ?? '') + 1).padStart(2, '0');
    return [remember(t[0], timeOf(t[0], t[6], month, (t[2] ?? '').padStart(2, '0'), t[3], t[4], t[5], undefined)), s.slice(t[0].length)];
  }
  if (c >= 48 && c <= 57) {
    // Both bare shapes have "NN:" or "NNNN-" at the front: most digit-led lines (vmstat-less dumps, uptime) do not.
    if (s.charCodeAt(2) !== 58 /* : */ && s.charCodeAt(4) !== 45 /* - */) {
      if (c !== 49 || s.length < 12 || s.charCodeAt(10) !== 46 && s.charCodeAt(10) !== 32 && s.charCodeAt(10) !== 9) return undefined;
      const e = TS_EPOCH_RE.exec(s);
      if (!e) return undefined;
      const ms = Math.round(Number(`${e[1]}.${e[2] ?? '0'}`) * 1000);
      const d = new Date(ms);
      const secOfDay = d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds() + d.getUTCMilliseconds() / 1000;
      return [{ text: e[0].trim(), secOfDay, epochMs: ms }, s.slice(e[0].length)];
    }
    const m = TS_BARE_RE.exec(s);
    if (!m) return undefined;
    if (m[0] === last.text) return [last.time, s.slice(m[0].length)];
    const t = remember(m[0], timeOf(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]));
    const off = m[8];
    if (off !== undefined && off !== 'Z' && t.epochMs !== undefined) {
      const sign = off.startsWith('-') ? -1 : 1;
      const digits = off.slice(1).replace(':', '');
      t.epochMs -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
    }
    return [t, s.slice(m[0].length)];
  }
  // "Mar 01 ": a space after three letters, which no meminfo key ("MemTotal:") has.
  if (c >= 65 && c <= 83 && s.charCodeAt(3) === 32) {
    const m = TS_MONTH_RE.exec(s);
    if (!m) return undefined;
    const month = String(MONTHS.indexOf(m[1] ?? '') + 1).padStart(2, '0');
    // ts prints no year: the current one keeps intervals right, which is all a capture needs.
    const year = String(new Date().getUTCFullYear());
    return [timeOf(m[0], year, month, (m[2] ?? '').padStart(2, '0'), m[3], m[4], m[5], m[6]), s.slice(m[0].length)];
  }
  return undefined;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** Month and weekday names as 24-bit words ("Jan" = J<<16 | a<<8 | n). */
const word3 = (w: string): number => (w.charCodeAt(0) << 16) | (w.charCodeAt(1) << 8) | w.charCodeAt(2);
const MONTH_WORDS: ReadonlySet<number> = new Set(MONTHS.map(word3));
const DAY_WORDS: ReadonlySet<number> = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map(word3));

/** n digits at b[i]: the index past them, else -1. */
function digits(b: Uint8Array, i: number, n: number, end: number): number {
  if (i + n > end) return -1;
  for (let k = 0; k < n; k++) if (!isDigit(b[i + k] as number)) return -1;
  return i + n;
}

/** "HH:MM:SS" at b[i]: the index past it, else -1. */
function clock6(b: Uint8Array, i: number, end: number): number {
  if (i + 8 > end || b[i + 2] !== 58 || b[i + 5] !== 58) return -1;
  return digits(b, i, 2, end) < 0 || digits(b, i + 3, 2, end) < 0 || digits(b, i + 6, 2, end) < 0 ? -1 : i + 8;
}

/** An optional fraction ("." or, where `comma`, "," then 1 to 9 digits) at b[i]: the index past it, i when there is none, -1 when it is malformed. */
function fraction(b: Uint8Array, i: number, end: number, comma: boolean): number {
  const c = b[i];
  if (!(c === 46 || (comma && c === 44))) return i;
  let k = i + 1;
  while (k < end && isDigit(b[k] as number)) k++;
  return k === i + 1 || k - i - 1 > 9 ? -1 : k;
}

/**
 * The byte-wise twin of splitTerminalTime() for a line whose text goes on with a letter, for readers that scan
 * bytes (the fast path of capture_fast.ts): where the line's text starts once the stamp splitTerminalTime() would
 * strip is gone, or -1 when it would strip none, or the text after it does not start with a letter. The time itself
 * is not read (a caller that needs it hands the line to the cleaner). Kept equal to the regexes by a test.
 */
export function stampEnd(b: Uint8Array, p: number, end: number): number {
  const c = b[p] as number;
  let i: number;
  if (c === 91 /* [ */) {
    i = bracketStamp(b, p + 1, end);
    if (i < 0) i = grabStamp(b, p + 1, end);
    if (i < 0) i = dmesgStamp(b, p + 1, end);
    if (i < 0) return -1;
    if (b[i] === 32 || b[i] === 9) i++;
  } else if (isDigit(c)) {
    if (b[p + 2] !== 58 && b[p + 4] !== 45) {
      // "1701400000.123456 " (ts %.s): [ \t]+ then text.
      if (c !== 49 || digits(b, p, 10, end) < 0) return -1;
      i = fraction(b, p + 10, end, false);
      if (i < 0 || !(b[i] === 32 || b[i] === 9)) return -1;
      while (i < end && (b[i] === 32 || b[i] === 9)) i++;
    } else {
      i = p;
      if (b[p + 4] === 45) {
        // "2024-03-01 " or "2024-03-01T" before the time (TS_BARE_RE's date: "-" only).
        if (digits(b, p, 4, end) < 0 || digits(b, p + 5, 2, end) < 0 || b[p + 7] !== 45 || digits(b, p + 8, 2, end) < 0) return -1;
        if (!(b[p + 10] === 32 || b[p + 10] === 84)) return -1;
        i = p + 11;
      }
      i = clock6(b, i, end);
      if (i >= 0) i = fraction(b, i, end, true);
      if (i < 0) return -1;
      // Z, or +HH:MM / +HHMM.
      if (b[i] === 90) i++;
      else if (b[i] === 43 || b[i] === 45) {
        let k = digits(b, i + 1, 2, end);
        if (k < 0) return -1;
        if (b[k] === 58) k++;
        k = digits(b, k, 2, end);
        if (k < 0) return -1;
        i = k;
      }
      if (!(b[i] === 32 || b[i] === 9)) return -1;
      i++;
    }
  } else if (c >= 65 && c <= 83 && b[p + 3] === 32) {
    // "Mar 01 10:00:01 " (ts): a month, 1-2 spaces, a 1-2 digit day, the time, an optional "." fraction, a blank.
    if (p + 4 > end || !MONTH_WORDS.has((c << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number))) return -1;
    i = p + 4;
    if (b[i] === 32) i++;
    const d = i;
    while (i < end && i - d < 2 && isDigit(b[i] as number)) i++;
    if (i === d || b[i] !== 32) return -1;
    i = clock6(b, i + 1, end);
    if (i >= 0) i = fraction(b, i, end, false);
    if (i < 0 || !(b[i] === 32 || b[i] === 9)) return -1;
    i++;
  } else return -1;
  return i < end && isLetter(b[i] as number) ? i : -1;
}

/** TS_BRACKET_RE past its "[": the index past its "]", else -1. */
function bracketStamp(b: Uint8Array, i: number, end: number): number {
  if (b[i + 2] !== 58) {
    if (digits(b, i, 4, end) < 0 || !(b[i + 4] === 45 || b[i + 4] === 47) || digits(b, i + 5, 2, end) < 0) return -1;
    if (!(b[i + 7] === 45 || b[i + 7] === 47) || digits(b, i + 8, 2, end) < 0 || !(b[i + 10] === 32 || b[i + 10] === 84)) return -1;
    i += 11;
  }
  i = clock6(b, i, end);
  if (i >= 0) i = fraction(b, i, end, true);
  return i >= 0 && b[i] === 93 /* ] */ ? i + 1 : -1;
}

/** TS_GRAB_RE past its "[" ("    1.234567 0.000021]"): the index past its "]", else -1. */
function grabStamp(b: Uint8Array, i: number, end: number): number {
  while (i < end && (b[i] === 32 || b[i] === 9)) i++;
  for (let part = 0; part < 2; part++) {
    if (part === 1) {
      if (b[i] !== 32) return -1;
      while (i < end && b[i] === 32) i++;
    }
    const d = i;
    while (i < end && isDigit(b[i] as number)) i++;
    if (i === d || b[i] !== 46) return -1;
    const f = ++i;
    while (i < end && isDigit(b[i] as number)) i++;
    if (i === f) return -1;
  }
  return b[i] === 93 ? i + 1 : -1;
}

/** TS_DMESG_T_RE past its "[" ("Mon Dec  7 01:24:03 2026]"): the index past its "]", else -1. */
function dmesgStamp(b: Uint8Array, i: number, end: number): number {
  if (i + 24 > end || !DAY_WORDS.has(((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number)) || b[i + 3] !== 32) return -1;
  if (!MONTH_WORDS.has(((b[i + 4] as number) << 16) | ((b[i + 5] as number) << 8) | (b[i + 6] as number)) || b[i + 7] !== 32) return -1;
  i += 8;
  while (i < end && b[i] === 32) i++;
  const d = i;
  while (i < end && i - d < 2 && isDigit(b[i] as number)) i++;
  if (i === d || b[i] !== 32) return -1;
  i = clock6(b, i + 1, end);
  if (i < 0 || b[i] !== 32) return -1;
  i = digits(b, i + 1, 4, end);
  return i >= 0 && b[i] === 93 ? i + 1 : -1;
}

/**
 * The last stamp read, kept: a logger stamps every line, often with the same text for a whole dump, and most of
 * the cost of a stamp is building its time. TerminalTime objects are never changed once returned.
 */
const last: { text: string; time: TerminalTime } = { text: '\0', time: { text: '', secOfDay: 0 } };
function remember(text: string, time: TerminalTime): TerminalTime {
  last.text = text;
  last.time = time;
  return time;
}

function timeOf(text: string, y?: string, mo?: string, d?: string, h?: string, mi?: string, se?: string, frac?: string): TerminalTime {
  const fraction = frac ? Number(`0.${frac}`) : 0;
  const secOfDay = Number(h) * 3600 + Number(mi) * 60 + Number(se) + fraction;
  const out: TerminalTime = { text: text.trim(), secOfDay };
  if (y && mo && d) out.epochMs = Date.UTC(Number(y), Number(mo) - 1, Number(d)) + Math.round(secOfDay * 1000);
  return out;
}

const PRINTK_RE = /^(?:<\d+>)?\[\s*\d+\.\d+\]|^<\d+>/;
const PRINTK_TIME_RE = /^(?:<\d+>)?\[\s*(\d+\.\d+)\]/;
// "cat: can't open '/proc/1/smaps': No such file or directory", "cat: /proc/slabinfo: Permission denied", "sh: 1: x: not found".
export const ERROR_RE = /^-?[a-z][\w.-]*: .*(?:Permission denied|No such file or directory|can't open|not found|Operation not permitted|Input\/output error|No such process)/;
// "/ # ", "/tmp $ ", "~ $ ", "root@board:~# ", "[root@x ~]# ". A bare "# " is not a prompt: slabinfo's header starts so.
const PROMPT_RE = /^(?:\[[^\]\s]+@[^\]]*\]|[\w.-]+@[\w.-]+(?::[^\s#$]*)?|[~/][^\s#$]*)[ \t]?[#$](?:[ \t]|$)/;
const COMMAND_WORDS: ReadonlySet<string> = new Set([
  'cat', 'echo', 'sleep', 'while', 'for', 'if', 'then', 'fi', 'busybox', 'dmesg', 'ls', 'cd', 'export', 'sh', 'bash', 'date', 'uptime', 'head', 'tail', 'grep',
]);
// Two commands of a pipeline trace at once and their bytes may interleave: "+ + ls /proc/12/fd" then "wc -l".
const XTRACE_RE = /^\+(?: ?\+){0,2} [a-z][\w.-]*(?: |$)/;
const BARE_COMMAND_RE = /^(?:do|done|free|date|uptime|while true; do|clear|sync|wc)(?:\s+-[\w-]+)*$/;

export const isPrintk = (s: string): boolean => s.charCodeAt(0) === 60 /* < */ || s.charCodeAt(0) === 91 /* [ */ ? PRINTK_RE.test(s) : false;

const PS2_RE = /^(?:> )+/;

/** Length of a shell prompt at the start of the line, 0 when there is none. */
function promptLength(s: string): number {
  const c = s.charCodeAt(0);
  if (!(c === 47 || c === 126 || c === 91 || s.includes('@'))) return 0;
  const m = PROMPT_RE.exec(s);
  return m ? m[0].length : 0;
}

/** A prompt line, an echoed shell command, or the "cat meminfo..." a loop echoes before a file. */
export function isShellLine(line: string): boolean {
  return shellLine(line, false);
}

function shellLine(line: string, noAt: boolean): boolean {
  const s = line.charCodeAt(0) === 32 ? line.trimStart() : line;
  const c = s.charCodeAt(0);
  if ((noAt ? promptLengthNoAt(s) : promptLength(s)) > 0) return true;
  if (c === 35 /* # */ && s.charCodeAt(1) === 33 /* ! */) return true;
  // `sh -x` traces each command it runs: "+ cat /proc/12/statm", "++ pidof app" (a nested substitution).
  if (c === 43 /* + */ && XTRACE_RE.test(s)) return true;
  // Command words are lower-case and at most 7 letters ("busybox"): no slice for the other lines.
  if (c >= 97 && c <= 122) {
    const space = s.indexOf(' ');
    if (space > 0 && space <= MAX_COMMAND_WORD && COMMAND_WORDS.has(s.slice(0, space))) return true;
  }
  return BARE_FIRST.has(c) && BARE_COMMAND_RE.test(s);
}

const MAX_COMMAND_WORD = Math.max(...[...COMMAND_WORDS].map((w) => w.length));
/** First letters of BARE_COMMAND_RE's words. */
const BARE_FIRST: ReadonlySet<number> = new Set([...'dfuwcs'].map((ch) => ch.charCodeAt(0)));

/**
 * What a caller already knows about a run of lines (one read chunk), so the cleaner can skip whole steps:
 * NO_CONTROLS when no line holds a control byte other than tab and a CR right before its LF (see noControls()),
 * NO_AT when no line holds "@" (no user@host prompt, no frame marker).
 */
export const CHUNK_NO_CONTROLS = 1;
export const CHUNK_NO_AT = 2;

/** Why the cleaner set a line aside (LineCleaner.aside). */
export type AsideReason = 'blank' | 'printk' | 'prompt' | 'command';

/**
 * A prefix a terminal logger or a wrapper script puts on every line ("[cam01] ", "cam01| ", "<board> "): learnt
 * from a line whose rest opens a kernel file ("[cam01] MemTotal: ..."), then stripped from every line that starts
 * with the same text. Brackets around something else than a time are common tags.
 */
const TAG_RE = /^(?:\[[^\]\s][^\]]{0,39}\]|<[^>\s][^>]{0,23}>|\([^)\s][^)]{0,23}\)|[\w.@-]{1,32}(?:\||:|>| \||-->))[ \t]*/;
/** Lines of meminfo/status/smaps_rollup ("Key:  123 kB"), vmstat ("nr_x 12"), zones, free rows: what a dump written to
 * /dev/kmsg is made of (a kernel message, "usb 1-1: reset ...", is not). */
const KMSG_LINE_RE = /^(?:[A-Za-z_][\w()]*:\s+-?\d+(?: kB)?$|[a-z_][a-z0-9_]* -?\d+$|Node \d+, zone|\s|(?:Mem|Swap|Total|Low|High):\s|[0-9a-f]+-[0-9a-f]+ )/;

/** A kernel file's opening words somewhere past the line's start (a cheap test before TAG_RE). */
const mayHideOpener = (s: string): boolean =>
  s.indexOf('MemTotal:') > 0 || s.indexOf('slabinfo - ') > 0 || s.indexOf('Name:\t') > 0 || s.indexOf('nr_free_pages ') > 0;
/** Lines that open a kernel file: a tag in front of one of these is a logger's prefix. */
const OPENER_RE = /^(?:MemTotal:|slabinfo - version:|Name:\t|nr_free_pages |Node \d+, zone|\s*total\s+used\s+free)/;

/**
 * The cleaner, with the terminal time of the last cleaned line kept beside it rather than in a new object per
 * line: a capture log of a few GB has tens of millions of lines.
 */
export class LineCleaner {
  /** Terminal time of the line clean() last returned, if it had one. */
  time: TerminalTime | undefined;
  /** Why clean() last returned undefined. */
  aside: AsideReason | undefined;
  /** The text of a prompt or command line clean() last set aside (it may name a pid: "cat /proc/12/status"). */
  asideText = '';
  /** The printk time ("[  123.456789]") of a printk line clean() last set aside, else NaN. */
  printkSec = NaN;
  /** The per-line prefix learnt from this log, if any. */
  tag: string | undefined;
  /** The log's dumps went through /dev/kmsg (see clean()). */
  private kmsg = false;

  /** Same as cleanLine(raw).text; `hints` (CHUNK_* bits) are promises about raw, never guesses. */
  clean(raw: string, hints = 0): string | undefined {
    this.time = undefined;
    this.aside = undefined;
    let s: string;
    if ((hints & CHUNK_NO_CONTROLS) !== 0) {
      // Only a CR before the LF can be there; stripControls would remove just that.
      s = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    } else s = stripControls(raw);
    if (this.tag !== undefined && s.startsWith(this.tag)) s = s.slice(this.tag.length);
    if (s.charCodeAt(0) === 62 /* > */) s = s.replace(QUOTE_RE, '');
    const split = splitTerminalTime(s);
    if (split) {
      [this.time, s] = split;
      if (this.tag !== undefined && s.startsWith(this.tag)) s = s.slice(this.tag.length);
    }
    s = s.trimEnd();
    // trimEnd and trimStart drop the same characters: after trimEnd a non-empty line has something else.
    if (s.length === 0) return this.setAside('blank', '');
    if (isPrintk(s)) {
      const m = PRINTK_TIME_RE.exec(s);
      this.printkSec = m ? Number(m[1]) : NaN;
      // A loop that writes its dumps to /dev/kmsg: every line of them comes back with a printk stamp. Once a
      // stamped line opens a kernel file, stamped lines shaped like a kernel file's are kept, stamp as their time.
      const rest = m ? s.slice(m[0].length).replace(/^ /, '') : '';
      if (!m || !(this.kmsg ? KMSG_LINE_RE.test(rest) || OPENER_RE.test(rest) || isSlabRow(rest) : OPENER_RE.test(rest))) return this.setAside('printk', '');
      this.kmsg = true;
      this.time = m[0] === last.text ? last.time : remember(m[0], { text: m[0], secOfDay: this.printkSec, relative: true, printk: true });
      s = rest;
    }
    const noAt = (hints & CHUNK_NO_AT) !== 0;
    const prompt = noAt ? promptLengthNoAt(s) : promptLength(s);
    if (prompt > 0) {
      // Typed-ahead input leaves the prompt (and PS2 "> "s) in front of the first line of output: keep that output.
      const rest = s.slice(prompt).replace(PS2_RE, '');
      if (rest.trim().length === 0 || shellLine(rest, noAt)) return this.setAside('prompt', rest);
      s = rest;
    }
    if (shellLine(s, noAt)) return this.setAside('command', s);
    const c = s.charCodeAt(0);
    if (this.tag === undefined && c !== 32 && c !== 9 && (c === 91 || c === 60 || mayHideOpener(s))) this.learnTag(s);
    if (this.tag !== undefined && s.startsWith(this.tag)) s = s.slice(this.tag.length);
    return s;
  }

  private setAside(reason: AsideReason, text: string): undefined {
    this.aside = reason;
    this.asideText = text;
    return undefined;
  }

  private learnTag(s: string): void {
    if (OPENER_RE.test(s)) return;
    const m = TAG_RE.exec(s);
    if (!m || m[0].length === s.length) return;
    const rest = s.slice(m[0].length);
    // A bracketed tag may first show in front of a clock ("[cam01] t: 12.5"), before any file.
    if (OPENER_RE.test(rest) || OPENER_RE.test(rest.trimStart()) || ((s.charCodeAt(0) === 91 || s.charCodeAt(0) === 60) && readClockLine(rest))) this.tag = m[0];
  }
}

/** promptLength() for a line known to hold no "@". */
function promptLengthNoAt(s: string): number {
  const c = s.charCodeAt(0);
  if (!(c === 47 || c === 126 || c === 91)) return 0;
  const m = PROMPT_RE.exec(s);
  return m ? m[0].length : 0;
}

const sharedCleaner = new LineCleaner();

/** Cleans one raw line; undefined when nothing of the target's output is left on it. */
export function cleanLine(raw: string, line: number): CleanLine | undefined {
  const s = sharedCleaner.clean(raw);
  if (s === undefined) return undefined;
  const time = sharedCleaner.time;
  return time ? { text: s, line, time } : { text: s, line };
}

/**
 * True when bytes[start, end) hold no control byte that stripControls() would act on: nothing below 0x20 but
 * tab, LF and a CR followed by LF, and no DEL. Tests four bytes at a time (most chunks of a log have none, and this
 * runs over every byte of it); a word with a control byte in it is looked at byte by byte.
 */
export function noControls(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && ((bytes.byteOffset + i) & 3) !== 0) if (isBadControl(bytes, i++, end)) return false;
  const n = (end - i) >>> 2;
  if (n > 0) {
    const w = new Int32Array(bytes.buffer, bytes.byteOffset + i, n);
    for (let k = 0; k < n; k++) {
      const x = w[k] as number;
      // Some byte < 0x20, or some byte == 0x7f (exact for "is there one", Hacker's Delight 6-1).
      const low = (x - 0x20202020) & ~x;
      const del = x ^ 0x7f7f7f7f;
      if (((((del - 0x01010101) & ~del) | low) & 0x80808080) !== 0) {
        const at = i + k * 4;
        for (let b = at; b < at + 4; b++) if (isBadControl(bytes, b, end)) return false;
      }
    }
    i += n * 4;
  }
  for (; i < end; i++) if (isBadControl(bytes, i, end)) return false;
  return true;
}

function isBadControl(bytes: Uint8Array, i: number, end: number): boolean {
  const b = bytes[i] as number;
  if (b >= 0x20) return b === 0x7f;
  if (b === 9 || b === 10) return false;
  if (b === 13) return i + 1 >= end || bytes[i + 1] !== 10;
  return true;
}

/** Cleans a whole text (tests, small inputs); capture_file.ts streams line by line instead. */
export function cleanTerminalText(text: string): CleanLine[] {
  const out: CleanLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const c = cleanLine(lines[i] ?? '', i + 1);
    if (c) out.push(c);
  }
  return out;
}
