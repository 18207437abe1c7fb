// src/parse/pagetypeinfo.ts
/**
 * Parses /proc/pagetypeinfo (mm/vmstat.c pagetypeinfo_show; readable by root only since 5.6).
 *
 *   Page block order: 9
 *   Free pages count per migrate type at order       0      1      2 ...     10
 *   Node    0, zone   Normal, type    Unmovable    552    308    358 ...      0
 *   Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate
 *   Node 0, zone   Normal           53          783           60            0            0
 *
 * Migrate types (Unmovable, Movable, Reclaimable, HighAtomic, CMA, Isolate) are read from the header, never
 * assumed. The "Number of mixed blocks" table (CONFIG_PAGE_OWNER) has no place in the model and is skipped.
 */
import type { PagetypeBlocks, PagetypeFree, Pagetypeinfo } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import { parseNodeZoneLine } from './buddyinfo.js';

export function parsePagetypeinfo(text: string): Parsed<Pagetypeinfo> {
  const value: Pagetypeinfo = { free: [], blocks: [] };
  const warnings: ParseWarning[] = [];
  let section: 'none' | 'free' | 'blocks' | 'mixed' = 'none';
  let blockTypes: string[] = [];
  let mixedRows = 0;
  let mixedLine = 0;
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = (lines[li] ?? '').trim();
    if (line === '') continue;
    const lineNo = li + 1;
    if (line.startsWith('Page block order:')) {
      const v = Number(line.slice(17).trim());
      if (Number.isInteger(v)) value.pageBlockOrder = v;
      continue;
    }
    if (line.startsWith('Pages per block:')) {
      const v = Number(line.slice(16).trim());
      if (Number.isInteger(v)) value.pagesPerBlock = v;
      continue;
    }
    if (line.startsWith('Free pages count per migrate type')) { section = 'free'; continue; }
    if (line.startsWith('Number of blocks type')) {
      section = 'blocks';
      blockTypes = line.slice('Number of blocks type'.length).trim().split(/\s+/).filter((t) => t !== '');
      continue;
    }
    if (line.startsWith('Number of mixed blocks')) { section = 'mixed'; mixedLine = lineNo; continue; }

    const nz = parseNodeZoneLine(line);
    if (typeof nz === 'string') {
      warnings.push(warning(lineNo, line, 'not a pagetypeinfo line'));
      continue;
    }
    if (section === 'free' || (section === 'none' && nz.rest[0] === 'type')) {
      if (nz.rest[0] !== 'type' || nz.rest[1] === undefined) {
        warnings.push(warning(lineNo, line, 'expected "Node N, zone NAME, type TYPE counts..."'));
        continue;
      }
      const counts = numbers(nz.rest.slice(2));
      if (!counts) { warnings.push(warning(lineNo, line, 'free counts are not all numbers')); continue; }
      const row: PagetypeFree = { node: nz.node, zone: nz.zone, type: nz.rest[1], freeByOrder: counts };
      value.free.push(row);
    } else if (section === 'blocks') {
      const counts = numbers(nz.rest);
      if (!counts || counts.length !== blockTypes.length) {
        warnings.push(warning(lineNo, line, `expected ${blockTypes.length} block counts (${blockTypes.join(', ')})`));
        continue;
      }
      const row: PagetypeBlocks = { node: nz.node, zone: nz.zone, counts: {} };
      blockTypes.forEach((t, x) => { row.counts[t] = counts[x] ?? 0; });
      value.blocks.push(row);
    } else if (section === 'mixed') {
      mixedRows++;
    } else {
      warnings.push(warning(lineNo, line, 'zone line outside any table'));
    }
  }
  if (mixedRows > 0) {
    warnings.push(warning(mixedLine, 'Number of mixed blocks ...', `${mixedRows} rows of the "mixed blocks" table (CONFIG_PAGE_OWNER) skipped: not in the model`, 'info'));
  }
  if (value.free.length === 0 && value.blocks.length === 0) warnings.push(warning(0, '', 'no pagetypeinfo table found', 'error'));
  return withFiniteValues({ value, warnings });
}

function numbers(tok: string[]): number[] | undefined {
  const out: number[] = [];
  for (const t of tok) {
    if (!/^\d+$/.test(t)) return undefined;
    out.push(Number(t));
  }
  return out;
}
