// src/parse/zoneinfo.ts
/**
 * Parses /proc/zoneinfo (mm/vmstat.c zoneinfo_show_print; Documentation/filesystems/proc.rst).
 *
 *   Node 0, zone   Normal
 *     per-node stats                        <- since 4.8, in the first populated zone of each node
 *         nr_inactive_anon 1912
 *     pages free     3840
 *           min      52
 *           protection: (0, 3019, 4811, 4811, 4811)
 *     pagesets
 *       cpu: 0
 *                 count:    0               <- per-CPU lists; 2.6-era kernels print "cpu: 0 pcp: 1"
 *     vm stats threshold: 4
 *     node_unreclaimable:  0
 *
 * free/min/low/high/managed/present/spanned become bytes (pages x page size). Every other counter is kept
 * raw in `counters`, with these conventions (the model has no other place for them):
 *   - per-node stats: "node.<name>" on the zone whose block prints them;
 *   - pagesets: "pagesets.count" summed over CPUs (pages sitting in per-CPU lists), other pageset fields
 *     and "vm stats threshold" as their maximum over CPUs, "pagesets.cpus" the number of CPUs;
 *   - protection: "protection.<i>" in pages.
 */
import type { Zone, Zoneinfo } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { DEFAULT_PAGE_SIZE } from '../model/units.js';

export interface ZoneinfoOptions {
  pageSize?: number;
}

const PAGE_FIELDS = new Set(['free', 'min', 'low', 'high', 'managed', 'present', 'spanned']);

export function parseZoneinfo(text: string, options: ZoneinfoOptions = {}): Parsed<Zoneinfo> {
  const zones: Zone[] = [];
  const warnings: ParseWarning[] = [];
  let pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!(pageSize > 0) || !Number.isFinite(pageSize)) {
    warnings.push(warning(0, String(options.pageSize), `page size is not a positive number; ${DEFAULT_PAGE_SIZE} assumed`, 'error'));
    pageSize = DEFAULT_PAGE_SIZE;
  }
  let zone: Zone | undefined;
  let mode: 'zone' | 'node' | 'pagesets' = 'zone';
  let outside = 0;
  let outsideLine = 0;

  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const raw = lines[li] ?? '';
    const line = raw.trim();
    if (line === '') continue;
    const lineNo = li + 1;

    if (line.startsWith('Node ')) {
      const m = /^Node\s+(\d+),\s*zone\s+(\S+)\s*$/.exec(line);
      if (m) {
        zone = { node: Number(m[1]), zone: m[2] ?? '', counters: {} };
        zones.push(zone);
        mode = 'zone';
        continue;
      }
    }
    if (!zone) {
      if (outside++ === 0) outsideLine = lineNo;
      continue;
    }
    if (line === 'per-node stats') { mode = 'node'; continue; }
    if (line === 'pagesets') { mode = 'pagesets'; continue; }

    if (mode === 'pagesets') {
      if (line.startsWith('cpu:')) {
        zone.counters['pagesets.cpus'] = (zone.counters['pagesets.cpus'] ?? 0) + (/pcp:\s*[1-9]/.test(line) ? 0 : 1);
        continue;
      }
      if (line.startsWith('vm stats threshold:')) {
        maxInto(zone.counters, 'vm_stats_threshold', Number(line.slice(19).trim()));
        continue;
      }
      // Pageset fields are indented deeper than the zone's own "key: value" lines that follow the pagesets.
      const indent = raw.length - raw.trimStart().length;
      const kv = /^(\w+):\s*(-?\d+)$/.exec(line);
      if (kv && indent > 4) {
        const key = `pagesets.${kv[1] ?? ''}`;
        const v = Number(kv[2]);
        if (kv[1] === 'count') zone.counters[key] = (zone.counters[key] ?? 0) + v;
        else maxInto(zone.counters, key, v);
        continue;
      }
      mode = 'zone';
    }

    if (line.startsWith('protection:')) {
      const inner = /\(([^)]*)\)/.exec(line)?.[1];
      if (inner === undefined) { warnings.push(warning(lineNo, line, 'expected "protection: (a, b, ...)"')); continue; }
      const counters = zone.counters;
      inner.split(',').forEach((p, x) => {
        const v = Number(p.trim());
        if (p.trim() !== '' && Number.isFinite(v)) counters[`protection.${x}`] = v;
      });
      continue;
    }

    // "pages free 3840", "min 52", "nr_free_pages 3840", "node_unreclaimable:  0", "start_pfn: 1".
    // 2.6-era kernels print "scanned  0 (a: 23 i: 0)": the parenthesised detail is dropped.
    const rest = line.startsWith('pages ') ? line.slice(6).trimStart() : line;
    const m = /^([\w()-]+):?\s+(-?\d+)(?:\s+\(.*\))?$/.exec(rest);
    if (!m) {
      warnings.push(warning(lineNo, line, 'expected "name number"'));
      continue;
    }
    const key = m[1] ?? '';
    const v = Number(m[2]);
    if (mode === 'node') {
      // The zone block proper starts with "pages free"; until then the lines are per-node stats.
      if (line.startsWith('pages ')) mode = 'zone';
      else { zone.counters[`node.${key}`] = v; continue; }
    }
    if (PAGE_FIELDS.has(key)) {
      zone[key as 'free'] = (v * pageSize) as Bytes;
    } else {
      zone.counters[key] = v;
    }
  }
  if (outside > 0) {
    warnings.push(warning(outsideLine, (lines[outsideLine - 1] ?? '').trim(), `${outside} lines before the first "Node N, zone NAME" line ignored`, 'info'));
  }
  if (zones.length === 0) warnings.push(warning(0, '', 'no "Node N, zone NAME" line found', 'error'));
  return withFiniteValues({ value: { zones }, warnings });
}

function maxInto(counters: Record<string, number>, key: string, v: number): void {
  if (!Number.isFinite(v)) return;
  const old = counters[key];
  counters[key] = old === undefined ? v : Math.max(old, v);
}
