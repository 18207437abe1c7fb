// src/parse/vmstat.ts
/**
 * Parses /proc/vmstat (mm/vmstat.c vmstat_show; the counters are listed in vmstat_text[]).
 *
 *   nr_free_pages 3964385
 *   nr_alloc_batch 5246          <- gone since 4.9: keys come and go between kernels, so all are kept as printed
 *   pgpromote_candidate_nrl 0
 *
 * Values stay as printed: most are pages or event counts, and which is which is the reader's business.
 */
import type { Vmstat } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';

export function parseVmstat(text: string): Parsed<Vmstat> {
  const value: Vmstat = {};
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  let found = 0;
  for (let li = 0; li < lines.length; li++) {
    const line = (lines[li] ?? '').trim();
    if (line === '') continue;
    const sp = line.search(/\s/);
    const key = sp < 0 ? line : line.slice(0, sp);
    const raw = sp < 0 ? '' : line.slice(sp).trim();
    if (!/^-?\d+$/.test(raw)) {
      warnings.push(warning(li + 1, line, 'expected "name number"'));
      continue;
    }
    if (Object.hasOwn(value, key)) warnings.push(warning(li + 1, line, `"${key}" appears twice; the later value is kept`, 'info'));
    value[key] = Number(raw);
    found++;
  }
  if (found === 0) warnings.push(warning(0, '', 'no "name number" line found', 'error'));
  return withFiniteValues({ value, warnings });
}
