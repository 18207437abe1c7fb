/**
 * Fleet scale benchmark (issue 18): a simulated fleet (bench/fleet_sim.ts: 1,000 instances x 7 days at 15 s by
 * default, leaks of four kinds on 4% of them, page cache, sawtooth, warm-up, daily cycles and steps on the rest)
 * written as OpenMetrics, backfilled into a real Prometheus TSDB with `promtool tsdb create-blocks-from
 * openmetrics`, served by a real `prometheus` on loopback, and analysed by `memsleuth analyze prometheus+http://...`
 * as a child process. Prints the time spent in Prometheus (HTTP round trips) vs in memsleuth (parsing and
 * judging), peak memory, false positives and planted leaks found with the right kind and culprit.
 * Targets: whole fleet < 2 min on this 2-core machine, peak < 1 GB, 0 false positives, every planted leak found.
 *
 * Run: npx tsc -p . && node dist/bench/fleet.js [--instances 1000] [--days 7] [--dir /tmp/memsleuth-fleet]
 *        [--backfill-only] [--step 5m] [--read remote|query]   (remote: raw samples through remote read)
 * The TSDB is kept in --dir and reused when it holds the same fleet (backfilling 1,000 x 7 days takes a while).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { instanceSpec, writeOpenMetrics as writeBatch, DT } from './fleet_sim.js';
import { repoRoot } from '../test/corpus.js';

const args = process.argv.slice(2);
const argOf = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const INSTANCES = Number(argOf('--instances') ?? 1000);
const DAYS = Number(argOf('--days') ?? 7);
const DIR = argOf('--dir') ?? '/tmp/memsleuth-fleet';
const STEP = argOf('--step');
const READ = argOf('--read');
const BATCH = 25;

interface Manifest { instances: number; days: number; endSec: number; seed: number; backfillSec: number; samples: number }

/** utime + stime of a process, seconds (clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

async function backfill(): Promise<Manifest> {
  const tsdb = join(DIR, 'tsdb');
  const mfPath = join(DIR, 'manifest.json');
  if (existsSync(mfPath)) {
    const mf = JSON.parse(readFileSync(mfPath, 'utf8')) as Manifest;
    if (mf.instances === INSTANCES && mf.days === DAYS) {
      console.log(`reusing ${tsdb}: ${mf.instances} instances x ${mf.days} days, ${(mf.samples / 1e6).toFixed(0)} M samples (backfilled in ${mf.backfillSec.toFixed(0)} s)`);
      return mf;
    }
  }
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(tsdb, { recursive: true });
  const n = Math.floor((DAYS * 86400) / DT);
  // End an hour ago on a whole hour, so the head block of the running server never overlaps the backfill.
  const endSec = Math.floor(Date.now() / 3_600_000) * 3600 - 3600;
  const startSec = endSec - (n - 1) * DT;
  const started = Date.now();
  let samples = 0, done = 0;
  // Generating the next batch while promtool reads the last ones: two promtool runs at most, each ~1 GB of memory.
  const running = new Set<Promise<void>>();
  for (let b = 0; b < INSTANCES; b += BATCH) {
    const specs = Array.from({ length: Math.min(BATCH, INSTANCES - b) }, (_, k) => instanceSpec(b + k));
    const file = join(DIR, `batch-${b}.om`);
    samples += writeBatch(file, specs, n, startSec);
    while (running.size >= 2) await Promise.race(running);
    const p = new Promise<void>((resolve, reject) => {
      const child = spawn('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=240h', file, tsdb], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('close', (code) => {
        rmSync(file, { force: true });
        if (code !== 0) { reject(new Error(`promtool failed on batch ${b}: ${err.slice(-2000)}`)); return; }
        done += specs.length;
        process.stdout.write(`backfilled ${done}/${INSTANCES} instances, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
        resolve();
      });
    });
    running.add(p);
    void p.finally(() => running.delete(p)).catch(() => undefined);
  }
  await Promise.all(running);
  process.stdout.write('\n');
  const mf: Manifest = { instances: INSTANCES, days: DAYS, endSec, seed: 1, backfillSec: (Date.now() - started) / 1000, samples };
  writeFileSync(mfPath, JSON.stringify(mf));
  return mf;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function startPrometheus(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const cfg = join(DIR, 'prometheus.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const proc = spawn('prometheus', [
    `--config.file=${cfg}`, `--storage.tsdb.path=${join(DIR, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=3650d', '--query.max-samples=200000000', '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited: ${err.slice(-2000)}`);
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) return { url, proc };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('prometheus did not become ready in 5 min');
}

/**
 * Waits until Prometheus has finished compacting the backfilled blocks (each promtool run wrote overlapping blocks,
 * which the server merges at start): no new compaction for 60 s and the server nearly idle. Not timed.
 */
