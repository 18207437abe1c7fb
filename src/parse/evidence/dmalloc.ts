// src/parse/evidence/dmalloc.ts
/**
 * Parses a dmalloc logfile (dmalloc manual, "Dmalloc Logfile"; dmalloc 5.x chunk.c _dmalloc_chunk_log_changed).
 *
 *   1795390533: 14:  not freed: '0x7f6fb4dd3f08|s1' (48 bytes) from 'leaky.c:31'
 *   1795390533: 14:  not freed: '0x7f6fb4dd1008|s1' (4096 bytes) from 'unknown'     <- caller not compiled with dmalloc.h
 *   1795390533: 14:   current memory in use: 4455 bytes (10 pnts)
 *   not freed: '0x804c008|s1' (10 bytes) from 'ra=0x8048abc'                          <- return address only
 *
 * Lines carry an "EPOCH: ITER: " prefix (seconds, then the allocation-call iteration) that is stripped.
 * Each "not freed" pointer is grouped into a site by its caller. When the log has only the aggregated
 * "total-size count source" table after "Dumping Not-Freed Pointers", that table is used instead.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

export interface DmallocSummary {
  version?: string;
  pid?: number;
  flags?: string;
  currentInUse?: { bytes: Bytes; pointers: number };
  totalAllocated?: { bytes: Bytes; pointers: number };
  maxInUse?: { bytes: Bytes; pointers: number };
  /** "alloc calls: malloc 11, calloc 1, realloc 0, free 2" lines merged. */
  allocCalls: Record<string, number>;
  /** Lines with "ERROR:" (fence-post overwrites, bad pointers), kept as printed. */
  errors: { line: number; text: string }[];
}

export interface Dmalloc {
  sites: AllocationSite[];
  /** Individual not-freed pointers, in log order. */
  pointers: { address: string; bytes: Bytes; source: string; line: number }[];
  summary: DmallocSummary;
}

const PREFIX = /^\d+: \d+: ?/;
const NOT_FREED = /^not freed: '(0x[0-9a-fA-F]+)(?:\|[^']*)?' \((\d+) bytes\) from '([^']*)'\s*$/;
const TABLE_ROW = /^(\d+)\s+(\d+)\s+(.+)$/;

/** "leaky.c:26", "ra=0x400b1c", "unknown" -> a one-frame stack (empty when unknown). */
export function dmallocFrame(source: string): Frame[] {
  const ra = /^ra=(0x[0-9a-fA-F]+)$/.exec(source);
  if (ra && ra[1] !== undefined) return [{ address: ra[1] }];
  const loc = /^(.+):(\d+)$/.exec(source);
  if (loc && loc[1] !== undefined) return [{ file: loc[1], line: Number(loc[2]) }];
  if (source === 'unknown' || source === '') return [];
  return [{ symbol: source }];
}

function amount(m: RegExpExecArray | null): { bytes: Bytes; pointers: number } | undefined {
  return m ? { bytes: bytes(Number(m[1])), pointers: Number(m[2]) } : undefined;
}

export function parseDmalloc(text: string, source = 'dmalloc'): Parsed<Dmalloc> {
  const warnings: ParseWarning[] = [];
  const summary: DmallocSummary = { allocCalls: {}, errors: [] };
  const pointers: Dmalloc['pointers'] = [];
  const bySource = new Map<string, AllocationSite>();
  const tableSites: AllocationSite[] = [];
  let inNotFreedTable = false;
  const lines = text.split('\n');

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.replace(PREFIX, '').trim();
    if (line === '') continue;

    const nf = NOT_FREED.exec(line);
    if (nf) {
      const src = nf[3] ?? '';
      const size = Number(nf[2]);
      pointers.push({ address: nf[1] ?? '', bytes: bytes(size), source: src, line: lineNo });
      const site = bySource.get(src);
      if (site) {
        site.bytes = bytes(site.bytes + size);
        site.count++;
      } else {
        bySource.set(src, { stack: dmallocFrame(src), bytes: bytes(size), count: 1, kind: 'outstanding', tool: 'dmalloc', origin: `${source}:${lineNo}` });
      }
      continue;
    }
    if (line.startsWith('not freed:')) {
      warnings.push(warning(lineNo, raw, 'unreadable "not freed" line'));
      continue;
    }
    if (line.startsWith('Dumping Not-Freed Pointers')) {
      inNotFreedTable = true;
      continue;
    }
    if (inNotFreedTable) {
      if (/^total-size\s+count\s+source$/.test(line)) continue;
      const row = TABLE_ROW.exec(line);
      if (row && !/^Total of \d+$/.test(row[3] ?? '')) {
        const src = (row[3] ?? '').trim();
        tableSites.push({ stack: dmallocFrame(src), bytes: bytes(Number(row[1])), count: Number(row[2]), kind: 'outstanding', tool: 'dmalloc', origin: `${source}:${lineNo}` });
        continue;
      }
      if (row) {
        inNotFreedTable = false;
        continue;
      }
    }
    const v = /^Dmalloc version '([^']+)'/.exec(line);
    if (v && v[1] !== undefined) summary.version = v[1];
    const pid = /^process pid = (\d+)/.exec(line);
    if (pid) summary.pid = Number(pid[1]);
    const flags = /^flags = (0x[0-9a-fA-F]+)/.exec(line);
    if (flags && flags[1] !== undefined) summary.flags = flags[1];
    const cur = amount(/^current memory in use: (\d+) bytes \((\d+) pnts\)/.exec(line));
    if (cur) summary.currentInUse = cur;
    const tot = amount(/^total memory allocated: (\d+) bytes \((\d+) pnts\)/.exec(line));
    if (tot) summary.totalAllocated = tot;
    const max = amount(/^max in use at one time: (\d+) bytes \((\d+) pnts\)/.exec(line));
    if (max) summary.maxInUse = max;
    const calls = /^alloc calls: (.*)$/.exec(line);
    if (calls && calls[1] !== undefined) {
      for (const part of calls[1].split(',')) {
        const m = /^\s*(\w+) (\d+)\s*$/.exec(part);
        if (m && m[1] !== undefined) summary.allocCalls[m[1]] = Number(m[2]);
      }
    }
    if (/\bERROR\b/.test(line)) summary.errors.push({ line: lineNo, text: line });
  }

  let sites = [...bySource.values()];
  if (sites.length === 0 && tableSites.length > 0) {
    sites = tableSites;
    warnings.push(warning(0, '', 'no individual "not freed" lines (log-unknown/log-known off): sites from the not-freed summary table', 'info'));
  }
  sites.sort((a, b) => b.bytes - a.bytes);
  return withFiniteValues({ value: { sites, pointers, summary }, warnings });
}
