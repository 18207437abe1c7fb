/**
 * Test helpers for the capture-log readers: every path (generic, fast, parallel; Map and typed rows) must give
 * what flattenSnapshot(toSnapshot(sample)) gives. Used by capture_fast.test.ts and capture_parallel.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCaptureScript } from '../capture/script.js';
import type { FrameFile } from '../capture/framing.js';
import { flattenSnapshot, type SeriesValues } from '../model/series.js';
import type { Snapshot } from '../model/snapshot.js';
import { ingestSeries, ingestSeriesTyped, ingestToSnapshots, rowToMap, type SeriesMeta, type SeriesOptions } from './capture_file.js';

export interface Got { t: number; values: Map<string, number>; meta: SeriesMeta }

export function series(path: string, options: SeriesOptions): { got: Got[]; path: string } {
  const got: Got[] = [];
  const r = ingestSeries(path, options, (t, values, meta) => got.push({ t, values: new Map(values), meta }));
  // The typed API gives the same samples: its rows as Maps, its key numbers one per key string.
  const typed: Got[] = [];
  const seen = new Map<string, number>();
  const rt = ingestSeriesTyped(path, options, (t, row, meta) => {
    for (let i = 0; i < row.count; i++) {
      const id = row.ids[i] as number;
      const key = row.keys.names[id] as string;
      assert.equal(seen.get(key) ?? id, id, `key ${key} keeps its number`);
      seen.set(key, id);
    }
    typed.push({ t, values: rowToMap(row), meta });
  });
  assert.equal(rt.path, r.path);
  assert.equal(r.samples, got.length);
  assert.deepStrictEqual(typed, got);
  return { got, path: r.path };
}

/** What the generic path gives: flattenSnapshot(toSnapshot(sample)) and the snapshot's warnings. */
export function reference(path: string, intervalSec: number): Got[] {
  const out: Got[] = [];
  ingestToSnapshots(path, {
    intervalSec,
    onSample: (snap, s) => {
      const meta: SeriesMeta = { index: s.index, firstLine: s.firstLine, sections: s.sections.map((x) => x.name), kinds: s.sections.map((x) => x.kind), timestamp: s.timestamp, warnings: snap.warnings };
      if (snap.processes.length > 0) meta.pids = snap.processes.map((p) => p.pid);
      if (snap.zoneinfo) meta.zones = snap.zoneinfo.zones;
      out.push({ t: s.timestamp.sec, values: flattenSnapshot(snap), meta });
    },
  });
  return out;
}

export function withFile<T>(text: string, fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ms-capture-'));
  try {
    const path = join(dir, 'capture.log');
    writeFileSync(path, text);
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One pass of the capture loop `memsleuth script` prints for these files, run by sh, its output ingested: the
 * series of each sample, as a board's log would give them.
 */
export function oneCapturePass(files: readonly FrameFile[], dir: string): SeriesValues[] {
  const script = buildCaptureScript({ intervalSec: 1, files }).replace('while true; do', 'for pass in 1; do');
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const log = join(dir, 'capture.log');
  writeFileSync(log, r.stdout);
  const got: Snapshot[] = [];
  ingestToSnapshots(log, { intervalSec: 1, onSample: (snap) => got.push(snap) });
  return got.map((snap) => flattenSnapshot(snap));
}

const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/**
 * The per-line stamps of the usual terminal loggers (terminal_noise.ts reads them), by the time they print, in
 * ms since the epoch: the ones with a date time a sample on both paths ('terminal'); the others (a time of day,
 * grabserial's relative seconds) are the generic path's.
 */
export const STAMPS: Record<string, (ms: number) => string> = {
  // minicom / SecureCRT "[2026-12-07 10:00:01.123] "
  minicom: (ms) => `[${new Date(ms).toISOString().slice(0, 23).replace('T', ' ')}] `,
  // ISO 8601 with a T, a fraction and an offset (the time is printed an hour ahead, +01:00)
  iso: (ms) => `${new Date(ms + 3_600_000).toISOString().slice(0, 23)}+01:00 `,
  // moreutils `ts %.s`
  epoch: (ms) => `${(ms / 1000).toFixed(6)} `,
  // moreutils `ts` default "Dec 07 10:00:01 " (no year: the current one)
  ts: (ms) => {
    const d = new Date(ms);
    return `${MONTH_NAMES[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${d.toISOString().slice(11, 19)} `;
  },
  // dmesg -T "[Mon Dec  7 01:24:03 2026] "
  dmesgT: (ms) => {
    const d = new Date(ms);
    return `[${DAY_NAMES[d.getUTCDay()]} ${MONTH_NAMES[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}] `;
  },
  // tio -t "[10:00:01.123] " (a time of day)
  tio: (ms) => `[${new Date(ms).toISOString().slice(11, 23)}] `,
  // grabserial -t "[    1.234567 0.000021] " (relative)
  grabserial: (ms) => `[${((ms % 1e7) / 1000).toFixed(6).padStart(12, ' ')} 0.000021] `,
};

/** Every line of text (LF or CRLF ends) with a logger's stamp: line k printed at t0 + k * stepMs. */
export function stampLines(text: string, stamp: (ms: number) => string, t0 = Date.UTC(2026, 11, 7, 9, 59, 58), stepMs = 7): string {
  const lines = text.split('\n');
  const last = lines.pop();
  const out = lines.map((l, k) => `${stamp(t0 + k * stepMs)}${l}`);
  if (last !== undefined && last !== '') out.push(`${stamp(t0 + lines.length * stepMs)}${last}`);
  return `${out.join('\n')}${last === '' ? '\n' : ''}`;
}
