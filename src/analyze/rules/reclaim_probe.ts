/**
 * Reclaim by experiment, as the seeds do by hand (`echo 3 > drop_caches`, then look again): a recording made with
 * `record --probe-reclaim` holds samples taken right after `echo 2` and `echo 3` to /proc/sys/vm/drop_caches,
 * marked by the series probe.reclaim. What falls there was cache; what stays is pinned. So:
 *   - the probe samples are left out of every trend (they are an experiment, not the system's course);
 *   - a series judged leak (or growing, undecided) that fell by at least half its growth at the probe was
 *     cache: reclaimable, with the numbers;
 *   - a leak that stayed (less than a fifth of its growth fell) is pinned, and says so;
 *   - a cache following a reclaimable one (rules/dependent.ts) is dependent only if it fell with it.
 */
import type { SeriesVerdict } from '../../model/analysis.js';
import type { SeriesTable } from '../../model/series_table.js';
import { RECLAIM_PROBE_KEY } from '../../model/series.js';
import { formatBytes } from '../../model/units.js';

/** One probe: the last sample before it and its last sample (after `echo 3`). */
export interface ProbeEvent { beforeIndex: number; afterIndex: number; atSec: number }

/** Share of a series' growth that must fall at the probe for it to be cache. */
const FELL_SHARE = 0.5;
/** A leak is "pinned" when less than this share of its growth fell. */
const STAYED_SHARE = 0.2;

export function findProbes(table: SeriesTable): ProbeEvent[] {
  const p = table.series.get(RECLAIM_PROBE_KEY);
  if (!p) return [];
  const out: ProbeEvent[] = [];
  for (let i = 0; i < p.length; i++) {
    if (!Number.isFinite(p[i] as number)) continue;
    let j = i;
    while (j + 1 < p.length && Number.isFinite(p[j + 1] as number)) j++;
    if (i > 0) out.push({ beforeIndex: i - 1, afterIndex: j, atSec: table.t[i] as number });
    i = j;
  }
  return out;
}

/** The table with the probe samples left out (NaN) of every series, so no trend sees the experiment. */
export function maskProbes(table: SeriesTable, probes: readonly ProbeEvent[]): SeriesTable {
  if (probes.length === 0) return table;
  const mask = new Uint8Array(table.t.length);
  for (const e of probes) for (let i = e.beforeIndex + 1; i <= e.afterIndex; i++) mask[i] = 1;
  const series = new Map<string, Float64Array>();
  for (const [k, v] of table.series) {
    if (k === RECLAIM_PROBE_KEY) continue;
    series.set(k, Float64Array.from(v, (x, i) => (mask[i] ? NaN : x)));
  }
  return { ...table, series };
}

/** Value just before and right after the last probe (nearest finite samples). */
export function probeLevels(v: Float64Array | undefined, e: ProbeEvent): { before: number; after: number } | undefined {
  if (!v) return undefined;
  let b = e.beforeIndex;
  while (b >= 0 && !Number.isFinite(v[b] as number)) b--;
  let a = e.afterIndex;
  while (a > e.beforeIndex && !Number.isFinite(v[a] as number)) a--;
  if (b < 0 || a <= e.beforeIndex) return undefined;
  return { before: v[b] as number, after: v[a] as number };
}

export type ProbeOutcome = { key: string; beforeBytes: number; afterBytes: number; growthBytes: number; fell: boolean };

/** What the last probe did to a growing series: fell (cache), stayed (pinned), or undefined (not growing, not seen). */
export function probeOutcome(key: string, growthBytes: number, v: Float64Array | undefined, e: ProbeEvent, flatBytes: number): ProbeOutcome | undefined {
  if (!(growthBytes > flatBytes)) return undefined;
  const l = probeLevels(v, e);
  if (!l) return undefined;
  const fell = l.before - l.after;
  if (fell >= FELL_SHARE * growthBytes) return { key, beforeBytes: l.before, afterBytes: l.after, growthBytes, fell: true };
  if (fell < STAYED_SHARE * growthBytes) return { key, beforeBytes: l.before, afterBytes: l.after, growthBytes, fell: false };
  return undefined;
}

/** A verdict revised by the probe; undefined when the probe says nothing new. */
export function judgedByProbe<T extends SeriesVerdict>(row: T, o: ProbeOutcome | undefined, e: ProbeEvent): T | undefined {
  if (!o || (row.verdict !== 'leak' && row.verdict !== 'inconclusive')) return undefined;
  const fell = o.beforeBytes - o.afterBytes;
  if (o.fell) {
    return {
      ...row, verdict: 'reclaimable', rule: 'reclaim-probe', nextStep: null,
      evidence: [...row.evidence, `reclaim probe at t=${Math.round(e.atSec)} s (drop_caches 2, then 3): fell by ${formatBytes(fell)}, ${Math.round((100 * fell) / o.growthBytes)}% of its ${formatBytes(o.growthBytes)} growth: it was cache, not a leak`],
    };
  }
  if (row.verdict !== 'leak') return undefined;
  return {
    ...row,
    evidence: [...row.evidence, `reclaim probe at t=${Math.round(e.atSec)} s (drop_caches 2, then 3): stayed (${formatBytes(Math.max(0, fell))} of its ${formatBytes(o.growthBytes)} growth fell): pinned memory, not cache`],
  };
}
