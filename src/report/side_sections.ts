/**
 * Two sections every output shows the same way (terminal, HTML report, live dashboard): memsleuth's own footprint
 * (its processes and the kernel memory its tools hold, set apart from the culprits) and what a reclaim probe
 * showed (what fell when caches were dropped, and what stayed). Plain text lines here; each output escapes them
 * its own way (terminalSafe, htmlEscape, DOM text).
 */
import type { Analysis } from '../model/analysis.js';
import { displayName } from './display_name.js';
import { formatBytes, formatDelta, formatDuration } from './units.js';

export interface SideSection { id: 'own' | 'reclaim'; title: string; note: string; lines: string[] }

export function ownFootprintSection(a: Analysis): SideSection | null {
  if (!a.own) return null;
  const lines: string[] = [];
  for (const p of a.own.processes) {
    const v = a.own.verdicts.find((r) => r.pid === p.pid);
    lines.push(`${p.comm} (pid ${p.pid}): ${p.role}${v ? `, ${v.metric} ${formatBytes(v.firstBytes)} -> ${formatBytes(v.lastBytes)}` : ''}`);
  }
  for (const k of a.own.kernel) lines.push(`${displayName(k.key)}: ${formatBytes(k.firstBytes)} -> ${formatBytes(k.lastBytes)} (kernel memory of memsleuth's tracer)`);
  return { id: 'own', title: 'memsleuth\'s own footprint', note: 'set apart: never a culprit; it goes when memsleuth stops', lines };
}

export function reclaimProbeSection(a: Analysis): SideSection | null {
  if (!a.reclaimProbe) return null;
  const p = a.reclaimProbe;
  const lines = [
    ...p.fell.map((f) => `fell (cache): ${displayName(f.key)} ${formatBytes(f.beforeBytes)} -> ${formatBytes(f.afterBytes)} (grew ${formatDelta(f.growthBytes)})`),
    ...p.stayed.map((f) => `stayed (pinned): ${displayName(f.key)} ${formatBytes(f.beforeBytes)} -> ${formatBytes(f.afterBytes)} (grew ${formatDelta(f.growthBytes)})`),
  ];
  const at = p.atSec.map((x) => `t=${formatDuration(x)}`).join(', ');
  return { id: 'reclaim', title: `Reclaim probe (drop_caches 2, then 3, at ${at})`, note: 'what falls when caches are dropped was cache; what stays is pinned', lines };
}
