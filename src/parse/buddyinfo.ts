// src/parse/buddyinfo.ts
/**
 * Parses /proc/buddyinfo (Documentation/filesystems/proc.rst, "buddyinfo"; mm/vmstat.c frag_show_print).
 *
 *   Node 0, zone      DMA      1      0      1      0      2      1      1      0      1      1      3
 *   Node 0, zone   Normal   1632    732    601    866    489    432    251    152    105     90    248 <- trailing space
 *
 * Column n counts free blocks of 2^n pages; the number of columns is MAX_ORDER (11 on most kernels,
 * others on some arm64 and ppc64 configurations), so it is taken from each line, not assumed.
 */
import type { BuddyZone, Buddyinfo } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';

export function parseBuddyinfo(text: string): Parsed<Buddyinfo> {
  const zones: BuddyZone[] = [];
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = (lines[li] ?? '').trim();
    if (line === '') continue;
    const zone = parseNodeZoneLine(line);
    if (typeof zone === 'string') {
      warnings.push(warning(li + 1, line, zone));
      continue;
    }
    const freeByOrder: number[] = [];
    let bad = '';
    for (const t of zone.rest) {
      if (!/^\d+$/.test(t)) { bad = t; break; }
      freeByOrder.push(Number(t));
    }
    if (bad !== '' || freeByOrder.length === 0) {
      warnings.push(warning(li + 1, line, bad !== '' ? `"${bad}" is not a count` : 'no free counts after the zone name'));
      continue;
    }
    zones.push({ node: zone.node, zone: zone.zone, freeByOrder });
  }
  if (zones.length === 0) warnings.push(warning(0, '', 'no "Node N, zone NAME counts..." line found', 'error'));
  return withFiniteValues({ value: { zones }, warnings });
}

/** "Node 0, zone   Normal  1 2 3" -> node, zone and the tokens after the zone name. Shared shape with pagetypeinfo. */
export function parseNodeZoneLine(line: string): { node: number; zone: string; rest: string[] } | string {
  if (!line.startsWith('Node')) return 'expected "Node N, zone NAME ..."';
  // A real line has a dozen counts (one per order); a garbled 10 MB one is not split whole.
  const tok = line.split(/[\s,]+/, 512).filter((t) => t !== '');
  if (tok[0] !== 'Node' || tok[2] !== 'zone' || tok[3] === undefined) return 'expected "Node N, zone NAME ..."';
  if (!/^\d+$/.test(tok[1] ?? '')) return `node "${tok[1] ?? ''}" is not a number`;
  return { node: Number(tok[1]), zone: tok[3], rest: tok.slice(4) };
}
