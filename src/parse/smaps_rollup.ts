// src/parse/smaps_rollup.ts
/**
 * Parses /proc/<pid>/smaps_rollup (Documentation/filesystems/proc.rst, "/proc/<pid>/smaps_rollup"; Linux 4.14+):
 * the smaps fields summed over all mappings, under one pseudo-header. The field set differs by kernel
 * (Pss_Anon/Pss_File/Pss_Shmem since 5.5, Pss_Dirty since 6.0, KSM since 6.x):
 *
 *   56167d067000-7fffc0503000 ---p 00000000 00:00 0                          [rollup]
 *   Rss:               64744 kB
 *   Pss_Dirty:         58072 kB
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning } from '../model/parsed.js';
import { kilobytes } from './kilobytes.js';
import type { Bytes } from '../model/units.js';
import type { ProcessMemory, SmapsRollup } from '../model/proc_files.js';
import { looksLikeHeader, parseMapHeader } from './smaps.js';

export function parseSmapsRollup(text: string): Parsed<SmapsRollup> {
  const warnings: ParseWarning[] = [];
  const bytes: Record<string, Bytes> = {};
  let headers = 0;
  let lineNo = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    lineNo++;
    const line = text.slice(pos, end).trim();
    pos = end + 1;
    if (line === '') continue;
    if (looksLikeHeader(line)) {
      headers++;
      if (headers > 1) {
        // Whole smaps handed to the rollup parser: summing here would hide the mistake.
        warnings.push(warning(lineNo, line, 'a second mapping header: this looks like smaps, not smaps_rollup; the rest is skipped', 'error'));
        break;
      }
      const h = parseMapHeader(line);
      if (!h || h.name !== '[rollup]') warnings.push(warning(lineNo, line, 'header does not name "[rollup]"', 'info'));
      continue;
    }
    const colon = line.indexOf(':');
    const v = colon > 0 ? kilobytes(line.slice(colon + 1).trim()) : NaN;
    if (Number.isNaN(v)) {
      warnings.push(warning(lineNo, line, 'expected "Key: N kB"; skipped'));
      continue;
    }
    if (!Number.isSafeInteger(v)) {
      warnings.push(warning(lineNo, line, 'number too large to hold exactly; skipped'));
      continue;
    }
    bytes[line.slice(0, colon)] = (v * 1024) as Bytes;
  }
  for (const key of ['Rss', 'Pss', 'Private_Clean', 'Private_Dirty', 'Swap'] as const) {
    if (bytes[key] === undefined && n > 0) warnings.push(warning(0, '', `no "${key}:" line; counted as 0 in the process summary`));
  }
  // Every value passed Number.isSafeInteger and the summary only adds them: nothing non-finite can leave.
  return { value: { bytes, memory: rollupMemory(bytes) }, warnings };
}

function rollupMemory(b: Record<string, Bytes>): ProcessMemory {
  const memory: ProcessMemory = {
    rss: (b['Rss'] ?? 0) as Bytes,
    pss: (b['Pss'] ?? 0) as Bytes,
    uss: ((b['Private_Clean'] ?? 0) + (b['Private_Dirty'] ?? 0)) as Bytes,
    swap: (b['Swap'] ?? 0) as Bytes,
  };
  const swapPss = b['SwapPss'];
  if (swapPss !== undefined) memory.swapPss = swapPss;
  const anon = b['Anonymous'];
  if (anon !== undefined) memory.anon = anon;
  return memory;
}
