// src/parse/cgroup_memory.ts
/**
 * Parses cgroup v2 memory.stat and memory.current (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface
 * Files"). memory.stat is "key value" per line, sizes in bytes and events as counts; keys come and go with
 * kernels (zswap, sec_pagetables, ...), so all are kept by name:
 *
 *   anon 1531904
 *   file 344064
 *   pgfault 47468
 *
 * memory.current is one number of bytes. cgroup v1's memory.stat ("cache 9342976", "rss ...") and
 * memory.usage_in_bytes have the same shapes and parse the same way; v1's "no limit" 9223372036854771712
 * is above 2^53 and is kept approximately.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { CgroupMemoryStat } from '../model/proc_files.js';

export function parseCgroupMemoryStat(text: string): Parsed<CgroupMemoryStat> {
  const warnings: ParseWarning[] = [];
  const values: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const m = /^(\S+)\s+(\d+)$/.exec(line);
    const key = m?.[1];
    const v = m?.[2] !== undefined ? Number(m[2]) : NaN;
    if (key === undefined || !Number.isFinite(v)) {
      warnings.push(warning(i + 1, line, 'expected "key value"; skipped'));
      continue;
    }
    if (Object.hasOwn(values, key)) warnings.push(warning(i + 1, line, `"${key}" repeated; the last one is kept`, 'info'));
    values[key] = v;
  }
  if (Object.keys(values).length === 0 && text.trim() !== '') warnings.push(warning(0, '', 'no "key value" line', 'error'));
  return withFiniteValues({ value: { values }, warnings });
}

/** memory.current in bytes; undefined (with an error warning) when the text holds no number ("max", garbage). */
export function parseCgroupMemoryCurrent(text: string): Parsed<number | undefined> {
  const warnings: ParseWarning[] = [];
  let value: number | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (value !== undefined) {
      warnings.push(warning(i + 1, line, 'memory.current is one number; extra line ignored'));
      continue;
    }
    const v = /^\d+$/.test(line) ? Number(line) : NaN;
    if (Number.isFinite(v)) value = v;
    else warnings.push(warning(i + 1, line, /^\d+$/.test(line) ? 'a number out of range (309+ digits)' : 'not a whole number of bytes', 'error'));
  }
  if (value === undefined && warnings.length === 0) warnings.push(warning(0, '', 'empty memory.current', 'error'));
  return withFiniteValues({ value, warnings });
}
