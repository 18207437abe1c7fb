/**
 * uPlot charts of a report (and of the live dashboard, which calls the same functions with its own data):
 * memory composition as stacked areas, and one series with its trend line, confidence band, forecast and a
 * threshold. Byte axes with a fixed width, so stacked charts line up; time is wall clock when known.
 */
import uPlot from 'uplot';
import type { CompositionChart, LeakChart, TrendLine } from '../report_data.js';
import { formatBytes, formatDuration } from './format.js';

export interface ChartOptions {
  /** Wall-clock ms of t = 0; null draws seconds since the start. */
  startedAtMs: number | null;
  height?: number;
}

const AXIS_WIDTH = 78;

function xScale(o: ChartOptions): { toX: (t: number) => number; time: boolean } {
  const s = o.startedAtMs;
  return s === null ? { toX: (t) => t, time: false } : { toX: (t) => s / 1000 + t, time: true };
}

function xSeries(time: boolean): uPlot.Series {
  return time ? { label: 'time' } : { label: 'time', value: (_u, v) => formatDuration(v) };
}

function axes(o: ChartOptions, time: boolean): uPlot.Axis[] {
  const x: uPlot.Axis = time ? {} : { values: (_u, splits) => splits.map((v) => formatDuration(v)) };
  return [x, { size: AXIS_WIDTH, values: (_u, splits) => splits.map((v) => formatBytes(v)) }];
}

function autoWidth(el: HTMLElement, plot: uPlot, height: number): void {
  if (typeof ResizeObserver === 'undefined') return;
  let last = el.clientWidth;
  new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && w !== last) { last = w; plot.setSize({ width: w, height }); }
  }).observe(el);
}

const widthOf = (el: HTMLElement): number => Math.max(320, el.clientWidth || 900);

/** Stacked areas: series are cumulative sums drawn top group first, each filled to zero over the one before. */
export function compositionChart(el: HTMLElement, c: CompositionChart, o: ChartOptions): uPlot {
  const height = o.height ?? 320;
  const { toX, time } = xScale(o);
  const n = c.t.length;
  const cum: (number | null)[][] = [];
  const run = new Array<number>(n).fill(0);
  const seen = new Array<boolean>(n).fill(false);
  for (const g of c.groups) {
    cum.push(g.values.map((v, i) => {
      if (v === null) return seen[i] ? run[i] as number : null;
      seen[i] = true;
      run[i] = (run[i] as number) + v;
      return run[i] as number;
    }));
  }
  const order = c.groups.map((_, i) => i).reverse();
  const sparse = (c.groups[0]?.values.filter((v) => v !== null).length ?? 0) < 60;
  const series: uPlot.Series[] = [xSeries(time)];
  const data: (number | null)[][] = [c.t.map(toX)];
  for (const gi of order) {
    const g = c.groups[gi];
    if (!g) continue;
    series.push({
      label: g.label,
      stroke: g.color,
      fill: g.color,
      width: 1,
      // Sparse meminfo (a log with two full dumps) still draws: samples between are not gaps in memory.
      spanGaps: true,
      points: { show: sparse },
      value: (_u, _v, _si, idx) => (idx === null ? '--' : formatBytes(g.values[idx] ?? null)),
    });
    data.push(cum[gi] ?? []);
  }
  const opts: uPlot.Options = {
    width: widthOf(el),
    height,
    scales: { x: { time }, y: { range: (_u, _min, max) => [0, max] } },
    axes: axes(o, time),
    series,
    cursor: { points: { show: false } },
  };
  const plot = new uPlot(opts, data as uPlot.AlignedData, el);
  autoWidth(el, plot, height);
  return plot;
}

const lineAt = (tr: TrendLine, rate: number, t: number): number => tr.y0 + rate * (t - tr.t0);

/** One series, its fitted trend over the judged window, the rate's confidence band, and the forecast beyond. */
export function leakChart(el: HTMLElement, c: LeakChart, o: ChartOptions): uPlot {
  const height = o.height ?? 240;
  const { toX, time } = xScale(o);
  const t = [...c.t];
  const lastT = t.length ? (t[t.length - 1] as number) : 0;
  const tr = c.trend;
  const future = c.forecastTo !== null && c.forecastTo > lastT && tr !== null ? c.forecastTo : null;
  if (future !== null) t.push(future);
  const n = t.length;
  const values = [...c.values];
  const sparse = values.filter((v) => v !== null).length < 60;
  if (future !== null) values.push(null);
  const inWindow = (x: number): boolean => tr !== null && x >= tr.from && x <= tr.to;
  const trend = t.map((x) => (tr && inWindow(x) ? lineAt(tr, tr.rate, x) : null));
  const forecast = t.map((x, i) => (tr && future !== null && (i === n - 1 || x === tr.to) ? lineAt(tr, tr.rate, x) : null));
  const [lo, hi] = c.band;
  const bandEnd = future ?? tr?.to ?? lastT;
  const bandOn = (x: number): boolean => tr !== null && x >= tr.from && x <= bandEnd;
  const bandLo = t.map((x) => (tr && lo !== null && bandOn(x) ? lineAt(tr, lo, x) : null));
  const bandHi = t.map((x) => (tr && hi !== null && bandOn(x) ? lineAt(tr, hi, x) : null));

  const series: uPlot.Series[] = [
    xSeries(time),
    { label: c.title, stroke: '#1f5f99', width: 1.5, spanGaps: true, points: { show: sparse, size: 5 }, value: (_u, v) => formatBytes(v) },
    { label: 'trend', stroke: '#c0392b', width: 2, spanGaps: true, points: { show: false }, value: (_u, v) => formatBytes(v) },
    { label: 'forecast', stroke: '#c0392b', width: 2, dash: [6, 5], spanGaps: true, points: { show: false }, value: (_u, v) => formatBytes(v) },
    { label: 'CI high', stroke: 'rgba(192,57,43,0.35)', width: 1, spanGaps: true, points: { show: false }, value: (_u, v) => formatBytes(v) },
    { label: 'CI low', stroke: 'rgba(192,57,43,0.35)', width: 1, spanGaps: true, points: { show: false }, value: (_u, v) => formatBytes(v) },
  ];
  const data: (number | null)[][] = [t.map(toX), values, trend, forecast, bandHi, bandLo];
  if (c.threshold) {
    const v = c.threshold.value;
    series.push({ label: c.threshold.label, stroke: '#6d6d6d', width: 1, dash: [2, 3], spanGaps: true, points: { show: false }, value: () => formatBytes(v) });
    data.push(t.map((_, i) => (i === 0 || i === n - 1 ? v : null)));
  }
  const opts: uPlot.Options = {
    width: widthOf(el),
    height,
    scales: { x: { time } },
    axes: axes(o, time),
    series,
    bands: [{ series: [4, 5], fill: 'rgba(192,57,43,0.12)' }],
    cursor: { points: { show: false } },
  };
  const plot = new uPlot(opts, data as uPlot.AlignedData, el);
  autoWidth(el, plot, height);
  return plot;
}
