/**
 * SeriesTable + Analysis -> the chart data a report embeds (report_data.ts): memory composition as stacked
 * groups, each leaking series with its trend, band and forecast, the MemAvailable fall towards the OOM
 * watermark, and sparklines. Everything downsampled per pixel bucket, so a week at 1 s stays small.
 */
import type { Analysis, Leak } from '../../model/analysis.js';
import type { SeriesTable } from '../../model/series_table.js';
import { downsampleMinMax, lttb } from './downsample.js';
import type { ChartSeries, CompositionChart, LeakChart, ReportData, TrendLine } from './report_data.js';

export interface ChartDataOptions {
  /** Time buckets per chart (about its width in pixels); each yields two points. Default 1000. */
  buckets?: number;
  /** Points per sparkline. Default 48. */
  sparkPoints?: number;
  /** Leaking series drawn. Default 6. */
  maxLeaks?: number;
}

/**
 * Composition groups, bottom of the stack first, by the identity of analyze/composition.ts (report/ may not
 * import analyze/, so it is restated here): MemTotal = free + file cache + shmem + anon + slab + vmalloc +
 * page tables + kernel stacks + percpu + hugetlb + ION heaps + unexplained. The ids are the analysis' derived keys
 * (system.<id>), so a leak on "system.slabUnreclaimable" is drawn from the same numbers.
 */
const GROUPS: { id: string; label: string; color: string; value: (g: (k: string) => number) => number }[] = [
  { id: 'free', label: 'free', color: '#9fd3a8', value: (g) => g('MemFree') },
  { id: 'fileCache', label: 'page cache + buffers', color: '#b9d7ef', value: (g) => Math.max(0, g('Cached') - g('Shmem')) + g('Buffers') + g('SwapCached') },
  { id: 'shmem', label: 'shmem', color: '#8fbbe0', value: (g) => g('Shmem') },
  { id: 'anon', label: 'anonymous (user)', color: '#f3c178', value: (g) => g('AnonPages') },
  { id: 'slabReclaimable', label: 'slab reclaimable', color: '#c7b8e0', value: (g) => g('SReclaimable') },
  { id: 'slabUnreclaimable', label: 'slab unreclaimable', color: '#8e6cc4', value: (g) => g('SUnreclaim') },
  // Thread stacks are vmalloc'd (CONFIG_VMAP_STACK) and counted once, as kernel stacks (see composition.ts).
  { id: 'vmalloc', label: 'vmalloc (without thread stacks)', color: '#e58fb0', value: (g) => Math.max(0, g('vmalloc') - g('vmallocStacks')) },
  { id: 'pageTables', label: 'page tables', color: '#7fb6b3', value: (g) => g('PageTables') + g('SecPageTables') },
  { id: 'kernelStack', label: 'kernel stacks', color: '#5c8fa8', value: (g) => g('KernelStack') },
  { id: 'percpu', label: 'percpu', color: '#a3a3a3', value: (g) => g('Percpu') },
  { id: 'hugetlb', label: 'hugetlb', color: '#c9c9c9', value: (g) => g('HugePages_Total') * g('Hugepagesize') },
  { id: 'ion', label: 'ION heaps', color: '#d9a066', value: (g) => g('ION_heap') + g('ION_page_pool') },
  { id: 'unexplained', label: 'unexplained', color: '#e15a4f', value: () => 0 },
];

const r0 = (v: number | null): number | null => (v === null ? null : Math.round(v));
const rt = (v: number): number => Math.round(v * 1000) / 1000;

