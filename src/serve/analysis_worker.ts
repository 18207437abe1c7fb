/**
 * Runs one analysis of a recording off the server's event loop: building the table and judging every series
 * takes seconds on a week-long recording, and the live updates must keep flowing meanwhile.
 * Opens its own read-only connection (better-sqlite3 handles do not cross threads).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeRecordingParallel } from '../analyze/report_model.js';
import { summarySentence } from '../report/analysis_text.js';
import { buildReportData } from '../report/html/render.js';
import { openStore } from '../store/store.js';
import type { AnalysisJob, AnalysisJobResult } from './analysis.js';
import { binnedTableFromRecording } from './store_table.js';
import { ANALYSIS_MAX_POINTS } from '../model/series_table.js';

async function run(job: AnalysisJob): Promise<AnalysisJobResult> {
  const store = openStore(job.dbPath, { readonly: true });
  try {
    // Binned (store/binned.ts): a week-long recording is read in bounded memory, as `memsleuth analyze` reads it.
    const built = binnedTableFromRecording(store, job.recordingId, `${job.dbPath} (recording ${job.recordingId})`, ANALYSIS_MAX_POINTS);
    if (!built) return { analysis: null, lastSampleId: null, keys: [], error: null };
    const keys = [...built.table.series.keys()];
    const analysis = await analyzeRecordingParallel(built.table, {});
    analysis.summary = summarySentence(analysis);
    // The report's data block from the same table and analysis, so the dashboard draws what `analyze --html` would.
    const reportData = buildReportData(analysis, built.table);
    return { analysis, lastSampleId: built.lastSampleId, keys, error: null, reportData };
  } finally {
    store.close();
  }
}

const port = parentPort;
if (port) {
  run(workerData as AnalysisJob).then(
    (r) => port.postMessage(r),
    (e: unknown) => port.postMessage({ analysis: null, lastSampleId: null, keys: [], error: e instanceof Error ? e.message : String(e) } satisfies AnalysisJobResult),
  );
}
