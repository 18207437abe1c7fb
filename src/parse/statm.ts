// src/parse/statm.ts
/**
 * Parses /proc/<pid>/statm (Documentation/filesystems/proc.rst, table 1-3; fs/proc/array.c proc_pid_statm):
 * one line of seven page counts "size resident shared text lib data dt"; lib and dt are always 0 since 2.6.
 *
 *   9266 8501 1662 1 0 7144 0
 *
 * Pages become bytes with the target's page size (4096 unless told: arm64 and ppc64 kernels may use 16K/64K).
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { DEFAULT_PAGE_SIZE } from '../model/units.js';
import type { Statm } from '../model/proc_files.js';

export type { Statm };

export interface StatmOptions { pageSize?: number }

const FIELDS = ['size', 'resident', 'shared', 'text', 'lib', 'data', 'dt'] as const;

export function parseStatm(text: string, options: StatmOptions = {}): Parsed<Statm> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const warnings: ParseWarning[] = [];
  const value: Statm = {};
  const lines = text.split('\n');
  let seen = false;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (seen) {
      warnings.push(warning(i + 1, line, 'statm is one line; extra line ignored'));
      continue;
    }
    seen = true;
    const tokens = line.split(/\s+/, 64); // seven fields; a garbled 10 MB line is not split whole
    if (tokens.length !== FIELDS.length) {
      warnings.push(warning(i + 1, line, `expected ${FIELDS.length} numbers, got ${tokens.length}${tokens.length === 64 ? ' or more' : ''}`, tokens.length < 6 ? 'data-loss' : 'info'));
    }
    for (let f = 0; f < FIELDS.length && f < tokens.length; f++) {
      const name = FIELDS[f];
      const tok = tokens[f] ?? '';
      const n = /^\d+$/.test(tok) ? Number(tok) : NaN;
      if (!Number.isSafeInteger(n) || !Number.isSafeInteger(n * pageSize)) {
        warnings.push(warning(i + 1, line, `field ${f + 1} (${name}) "${tok.slice(0, 30)}" is not a page count`));
        continue;
      }
      if (name === 'lib' || name === 'dt') continue;
      if (name !== undefined) value[name] = (n * pageSize) as Bytes;
    }
  }
  if (!seen && text.length > 0) warnings.push(warning(0, '', 'empty statm', 'error'));
  return withFiniteValues({ value, warnings });
}
