/**
 * Analyses many series of one recording on all cores. The shared time axis is sent once per worker;
 * each series' values travel as a transferable Float64Array (moved, not copied: the caller loses them).
 * Jobs may come from a (lazy) iterable so a caller never holds all series at once; at most `inFlight`
 * batches per worker are queued.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Finding } from '../model/finding.js';
import type { AnalyzeOptions } from './trend.js';
import type { SeriesKind } from './rules/index.js';

export interface SeriesJob {
  subject: string;
  v: Float64Array;
  kind?: SeriesKind;
}

export interface ParallelOptions {
  workers?: number;
  batchSize?: number;
  inFlight?: number;
}

export interface WorkerInit {
  type: 'init';
  t: Float64Array;
  options: AnalyzeOptions;
}

export interface WorkerBatch {
  type: 'batch';
  id: number;
  jobs: SeriesJob[];
}

export interface WorkerDone {
  type: 'done';
  id: number;
  findings: Finding[];
}

export interface WorkerFailed {
  type: 'error';
  id: number;
  message: string;
}

export async function analyzeParallel(
  t: Float64Array,
  jobs: Iterable<SeriesJob>,
  options: AnalyzeOptions = {},
  parallel: ParallelOptions = {},
): Promise<Finding[]> {
  const nWorkers = Math.max(1, parallel.workers ?? availableParallelism());
  const batchSize = parallel.batchSize ?? 8;
  const inFlight = parallel.inFlight ?? 2;
  const url = new URL('./parallel_worker.js', import.meta.url);
  const workers = Array.from({ length: nWorkers }, () => new Worker(url));
  const results: Finding[][] = [];
  const it = jobs[Symbol.iterator]();
  let nextId = 0;
  let exhausted = false;

  const take = (): SeriesJob[] => {
    const batch: SeriesJob[] = [];
    while (!exhausted && batch.length < batchSize) {
      const r = it.next();
      if (r.done) exhausted = true;
      else batch.push(r.value);
    }
    return batch;
  };

  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let pending = 0;
            const send = (): void => {
              const batch = take();
              if (batch.length === 0) {
                if (pending === 0) resolve();
                return;
              }
              const msg: WorkerBatch = { type: 'batch', id: nextId++, jobs: batch };
              pending++;
              w.postMessage(msg, batch.map((j) => j.v.buffer as ArrayBuffer));
            };
            w.on('message', (m: WorkerDone | WorkerFailed) => {
              if (m.type === 'error') {
                reject(new Error(`analysis worker failed on batch ${m.id}: ${m.message}`));
                return;
              }
              results[m.id] = m.findings;
              pending--;
              send();
            });
            w.on('error', reject);
            w.postMessage({ type: 'init', t, options } satisfies WorkerInit);
            for (let i = 0; i < inFlight; i++) send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.flat();
}
