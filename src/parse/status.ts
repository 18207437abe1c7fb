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
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import type { ProcStatus } from '../model/proc_files.js';

const KB = /^(\d+)\s*kB$/;
const INT = /^\d+$/;

type IntField = 'pid' | 'ppid' | 'tgid' | 'threads' | 'fdSize';
const INT_FIELDS: Record<string, IntField> = { Pid: 'pid', PPid: 'ppid', Tgid: 'tgid', Threads: 'threads', FDSize: 'fdSize' };

export function parseStatus(text: string): Parsed<ProcStatus> {
  const warnings: ParseWarning[] = [];
  const value: ProcStatus = { bytes: {}, fields: {} };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      warnings.push(warning(i + 1, line, 'expected "Key: value"; skipped'));
      continue;
    }
    const key = line.slice(0, colon).trim();
    const raw = line.slice(colon + 1).trim();
    if (Object.hasOwn(value.fields, key)) warnings.push(warning(i + 1, line, `"${key}" repeated; the last one is kept`, 'info'));
    value.fields[key] = raw;
    if (raw.endsWith('kB')) {
      const m = KB.exec(raw);
      const v = m?.[1] !== undefined ? Number(m[1]) : NaN;
      if (Number.isSafeInteger(v)) value.bytes[key] = (v * 1024) as Bytes;
      else warnings.push(warning(i + 1, line, `"${key}" is not "N kB"; kept as text only`));
      continue;
    }
    // fs/proc/array.c escapes two characters of the name: a backslash as "\\" and a newline as "\n".
    if (key === 'Name') { value.name = raw.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\')); continue; }
    const field = Object.hasOwn(INT_FIELDS, key) ? INT_FIELDS[key] : undefined;
    if (field === undefined) continue;
    const v = INT.test(raw) ? Number(raw) : NaN;
    if (Number.isSafeInteger(v)) value[field] = v;
    else warnings.push(warning(i + 1, line, `"${key}" is not a whole number; kept as text only`));
  }
  if (value.name === undefined && value.pid === undefined && text.trim() !== '') {
    warnings.push(warning(0, '', 'no "Name:" or "Pid:" line: this does not look like /proc/PID/status', 'error'));
  }
  return withFiniteValues({ value, warnings });
}
