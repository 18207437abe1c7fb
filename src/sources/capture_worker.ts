/** Worker thread of capture_parallel.ts: scans ranges of a capture log until none are left. */
import { workerData } from 'node:worker_threads';
import { runWorker, type WorkerJob } from './capture_parallel.js';

runWorker(workerData as WorkerJob);
