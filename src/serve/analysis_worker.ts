/**
 * Runs the dashboard's analyses off the server's event loop: judging every series of a week-long recording
 * takes about a second, and the live updates must keep flowing meanwhile. One worker lives as long as the
 * dashboard and keeps, per recording, the bin means of every series (store/growing_bins.ts): each job reads
 * only what was committed since the last one (milliseconds), then analyses the ~10,000 bins a series. The
 * analysis re-runs only when a bin is complete: samples that only move the open bin's mean (up to 63 of every
 * 64 in a week at 1 s) cost their read, and the last verdicts stand with a note saying how far they reach.
 * Opens its own read-only connection (better-sqlite3 handles do not cross threads).
 *
 * Messages: in { id, job: AnalysisJob }, out { id, result: AnalysisJobResult }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeRecordingParallel } from '../analyze/report_model.js';
import { summarySentence } from '../report/analysis_text.js';
import { buildReportData } from '../report/html/render.js';
import { openStore, type Store } from '../store/store.js';
import type { GrowingBins } from '../store/growing_bins.js';
import type { AnalysisJob, AnalysisJobResult } from './analysis.js';
import { growingTableFromRecording } from './store_table.js';
import { ANALYSIS_MAX_POINTS } from '../model/series_table.js';

let store: Store | undefined;
const bins = new Map<number, GrowingBins>();
/** Per recording: the last result, and the complete bins (and their width) it was computed on. */
const last = new Map<number, { result: AnalysisJobResult; width: number; complete: number }>();

async function run(job: AnalysisJob): Promise<AnalysisJobResult> {
  store ??= openStore(job.dbPath, { readonly: true });
  let b = bins.get(job.recordingId);
  if (!b) { b = store.growingBins(job.recordingId, job.maxBins ?? ANALYSIS_MAX_POINTS); bins.set(job.recordingId, b); }
  const built = growingTableFromRecording(store, b, `${job.dbPath} (recording ${job.recordingId})`);
  if (!built) return { analysis: null, lastSampleId: null, keys: [], error: null };
  const width = b.binWidth;
  const complete = Math.floor(b.samples / width);
  const prev = last.get(job.recordingId);
  if (prev?.result.analysis && width > 1 && prev.width === width && prev.complete === complete) {
    // Only the open bin moved: the verdicts of the complete bins stand.
    const open = b.samples - complete * width;
    const note = `verdicts from the first ${complete * width} samples (${complete} bins of ${width}); the ${open} samples since join when their bin is complete`;
    const analysis = { ...prev.result.analysis, notes: [...prev.result.analysis.notes.filter((n) => !n.startsWith('verdicts from the first ')), note] };
    return { ...prev.result, analysis, lastSampleId: built.lastSampleId, keys: [...built.table.series.keys()] };
  }
  const keys = [...built.table.series.keys()];
  const analysis = await analyzeRecordingParallel(built.table, {});
  analysis.summary = summarySentence(analysis);
  // The report's data block from the same table and analysis, so the dashboard draws what `analyze --html` would.
  const reportData = buildReportData(analysis, built.table);
  const result: AnalysisJobResult = { analysis, lastSampleId: built.lastSampleId, keys, error: null, reportData };
  last.set(job.recordingId, { result, width, complete });
  return result;
}

const port = parentPort;
if (port && (workerData as { analysisWorker?: boolean } | undefined)?.analysisWorker === true) {
  port.on('message', (m: { id: number; job: AnalysisJob }) => {
    run(m.job).then(
      (result) => port.postMessage({ id: m.id, result }),
      (e: unknown) => port.postMessage({
        id: m.id,
        result: { analysis: null, lastSampleId: null, keys: [], error: e instanceof Error ? e.message : String(e) } satisfies AnalysisJobResult,
      }),
    );
  });
}
