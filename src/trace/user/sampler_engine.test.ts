/**
 * The sampler engine on real programs built here: launch (LD_PRELOAD) and attach (ptrace injection), threads,
 * fork and exec, realloc chains and every interposed function, a process that exits during the trace, and a
 * detach that leaves the process running. `exact` (every allocation recorded) makes counts deterministic; the
 * sampling itself is tested on its numbers in sampler_sites.test.ts. No timing bounds: waits end on events.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AllocationSite } from '../../model/allocation_site.js';
import { findTool } from '../../symbolize/addr2line.js';
import { gcc, lineOf, runUntilReady, sleep, tempDir, writeSource } from '../../symbolize/test_programs.js';
import { traceUser } from './index.js';
import type { UserTraceResult } from './index.js';
import { isAlive } from './target.js';

const PROGRAM_C = `#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
void *volatile sink;
__attribute__((noinline)) void *leak_here(size_t n) { return malloc(n); /* @leak */ }
__attribute__((noinline)) void *scratch(size_t n) { return malloc(n); /* @scratch */ }
__attribute__((noinline)) void *thread_leak(size_t n) { return malloc(n); /* @thread */ }
__attribute__((noinline)) void *child_leak(size_t n) { return malloc(n); /* @child */ }
__attribute__((noinline)) void *exec_leak(size_t n) { return malloc(n); /* @exec */ }
__attribute__((noinline)) void *grow(void *p, size_t n) { return realloc(p, n); /* @realloc */ }

static void churn(int n) { for (int i = 0; i < n; i++) { char *q = scratch(64); q[0] = 1; free(q); } }
static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) { sink = thread_leak(256); churn(10); }
  return NULL;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : getenv("MODE") ? getenv("MODE") : "leak";
  if (!strcmp(mode, "leak")) {
    for (int i = 0; i < 200; i++) { sink = leak_here(400); churn(99); }
  } else if (!strcmp(mode, "threads")) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  } else if (!strcmp(mode, "fork")) {
    for (int i = 0; i < 10; i++) sink = leak_here(400);
    pid_t c = fork();
    if (c == 0) { for (int i = 0; i < 20; i++) sink = child_leak(500); exit(0); }
    waitpid(c, NULL, 0);
    execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
    return 1;
  } else if (!strcmp(mode, "exec")) {
    for (int i = 0; i < 30; i++) sink = exec_leak(600);
  } else if (!strcmp(mode, "functions")) {
    void *p = NULL;
    for (int i = 1; i <= 100; i++) p = grow(p, (size_t)i * 100);
    sink = p;
    void *q;
    sink = calloc(10, 30);
    if (posix_memalign(&q, 64, 700) == 0) sink = q;
    sink = aligned_alloc(64, 640);
    sink = memalign(64, 900);
    sink = valloc(5000);
    void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *gone = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 1 << 16);
    sink = m;
    free(sink = reallocarray(NULL, 10, 10));
  } else if (!strcmp(mode, "serve")) {
    /* Attach target: READY, then leak and churn until the file STOP_FILE appears, and once more after it: an
       injection holds the process still until its hooks are in, so a STOP_FILE written meanwhile still meets one
       hooked leak (without it, the loop could see the file first thing and exit with nothing traced). */
    const char *stop = getenv("STOP_FILE");
    printf("READY\\n"); fflush(stdout);
    for (;;) {
      int last = stop && access(stop, F_OK) == 0;
      sink = leak_here(400); churn(99);
      if (last) break;
      usleep(2000);
    }
  }
  return 0;
}
`;

const isX64 = process.arch === 'x64';
const hasGcc = findTool('gcc') !== undefined;
const skip = !hasGcc ? 'needs gcc' : false;
const skipAttach = skip !== false ? skip : process.getuid?.() !== 0 ? 'needs root (ptrace)' : !isX64 && findTool('gdb') === undefined ? 'needs gdb off x86-64' : false;
for (const [what, why] of [['sampler engine', skip], ['sampler attach', skipAttach]] as const) if (why !== false) console.log(`# skipping ${what}: ${why}`);

