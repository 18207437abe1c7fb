/**
 * Real runs, as root: each engine on a small leaking C program names the leaking line at the top; a program that
 * frees everything shows no significant site; a SIGTERM to a tracer leaves no uprobe_events line and nothing enabled.
 * Skips (with the reason printed) without root, gcc, bpftrace or heaptrack.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AllocationSite } from '../../model/allocation_site.js';
import { findTool } from '../../symbolize/addr2line.js';
import { gcc, lineOf, runUntilReady, sleep, tempDir, writeSource } from '../../symbolize/test_programs.js';
import { GROUP_PREFIX, enabledOurEvents, ourUprobeEvents, tracefsRoot, traceUser } from './index.js';

const LEAKY_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
void *volatile sink;
__attribute__((noinline)) void *leak_here(size_t n) { return malloc(n); /* @leak */ }
__attribute__((noinline)) void *scratch(size_t n) { return malloc(n); }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  int leak = argc > 2 ? atoi(argv[2]) : 1;
  int pause = argc > 3 ? atoi(argv[3]) : getenv("LEAKY_PAUSE") ? atoi(getenv("LEAKY_PAUSE")) : 0;
  int steady = getenv("LEAKY_STEADY") ? atoi(getenv("LEAKY_STEADY")) : 0;
  if (steady) { /* ~200 KB/s of 400 B leaks for STEADY seconds: a tracer that attaches at any moment sees it */
    printf("READY\\n"); fflush(stdout);
    for (long i = 0; i < steady * 100L; i++) {
      for (int k = 0; k < 5; k++) { char *p = leak_here(400); memset(p, 1, 400); sink = p; }
      char *q = scratch(64); q[0] = 1; free(q);
      usleep(10000);
    }
    sleep(30);
    return 0;
  }
  if (pause) { printf("READY\\n"); fflush(stdout); sleep(pause); }
  for (long i = 0; i < n; i++) {
    if (i % 100 == 0) { char *p = leak_here(400); memset(p, 1, 400); sink = p; if (!leak) free(p); continue; }
    char *q = scratch(64); q[0] = 1; free(q);
  }
  if (pause) sleep(30);
  return 0;
}
`;
const LEAK_LINE = lineOf(LEAKY_C, '@leak');

const isRoot = process.getuid?.() === 0;
const hasGcc = findTool('gcc') !== undefined;
const skipBpf = !isRoot ? 'needs root' : !hasGcc ? 'needs gcc' : findTool('bpftrace') === undefined ? 'needs bpftrace (apt-get install bpftrace)' : false;
const skipHeaptrack = !hasGcc ? 'needs gcc' : findTool('heaptrack') === undefined ? 'needs heaptrack (apt-get install heaptrack)' : false;
for (const [what, why] of [['bpftrace/faults engines', skipBpf], ['heaptrack engine', skipHeaptrack]] as const) if (why !== false) console.log(`# skipping ${what}: ${why}`);

let dir = '';
let exe = '';
let cleanup = (): void => undefined;
before(() => {
  if (!hasGcc) return;
  const t = tempDir('trace-user');
  dir = t.dir;
  cleanup = t.cleanup;
  writeSource(dir, 'leaky.c', LEAKY_C);
  gcc(['-g', '-O1', '-fno-omit-frame-pointer', '-o', 'leaky', 'leaky.c'], dir);
  exe = join(dir, 'leaky');
});
after(() => cleanup());

const namesLeak = (site: AllocationSite | undefined): boolean => site !== undefined && site.stack.some((f) => f.file?.endsWith('leaky.c') === true && f.line === LEAK_LINE);
const describe = (sites: AllocationSite[]): string => sites.slice(0, 3).map((s) => `${s.bytes}B x${s.count}: ${s.stack.map((f) => `${f.symbol ?? f.address ?? '?'}@${f.file ?? ''}:${f.line ?? ''}`).join(' < ')}`).join('\n');

