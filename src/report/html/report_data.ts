/**
 * What the server embeds for the browser client: the `<script type="application/json" id="memsleuth-data">`
 * block of a report (and what a live dashboard may hand the same chart code). Types only, importing nothing, so
 * the browser bundle and Node share it. Times are seconds on the recording's axis; `startedAtMs` turns them into
 * wall-clock time when known. Values are bytes; null where not sampled.
 */

export interface ChartSeries {
  label: string;
  /** CSS colour. */
  color: string;
  values: (number | null)[];
}

/** Stacked areas of where MemTotal went, bottom group first. */
export interface CompositionChart {
  t: number[];
  groups: ChartSeries[];
}

/** A straight line y = y0 + rate * (t - t0), drawn over [from, to]. */
export interface TrendLine {
  t0: number;
  y0: number;
  rate: number;
  from: number;
  to: number;
}

/** One leaking series: samples, fitted trend, confidence band (the rate's CI pivoting at t0), and its forecast. */
export interface LeakChart {
  id: string;
  title: string;
  key: string;
  t: number[];
  values: (number | null)[];
  trend: TrendLine | null;
  /** Rates bounding the band; null when the data cannot bound them. */
  band: [number | null, number | null];
  /** Extend the trend to this time (the expected OOM, capped to keep the samples readable). */
  forecastTo: number | null;
  /** A horizontal line (the OOM watermark on the MemAvailable chart). */
  threshold: { label: string; value: number } | null;
}

export interface ReportData {
  version: 1;
  startedAtMs: number | null;
  composition: CompositionChart | null;
  leaks: LeakChart[];
  /** Sparkline id (the data-spark attribute of a table cell's canvas) -> downsampled values. */
  sparklines: Record<string, number[]>;
}