let dir = '';
let exe = '';
let cleanup = (): void => undefined;
before(() => {
  if (!hasGcc) return;
  const t = tempDir('sampler');
  dir = t.dir;
  cleanup = t.cleanup;
  writeSource(dir, 'prog.c', PROGRAM_C);
  gcc(['-g', '-O1', '-fno-omit-frame-pointer', '-pthread', '-o', 'prog', 'prog.c'], dir);
  exe = join(dir, 'prog');
});
after(() => cleanup());

const at = (marker: string): number => lineOf(PROGRAM_C, marker);
const names = (site: AllocationSite | undefined, marker: string): boolean => site !== undefined && site.stack.some((f) => f.file?.endsWith('prog.c') === true && f.line === at(marker));
const siteAt = (r: UserTraceResult, marker: string, pid?: number): AllocationSite | undefined => r.sites.find((s) => names(s, marker) && (pid === undefined || s.pids?.includes(pid) === true));
const describe = (r: UserTraceResult): string => `${r.sites.slice(0, 6).map((s) => `${s.pids?.join(',')}: ${s.bytes}B x${s.count} ${s.stack.map((f) => `${f.symbol ?? f.address ?? '?'}@${f.file ?? ''}:${f.line ?? ''}`).slice(0, 3).join(' < ')}`).join('\n')}\n${r.problems.join('\n')}`;
const exact = { engine: 'sampler' as const, exact: true, stdio: 'ignore' as const };

test('launch: the leaking line holds exactly what it leaked; the churn line holds nothing', { skip, timeout: 120_000 }, async () => {
  const r = await traceUser({ ...exact, command: [exe, 'leak'] });
  assert.equal(r.ended, 'exited');
  assert.equal(r.exitCode, 0);
  assert.ok(names(r.sites[0], '@leak'), describe(r));
  assert.deepEqual([r.sites[0]?.bytes, r.sites[0]?.count, r.sites[0]?.stack[0]?.symbol], [80000, 200, 'malloc']);
  assert.equal(siteAt(r, '@scratch'), undefined, describe(r));
  assert.ok((r.stats['matchedFrees'] ?? 0) >= 200 * 99, JSON.stringify(r.stats)); // plus the launch gate's shell, before its exec
  // The series of the leaking site ends at what it holds at exit.
  assert.equal(r.series?.[0]?.points.at(-1)?.value, 80000);
  assert.equal(r.series?.[0]?.liveBytesSe, 0);
});

test('threads: four threads each leak 100 blocks; all 400 are found, none of their churn', { skip, timeout: 120_000 }, async () => {
  const r = await traceUser({ ...exact, command: [exe, 'threads'] });
  const s = siteAt(r, '@thread');
  assert.deepEqual([s?.bytes, s?.count], [400 * 256, 400], describe(r));
  assert.equal(siteAt(r, '@scratch'), undefined, describe(r));
});

test('fork and exec: the child and the exec\'d image speak for themselves; the image before exec is released', { skip, timeout: 120_000 }, async () => {
  const r = await traceUser({ ...exact, command: [exe, 'fork'] });
  const child = siteAt(r, '@child');
  assert.deepEqual([child?.bytes, child?.count], [20 * 500, 20], describe(r));
  assert.notEqual(child?.pids?.[0], r.pid);
  const exec = siteAt(r, '@exec', r.pid);
  assert.deepEqual([exec?.bytes, exec?.count], [30 * 600, 30], describe(r));
  assert.equal(siteAt(r, '@leak', r.pid), undefined, 'the 10 blocks leaked before exec went with the old image');
  assert.ok((r.stats['execs'] ?? 0) >= 1);
  assert.ok((r.stats['processes'] ?? 0) >= 2);
});

test('every interposed function, a realloc chain and munmap', { skip, timeout: 120_000 }, async () => {
  const r = await traceUser({ ...exact, command: [exe, 'functions'] });
  const chain = siteAt(r, '@realloc');
  assert.deepEqual([chain?.bytes, chain?.count, chain?.stack[0]?.symbol], [10000, 1, 'realloc'], describe(r));
  const byFn = new Map<string, number>();
  for (const s of r.sites) { const fn = s.stack[0]?.symbol ?? '?'; byFn.set(fn, (byFn.get(fn) ?? 0) + s.bytes); }
  assert.deepEqual(Object.fromEntries(['calloc', 'posix_memalign', 'aligned_alloc', 'memalign', 'valloc', 'mmap'].map((f) => [f, byFn.get(f)])),
    { calloc: 300, posix_memalign: 700, aligned_alloc: 640, memalign: 900, valloc: 5000, mmap: 1 << 20 }, describe(r));
  assert.equal(byFn.get('reallocarray'), undefined, 'freed again');
});

