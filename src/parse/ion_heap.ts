// src/parse/ion_heap.ts
/**
 * Parses an ION heap's debugfs file, /sys/kernel/debug/ion/heaps/<heap> (drivers/staging/android/ion/ion.c,
 * ion_debug_heap_show, Android kernels up to 5.4): the bytes each client holds in the heap, the buffers no client
 * holds any more ("orphaned"), the heap's totals, then whatever the heap adds (page pools of the system heap).
 *
 *             client              pid             size            <- "%16s %16u %16zu"
 *    audio@2.0-servi              765             4096            <- one row per client handle, names cut to 15
 *   ----------------------------------------------------
 *   orphaned allocations (info is from last known client):
 *      surfaceflinger              611          1658880 0 1       <- comm pid size kmap_cnt refcount
 *     total orphaned                0
 *              total          55193600                            <- every buffer of the heap, held or orphaned
 *      deferred free                0
 *   1251 order 4 lowmem pages in cached pool = 81985536 total     <- system heap page pools (vendors vary)
 *   uncached pool = 4096 cached pool = 83566592 secure pool = 0
 *
 * Client rows count a shared buffer once per client holding it, so they may add up to more than "total". A leak
 * of ION buffers grows "total" (and, when the holder died, "total orphaned"); a client row says who holds them.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

export interface IonClientRow {
  /** The client's name or task comm as printed (cut to 15 characters by the kernel). */
  name: string;
  pid: number;
  bytes: Bytes;
}

export interface IonHeap {
  clients: IonClientRow[];
  /** Buffers no handle refers to, listed under their last client. */
  orphaned: IonClientRow[];
  totalOrphaned?: Bytes;
  /** "total": every buffer of the heap. */
  total?: Bytes;
  deferredFree?: Bytes;
  /** Page pools by kind ("uncached", "cached", "secure", or "" for a plain pool), from the pool lines' "= N total". */
  poolLines: Record<string, Bytes>;
  /** The heap's own pool summary when printed ("uncached pool = 4096 cached pool = ..."), by kind; and its total. */
  poolSummary?: Record<string, Bytes>;
  poolTotal?: Bytes;
}

/**
 * A client or orphan row by its words (no backtracking regex: a 10 MB line reads in linear time). The name runs up to
 * the first all-digit word, the pid; the size follows it, or, in the titled orphan layout ("client pid user user_pid
 * size mcnt rcnt"), sits third from the end.
 */
function rowOf(line: string, titled: boolean): IonClientRow | undefined {
  const words = line.trim().split(/\s+/);
  const j = words.findIndex((w, k) => k > 0 && /^\d+$/.test(w));
  if (j < 0) return undefined;
  const size = titled ? words[words.length - 3] : words[j + 1];
  if (size === undefined || !/^\d+$/.test(size) || (titled && words.length - 3 <= j)) return undefined;
  return { name: words.slice(0, j).join(' '), pid: Number(words[j]), bytes: Number(size) as Bytes };
}

export function parseIonHeap(text: string): Parsed<IonHeap> {
  const warnings: ParseWarning[] = [];
  const value: IonHeap = { clients: [], orphaned: [], poolLines: {} };
  let section: 'none' | 'clients' | 'orphaned' | 'after' = 'none';
  let sawHeader = false;
  let titled = false;
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const t = line.trim();
    if (t === '' || /^-+$/.test(t)) continue;
    if (/^client\s+pid\s+size\b/.test(t)) { sawHeader = true; section = 'clients'; continue; }
    if (/^orphaned allocations\b/.test(t)) { section = 'orphaned'; continue; }
    // Some vendors title the orphan rows ("client pid user user_pid size mcnt rcnt"): the size is then the 5th column.
    if (section === 'orphaned' && /^client\s+pid\s+user\b/.test(t)) { titled = true; continue; }
    const total = /^(total orphaned|total|deferred free)\s+(\d+)$/.exec(t);
    if (total) {
      const n = Number(total[2]) as Bytes;
      if (total[1] === 'total orphaned') value.totalOrphaned = n;
      else if (total[1] === 'total') value.total = n;
      else value.deferredFree = n;
      section = 'after';
      continue;
    }
    const pool = /^(?:VMID\s+\d+:\s+)?\d+ order \d+ (?:high|low)mem pages\s+in (?:(\w+) )?pool = (\d+) total$/.exec(t);
    if (pool) {
      const kind = pool[1] ?? '';
      value.poolLines[kind] = ((value.poolLines[kind] ?? 0) + Number(pool[2])) as Bytes;
      continue;
    }
    const pt = /^pool total \(.*\) = (\d+)$/.exec(t);
    if (pt) { value.poolTotal = Number(pt[1]) as Bytes; continue; }
    if (/^(?:\w+ pool = \d+\s*)+$/.test(t)) {
      value.poolSummary = {};
      for (const m of t.matchAll(/(\w+) pool = (\d+)/g)) value.poolSummary[m[1] ?? ''] = Number(m[2]) as Bytes;
      continue;
    }
    if (section === 'clients' || section === 'orphaned') {
      const r = rowOf(line, section === 'orphaned' && titled);
      if (r) {
        (section === 'clients' ? value.clients : value.orphaned).push(r);
        continue;
      }
    }
    warnings.push(warning(i + 1, line, 'not an ION heap line', section === 'after' ? 'info' : 'data-loss'));
  }
  if (!sawHeader && value.total === undefined) warnings.push(warning(0, '', 'no "client pid size" header and no "total" line: not an ION heap debugfs file', 'error'));
  const orphaned = value.orphaned.reduce((n, r) => n + r.bytes, 0);
  if (value.totalOrphaned !== undefined && orphaned !== value.totalOrphaned) {
    warnings.push(warning(0, '', `orphaned rows add up to ${orphaned} bytes, "total orphaned" says ${value.totalOrphaned} (rows missing from this text, or buffers came and went while it was printed)`, 'info'));
  }
  const pools = Object.values(value.poolLines).reduce((n, b) => n + b, 0);
  if (value.poolTotal !== undefined && pools !== value.poolTotal) {
    warnings.push(warning(0, '', `pool lines add up to ${pools} bytes, "pool total" says ${value.poolTotal} (pool lines missing from this text?)`, 'info'));
  }
  return withFiniteValues({ value, warnings });
}
