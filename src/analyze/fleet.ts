/**
 * The fleet driver: every instance's SeriesTable through the one verdict policy of analyzeRecording (nothing
 * forked), streamed: tables come from an async source one at a time, each is judged on a worker thread (one per
 * core) and dropped once its row is made, so memory holds at most the instances in flight. The rows rank the fleet
 * by leak rate: leaking instances first (fastest first), then undecided ones, then the rest.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { SeriesTable } from '../model/series_table.js';
import type { Analysis } from '../model/analysis.js';
import type { FleetRow } from '../model/fleet.js';
import { analyzeRecording, type AnalyzeRecordingOptions } from './report_model.js';

/** The row of one judged instance. */
export function fleetRow(instance: string, a: Analysis, table: SeriesTable): FleetRow {
  const last = (key: string): number | null => {
    const v = table.series.get(key);
    if (!v) return null;
    for (let i = v.length - 1; i >= 0; i--) if (Number.isFinite(v[i] as number)) return v[i] as number;
    return null;
  };
  const memTotal = last('meminfo.MemTotal');
  return {
    instance,
    verdict: a.verdict,
    confidence: a.confidence,
    leakRateBytesPerSec: a.leaks.reduce((n, l) => n + Math.max(0, l.rateBytesPerSec), 0),
    leaks: a.leaks.map((l) => ({ kind: l.kind, subject: l.subject, culprit: l.culprits[0] ?? null, rateBytesPerSec: l.rateBytesPerSec, since: l.since, confidence: l.confidence })),
    forecast: { status: a.forecast.status, secondsToOom: a.forecast.secondsToOom, at: a.forecast.at },
    memTotalBytes: memTotal,
    samples: a.window.samples,
    fromIso: a.window.startedAt,
    spark: sparkOf(table, memTotal),
    error: null,
    ...(table.meta.notes.length > 0 ? { notes: [...table.meta.notes] } : {}),
  };
}

export function errorRow(instance: string, error: string): FleetRow {
  return {
    instance, verdict: 'error', confidence: null, leakRateBytesPerSec: 0, leaks: [], forecast: { status: 'unknown', secondsToOom: null, at: null },
    memTotalBytes: null, samples: 0, fromIso: null, spark: [], error,
  };
}

function sparkOf(table: SeriesTable, memTotal: number | null, points = 60): number[] {
  const avail = table.series.get('meminfo.MemAvailable') ?? table.series.get('meminfo.MemFree');
  if (!avail || memTotal === null) return [];
  const n = avail.length;
  const out: number[] = [];
  for (let b = 0; b < Math.min(points, n); b++) {
    const from = Math.floor((b * n) / Math.min(points, n)), to = Math.floor(((b + 1) * n) / Math.min(points, n));
    let s = 0, k = 0;
    for (let i = from; i < to; i++) { const x = avail[i] as number; if (Number.isFinite(x)) { s += x; k++; } }
    if (k > 0) out.push(Math.round(memTotal - s / k));
  }
  return out;
}

const RANK: Record<FleetRow['verdict'], number> = { leak: 0, inconclusive: 1, error: 2, 'no-leak': 3 };

/** Leaking instances by leak rate (fastest first), then undecided, failed and healthy ones, each by name. */
export function rankFleet(rows: FleetRow[]): FleetRow[] {
  return rows.sort((a, b) => RANK[a.verdict] - RANK[b.verdict] || b.leakRateBytesPerSec - a.leakRateBytesPerSec || a.instance.localeCompare(b.instance));
}

export interface FleetSourceItem { instance: string; table?: SeriesTable; error?: string; /** How it was read ('remote-read', 'query_range'). */ read?: string }

export interface FleetOptions {
  analyze?: Omit<AnalyzeRecordingOptions, 'precomputed' | 'now'>;
  /** Worker threads (default: the number of cores; 0 judges on the calling thread). */
  workers?: number;
  /** Called with each judged instance while its table is still held (drill-down pages are written here). */
  onInstance?: (row: FleetRow, analysis: Analysis | null, table: SeriesTable | null) => void | Promise<void>;
}

export interface FleetStats { instances: number; judged: number; failed: number; analyzeMs: number; workers: number }

/** Worker protocol (fleet_worker.ts). */
export interface FleetJob { id: number; table: SeriesTable; options: FleetOptions['analyze'] }
export type FleetJobResult = { id: number; analysis: Analysis; ms: number } | { id: number; error: string };

/** Judges every instance of the source; returns the ranked rows. */
export async function analyzeFleet(source: AsyncIterable<FleetSourceItem>, options: FleetOptions = {}): Promise<{ rows: FleetRow[]; stats: FleetStats }> {
  const nWorkers = options.workers ?? Math.max(1, availableParallelism());
  const rows: FleetRow[] = [];
  const stats: FleetStats = { instances: 0, judged: 0, failed: 0, analyzeMs: 0, workers: nWorkers };
  const finish = async (instance: string, table: SeriesTable | null, analysis: Analysis | null, error: string | null, read?: string): Promise<void> => {
    const row = analysis && table ? fleetRow(instance, analysis, table) : errorRow(instance, error ?? 'no data');
    if (read !== undefined) row.read = read;
    if (row.verdict === 'error') stats.failed++;
    else stats.judged++;
    rows.push(row);
    await options.onInstance?.(row, analysis, table);
  };
  const judgeHere = (table: SeriesTable): Analysis => analyzeRecording(table, options.analyze ?? {});

  if (nWorkers === 0) {
    for await (const item of source) {
      stats.instances++;
      if (!item.table || item.table.t.length === 0) { await finish(item.instance, null, null, item.error ?? 'no samples in the range', item.read); continue; }
      const t0 = performance.now();
      let a: Analysis | null = null, err: string | null = null;
      try { a = judgeHere(item.table); } catch (e) { err = (e as Error).message; }
      stats.analyzeMs += performance.now() - t0;
      await finish(item.instance, item.table, a, err, item.read);
    }
    return { rows: rankFleet(rows), stats };
  }

  const workers = Array.from({ length: nWorkers }, () => new Worker(new URL('./fleet_worker.js', import.meta.url)));
  const idle: Worker[] = [...workers];
  const waiting: (() => void)[] = [];
  const inFlight = new Set<Promise<void>>();
  let nextId = 0;
  const run = (w: Worker, instance: string, table: SeriesTable, read?: string): Promise<void> =>
    new Promise<FleetJobResult>((resolve, reject) => {
      const id = nextId++;
      const onMessage = (m: FleetJobResult): void => { if (m.id === id) { w.off('message', onMessage); w.off('error', reject); resolve(m); } };
      w.on('message', onMessage);
      w.once('error', reject);
      w.postMessage({ id, table, options: options.analyze } satisfies FleetJob);
    }).then(async (m) => {
      if ('error' in m) await finish(instance, table, null, m.error, read);
      else { stats.analyzeMs += m.ms; await finish(instance, table, m.analysis, null, read); }
    }).finally(() => {
      idle.push(w);
      waiting.shift()?.();
    });
  try {
    for await (const item of source) {
      stats.instances++;
      if (!item.table || item.table.t.length === 0) { await finish(item.instance, null, null, item.error ?? 'no samples in the range', item.read); continue; }
      while (idle.length === 0) await new Promise<void>((r) => waiting.push(r));
      const w = idle.pop() as Worker;
      const p = run(w, item.instance, item.table, item.read);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await Promise.all(inFlight);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { rows: rankFleet(rows), stats };
}
