/**
 * `memsleuth trace user` overhead, side by side in one run: a C workload (N malloc/free pairs, 1% leaked from one
 * known line) plain, under each memsleuth engine, under heaptrack directly, valgrind --leak-check=full, and built with
 * -fsanitize=address and -fsanitize=leak. Prints the slowdown of the workload's own timed loop (it reads
 * CLOCK_MONOTONIC around the loop, so tool start-up and end-of-run analysis are not in it; wall time is printed too)
 * and whether the tool named the leaking file:line.
 * Run: npx tsc -p . && node dist/bench/trace_user.js [--n 5000000] [--slow-n 500000] [--only name,name]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AllocationSite } from '../src/model/allocation_site.js';
import { traceUser } from '../src/trace/user/index.js';
import type { UserTraceOptions } from '../src/trace/user/index.js';
import { findTool } from '../src/symbolize/addr2line.js';

const arg = (name: string, dflt: string): string => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] ?? dflt : dflt; };
const N = Number(arg('--n', '5000000'));
const SLOW_N = Number(arg('--slow-n', '500000'));
const only = arg('--only', '').split(',').filter((x) => x !== '');

export const WORKLOAD_C = `#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
void *volatile sink;
__attribute__((noinline)) void *leaky(size_t n) { return malloc(n); /* LEAK */ }
__attribute__((noinline)) void *temp(size_t n) { return malloc(n); }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 5000000;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    if (i % 100 == 0) { char *p = leaky(100); memset(p, 1, 100); sink = p; continue; }
    char *q = temp(64); q[0] = 1; free(q);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  sink = 0;
  FILE *out = argc > 2 ? fopen(argv[2], "w") : stderr;
  fprintf(out ? out : stderr, "LOOP %.6f\\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
`;
const LEAK_LINE = WORKLOAD_C.split('\n').findIndex((l) => l.includes('/* LEAK */')) + 1;

const dir = mkdtempSync(join(tmpdir(), 'memsleuth-bench-trace-'));
const src = join(dir, 'workload.c');
writeFileSync(src, WORKLOAD_C);
const cflags = ['-g', '-O1', '-fno-omit-frame-pointer'];
execFileSync('gcc', [...cflags, '-o', join(dir, 'plain'), src]);
let haveAsan = true;
let haveLsan = true;
try { execFileSync('gcc', [...cflags, '-fsanitize=address', '-o', join(dir, 'asan'), src], { stdio: 'ignore' }); } catch { haveAsan = false; }
try { execFileSync('gcc', [...cflags, '-fsanitize=leak', '-o', join(dir, 'lsan'), src], { stdio: 'ignore' }); } catch { haveLsan = false; }

interface Row { name: string; n: number; loop?: number; wall?: number; found?: boolean; note: string }
const rows: Row[] = [];
const names = (text: string): boolean => new RegExp(`workload\\.c:${LEAK_LINE}\\b`).test(text);
const loopOf = (text: string): number | undefined => { const m = /LOOP ([\d.]+)/.exec(text); return m ? Number(m[1]) : undefined; };
const want = (name: string): boolean => only.length === 0 || only.includes(name);

function runCmd(name: string, cmd: string, args: string[], opts: { n?: number; env?: Record<string, string>; found: (out: string) => boolean; note?: string }): void {
  if (!want(name)) return;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...(opts.env ?? {}) }, maxBuffer: 512 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = `${r.stdout}\n${r.stderr}`;
  const row: Row = { name, n: opts.n ?? N, wall, found: opts.found(out), note: opts.note ?? '' };
  const loop = loopOf(out);
  if (loop !== undefined) row.loop = loop;
  rows.push(row);
}

const topNames = (sites: AllocationSite[]): boolean => {
  const top = sites[0];
  return top !== undefined && top.stack.some((f) => f.file?.endsWith('workload.c') === true && f.line === LEAK_LINE);
};

async function runEngine(name: string, o: Omit<UserTraceOptions, 'command'>, n: number, note: string): Promise<void> {
  if (!want(name)) return;
  const t0 = process.hrtime.bigint();
  let captured = '';
  // The workload writes its LOOP line to the file named by its second argument.
  const errFile = join(dir, `${name}.err`);
  try {
    const r = await traceUser({ ...o, command: [join(dir, 'plain'), String(n), errFile], stdio: 'ignore' });
    captured = readText(errFile);
    const row: Row = { name, n, wall: Number(process.hrtime.bigint() - t0) / 1e9, found: topNames(r.sites), note: `${note}${r.problems.length > 0 ? ` (${r.problems.length} problems)` : ''}` };
    const loop = loopOf(captured);
    if (loop !== undefined) row.loop = loop;
    rows.push(row);
  } catch (err) {
    rows.push({ name, n, note: `failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

function readText(p: string): string {
  try { return execFileSync('cat', [p], { encoding: 'utf8' }); } catch { return ''; }
}

const plainRuns: number[] = [];
for (let i = 0; i < 5; i++) {
  const r = spawnSync(join(dir, 'plain'), [String(N)], { encoding: 'utf8' });
  const l = loopOf(r.stderr);
  if (l !== undefined) plainRuns.push(l);
}
plainRuns.sort((a, b) => a - b);
const plain = plainRuns[Math.floor(plainRuns.length / 2)] ?? NaN;
const t0 = process.hrtime.bigint();
spawnSync(join(dir, 'plain'), [String(N)]);
const plainWall = Number(process.hrtime.bigint() - t0) / 1e9;
const plainSlow = (() => { const r = spawnSync(join(dir, 'plain'), [String(SLOW_N)], { encoding: 'utf8' }); return loopOf(r.stderr) ?? NaN; })();

if (findTool('heaptrack') !== undefined) {
  runCmd('heaptrack (direct)', '/bin/sh', ['-c', `heaptrack -o ${dir}/direct ${dir}/plain ${N} && heaptrack_print --print-leaks=1 --print-peaks=0 --print-allocators=0 --print-temporary=0 -f ${dir}/$(ls ${dir} | grep '^direct' | head -1)`], { found: names });
}
if (findTool('valgrind') !== undefined) runCmd('valgrind --leak-check=full', 'valgrind', ['--leak-check=full', join(dir, 'plain'), String(N)], { found: (t) => /definitely lost/.test(t) && names(t) });
if (haveAsan) runCmd('gcc -fsanitize=address', join(dir, 'asan'), [String(N)], { env: { ASAN_OPTIONS: 'detect_leaks=1' }, found: names });
if (haveLsan) runCmd('gcc -fsanitize=leak', join(dir, 'lsan'), [String(N)], { found: names });
if (findTool('heaptrack') !== undefined) await runEngine('memsleuth heaptrack', { engine: 'heaptrack' }, N, 'launch (LD_PRELOAD); attach goes through gdb');
if (findTool('bpftrace') !== undefined && process.getuid?.() === 0) {
  await runEngine('memsleuth faults', { engine: 'faults' }, N, 'attachable; pages, not calls');
  await runEngine('memsleuth bpftrace (free: tracefs +9)', { engine: 'bpftrace', freeProbe: 'tracefs' }, SLOW_N, 'attachable');
  await runEngine('memsleuth bpftrace (no free probe)', { engine: 'bpftrace', freeProbe: 'none' }, SLOW_N, 'attachable; address reuse');
  await runEngine('memsleuth bpftrace (sample 1/100)', { engine: 'bpftrace', sampleEvery: 100 }, SLOW_N, 'attachable');
  await runEngine('memsleuth bpftrace (free: bpftrace uprobe)', { engine: 'bpftrace', freeProbe: 'uprobe' }, SLOW_N, 'attachable; free single-stepped');
}

console.log(`trace user benchmark: ${N.toLocaleString()} malloc/free pairs, 1% leaked at workload.c:${LEAK_LINE}; plain loop ${plain.toFixed(3)} s (median of 5), wall ${plainWall.toFixed(3)} s; gcc ${cflags.join(' ')}`);
console.log('slowdown = workload loop time under the tool / plain loop time at the same n (slow engines run at --slow-n)');
const pad = (s: string, n: number): string => s.padEnd(n);
console.log(`${pad('tool', 44)}${pad('n', 10)}${pad('loop s', 10)}${pad('slowdown', 10)}${pad('wall s', 9)}${pad('leak line', 11)}note`);
for (const r of rows) {
  const base = r.n === N ? plain : r.n === SLOW_N ? plainSlow : NaN;
  const slow = r.loop !== undefined ? `${(r.loop / base).toFixed(1)}x` : '-';
  console.log(`${pad(r.name, 44)}${pad(String(r.n), 10)}${pad(r.loop?.toFixed(3) ?? '-', 10)}${pad(slow, 10)}${pad(r.wall?.toFixed(2) ?? '-', 9)}${pad(r.found === undefined ? '-' : r.found ? 'found' : 'NOT found', 11)}${r.note}`);
}
const skipped = readdirSync(dir).length === 0;
if (skipped) console.log('nothing ran');
rmSync(dir, { recursive: true, force: true });
