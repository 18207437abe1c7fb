/**
 * Analysis memory does not grow with the recording's length (issue 15): a "day" and a "week" (7x the samples) of
 * the same board are read from their stores and analysed; the heap they hold (after a collection, with the
 * table and the analysis alive) stays within 2x. Binned reading (store/binned.ts) is what makes it so: both
 * read as the same number of bins. Dense tables, as analyze read them before, would hold 7x. Not timed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openStore } from '../store/store.js';
import { analyzeRecording } from '../analyze/report_model.js';
import { tableFromStore } from './analyze.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SERIES = 150;
const MOVING = 20;
const DAY_SAMPLES = 1500;
const MAX_POINTS = 1200;

/** A board sampled every second: SERIES slab caches (MOVING of them noisy, one leaking) and meminfo. */
function writeRecording(file: string, samples: number): void {
  const store = openStore(file);
  const w = store.beginRecording({ target: { name: 'board' }, startedAtMs: 1_735_689_600_000, intervalSec: 1 });
  let seed = 17;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const level = Array.from({ length: SERIES }, (_, i) => 4096 * (100 + i));
  for (let i = 0; i < samples; i++) {
    const values = new Map<string, number>([['meminfo.MemTotal', 512e6], ['meminfo.MemFree', 200e6 - i * 40], ['meminfo.MemAvailable', 300e6 - i * 40]]);
    for (let c = 0; c < SERIES; c++) {
      if (c < MOVING) level[c] = Math.max(0, (level[c] as number) + 4096 * (Math.floor(rnd() * 3) - 1));
      values.set(`slab.cache_${c}.bytes`, (level[c] as number) + (c === 0 ? Math.floor(i / 100) * 4096 : 0));
    }
    w.appendSample({ takenAtMs: 1_735_689_600_000 + i * 1000, values });
  }
  w.close();
  store.close();
}

/** Collects until array buffers freed by the last collection are released too (that happens a tick later). */
async function settle(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

async function heldBytes(file: string): Promise<{ bytes: number; samples: number; points: number }> {
  const before = await settle();
  const table = await tableFromStore(file, undefined, {}, MAX_POINTS);
  const analysis = analyzeRecording(table);
  const after = await settle();
  const bytes = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  // Keep both alive until measured.
  return { bytes, samples: analysis.window.samples, points: table.t.length };
}

test('the heap held by analysis of a 7x longer recording stays within 2x (binned read)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-analyze-mem-'));
  try {
    const day = join(dir, 'day.db');
    const week = join(dir, 'week.db');
    writeRecording(day, DAY_SAMPLES);
    writeRecording(week, 7 * DAY_SAMPLES);
    await heldBytes(day); // warm-up: lazily loaded modules and compiled code are not the analysis' memory
    const d = await heldBytes(day);
    const w = await heldBytes(week);
    assert.equal(d.samples, DAY_SAMPLES);
    assert.equal(w.samples, 7 * DAY_SAMPLES);
    assert.equal(d.points, MAX_POINTS);
    assert.equal(w.points, MAX_POINTS);
    // Dense, the week's table alone would be SERIES x 10,500 x 8 B = 12.6 MB against the day's 1.8 MB.
    assert.ok(d.bytes > 0 && w.bytes < 2 * d.bytes, `held after a day: ${d.bytes} B, after a week: ${w.bytes} B`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
