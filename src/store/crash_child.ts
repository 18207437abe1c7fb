/**
 * Test helper for the crash test in store.test.ts: records samples as fast as it can and prints
 * "<sampleId> <i>" for the samples of each commit (store/writer.ts commits groups of samples), until the parent kills it with SIGKILL.
 *   node dist/src/store/crash_child.js DB_FILE [MAX_SAMPLES]
 * Values are a pure function of the sample index (crashValues), so the parent can check every one.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { openStore } from './store.js';

/** Flat, stepping, noisy, fractional and coming-and-going (PID reuse) series. */
export function crashValues(i: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let j = 0; j < 40; j++) {
    const v = j < 10 ? i * 1000 + j : j < 30 ? Math.floor(i / (j + 3)) * 4096 : 12345 + j;
    m.set(`s.${j}`, v);
  }
  m.set('frac', i * 0.25 + 0.1);
  if (i % 100 < 50) m.set(`proc.worker:${1000 + Math.floor(i / 100) % 3}.uss`, (i % 100) * 4096);
  return m;
}

function main(): void {
  const [file, maxArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: crash_child DB_FILE [MAX_SAMPLES]');
  const max = Number(maxArg ?? '1000000');
  const store = openStore(file);
  const w = store.beginRecording({ target: { name: 'crash-test' }, startedAtMs: 1_700_000_000_000, intervalSec: 1, rawEverySec: 5 });
  const pending: string[] = [];
  for (let i = 0; i < max; i++) {
    const takenAtMs = 1_700_000_000_000 + i * 1000;
    const r = w.appendSample({
      takenAtMs, uptimeSec: 100 + i, bootId: 'boot-a', values: crashValues(i),
      raw: [{ kind: 'meminfo', text: `MemFree: ${i} kB\n` }], skipped: i % 10 === 0 ? [`/proc/1/smaps_rollup: sample ${i}`] : [],
    });
    // Synchronous write, once the sample's group is committed: every printed id was committed.
    pending.push(`${r.sampleId} ${i}\n`);
    if (r.committedThrough === r.sampleId) { writeSync(1, pending.join('')); pending.length = 0; }
  }
  w.close();
  store.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
