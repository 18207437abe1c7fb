/**
 * `memsleuth trace user` end to end through bin/memsleuth.js: it ends when asked (--duration) while the target runs
 * on, and a command that cannot run is one line and exit 2 before any tracer starts. No timing bounds: a CLI that
 * does not exit fails by the test's own timeout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fixturesDir } from '../../test/corpus.js';
import { runCli, runCliAsync } from '../../test/e2e/cli_helpers.js';
import { findTool } from '../symbolize/addr2line.js';
import { gcc, lineOf, runUntilReady, tempDir, writeSource } from '../symbolize/test_programs.js';
import { isAlive } from '../trace/user/target.js';

const SLEEPER_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *volatile sink;
int main(void) {
  printf("READY\\n"); fflush(stdout);
  for (;;) { sink = malloc(1000); usleep(10000); }
}
`;

/** Leaks 1000 B every 10 ms from one line while churning 8 KB blocks through a ring of 64 on another. */
const HEAPLEAK_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
void *volatile sink;
static void *ring[64];
__attribute__((noinline)) void *leak_line(size_t n) { return malloc(n); /* @leak */ }
__attribute__((noinline)) void *churn_line(size_t n) { return malloc(n); /* @churn */ }
int main(void) {
  printf("READY\\n"); fflush(stdout);
  for (long i = 0;; i++) {
    char *p = leak_line(1000); memset(p, 1, 1000); sink = p;
    char *q = churn_line(8000); memset(q, 2, 8000);
    free(ring[i % 64]); ring[i % 64] = q;
    usleep(10000);
  }
}
`;

const isRoot = process.getuid?.() === 0;
const hasGcc = findTool('gcc') !== undefined;
const skipFaults = !isRoot ? 'needs root' : !hasGcc ? 'needs gcc' : findTool('bpftrace') === undefined ? 'needs bpftrace' : false;
if (skipFaults !== false) console.log(`# skipping trace user --pid (faults engine): ${skipFaults}`);

let dir = '';
let cleanup = (): void => undefined;
before(() => {
  if (!hasGcc) return;
  const t = tempDir('cli-trace-user');
  dir = t.dir;
  cleanup = t.cleanup;
  writeSource(dir, 'sleeper.c', SLEEPER_C);
  gcc(['-g', '-O1', '-o', 'sleeper', 'sleeper.c'], dir);
  writeSource(dir, 'heapleak.c', HEAPLEAK_C);
  gcc(['-g', '-O1', '-o', 'heapleak', 'heapleak.c'], dir);
});
after(() => cleanup());

test('trace user -- a missing program: one line, exit 2, no tracer started', () => {
  for (const [argv, want] of [
    [['./no-such-program-i17'], /^memsleuth: Cannot run "\.\/no-such-program-i17": no such file\n$/],
    [['no-such-command-i17', '--flag'], /^memsleuth: Cannot run "no-such-command-i17": no such command on PATH\n$/],
    [['/'], /^memsleuth: Cannot run "\/": not an executable file\n$/],
  ] as const) {
    for (const engine of ['sampler', 'first-touch', 'bpftrace', 'heaptrack']) {
      const r = runCli(['trace', 'user', '--engine', engine, '--', ...argv]);
      assert.equal(r.code, 2, `${engine} ${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.equal(r.stdout, '');
    }
  }
});

test('trace user --pid P --duration: exits after the duration and the process runs on', { skip: skipFaults, timeout: 120_000 }, async () => {
  const running = await runUntilReady(join(dir, 'sleeper'));
  try {
    const r = await runCliAsync(['trace', 'user', '--engine', 'faults', '--pid', String(running.pid), '--duration', '1s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(duration\)/);
    assert.ok(isAlive(running.pid), 'the traced process must keep running');
  } finally {
    await running.stop();
  }
});

test('trace user (faults engine) on a leaking program: a bytes/s rate per site, in the table and in --json', (t) => {
  if (process.getuid?.() !== 0) { t.skip('the faults engine needs root (perf events on another process)'); return; }
  if (spawnSync('sh', ['-c', 'command -v gcc']).status !== 0) { t.skip('gcc not installed'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-trace-user-'));
  try {
    execFileSync('gcc', ['-g', '-O0', '-o', join(dir, 'leaky_heap'), join(fixturesDir, 'leaky_heap.c')], { stdio: 'ignore' });
    const r = runCli(['trace', 'user', '--engine', 'faults', '--duration', '3s', '--', join(dir, 'leaky_heap'), '2'], { timeoutMs: 60_000 });
    if (r.code !== 0 && /perf|permission|not supported/i.test(r.stderr)) { t.skip(`faults engine unavailable here: ${r.stderr.split('\n')[0] ?? ''}`); return; }
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /First-touched pages per site over the \d+ s traced\n +rate +touched +objects +site\n/);
    assert.match(r.stdout, /\n *\+[\d.]+ (?:B|KiB|MiB)\/s +[\d.]+ (?:B|KiB|MiB) +\d+ +\S/);
    const j = runCli(['trace', 'user', '--engine', 'faults', '--duration', '3s', '--json', '--', join(dir, 'leaky_heap'), '2'], { timeoutMs: 60_000 });
    assert.equal(j.code, 0, j.stderr);
    const out = JSON.parse(j.stdout) as { durationSec: number; sites: { bytes: number; rateBytesPerSec: number | null }[] };
    assert.ok(out.sites.length > 0);
    for (const s of out.sites) assert.equal(s.rateBytesPerSec, s.bytes / out.durationSec);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const skipSampler = !isRoot ? 'needs root (ptrace)' : !hasGcc ? 'needs gcc' : process.arch !== 'x64' && findTool('gdb') === undefined ? 'needs gdb' : false;
if (skipSampler !== false) console.log(`# skipping trace user --pid (sampler): ${skipSampler}`);

test('trace user --pid P --duration: names the leaking line with its rate, not the churning one; exits; the program runs on', { skip: skipSampler, timeout: 120_000 }, async () => {
  const running = await runUntilReady(join(dir, 'heapleak'));
  try {
    const r = await runCliAsync(['trace', 'user', '--pid', String(running.pid), '--duration', '4s', '--sample-bytes', '4K']);
    assert.equal(r.code, 0, r.stderr);
    const leak = lineOf(HEAPLEAK_C, '@leak');
    const churn = lineOf(HEAPLEAK_C, '@churn');
    assert.match(r.stdout, new RegExp(`^\\S*heapleak\\.c:${leak} leaks [\\d.]+ KiB/s since \\d\\d:\\d\\d`, 'm'), r.stdout);
    assert.doesNotMatch(r.stdout, new RegExp(`heapleak\\.c:${churn} leaks`), r.stdout);
    assert.match(r.stdout, /engine sampler, pid \d+, \d+ s \(duration\)/);
    assert.ok(isAlive(running.pid), 'the traced process must keep running');
  } finally {
    await running.stop();
  }
});
