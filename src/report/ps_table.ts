/** The procrank/smem table: one row per process, totals, and the system line under it. */
import type { Snapshot, ProcessSample } from '../model/snapshot.js';
import { formatBytes } from './units.js';
import { renderTable } from './table.js';

export type PsSortKey = 'uss' | 'pss' | 'rss' | 'vss' | 'swap';

export interface PsRow { pid: number; comm: string; vss?: number; rss: number; pss: number; uss: number; swap: number }

export function psRows(s: Snapshot, sort: PsSortKey): PsRow[] {
  const rows: PsRow[] = [];
  for (const p of s.processes) {
    if (!p.memory) continue;
    const vss = p.memory.vss ?? p.status?.bytes['VmSize'];
    rows.push({ pid: p.pid, comm: p.comm, ...(vss !== undefined ? { vss } : {}), rss: p.memory.rss, pss: p.memory.pss, uss: p.memory.uss, swap: p.memory.swap });
  }
  return rows.sort((a, b) => (b[sort] ?? 0) - (a[sort] ?? 0) || a.pid - b.pid);
}

export function psTotals(rows: PsRow[]): { pss: number; uss: number; swap: number; count: number } {
  return rows.reduce((t, r) => ({ pss: t.pss + r.pss, uss: t.uss + r.uss, swap: t.swap + r.swap, count: t.count + 1 }), { pss: 0, uss: 0, swap: 0, count: 0 });
}

export function renderPs(s: Snapshot, rows: PsRow[], limit: number, width?: number): string {
  const shown = rows.slice(0, limit);
  const t = psTotals(rows);
  const table = renderTable(
    [{ header: 'PID', align: 'right' }, { header: 'Vss', align: 'right' }, { header: 'Rss', align: 'right' }, { header: 'Pss', align: 'right' },
      { header: 'Uss', align: 'right' }, { header: 'Swap', align: 'right' }, { header: 'command' }],
    [
      ...shown.map((r) => [String(r.pid), formatBytes(r.vss), formatBytes(r.rss), formatBytes(r.pss), formatBytes(r.uss), formatBytes(r.swap), r.comm]),
      ['', '', '', '------', '------', '------', ''],
      ['', '', '', formatBytes(t.pss), formatBytes(t.uss), formatBytes(t.swap), `TOTAL (${t.count} processes${rows.length > shown.length ? `, ${shown.length} shown` : ''})`],
    ],
    width);
  return `${table}\n\n${systemLine(s)}`;
}

/** procrank's last line, with the kernel-side figures a leak hunt needs next to the per-process ones. */
export function systemLine(s: Snapshot): string {
  const m = s.meminfo?.bytes;
  if (!m) return 'RAM: /proc/meminfo unavailable';
  const f = (k: string): string => formatBytes(m[k]);
  return `RAM: ${f('MemTotal')} total, ${f('MemAvailable')} available, ${f('MemFree')} free, ${f('Buffers')} buffers, ${f('Cached')} cached, `
    + `${f('Shmem')} shmem, ${f('SReclaimable')} slab reclaimable, ${f('SUnreclaim')} slab unreclaimable, ${f('KernelStack')} kernel stacks, ${f('PageTables')} page tables`;
}

export type { ProcessSample };
