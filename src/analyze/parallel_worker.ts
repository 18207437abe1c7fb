/** Worker side of parallel.ts: holds the recording's time axis, analyses batches of series. */
import { parentPort } from 'node:worker_threads';
import { analyzeSeries, type AnalyzeOptions } from './trend.js';
import type { WorkerBatch, WorkerDone, WorkerFailed, WorkerInit } from './parallel.js';

let t: Float64Array = new Float64Array(0);
let options: AnalyzeOptions = {};

parentPort?.on('message', (m: WorkerInit | WorkerBatch) => {
  if (m.type === 'init') {
    t = m.t;
    options = m.options;
    return;
  }
  try {
    const findings = m.jobs.map((j) => analyzeSeries(t, j.v, { ...options, subject: j.subject, ...(j.kind ? { kind: j.kind } : {}) }));
    parentPort?.postMessage({ type: 'done', id: m.id, findings } satisfies WorkerDone);
  } catch (e) {
    parentPort?.postMessage({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) } satisfies WorkerFailed);
  }
});