/** The analysis' derived system.* series, recomputed from meminfo (or free) sample by sample. */
export function systemSeries(table: SeriesTable): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  const n = table.t.length;
  const s = table.series;
  const total = s.get('meminfo.MemTotal');
  if (total) {
    const vmUsed = s.get('meminfo.VmallocUsed');
    // VmallocUsed was 0 on 4.x kernels (4.4 .. 5.3): vmallocinfo is then the only count of vmalloc pages.
    const vmalloc = vmUsed && vmUsed.some((v) => v > 0) ? vmUsed : s.get('vmalloc.total.bytes') ?? vmUsed;
    const slabOnly = !s.has('meminfo.SReclaimable') && !s.has('meminfo.SUnreclaim');
    const arrs = GROUPS.map((g) => {
      const a = new Float64Array(n).fill(NaN);
      out.set(`system.${g.id}`, a);
      return a;
    });
    const unavailable = new Float64Array(n).fill(NaN);
    const taken = new Float64Array(n).fill(NaN);
    for (let i = 0; i < n; i++) {
      const tot = total[i] as number;
      if (!Number.isFinite(tot)) continue;
      const get = (k: string): number => {
        // 2.6.18 and older have only Slab: count it as unreclaimable, the cautious side for a leak hunt.
        if (k === 'vmallocStacks') {
          const st = s.get('vmalloc.stacks.bytes')?.[i];
          if (st !== undefined && Number.isFinite(st)) return Math.min(st, get('KernelStack'));
          const ks = get('KernelStack');
          return get('vmalloc') >= ks ? ks : 0;
        }
        const a = k === 'vmalloc' ? vmalloc : k === 'SUnreclaim' && slabOnly ? s.get('meminfo.Slab') : s.get(`meminfo.${k}`);
        const v = a?.[i];
        if (v === undefined || !Number.isFinite(v)) return 0;
        return k === 'vmalloc' && v >= tot ? 0 : v;
      };
      let known = 0;
      GROUPS.forEach((g, gi) => {
        if (g.id === 'unexplained') return;
        const v = Math.max(0, g.value(get));
        (arrs[gi] as Float64Array)[i] = v;
        known += v;
      });
      (arrs[arrs.length - 1] as Float64Array)[i] = tot - known;
      const avail = s.get('meminfo.MemAvailable')?.[i];
      if (avail !== undefined && Number.isFinite(avail)) unavailable[i] = tot - avail;
      taken[i] = tot - get('MemFree');
    }
    out.set('system.unavailable', unavailable);
    out.set('system.taken', taken);
    return out;
  }
  const ft = s.get('free.mem.total');
  const ff = s.get('free.mem.free');
  if (ft && ff) {
    const av = s.get('free.mem.available');
    out.set('system.taken', Float64Array.from(ft, (v, i) => v - (ff[i] as number)));
    if (av) out.set('system.unavailable', Float64Array.from(ft, (v, i) => v - (av[i] as number)));
  }
  return out;
}

function compositionChart(table: SeriesTable, system: ReadonlyMap<string, Float64Array>, buckets: number): CompositionChart | null {
  if (!table.series.has('meminfo.MemTotal')) return null;
  const used = GROUPS.map((g) => ({ ...g, v: system.get(`system.${g.id}`) as Float64Array }))
    .filter((g) => g.v !== undefined && g.v.some((v) => Number.isFinite(v) && v !== 0));
  // The stack needs non-negative parts: a negative remainder (counters that overlap) is drawn as zero.
  const ds = downsampleMinMax(table.t, used.map((g) => g.id === 'unexplained' ? g.v.map((v) => Math.max(0, v)) : g.v), buckets);
  const out: ChartSeries[] = used.map((g, i) => ({ label: g.label, color: g.color, values: (ds.ys[i] ?? []).map(r0) }));
  return { t: ds.t.map(rt), groups: out };
}

/** Median of the residuals y - rate*(t - t0) over [from, to]: a level that outliers do not drag. */
function fitLevel(t: Float64Array, v: Float64Array, rate: number, from: number, to: number): TrendLine | null {
  const idx: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const ti = t[i] as number;
    if (ti >= from && ti <= to && Number.isFinite(v[i] as number)) idx.push(i);
  }
  if (idx.length === 0) return null;
  const t0 = idx.reduce((s, i) => s + (t[i] as number), 0) / idx.length;
  const res = idx.map((i) => (v[i] as number) - rate * ((t[i] as number) - t0)).sort((a, b) => a - b);
  const mid = res.length >> 1;
  const y0 = res.length % 2 ? (res[mid] as number) : ((res[mid - 1] as number) + (res[mid] as number)) / 2;
  return { t0: rt(t0), y0: Math.round(y0), rate, from: rt(idx.length ? (t[idx[0] as number] as number) : from), to: rt(t[idx[idx.length - 1] as number] as number) };
}