async function settle(url: string, pid: number | undefined): Promise<void> {
  const metric = async (): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    let n = 0;
    for (const m of text.matchAll(/^prometheus_tsdb_(?:vertical_)?compactions_total (\S+)$/gm)) n += Number(m[1]);
    const blocks = /^prometheus_tsdb_blocks_loaded (\S+)$/m.exec(text);
    return n * 1e6 + Number(blocks?.[1] ?? 0);
  };
  const started = Date.now();
  let last = await metric(), since = Date.now(), cpu = cpuSecondsOf(pid);
  while (Date.now() - started < 3_600_000) {
    await new Promise((r) => setTimeout(r, 10_000));
    const now = await metric();
    const c = cpuSecondsOf(pid);
    const busy = (c - cpu) / 10;
    cpu = c;
    if (now !== last || busy > 0.3) { last = now; since = Date.now(); }
    process.stdout.write(`\rsettling: ${Math.round((Date.now() - started) / 1000)} s, blocks ${now % 1e6}, server CPU ${busy.toFixed(2)} cores   `);
    if (Date.now() - since >= 60_000) break;
  }
  process.stdout.write('\n');
}

interface FleetJson {
  instances: { instance: string; verdict: string; leaks: { kind: string; culprit: string | null; rateBytesPerSec: number }[] }[];
  stats: { instances: number; wallMs: number; prometheusMs: number; parseMs: number; analyzeMs: number; peakRssBytes: number; points: number; step: number; cpuMs: number; workers: number; bytes: number; requests: number };
  read?: { used: string; responseType?: string };
}

