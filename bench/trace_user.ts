/**
 * `memsleuth trace user`, side by side in one run, on three C workloads built here:
 *   (a) loop:   N malloc(64)/free pairs with 1% (100 B) leaked from one known line; the slowdown of its timed loop
 *               (CPU time of the process, CLOCK_PROCESS_CPUTIME_ID: the machine is shared, wall time is printed too)
 *   (b) leak:   leaks ~100 KB/s from one line while churning ~800 KB/s through another (8 KB blocks, ring of 64)
 *   (c) server: 4 threads serve "requests" (request and response buffers freed, a bounded session cache), one
 *               line leaks a context per 20th request (~50 KB/s)
 * Tools: plain, the sampler (launch and attach), heaptrack, valgrind, the bpftrace engine, the first-touch (page
 * fault) engine. For (b) and (c): is the leaking line first in the tool's leak list, is the churn line absent from
 * it, and (sampler) the rate the verdict rules give against the rate the program measured itself.
 * Leak list: sampler = sites whose verdict is leak ((a): live at the end, it runs too briefly for a series);
 * valgrind = definitely lost; heaptrack, bpftrace = outstanding at the end at or above 64 KiB (what
 * `run --fail-on leak` gates on); first touch = its sites (not a leak list).
 * Run: npm run bench:trace [-- --n 5000000 --slow-n 500000 --secs 20 --only a,b,c --tools sampler,heaptrack,...]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AllocationSite } from '../src/model/allocation_site.js';
import { traceUser } from '../src/trace/user/index.js';
import type { UserTraceOptions, UserTraceResult } from '../src/trace/user/index.js';
import { DEFAULT_SAMPLE_BYTES } from '../src/trace/user/index.js';
import { findTool } from '../src/symbolize/addr2line.js';
import { judgeSites } from '../src/cli/trace_user.js';
import { EVIDENCE_PARSERS } from '../src/parse/evidence/index.js';

const arg = (name: string, dflt: string): string => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] ?? dflt : dflt; };
const N = Number(arg('--n', '5000000'));
const SLOW_N = Number(arg('--slow-n', '500000'));
const SECS = Number(arg('--secs', '20'));
const onlyScen = arg('--only', 'a,b,c').split(',');
const onlyTools = arg('--tools', '').split(',').filter((x) => x !== '');
const want = (tool: string): boolean => onlyTools.length === 0 || onlyTools.includes(tool);
const isRoot = process.getuid?.() === 0;

const COMMON = `#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
void *volatile sink;
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }
/* SIGTERM ends the run early and still reports (attach mode stops the program that way). */
static volatile sig_atomic_t stop_now;
static void on_term(int s) { (void)s; stop_now = 1; }
/* Attach mode: READY, then wait for the file named by WAIT_FILE before the measured part starts. */
static void gate(void) {
  const char *w = getenv("WAIT_FILE");
  signal(SIGTERM, on_term);
  printf("READY\\n"); fflush(stdout);
  if (w) while (access(w, F_OK) != 0) usleep(1000);
}
static void report(const char *what, double v) {
  const char *o = getenv("OUT_FILE");
  FILE *f = o ? fopen(o, "a") : stderr;
  fprintf(f ? f : stderr, "%s %.6f\\n", what, v);
  if (f && f != stderr) fclose(f);
}
`;

const LOOP_C = `${COMMON}
__attribute__((noinline)) void *leaky(size_t n) { return malloc(n); /* @leak */ }
__attribute__((noinline)) void *temp(size_t n) { return malloc(n); /* @churn */ }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 5000000;
  gate();
  double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
  for (long i = 0; i < n; i++) {
    if (i % 100 == 0) { char *p = leaky(100); memset(p, 1, 100); sink = p; continue; }
    char *q = temp(64); q[0] = 1; free(q);
  }
  report("LOOP", now(CLOCK_PROCESS_CPUTIME_ID) - c0);
  report("WALL", now(CLOCK_MONOTONIC) - w0);
  return 0;
}
`;

const LEAK_C = `${COMMON}
static void *ring[64];
__attribute__((noinline)) void *leak_line(size_t n) { return malloc(n); /* @leak */ }
__attribute__((noinline)) void *churn_line(size_t n) { return malloc(n); /* @churn */ }
int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 20;
  gate();
  double t0 = now(CLOCK_MONOTONIC);
  long leaked = 0;
  for (long i = 0; !stop_now && now(CLOCK_MONOTONIC) - t0 < secs; i++) {
    char *p = leak_line(1000); memset(p, 1, 1000); sink = p; leaked += 1000;
    char *q = churn_line(8000); memset(q, 2, 8000);
    free(ring[i % 64]); ring[i % 64] = q;
    usleep(10000);
  }
  report("RATE", leaked / (now(CLOCK_MONOTONIC) - t0));
  return 0;
}
`;

const SERVER_C = `${COMMON}
#define WORKERS 4
#define CACHE 256
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *cache[CACHE];
static long requests, leaked;
static double t0, secs;
__attribute__((noinline)) void *request_buffer(size_t n) { return malloc(n); /* @churn */ }
__attribute__((noinline)) void *response_buffer(size_t n) { return calloc(1, n); }
__attribute__((noinline)) void *session_entry(size_t n) { return malloc(n); }
__attribute__((noinline)) void *request_context(size_t n) { return malloc(n); /* @leak */ }
static void *worker(void *arg) {
  unsigned seed = (unsigned)(long)arg;
  while (!stop_now && now(CLOCK_MONOTONIC) - t0 < secs) {
    char *req = request_buffer(2048 + rand_r(&seed) % 2048); memset(req, 1, 2048);
    char *resp = response_buffer(4096 + rand_r(&seed) % 4096);
    void *s = session_entry(512);
    pthread_mutex_lock(&lock);
    long r = requests++;
    int slot = rand_r(&seed) % CACHE;
    free(cache[slot]); cache[slot] = s;
    if (r % 20 == 0) { char *ctx = request_context(1250); memset(ctx, 3, 1250); sink = ctx; leaked += 1250; }
    pthread_mutex_unlock(&lock);
    free(resp); free(req);
    usleep(5000);
  }
  return NULL;
}
int main(int argc, char **argv) {
  secs = argc > 1 ? atof(argv[1]) : 20;
  gate();
  t0 = now(CLOCK_MONOTONIC);
  pthread_t t[WORKERS];
  for (long i = 0; i < WORKERS; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
  for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
  report("RATE", leaked / (now(CLOCK_MONOTONIC) - t0));
  return 0;
}
`;

const lineOf = (src: string, marker: string): number => src.split('\n').findIndex((l) => l.includes(marker)) + 1;
const dir = mkdtempSync(join(tmpdir(), 'memsleuth-bench-trace-'));
const cflags = ['-g', '-O1', '-fno-omit-frame-pointer', '-pthread'];
interface Scenario { key: 'a' | 'b' | 'c'; name: string; src: string; file: string; exe: string; args: string[]; slowArgs?: string[] }
const scenarios: Scenario[] = [
  { key: 'a', name: `(a) ${N.toLocaleString()} malloc/free, 1% leaked`, src: LOOP_C, file: 'loop.c', exe: '', args: [String(N)], slowArgs: [String(SLOW_N)] },
  { key: 'b', name: `(b) leak ~100 KB/s + churn ~800 KB/s, ${SECS} s`, src: LEAK_C, file: 'leak.c', exe: '', args: [String(SECS)] },
  { key: 'c', name: `(c) 4-thread server, leak ~50 KB/s, ${SECS} s`, src: SERVER_C, file: 'server.c', exe: '', args: [String(SECS)] },
];
for (const s of scenarios) {
  writeFileSync(join(dir, s.file), s.src);
  s.exe = join(dir, s.file.replace(/\.c$/, ''));
  execFileSync('gcc', [...cflags, '-o', s.exe, join(dir, s.file)]);
}

interface Row { scenario: string; tool: string; n?: number; loop?: number; wall?: number; slowdown?: number; first?: boolean; churnListed?: boolean; rate?: number; realRate?: number; note: string }
const rows: Row[] = [];
const readOut = (file: string): Record<string, number> => {
  const out: Record<string, number> = {};
  if (!existsSync(file)) return out;
  for (const l of readFileSync(file, 'utf8').split('\n')) { const [k, v] = l.split(' '); if (k && v) out[k] = Number(v); }
  return out;
};
let outSeq = 0;
const outFile = (): string => join(dir, `out-${++outSeq}.txt`);
const atLine = (s: AllocationSite, sc: Scenario, marker: string): boolean => s.stack.some((f) => f.file?.endsWith(sc.file) === true && f.line === lineOf(sc.src, marker));

/** Leak-list judgement of a result: is the leak line first, is the churn line in it, and the sampler's rate. */
async function judge(r: UserTraceResult, sc: Scenario): Promise<Pick<Row, 'first' | 'churnListed' | 'rate'>> {
  // (a) runs for a tenth of a second: no series to judge; every tool is asked what is live at the end.
  if (r.series !== undefined && sc.key !== 'a') {
    const v = await judgeSites(r);
    const leaks = r.sites.map((s, i) => ({ s, v: v[i] })).filter((x) => x.v?.verdict === 'leak').sort((x, y) => (y.v?.rateBytesPerSec ?? 0) - (x.v?.rateBytesPerSec ?? 0));
    const top = leaks[0];
    const out: Pick<Row, 'first' | 'churnListed' | 'rate'> = { first: top !== undefined && atLine(top.s, sc, '@leak'), churnListed: leaks.some((x) => atLine(x.s, sc, '@churn')) };
    if (process.env['BENCH_DEBUG'] !== undefined && out.first !== true) {
      const li = r.sites.findIndex((x) => atLine(x, sc, '@leak'));
      console.error(`debug ${sc.key}: leak site #${li} verdict ${JSON.stringify(v[li])}; problems: ${r.problems.join(' | ')}; points ${JSON.stringify(r.series?.[li]?.points.slice(-5))}`);
      for (const x of r.sites.slice(0, 4)) console.error(`  site ${x.bytes} B ${x.stack.slice(0, 4).map((f) => `${f.symbol ?? f.address}:${f.line ?? ''}`).join(' < ')}`);
      for (const x of leaks) console.error(`leak-list ${sc.key}: ${x.v?.verdict} ${x.v?.rule} ${Math.round(x.v?.rateBytesPerSec ?? 0)} B/s ${x.s.bytes} B ${x.s.stack.slice(1, 3).map((f) => `${f.symbol}:${f.line}`).join(' < ')}`);
    }
    const leakSite = r.sites.findIndex((s) => atLine(s, sc, '@leak'));
    const lv = v[leakSite];
    if (lv !== undefined) out.rate = lv.rateBytesPerSec;
    return out;
  }
  const list = r.engine === 'faults' ? r.sites : r.sites.filter((s) => s.bytes >= 64 * 1024);
  const top = list[0];
  const leakSite = r.sites.find((s) => atLine(s, sc, '@leak'));
  const out: Pick<Row, 'first' | 'churnListed' | 'rate'> = { first: top !== undefined && atLine(top, sc, '@leak'), churnListed: list.some((s) => atLine(s, sc, '@churn')) };
  if (leakSite !== undefined && r.durationSec > 0 && sc.key !== 'a') out.rate = leakSite.bytes / r.durationSec;
  return out;
}

