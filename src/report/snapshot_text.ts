/** The readable one-screen summary of a snapshot: composition of MemTotal, top slab caches, top processes. */
import type { Snapshot } from '../model/snapshot.js';
import { formatBytes } from './units.js';
import { renderTable } from './table.js';
import type { Colors } from './color.js';
import { terminalSafe } from './escape.js';
import { withAliases } from './slab_aliases.js';

/** Labels for the groups of analyze/composition.ts, in the order they are listed. */
const GROUP_LABELS: Record<string, string> = {
  free: 'free (MemFree)',
  fileCache: 'page cache (Cached-Shmem+Buffers+SwapCached)',
  shmem: 'shmem/tmpfs (Shmem)',
  anon: 'user anonymous (AnonPages)',
  slabReclaimable: 'slab reclaimable (SReclaimable)',
  slabUnreclaimable: 'slab unreclaimable (SUnreclaim)',
  vmalloc: 'vmalloc (without thread stacks)',
  pageTables: 'page tables',
  kernelStack: 'kernel stacks',
  percpu: 'per-cpu',
  hugetlb: 'hugetlb pages',
  ion: 'ION heaps (ION_heap + ION_page_pool)',
  unexplained: 'unexplained (kernel pages nobody counts)',
};
export const groupLabel = (g: string): string => GROUP_LABELS[g] ?? g;

/** @param comp MemTotal split into groups (analyze/composition.ts), in display order, plus `total`. */
export function renderSnapshot(s: Snapshot, comp: Record<string, number | undefined>, c: Colors, options: { top?: number; width?: number; slabAliases?: Record<string, string[]> } = {}): string {
  const top = options.top ?? 10;
  const out: string[] = [];
  const m = s.meminfo?.bytes;
  const when = new Date(s.takenAtMs).toISOString();
  const up = s.target.uptimeSec !== undefined ? `, up ${(s.target.uptimeSec / 3600).toFixed(1)} h` : '';
  out.push(c.bold(`memsleuth snapshot at ${when}${up}`));
  if (m) {
    const total = m['MemTotal'];
    out.push(`MemTotal ${formatBytes(total)}   MemAvailable ${formatBytes(m['MemAvailable'])}   MemFree ${formatBytes(m['MemFree'])}`);
    const rows = Object.entries(comp).filter(([g, v]) => g !== 'total' && v !== undefined).map(([g, v]) =>
      [formatBytes(v), total ? `${((100 * v!) / total).toFixed(1)}%` : '', groupLabel(g)]);
    out.push('', c.bold('Where MemTotal goes'));
    out.push(renderTable([{ header: 'bytes', align: 'right' }, { header: 'share', align: 'right' }, { header: 'group' }], rows, options.width));
  } else {
    out.push(c.yellow('no /proc/meminfo in this snapshot'));
  }
  if (s.slabinfo) {
    const caches = [...s.slabinfo.caches].sort((a, b) => b.slabBytes - a.slabBytes).slice(0, top);
    out.push('', c.bold(`Largest slab caches (of ${s.slabinfo.caches.length})`));
    out.push(renderTable(
      [{ header: 'slab bytes', align: 'right' }, { header: 'in use', align: 'right' }, { header: 'objects', align: 'right' }, { header: 'cache' }],
      caches.map((k) => [formatBytes(k.slabBytes), formatBytes(k.activeBytes), String(k.activeObjs), withAliases(k.name, options.slabAliases)]), options.width));
  }
  const procs = s.processes.filter((p) => p.memory).sort((a, b) => b.memory!.uss - a.memory!.uss).slice(0, top);
  if (procs.length > 0) {
    out.push('', c.bold(`Largest processes by USS (of ${s.processes.length})`));
    out.push(renderTable(
      [{ header: 'PID', align: 'right' }, { header: 'USS', align: 'right' }, { header: 'PSS', align: 'right' }, { header: 'RSS', align: 'right' }, { header: 'command' }],
      procs.map((p) => [String(p.pid), formatBytes(p.memory!.uss), formatBytes(p.memory!.pss), formatBytes(p.memory!.rss), terminalSafe(p.comm)]), options.width));
  }
  const serious = s.warnings.filter((w) => w.severity !== 'info');
  if (serious.length > 0) {
    out.push('', c.yellow(`${serious.length} warning${serious.length === 1 ? '' : 's'}:`));
    for (const w of serious.slice(0, 5)) out.push(`  ${w.source}${w.line ? `:${w.line}` : ''}: ${w.reason}`);
    if (serious.length > 5) out.push(`  ... and ${serious.length - 5} more (--json shows all)`);
  }
  return out.join('\n');
}
