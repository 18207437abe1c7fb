/**
 * Runs traceKernel for a long window, for the SIGTERM test: prints "ready" once tracing is on, then waits
 * to be killed. Usage: node trace_child.js bpftrace|ftrace
 */
import { traceKernel } from '../index.js';

const engine = process.argv[2] === 'ftrace' ? 'ftrace' : 'bpftrace';
let ready = false;
void traceKernel({
  engine,
  durationSec: 120,
  settleSec: 1,
  onProgress: (m) => {
    if (!ready && (m.startsWith('bpftrace attached') || m.startsWith('ftrace instance'))) { ready = true; process.stdout.write('ready\n'); }
  },
}).then(
  () => { process.stdout.write('finished\n'); },
  (err: unknown) => { process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