test('the sampler can be turned off: no socket, no records, the program runs as usual', { skip, timeout: 60_000 }, async () => {
  const { ensureSampler } = await import('./native_lib.js');
  const { spawnSync } = await import('node:child_process');
  const lib = await ensureSampler();
  const r = spawnSync(exe, ['functions'], { env: { ...process.env, LD_PRELOAD: lib, MEMSLEUTH_SOCKET: '' } });
  assert.equal(r.status, 0);
});

/** Waits (no deadline but the test's) until the sampler is mapped into pid. */
async function untilInjected(pid: number): Promise<void> {
  while (!readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libmemsleuth_sampler.so')) await sleep(20);
}

test('attach: the leaking line is found, and after detach the process runs on with its hooks gone', { skip: skipAttach, timeout: 120_000 }, async () => {
  const stopFile = join(dir, 'stop-attach');
  const running = await runUntilReady(exe, { MODE: 'serve', STOP_FILE: stopFile });
  try {
    const r = await traceUser({ engine: 'sampler', exact: true, pid: running.pid, durationSec: 2 });
    assert.equal(r.ended, 'duration');
    assert.ok(names(r.sites[0], '@leak'), describe(r));
    assert.equal(siteAt(r, '@scratch'), undefined, describe(r));
    const patched = /(\d+) GOT slots of the loaded modules/.exec(r.notes.join('\n'))?.[1];
    const restored = /detached: (\d+) GOT slots restored/.exec(r.notes.join('\n'))?.[1];
    assert.ok(patched !== undefined && Number(patched) > 0, r.notes.join('\n'));
    assert.equal(restored, patched);
    assert.ok(isAlive(running.pid));
    // The process keeps working: it still allocates and frees, and ends normally when told to.
    writeFileSync(stopFile, '');
    while (isAlive(running.pid)) await sleep(20);
  } finally {
    await running.stop();
  }
});

test('attach: a process that exits during the trace ends it, with what it held at exit', { skip: skipAttach, timeout: 120_000 }, async () => {
  const stopFile = join(dir, 'stop-exit');
  const running = await runUntilReady(exe, { MODE: 'serve', STOP_FILE: stopFile });
  try {
    const traced = traceUser({ engine: 'sampler', exact: true, pid: running.pid, durationSec: 600 });
    await untilInjected(running.pid);
    writeFileSync(stopFile, '');
    const r = await traced;
    assert.equal(r.ended, 'exited');
    assert.ok(names(r.sites[0], '@leak'), describe(r));
    assert.ok(!existsSync(`/proc/${running.pid}/maps`) || !isAlive(running.pid));
  } finally {
    await running.stop();
  }
});

test('SIGTERM to a tracer attached to a process detaches the sampler first; the process runs on', { skip: skipAttach || (!isX64 ? 'uses the x86-64 injector to check' : false), timeout: 120_000 }, async () => {
  const { spawn, execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const { ensureInjector, ensureSampler } = await import('./native_lib.js');
  const stopFile = join(dir, 'stop-sigterm');
  const running = await runUntilReady(exe, { MODE: 'serve', STOP_FILE: stopFile });
  const index = fileURLToPath(new URL('./index.js', import.meta.url));
  const script = join(dir, 'tracer.mjs');
  writeFileSync(script, `import { traceUser } from ${JSON.stringify(index)};\nawait traceUser({ engine: 'sampler', pid: ${running.pid}, durationSec: 600 });\n`);
  const child = spawn(process.execPath, [script], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, sig) => r(sig ?? code)));
  try {
    await untilInjected(running.pid);
    const lib = await ensureSampler();
    child.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM');
    assert.ok(isAlive(running.pid));
    // A second detach finds nothing left to restore: the tracer's undo step already did it.
    const out = execFileSync(await ensureInjector(), ['detach', String(running.pid), lib], { encoding: 'utf8' });
    assert.equal(out.trim(), 'result 0');
    writeFileSync(stopFile, '');
    while (isAlive(running.pid)) await sleep(20);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await running.stop();
  }
});