async function launch(sc: Scenario, tool: string, o: Omit<UserTraceOptions, 'command'>, slow = false, note = ''): Promise<void> {
  const file = outFile();
  const args = slow && sc.slowArgs ? sc.slowArgs : sc.args;
  const t0 = process.hrtime.bigint();
  try {
    const r = await traceUser({ ...o, command: [sc.exe, ...args], stdio: 'ignore', env: { OUT_FILE: file } });
    const out = readOut(file);
    const row: Row = { scenario: sc.key, tool, wall: Number(process.hrtime.bigint() - t0) / 1e9, note: `${note}${r.problems.length > 0 ? ` (${r.problems.length} problems)` : ''}`, ...(await judge(r, sc)) };
    if (sc.key === 'a') { row.n = Number(args[0]); if (out['LOOP'] !== undefined) row.loop = out['LOOP']; }
    if (out['RATE'] !== undefined) row.realRate = out['RATE'];
    rows.push(row);
  } catch (err) {
    rows.push({ scenario: sc.key, tool, note: `failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

/** Starts the program held at its gate, attaches, opens the gate once the sampler is in; (a) runs to its end. */
async function attachRun(sc: Scenario, o: Omit<UserTraceOptions, 'pid'>, tool: string): Promise<void> {
  const file = outFile();
  const wait = join(dir, `go-${outSeq}`);
  const child = spawn(sc.exe, sc.key === 'a' ? sc.args : [String(SECS * 2)], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, WAIT_FILE: wait, OUT_FILE: file } });
  const pid = child.pid ?? 0;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).on('line', (l) => { if (l === 'READY') resolve(); }));
  const t0 = process.hrtime.bigint();
  try {
    const traced = traceUser({ ...o, pid, ...(sc.key === 'a' ? {} : { durationSec: SECS }) });
    // Open the gate once the sampler is mapped and the injector has let go of the process.
    for (;;) {
      const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
      const tracer = /^TracerPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (maps.includes('libmemsleuth_sampler') && tracer === '0') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    writeFileSync(wait, '');
    const r = await traced;
    const alive = existsSync(`/proc/${pid}/stat`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (sc.key !== 'a') child.kill('SIGTERM');
    await exited;
    const out = readOut(file);
    const row: Row = { scenario: sc.key, tool, wall: Number(process.hrtime.bigint() - t0) / 1e9, note: `${sc.key === 'a' ? '' : alive ? 'process ran on after detach' : 'PROCESS DIED'}${r.problems.length > 0 ? ` (${r.problems.length} problems)` : ''}`, ...(await judge(r, sc)) };
    if (sc.key === 'a') { row.n = N; if (out['LOOP'] !== undefined) row.loop = out['LOOP']; }
    if (out['RATE'] !== undefined) row.realRate = out['RATE'];
    rows.push(row);
  } catch (err) {
    child.kill('SIGKILL');
    rows.push({ scenario: sc.key, tool, note: `failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

function plainRun(sc: Scenario, args: string[]): Record<string, number> {
  const file = outFile();
  spawnSync(sc.exe, args, { stdio: 'ignore', env: { ...process.env, OUT_FILE: file } });
  return readOut(file);
}

/** heaptrack and valgrind run directly; their reports go through memsleuth's parsers. */
function direct(sc: Scenario, tool: 'heaptrack' | 'valgrind', slow: boolean): void {
  const file = outFile();
  const args = slow && sc.slowArgs ? sc.slowArgs : sc.args;
  const env = { ...process.env, OUT_FILE: file };
  const t0 = process.hrtime.bigint();
  let sites: AllocationSite[] = [];
  if (tool === 'heaptrack') {
    const base = join(dir, `ht-${outSeq}`);
    spawnSync('heaptrack', ['-o', base, sc.exe, ...args], { stdio: 'ignore', env });
    const data = [`${base}.zst`, `${base}.gz`, base].find((f) => existsSync(f));
    if (data !== undefined) {
      const printed = spawnSync('heaptrack_print', ['--print-leaks=1', '--print-peaks=0', '--print-allocators=0', '--print-temporary=0', '-f', data], { encoding: 'utf8', maxBuffer: 256 << 20 });
      sites = EVIDENCE_PARSERS['heaptrack'](printed.stdout).value.sites;
    }
  } else {
    const xml = join(dir, `vg-${outSeq}.xml`);
    spawnSync('valgrind', ['--leak-check=full', '--xml=yes', `--xml-file=${xml}`, sc.exe, ...args], { stdio: 'ignore', env });
    if (existsSync(xml)) sites = EVIDENCE_PARSERS['valgrind-xml'](readFileSync(xml, 'utf8')).value.sites.filter((s) => s.kind === 'definite');
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = readOut(file);
  sites.sort((x, y) => y.bytes - x.bytes);
  const list = tool === 'valgrind' ? sites : sites.filter((s) => s.bytes >= 64 * 1024);
  const leakSite = sites.find((s) => atLine(s, sc, '@leak'));
  const row: Row = { scenario: sc.key, tool: `${tool} (direct)`, wall, first: list[0] !== undefined && atLine(list[0], sc, '@leak'), churnListed: list.some((s) => atLine(s, sc, '@churn')), note: tool === 'valgrind' ? 'definitely lost' : 'leaked at exit' };
  if (sc.key === 'a') { row.n = Number(args[0]); if (out['LOOP'] !== undefined) row.loop = out['LOOP']; }
  else if (leakSite !== undefined) row.rate = leakSite.bytes / SECS;
  if (out['RATE'] !== undefined) row.realRate = out['RATE'];
  rows.push(row);
}

const plain: Record<string, number> = {};
const sa = scenarios[0] as Scenario;
if (onlyScen.includes('a')) {
  const runs = (args: string[]): number => { const v = Array.from({ length: 5 }, () => plainRun(sa, args)['LOOP'] ?? NaN).sort((x, y) => x - y); return v[2] ?? NaN; };
  plain['a'] = runs(sa.args);
  plain['a-slow'] = runs(sa.slowArgs ?? []);
  rows.push({ scenario: 'a', tool: 'plain', n: N, loop: plain['a'], note: 'median of 5' });
}
const hasBpf = isRoot && findTool('bpftrace') !== undefined;
for (const sc of scenarios) {
  if (!onlyScen.includes(sc.key)) continue;
  if (sc.key !== 'a') { const out = plainRun(sc, ['2']); rows.push({ scenario: sc.key, tool: 'plain (2 s)', ...(out['RATE'] !== undefined ? { realRate: out['RATE'] } : {}), note: 'the program alone' }); }
  if (want('sampler')) {
    await launch(sc, 'sampler launch', { engine: 'sampler' }, false, `mean ${DEFAULT_SAMPLE_BYTES / 1024} KiB`);
    if (isRoot) await attachRun(sc, { engine: 'sampler' }, 'sampler attach');
  }
  if (want('heaptrack') && findTool('heaptrack') !== undefined) direct(sc, 'heaptrack', false);
  if (want('valgrind') && findTool('valgrind') !== undefined) direct(sc, 'valgrind', sc.key === 'a');
  if (want('bpftrace') && hasBpf) await launch(sc, 'bpftrace engine', { engine: 'bpftrace' }, true, 'free: tracefs');
  if (want('faults') && hasBpf) await launch(sc, 'first-touch (faults) engine', { engine: 'faults' }, false, 'pages, not calls; no frees');
}

const fmtRate = (v: number | undefined): string => (v === undefined ? '-' : `${(v / 1000).toFixed(1)} KB/s`);
const pad = (s: string, n: number): string => s.padEnd(n);
console.log(`trace user benchmark (${new Date().toISOString()}); gcc ${cflags.join(' ')}; sampler mean interval ${DEFAULT_SAMPLE_BYTES} B`);
console.log('slowdown: CPU time of the loop under the tool / plain (same n; slow tools at --slow-n). rate: per-site growth the tool reports vs the rate the program measured itself');
console.log(`${pad('scen', 5)}${pad('tool', 30)}${pad('n', 9)}${pad('loop s', 9)}${pad('slowdown', 9)}${pad('wall s', 8)}${pad('leak 1st', 9)}${pad('churn', 9)}${pad('rate', 12)}${pad('real', 12)}${pad('err', 7)}note`);
for (const r of rows) {
  const base = r.n === N ? plain['a'] : r.n === SLOW_N ? plain['a-slow'] : undefined;
  const slow = r.loop !== undefined && base !== undefined ? `${(r.loop / base).toFixed(2)}x` : '-';
  const real = r.realRate ?? rows.find((x) => x.scenario === r.scenario && x.tool.startsWith('plain') && x.realRate !== undefined)?.realRate;
  const err = r.rate !== undefined && real !== undefined ? `${(((r.rate - real) / real) * 100).toFixed(0)}%` : '-';
  console.log(`${pad(r.scenario, 5)}${pad(r.tool, 30)}${pad(r.n !== undefined ? String(r.n) : '', 9)}${pad(r.loop?.toFixed(3) ?? '-', 9)}${pad(slow, 9)}${pad(r.wall?.toFixed(1) ?? '-', 8)}${pad(r.first === undefined ? '-' : r.first ? 'yes' : 'NO', 9)}${pad(r.churnListed === undefined ? '-' : r.churnListed ? 'LISTED' : 'absent', 9)}${pad(fmtRate(r.rate), 12)}${pad(fmtRate(real), 12)}${pad(err, 7)}${r.note}`);
}
rmSync(dir, { recursive: true, force: true });
