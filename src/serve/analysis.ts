/**
 * The dashboard's analysis of a recording: analyzeRecording on the table built from the store, in a worker
 * thread that keeps each recording's bins between runs (analysis_worker.ts), cached and recomputed at most
 * every `refreshSec` seconds (and only when samples arrived since).
 * Concurrent callers share one computation.
 */
import { Worker } from 'node:worker_threads';
import type { Analysis } from '../model/analysis.js';
import type { ReportData } from '../report/html/report_data.js';
import type { AnalysisResponse, ChartSpec } from './api_types.js';

export interface AnalysisJob {
  dbPath: string; recordingId: number;
  /** Bins kept per series (default ANALYSIS_MAX_POINTS); tests make it small to see bins fill. */
  maxBins?: number;
}
export interface AnalysisJobResult {
  analysis: Analysis | null; lastSampleId: number | null; keys: string[]; error: string | null;
  /** The HTML report's data block (buildReportData) of the same table and analysis; absent from runners that skip it. */
  reportData?: ReportData | null;
}

interface Entry { response: AnalysisResponse; keys: Set<string>; reportData: ReportData | null }

export type AnalysisRunner = (job: AnalysisJob, signal: AbortSignal) => Promise<AnalysisJobResult>;

/**
 * Runs jobs in one worker thread that lives until the signal aborts (analysis_worker.ts): it keeps each
 * recording's bins between jobs, so a refresh reads only the samples committed since the last one. A worker
 * that dies fails its jobs; the next job starts a new one (which reads the recordings whole again).
 */
export function persistentWorkerRunner(): AnalysisRunner {
  let worker: Worker | undefined;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (r: AnalysisJobResult) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error): void => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  const start = (signal: AbortSignal): Worker => {
    const w = new Worker(new URL('./analysis_worker.js', import.meta.url), { workerData: { analysisWorker: true } });
    w.unref();
    w.on('message', (m: { id: number; result: AnalysisJobResult }) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      p?.resolve(m.result);
    });
    w.once('error', (e) => { if (worker === w) worker = undefined; failAll(e); });
    w.once('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(new Error(signal.aborted ? 'analysis stopped: the dashboard is closing' : `analysis worker exited with code ${code}`));
    });
    signal.addEventListener('abort', () => { void w.terminate(); }, { once: true });
    return w;
  };
  return (job, signal) => new Promise<AnalysisJobResult>((resolve, reject) => {
    if (signal.aborted) { reject(new Error('analysis stopped: the dashboard is closing')); return; }
    worker ??= start(signal);
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, job });
  });
}

export class AnalysisCache {
  private readonly entries = new Map<number, Entry>();
  private readonly inflight = new Map<number, Promise<Entry>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly dbPath: string,
    readonly refreshSec: number,
    private readonly runner: AnalysisRunner = persistentWorkerRunner(),
    private readonly now: () => number = Date.now,
  ) {}

  /** Cached when fresh enough or when nothing new arrived; otherwise recomputed (waits for it). */
  async get(recordingId: number, lastSampleId: number | null): Promise<AnalysisResponse> {
    const e = this.entries.get(recordingId);
    if (e && !this.stale(e, lastSampleId)) return e.response;
    return (await this.compute(recordingId)).response;
  }

  /** Starts a recomputation when the cached one is stale; resolves to the new response, or undefined when none was due. */
  async refreshIfDue(recordingId: number, lastSampleId: number | null): Promise<AnalysisResponse | undefined> {
    const e = this.entries.get(recordingId);
    if (this.inflight.has(recordingId) || (e && !this.stale(e, lastSampleId))) return undefined;
    return (await this.compute(recordingId)).response;
  }

  /** Stops running analyses (their workers are terminated); waits until they have ended. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** True while an analysis of the recording is being computed. */
  running(recordingId: number): boolean {
    return this.inflight.has(recordingId);
  }

  peek(recordingId: number): AnalysisResponse | undefined {
    return this.entries.get(recordingId)?.response;
  }

  /** Like get(), with the report data block computed alongside (null when the runner made none). */
  async getWithReportData(recordingId: number, lastSampleId: number | null): Promise<{ response: AnalysisResponse; reportData: ReportData | null }> {
    const e = this.entries.get(recordingId);
    const entry = e && !this.stale(e, lastSampleId) ? e : await this.compute(recordingId);
    return { response: entry.response, reportData: entry.reportData };
  }

  private stale(e: Entry, lastSampleId: number | null): boolean {
    return e.response.lastSampleId !== lastSampleId && this.now() - e.response.computedAtMs >= this.refreshSec * 1000;
  }

  private compute(recordingId: number): Promise<Entry> {
    const running = this.inflight.get(recordingId);
    if (running) return running;
    const p = (async (): Promise<Entry> => {
      let r: AnalysisJobResult;
      try {
        r = await this.runner({ dbPath: this.dbPath, recordingId }, this.stopping.signal);
      } catch (err) {
        r = { analysis: null, lastSampleId: null, keys: [], error: err instanceof Error ? err.message : String(err) };
      }
      const keys = new Set(r.keys);
      const entry: Entry = {
        keys, reportData: r.reportData ?? null,
        response: {
          recordingId, computedAtMs: this.now(), lastSampleId: r.lastSampleId, analysis: r.analysis, error: r.error,
          refreshSec: this.refreshSec, charts: chartsFor(r.analysis, keys),
        },
      };
      this.entries.set(recordingId, entry);
      return entry;
    })();
    this.inflight.set(recordingId, p);
    const clear = (): void => { this.inflight.delete(recordingId); };
    p.then(clear, clear);
    return p;
  }
}

const SYSTEM_KEYS = ['meminfo.MemAvailable', 'meminfo.MemFree', 'meminfo.Cached', 'meminfo.SUnreclaim', 'meminfo.AnonPages', 'vmalloc.total.bytes'];
const FREE_KEYS = ['free.mem.available', 'free.mem.used', 'free.mem.free'];
const MAX_CHART_KEYS = 6;
const MAX_LEAK_CHARTS = 4;

/** What the dashboard charts: system memory, one chart per leak (its series and culprits), then the top growers. */
export function chartsFor(analysis: Analysis | null, keys: ReadonlySet<string>): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const sys = SYSTEM_KEYS.filter((k) => keys.has(k));
  const system = sys.length > 0 ? sys : FREE_KEYS.filter((k) => keys.has(k));
  if (system.length > 0) charts.push({ id: 'system', title: 'System memory', keys: system });
  if (!analysis) return charts;
  const charted = new Set(system);
  analysis.leaks.slice(0, MAX_LEAK_CHARTS).forEach((l, i) => {
    const ks = [l.key, ...l.culprits].filter((k, j, all) => keys.has(k) && all.indexOf(k) === j).slice(0, MAX_CHART_KEYS);
    if (ks.length === 0) return;
    ks.forEach((k) => charted.add(k));
    charts.push({ id: `leak-${i}`, title: `Leak: ${l.subject}`, keys: ks });
  });
  const c = analysis.culprits;
  const growers = [...c.slab, ...c.vmalloc, ...c.process, ...c.allocinfo, ...c.file]
    .filter((r) => r.growthBytes > 0 && keys.has(r.key) && !charted.has(r.key))
    .sort((a, b) => b.growthBytes - a.growthBytes)
    .slice(0, MAX_CHART_KEYS)
    .map((r) => r.key);
  if (growers.length > 0) charts.push({ id: 'growers', title: 'Largest growth', keys: growers });
  return charts;
}
