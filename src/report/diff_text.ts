/** `memsleuth diff` output: what changed between two samples, grouped and ranked, the way a leak hunt reads it. */
import type { Colors } from './color.js';
import { formatBytes, formatDelta, formatDuration, formatFactor } from './units.js';
import { renderTable } from './table.js';
import { groupLabel } from './snapshot_text.js';

/** The shape produced by analyze/snapshot_diff.ts (structural, so report/ needs no import from analyze/). */
export interface DiffView {
  elapsedSec?: number;
  memAvailable?: { before: number; after: number; delta: number };
  memFree?: { before: number; after: number; delta: number };
  groups: { group: string; change: { before: number; after: number; delta: number } }[];
  slab: { name: string; before: number; after: number; delta: number; factor: number }[];
  vmalloc: { name: string; before: number; after: number; delta: number; factor: number }[];
  processes: { comm: string; pid: number; uss: { before: number; after: number; delta: number }; pss: { delta: number } }[];
  appeared: string[];
  exited: string[];
}

export function renderDiff(d: DiffView, labels: { a: string; b: string }, c: Colors, top = 10, width?: number): string {
  const out: string[] = [];
  out.push(c.bold(`memsleuth diff: ${labels.a} -> ${labels.b}${d.elapsedSec !== undefined ? ` (${formatDuration(d.elapsedSec)} apart)` : ''}`));
  const line = (name: string, ch?: { before: number; after: number; delta: number }): void => {
    if (ch) out.push(`${name}: ${formatBytes(ch.before)} -> ${formatBytes(ch.after)} (${colorDelta(c, -ch.delta, formatDelta(ch.delta))})`);
  };
  line('MemAvailable', d.memAvailable);
  line('MemFree', d.memFree);

  if (d.groups.length > 0) {
    const rows = [...d.groups].sort((x, y) => y.change.delta - x.change.delta)
      .map((g) => [formatBytes(g.change.before), formatBytes(g.change.after), colorDelta(c, g.group === 'free' ? -g.change.delta : g.change.delta, formatDelta(g.change.delta)), groupLabel(g.group)]);
    out.push('', c.bold('Where memory went (meminfo, grouped)'));
    out.push(renderTable([{ header: 'before', align: 'right' }, { header: 'after', align: 'right' }, { header: 'change', align: 'right' }, { header: 'group' }], rows, width));
    const grown = d.groups.filter((g) => g.group !== 'free' && g.change.delta > 0).sort((x, y) => y.change.delta - x.change.delta)[0];
    if (grown) out.push(`Largest growth: ${groupLabel(grown.group)} ${formatDelta(grown.change.delta)}`);
  }
  const ranked = (title: string, rows: DiffView['slab'], noun: string): void => {
    const growers = rows.filter((r) => r.delta > 0).slice(0, top);
    if (rows.length === 0) return;
    out.push('', c.bold(`${title} (${rows.filter((r) => r.delta > 0).length} grew, ${rows.filter((r) => r.delta < 0).length} shrank)`));
    if (growers.length === 0) { out.push(`  no ${noun} grew`); return; }
    out.push(renderTable(
      [{ header: 'before', align: 'right' }, { header: 'after', align: 'right' }, { header: 'change', align: 'right' }, { header: 'factor', align: 'right' }, { header: noun }],
      growers.map((r) => [formatBytes(r.before), formatBytes(r.after), formatDelta(r.delta), formatFactor(r.factor), r.name]), width));
  };
  ranked('Slab caches by growth', d.slab, 'cache');
  ranked('vmalloc callers by growth', d.vmalloc, 'caller');
  if (d.processes.length > 0) {
    const growers = d.processes.filter((p) => p.uss.delta !== 0 || p.pss.delta !== 0).slice(0, top);
    out.push('', c.bold(`Processes by USS growth (${d.processes.length} in both samples)`));
    if (growers.length === 0) out.push('  no process changed');
    else out.push(renderTable(
      [{ header: 'PID', align: 'right' }, { header: 'USS before', align: 'right' }, { header: 'USS after', align: 'right' }, { header: 'USS change', align: 'right' }, { header: 'PSS change', align: 'right' }, { header: 'command' }],
      growers.map((p) => [String(p.pid), formatBytes(p.uss.before), formatBytes(p.uss.after), formatDelta(p.uss.delta), formatDelta(p.pss.delta), p.comm]), width));
  }
  if (d.appeared.length + d.exited.length > 0) out.push(`Processes started: ${d.appeared.length}, exited: ${d.exited.length}`);
  return out.join('\n');
}

function colorDelta(c: Colors, badness: number, text: string): string {
  return badness > 0 ? c.red(text) : badness < 0 ? c.green(text) : text;
}
