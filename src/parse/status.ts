// src/parse/status.ts
/**
 * Parses /proc/<pid>/status (Documentation/filesystems/proc.rst, table 1-2; fs/proc/array.c).
 * "Key:<TAB>value" lines; sizes as "N kB". Kernel threads print no Vm* or Rss* lines at all:
 *
 *   Name:	python3
 *   VmRSS:	   64744 kB
 *   Groups:	            <- empty value, trailing space
 *
 * Hand-copied files use spaces instead of the tab and may begin with an empty line; both are accepted.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { kilobytes } from './kilobytes.js';
import type { ProcStatus } from '../model/proc_files.js';

const INT = /^\d+$/;

type IntField = 'pid' | 'ppid' | 'tgid' | 'threads' | 'fdSize';
const INT_FIELDS: Record<string, IntField> = { Pid: 'pid', PPid: 'ppid', Tgid: 'tgid', Threads: 'threads', FDSize: 'fdSize' };

export interface StatusOptions {
  /** Keep every line's raw text in `fields` (`memsleuth parse`); samplers leave it off and skip the lines they do not use. */
  rawFields?: boolean;
}

/** First letters of the keys a sampler uses: Vm*, Rss*, HugetlbPages, Name, Pid, PPid, Tgid, Threads, FDSize. */
const USED_FIRST = new Set([...'VRHNPTF'].map((c) => c.charCodeAt(0)));

/**
 * One pass over the text, no regular expression per line: `ps` parses ~55 lines for each of hundreds of
 * processes a snapshot, and the generic line handling (split, regex, trims) was 2x the cost of reading the files.
 * Every number is checked with Number.isSafeInteger, so no non-finite value can leave (no withFiniteValues walk).
 */
export function parseStatus(text: string, options: StatusOptions = { rawFields: true }): Parsed<ProcStatus> {
  const warnings: ParseWarning[] = [];
  const keepRaw = options.rawFields === true;
  const value: ProcStatus = keepRaw ? { bytes: {}, fields: {} } : { bytes: {} };
  let lineNo = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    // A line that starts with a key no sampler uses is skipped unread (one indented by hand is read in full).
    if (!keepRaw && !USED_FIRST.has(text.charCodeAt(start)) && text.charCodeAt(start) > 32) { start = end + 1; continue; }
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const line = text.slice(start, stop);
    start = end + 1;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      if (line.trim() !== '') warnings.push(warning(lineNo, line, 'expected "Key: value"; skipped'));
      continue;
    }
    const key = line.charCodeAt(0) > 32 && line.charCodeAt(colon - 1) > 32 ? line.slice(0, colon) : line.slice(0, colon).trim();
    const raw = line.slice(colon + 1).trim();
    if (key === '') { warnings.push(warning(lineNo, line, 'expected "Key: value"; skipped')); continue; }
    if (value.fields !== undefined) {
      if (Object.hasOwn(value.fields, key)) warnings.push(warning(lineNo, line, `"${key}" repeated; the last one is kept`, 'info'));
      value.fields[key] = raw;
    }
    if (raw.endsWith('kB')) {
      const v = kilobytes(raw);
      if (Number.isSafeInteger(v)) value.bytes[key] = (v * 1024) as Bytes;
      else warnings.push(warning(lineNo, line, `"${key}" is not "N kB"; kept as text only`));
      continue;
    }
    // fs/proc/array.c escapes two characters of the name: a backslash as "\\" and a newline as "\n".
    if (key === 'Name') { value.name = raw.includes('\\') ? raw.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\')) : raw; continue; }
    const field = Object.hasOwn(INT_FIELDS, key) ? INT_FIELDS[key] : undefined;
    if (field === undefined) continue;
    const v = INT.test(raw) ? Number(raw) : NaN;
    if (Number.isSafeInteger(v)) value[field] = v;
    else warnings.push(warning(lineNo, line, `"${key}" is not a whole number; kept as text only`));
  }
  if (value.name === undefined && value.pid === undefined && text.trim() !== '') {
    warnings.push(warning(0, '', 'no "Name:" or "Pid:" line: this does not look like /proc/PID/status', 'error'));
  }
  return { value, warnings };
}
