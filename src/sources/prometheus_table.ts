/**
 * Series read from Prometheus (query_range points or remote read's raw samples) placed on one grid, as the
 * SeriesTable analysis takes. Both readers of sources/prometheus.ts end here, so the two give the same table
 * for the same samples.
 *
 * The grid: slot i is at originSec + i x intervalSec; a sample goes to the nearest slot. Points are groups of
 * `perPoint` consecutive slots (1 for query_range and short raw reads; more when raw samples exceed
 * ANALYSIS_MAX_POINTS, as the store path bins a long recording: see model/series_table.ts), each the mean of the
 * samples in it. Only the last boot in the range is kept (node_boot_time_seconds, memsleuth_boot_time_seconds).
 */
import { keyPart } from '../model/series.js';
import type { PromLabels } from '../model/prom_names.js';
import type { SeriesTable } from '../model/series_table.js';

/** One series as read: times in seconds, in order; values. */
export interface RawSeries { name: string; labels: PromLabels; t: Float64Array; v: Float64Array }

export interface Grid {
  originSec: number; intervalSec: number; slots: number; perPoint: number;
  /**
   * Raw samples: each series is first shifted by its own phase against the grid (two scrape jobs of one instance
   * run at different offsets; one half an interval off would otherwise jitter between two slots).
   */
  alignPhase?: boolean;
}

/** A series' offset from the grid, in intervals (-0.5, 0.5]: the circular mean over its first samples. */
function phaseOf(t: Float64Array, origin: number, interval: number): number {
  let sx = 0, sy = 0;
  for (let i = 0; i < Math.min(t.length, 1000); i++) {
    const a = (2 * Math.PI * ((t[i] as number) - origin)) / interval;
    sx += Math.cos(a);
    sy += Math.sin(a);
  }
  return sx === 0 && sy === 0 ? 0 : Math.atan2(sy, sx) / (2 * Math.PI);
}

export type KeyOf = (name: string, labels: PromLabels) => string | undefined;

/** The series of a table; a key read twice (node_exporter's meminfo and memsleuth's) keeps the first read. */
export function assembleTable(raw: readonly RawSeries[], source: string, grid: Grid, keyOf: KeyOf, notes: string[], timeSource: string): SeriesTable {
  const k = Math.max(1, Math.floor(grid.perPoint));
  const points = Math.ceil(grid.slots / k);
  const pointOf = (ts: number, phase = 0): number => {
    const slot = Math.round((ts - grid.originSec) / grid.intervalSec - phase);
    return slot < 0 || slot >= grid.slots ? -1 : Math.floor(slot / k);
  };
  const sums = new Map<string, { sum: Float64Array; n: Uint32Array }>();
  const put = (key: string, s: RawSeries, scale: number): void => {
    let acc = sums.get(key);
    if (!acc) { acc = { sum: new Float64Array(points), n: new Uint32Array(points) }; sums.set(key, acc); }
    const phase = grid.alignPhase ? phaseOf(s.t, grid.originSec, grid.intervalSec) : 0;
    for (let i = 0; i < s.t.length; i++) {
      const x = s.v[i] as number;
      const p = pointOf(s.t[i] as number, phase);
      if (p < 0 || !Number.isFinite(x)) continue;
      acc.sum[p] = (acc.sum[p] as number) + x * scale;
      acc.n[p] = (acc.n[p] as number) + 1;
    }
  };
  // node_exporter's slab objects become bytes with the cache's object size (its last value in the range).
  const objectSize = new Map<string, number>();
  for (const s of raw) {
    if (s.name !== 'node_slabinfo_object_size_bytes') continue;
    for (let i = s.v.length - 1; i >= 0; i--) if (Number.isFinite(s.v[i] as number)) { objectSize.set(s.labels['slab'] ?? '', s.v[i] as number); break; }
  }
  let boot: RawSeries | undefined;
  const claimed = new Set<string>();
  for (const s of raw) {
    if (s.name === 'node_boot_time_seconds' || s.name === 'memsleuth_boot_time_seconds') { boot ??= s; continue; }
    if (s.name === 'node_slabinfo_objects' || s.name === 'node_slabinfo_active_objects') {
      const cache = s.labels['slab'] ?? '';
      const size = objectSize.get(cache);
      if (size === undefined) continue;
      const base = `slab.${keyPart(cache)}`;
      if (s.name === 'node_slabinfo_objects') put(`${base}.bytes`, s, size);
      else { put(`${base}.active_bytes`, s, size); put(`${base}.objs`, s, 1); }
      continue;
    }
    if (s.name === 'node_slabinfo_object_size_bytes') continue;
    const key = keyOf(s.name, s.labels);
    if (key === undefined || claimed.has(key)) continue;
    claimed.add(key);
    put(key, s, 1);
  }
  const series = new Map<string, Float64Array>();
  // Samples behind each point: those of its most sampled series (slots where nothing was scraped are not samples).
  const behind = new Int32Array(points);
  for (const [key, acc] of sums) {
    const v = new Float64Array(points);
    for (let p = 0; p < points; p++) {
      const c = acc.n[p] as number;
      v[p] = c > 0 ? (acc.sum[p] as number) / c : NaN;
      if (c > (behind[p] as number)) behind[p] = c;
    }
    series.set(key, v);
  }
  sums.clear();

  // Trim to the points where the instance has data, and start at its last boot when it rebooted in the range.
  let first = points, last = -1;
  for (const v of series.values()) {
    for (let i = 0; i < points; i++) if (Number.isFinite(v[i] as number)) { if (i < first) first = i; break; }
    for (let i = points - 1; i >= 0; i--) if (Number.isFinite(v[i] as number)) { if (i > last) last = i; break; }
  }
  if (boot && boot.t.length > 1) {
    let prev = boot.v[0] as number;
    let boots = 1;
    for (let i = 0; i < boot.t.length; i++) {
      const b = boot.v[i] as number;
      if (!Number.isFinite(b)) continue;
      if (Math.abs(b - prev) > 60) {
        boots++;
        const p = pointOf(boot.t[i] as number);
        if (p > first) first = p;
      }
      prev = b;
    }
    if (boots > 1) notes.push(`${boots} boots in the range (the boot time changed): only the last boot is analysed`);
  }
  const meta = { source, intervalSec: grid.intervalSec, timeSource, notes };
  if (last < first) return { t: new Float64Array(0), series: new Map(), boots: [], gaps: [], meta };
  // A point's time: the mean time of its slots (the last point may hold fewer).
  const slotsIn = (p: number): number => Math.max(1, Math.min(k, grid.slots - p * k));
  const timeOf = (p: number): number => grid.originSec + (p * k + (slotsIn(p) - 1) / 2) * grid.intervalSec;
  const n = last - first + 1;
  const t = new Float64Array(n);
  const t0 = timeOf(first);
  for (let i = 0; i < n; i++) t[i] = timeOf(first + i) - t0;
  for (const [key, v] of series) series.set(key, v.slice(first, last + 1));
  return {
    t, series, startedAtMs: t0 * 1000, boots: [{ fromIndex: 0, toIndex: n - 1 }], gaps: [], meta,
    ...(k > 1 ? { binCounts: Int32Array.from({ length: n }, (_, i) => behind[first + i] as number) } : {}),
  };
}