/** How far past the last sample a forecast is drawn: to the OOM, but at most twice the recording's length. */
function forecastEnd(a: Analysis): number | null {
  const f = a.forecast;
  if (f.status !== 'oom-expected' || f.secondsToOom === null || f.secondsToOom <= 0) return null;
  const span = Math.max(1, a.window.toSec - a.window.fromSec);
  return rt(a.window.toSec + Math.min(f.secondsToOom, 2 * span));
}

type Resolve = (key: string) => Float64Array | undefined;

function seriesChart(resolve: Resolve, table: SeriesTable, id: string, title: string, key: string, buckets: number): LeakChart | null {
  const v = resolve(key);
  if (!v) return null;
  const ds = downsampleMinMax(table.t, [v], buckets);
  return { id, title, key, t: ds.t.map(rt), values: (ds.ys[0] ?? []).map(r0), trend: null, band: [null, null], forecastTo: null, threshold: null };
}

function leakChart(resolve: Resolve, a: Analysis, table: SeriesTable, l: Leak, i: number, buckets: number): LeakChart | null {
  const c = seriesChart(resolve, table, `leak${i}`, l.subject, l.key, buckets);
  const v = resolve(l.key);
  if (!c || !v) return c;
  const few = l.ci[0] === null && l.ci[1] === null;
  c.trend = fitLevel(table.t, v, l.rateBytesPerSec, Math.max(l.sinceSec, a.window.fromSec), a.window.toSec);
  if (!few) c.band = l.ci;
  c.forecastTo = forecastEnd(a);
  return c;
}

function availableChart(resolve: Resolve, a: Analysis, table: SeriesTable, buckets: number): LeakChart | null {
  const key = table.series.has('meminfo.MemAvailable') ? 'meminfo.MemAvailable' : table.series.has('free.mem.available') ? 'free.mem.available' : undefined;
  if (key === undefined) return null;
  const c = seriesChart(resolve, table, 'available', 'Available memory and the OOM forecast', key, buckets);
  const v = table.series.get(key);
  if (!c || !v) return c;
  const f = a.forecast;
  const sys = a.system.find((s) => s.key === key) ?? a.system[0];
  const rate = f.fallRateBytesPerSec !== null ? -f.fallRateBytesPerSec : sys?.rateBytesPerSec;
  if (rate !== undefined) c.trend = fitLevel(table.t, v, rate, Math.max(sys?.sinceSec ?? 0, a.window.fromSec), a.window.toSec);
  if (sys && sys.ci[0] !== null && sys.ci[1] !== null && sys.key === key) c.band = sys.ci;
  c.forecastTo = forecastEnd(a);
  if (f.watermarkBytes !== null) c.threshold = { label: `OOM watermark (${f.watermarkSource ?? 'estimated'})`, value: f.watermarkBytes };
  return c;
}

export function sparkValues(table: SeriesTable, key: string, points: number, resolve: Resolve = (k) => table.series.get(k)): number[] {
  const v = resolve(key);
  if (!v) return [];
  return lttb(table.t, v, points).y.map((x) => Math.round(x));
}

/** The sparkline series of the report's tables, keyed as render.ts names them (slab0, proc3, ...). */
export function buildChartData(a: Analysis | undefined, table: SeriesTable | undefined, sparkKeys: ReadonlyMap<string, string>, o: ChartDataOptions = {}): ReportData {
  const buckets = o.buckets ?? 1000;
  const data: ReportData = { version: 1, startedAtMs: table?.startedAtMs ?? null, composition: null, leaks: [], sparklines: {} };
  if (!table) return data;
  const system = systemSeries(table);
  const resolve: Resolve = (k) => table.series.get(k) ?? system.get(k);
  data.composition = compositionChart(table, system, buckets);
  if (a) {
    const avail = availableChart(resolve, a, table, buckets);
    if (avail) data.leaks.push(avail);
    a.leaks.slice(0, o.maxLeaks ?? 6).forEach((l, i) => {
      const c = leakChart(resolve, a, table, l, i, buckets);
      if (c) data.leaks.push(c);
    });
  }
  for (const [id, key] of sparkKeys) data.sparklines[id] = sparkValues(table, key, o.sparkPoints ?? 48, resolve);
  return data;
}
