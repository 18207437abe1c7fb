/** The live terminal view of `memsleuth watch`: MemAvailable and its trend, and what grew most since the start. */
import type { Colors } from './color.js';
import { formatBytes, formatDelta, formatDuration, formatRate } from './units.js';
import { renderTable } from './table.js';

export interface Grower { name: string; now: number; delta: number }

export interface WatchState {
  target: string;
  dbPath: string;
  samples: number;
  elapsedSec: number;
  link: string;
  memAvailable?: number;
  memTotal?: number;
  memAvailableDelta?: number;
  /** Bytes per second, Theil-Sen over the samples so far. */
  trend?: number;
  slab: Grower[];
  vmalloc: Grower[];
  processes: Grower[];
  notes: string[];
}

export function renderWatch(s: WatchState, c: Colors, width?: number, top = 5): string {
  const out: string[] = [];
  out.push(c.bold(`memsleuth watch: ${s.target}`) + `  ${s.samples} samples over ${formatDuration(s.elapsedSec)}, link ${s.link}`);
  out.push(`recording into ${s.dbPath}; Ctrl-C stops`);
  const share = s.memAvailable !== undefined && s.memTotal ? ` (${((100 * s.memAvailable) / s.memTotal).toFixed(1)}% of ${formatBytes(s.memTotal)})` : '';
  const trend = s.trend !== undefined ? `, trend ${formatRate(s.trend)}` : ', trend after 5 samples';
  out.push('', `MemAvailable ${formatBytes(s.memAvailable)}${share}, ${formatDelta(s.memAvailableDelta)} since start${trend}`);
  const block = (title: string, rows: Grower[], noun: string): void => {
    out.push('', c.bold(title));
    const shown = rows.filter((r) => r.delta !== 0).slice(0, top);
    if (shown.length === 0) { out.push('  nothing changed yet'); return; }
    out.push(renderTable([{ header: 'now', align: 'right' }, { header: 'since start', align: 'right' }, { header: noun }],
      shown.map((r) => [formatBytes(r.now), formatDelta(r.delta), r.name]), width));
  };
  block('Slab caches, largest growth since start', s.slab, 'cache');
  block('vmalloc callers, largest growth since start', s.vmalloc, 'caller');
  block('Processes, largest USS growth since start', s.processes, 'process');
  for (const n of s.notes) out.push(c.yellow(n));
  return out.join('\n');
}