async function main(): Promise<void> {
  if (!which('promtool') || !which('prometheus')) {
    console.log('skipped: prometheus and promtool are needed (Debian package "prometheus")');
    return;
  }
  const mf = await backfill();
  if (args.includes('--backfill-only')) return;
  const { url, proc } = await startPrometheus();
  try {
    await settle(url, proc.pid);
    const end = new Date(mf.endSec * 1000).toISOString();
    const cli = join(repoRoot, 'bin', 'memsleuth.js');
    const cliArgs = [cli, 'analyze', `prometheus+${url}`, '--range', `${DAYS}d`, '--end', end, '--json', ...(STEP ? ['--step', STEP] : []), ...(READ ? ['--read', READ] : [])];
    console.log(`$ node ${cliArgs.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}`);
    const promCpu0 = cpuSecondsOf(proc.pid);
    const started = Date.now();
    const r = spawnSync(process.execPath, cliArgs, { encoding: 'utf8', maxBuffer: 1 << 30 });
    const wall = (Date.now() - started) / 1000;
    const promCpu = cpuSecondsOf(proc.pid) - promCpu0;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    if (r.status !== 0 && r.status !== 1) throw new Error(`analyze exited ${r.status}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as FleetJson;
    let fp = 0, found = 0, planted = 0, culpritOk = 0, culpritKnown = 0, inconclusive = 0;
    const byKind = new Map<string, { planted: number; found: number }>();
    const problems: string[] = [];
    const byName = new Map(out.instances.map((i) => [i.instance, i]));
    for (let i = 0; i < mf.instances; i++) {
      const spec = instanceSpec(i);
      const got = byName.get(spec.name);
      if (!got) { problems.push(`${spec.name}: not in the output`); continue; }
      if (got.verdict === 'inconclusive') inconclusive++;
      if (spec.leak) {
        planted++;
        const match = got.leaks.find((l) => l.kind === spec.leak?.kind);
        const k = byKind.get(spec.leak.kind) ?? { planted: 0, found: 0 };
        k.planted++;
        if (match) k.found++;
        byKind.set(spec.leak.kind, k);
        if (match) found++;
        else problems.push(`${spec.name}: planted ${spec.leak.kind} leak not found (verdict ${got.verdict}: ${got.leaks.map((l) => l.kind).join(', ')})`);
        if (got.leaks.some((l) => l.kind !== spec.leak?.kind)) problems.push(`${spec.name}: also reported ${got.leaks.map((l) => l.kind).join(', ')}`);
        if (spec.leak.culprit && (spec.slabinfo || spec.processes)) {
          culpritKnown++;
          if (match?.culprit === spec.leak.culprit) culpritOk++;
          else problems.push(`${spec.name}: culprit ${match?.culprit ?? 'none'} (planted ${spec.leak.culprit})`);
        }
      } else if (got.verdict === 'leak') {
        fp++;
        problems.push(`${spec.name}: false positive ${got.leaks.map((l) => `${l.kind} ${l.culprit ?? ''}`).join(', ')} (shapes ${spec.shapes.join(',')})`);
      }
    }
    const s = out.stats;
    const rows: [string, string, string][] = [
      ['fleet', `${mf.instances} instances x ${mf.days} days at ${DT} s, ${(mf.samples / 1e6).toFixed(0)} M samples`, ''],
      ['backfill (promtool, once)', `${mf.backfillSec.toFixed(0)} s`, ''],
      out.read?.used === 'remote-read'
        ? ['read', `raw samples through remote read (${out.read.responseType ?? '?'}): ${(s.points / 1e6).toFixed(1)} M samples, ${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${s.requests} requests`, '']
        : ['query step', `${s.step} s (${(s.points / 1e6).toFixed(1)} M points read, ${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${s.requests} requests)`, ''],
      ['whole fleet analysed (wall)', `${wall.toFixed(1)} s (load average ${load} on ${availableParallelism()} cores)`, wall < 120 ? 'target < 120 s: met' : 'target < 120 s: MISSED'],
      ['  CPU time in Prometheus (server process)', `${promCpu.toFixed(1)} s`, ''],
      ['  CPU time in memsleuth (all threads)', `${(s.cpuMs / 1000).toFixed(1)} s`, ''],
      ['  waiting on Prometheus (HTTP, summed over requests in flight)', `${(s.prometheusMs / 1000).toFixed(1)} s`, ''],
      ['  memsleuth parsing answers', `${(s.parseMs / 1000).toFixed(1)} s`, ''],
      [`  memsleuth judging (summed over ${s.workers} workers)`, `${(s.analyzeMs / 1000).toFixed(1)} s`, ''],
      ['peak memory (memsleuth, RSS)', `${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB`, s.peakRssBytes < 2 ** 30 ? 'target < 1 GiB: met' : 'target < 1 GiB: MISSED'],
      ['false positives', `${fp} of ${mf.instances - planted}`, fp === 0 ? 'target 0: met' : 'target 0: MISSED'],
      ['planted leaks found, right kind', `${found} of ${planted}`, found === planted ? 'target all: met' : 'target all: MISSED'],
      ...[...byKind].map(([kind, k]): [string, string, string] => [`  ${kind}`, `${k.found} of ${k.planted}`, '']),
      ['culprit named first (slab cache, process)', `${culpritOk} of ${culpritKnown}`, ''],
      ['inconclusive (record longer)', `${inconclusive}`, ''],
    ];
    const w0 = Math.max(...rows.map((x) => x[0].length)), w1 = Math.max(...rows.map((x) => x[1].length));
    console.log(`\n| ${'measure'.padEnd(w0)} | ${'value'.padEnd(w1)} | target |\n|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|---|`);
    for (const [a, b, c] of rows) console.log(`| ${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c} |`);
    if (problems.length > 0) console.log(`\n${problems.slice(0, 40).join('\n')}${problems.length > 40 ? `\n... ${problems.length - 40} more` : ''}`);
  } finally {
    proc.kill('SIGTERM');
  }
}

await main();
