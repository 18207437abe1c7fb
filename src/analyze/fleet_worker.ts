/** Worker side of fleet.ts: judges one instance's table with analyzeRecording and sends the Analysis back. */
import { parentPort } from 'node:worker_threads';
import { analyzeRecording } from './report_model.js';
import type { FleetJob, FleetJobResult } from './fleet.js';

parentPort?.on('message', (m: FleetJob) => {
  const t0 = performance.now();
  let out: FleetJobResult;
  try {
    out = { id: m.id, analysis: analyzeRecording(m.table, m.options ?? {}), ms: performance.now() - t0 };
  } catch (e) {
    out = { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(out);
});