test('bpftrace engine (free through tracefs) names the leaking line at the top, with ages', { skip: skipBpf, timeout: 60_000 }, async () => {
  const r = await traceUser({ engine: 'bpftrace', command: [exe, '20000'], stdio: 'ignore' });
  assert.ok(namesLeak(r.sites[0]), describe(r.sites));
  assert.equal(r.sites[0]?.count, 200);
  assert.equal(r.sites[0]?.kind, 'outstanding');
  assert.ok((r.sites[0]?.ageSec?.max ?? -1) >= 0);
  assert.ok((r.stats['freeEvents'] ?? 0) >= 19800, JSON.stringify(r.stats));
});

test('bpftrace engine: a program that frees everything leaves no significant site', { skip: skipBpf, timeout: 60_000 }, async () => {
  const r = await traceUser({ engine: 'bpftrace', command: [exe, '20000', '0'], stdio: 'ignore' });
  assert.deepEqual(r.sites.filter((s) => s.count > 5 || namesLeak(s)).map((s) => s.count), [], describe(r.sites));
});

test('faults engine attaches to a running process and names the leaking line at the top', { skip: skipBpf, timeout: 120_000 }, async () => {
  const running = await runUntilReady(exe, { LEAKY_STEADY: '90' });
  try {
    // The program leaks ~200 KB/s for 90 s, so however long bpftrace takes to attach on a loaded machine, the
    // 20 s trace sees seconds of it (400 KB is 2 s).
    const r = await traceUser({ engine: 'faults', pid: running.pid, durationSec: 20 });
    assert.ok(namesLeak(r.sites[0]), describe(r.sites));
    assert.ok((r.sites[0]?.bytes ?? 0) >= 400 * 1024, describe(r.sites));
    assert.equal(r.ended, 'duration');
  } finally {
    await running.stop();
  }
});

test('faults engine: a program that frees everything leaves no significant site', { skip: skipBpf, timeout: 60_000 }, async () => {
  const r = await traceUser({ engine: 'faults', command: [exe, '200000', '0'], stdio: 'ignore' });
  assert.deepEqual(r.sites.filter((s) => s.bytes >= 256 * 1024).map((s) => s.bytes), [], describe(r.sites));
});

test('heaptrack engine names the leaking line at the top', { skip: skipHeaptrack, timeout: 60_000 }, async () => {
  const r = await traceUser({ engine: 'heaptrack', command: [exe, '20000'], stdio: 'ignore' });
  assert.ok(namesLeak(r.sites[0]), describe(r.sites));
  assert.equal(r.sites[0]?.tool, 'heaptrack');
  assert.equal(r.sites[0]?.count, 200);
});

test('SIGTERM to a tracer restores uprobe_events and leaves nothing enabled', { skip: skipBpf, timeout: 60_000 }, async (t) => {
  // Watching the tracer needs tracefs mounted for the whole test (the tracer would unmount its own mount).
  const mountedHere = tracefsRoot() === undefined && spawnSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']).status === 0;
  t.after(() => { if (mountedHere) spawnSync('umount', ['/sys/kernel/tracing']); });
  const root = tracefsRoot() ?? '';
  const index = fileURLToPath(new URL('./index.js', import.meta.url));
  const script = join(dir, 'tracer.mjs');
  writeFileSync(script, `import { traceUser } from ${JSON.stringify(index)};\nawait traceUser({ engine: 'bpftrace', command: [${JSON.stringify(exe)}, '100', '1', '60'], stdio: 'ignore' });\n`);
  const child = spawn(process.execPath, [script], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, sig) => r(sig ?? code)));
  try {
    let seen = false;
    for (let i = 0; i < 300 && !seen; i++) { await sleep(50); seen = ourUprobeEvents(root).length > 0 && enabledOurEvents(root).length > 0; }
    assert.ok(seen, 'the tracer never created its uprobe event');
    await sleep(300);
    child.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM');
    assert.deepEqual(ourUprobeEvents(root), []);
    assert.deepEqual(enabledOurEvents(root), []);
    assert.deepEqual(readdirSync(join(root, 'instances')).filter((d) => d.startsWith(GROUP_PREFIX)), []);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
