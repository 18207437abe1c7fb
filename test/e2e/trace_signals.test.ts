/**
 * `trace user` under signals, as root with bpftrace: Ctrl-C prints the report and restores everything; SIGTERM
 * restores everything and leaves no bpftrace behind; after kill -9 the next run removes what the killed one left
 * (and only that: a live run's and another tool's probes stay). No timing bounds: each step waits for a state.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../corpus.js';
import { findTool } from '../../src/symbolize/addr2line.js';
import { gcc, sleep, tempDir, writeSource } from '../../src/symbolize/test_programs.js';
import { GROUP_PREFIX, enabledOurEvents, ourUprobeEvents, tracefsRoot } from '../../src/trace/user/index.js';
import { allocatorSymbols, findLibc } from '../../src/trace/user/libc.js';
import { pidGone, sweepLeftovers } from '../../src/trace/user/leftovers.js';
import { parseProcMaps } from '../../src/symbolize/proc_maps.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : findTool('bpftrace') === undefined ? 'needs bpftrace' : findTool('gcc') === undefined ? 'needs gcc' : tracefsRoot() === undefined ? 'needs tracefs mounted' : false;
if (skip !== false) console.log(`# skipping trace signal tests: ${skip}`);

const PAUSING_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) { for (int i = 0; i < 600; i++) { free(malloc(64)); usleep(100000); } return 0; }
`;

let work = { dir: '', cleanup: (): void => undefined };
let exe = '';
before(() => {
  if (skip !== false) return;
  work = tempDir('trace-signals');
  writeSource(work.dir, 'pausing.c', PAUSING_C);
  gcc(['-O1', '-o', 'pausing', 'pausing.c'], work.dir);
  exe = join(work.dir, 'pausing');
});
after(() => work.cleanup());

interface Run { child: ChildProcess; tmp: string; out: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function startTracer(extra: string[] = []): Run {
  const tmp = mkdtempSync(join(work.dir, 'tmp-'));
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), 'trace', 'user', '--engine', 'bpftrace', ...extra, '--', exe], {
    env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, tmp, out: () => out, exited };
}

const root = (): string => tracefsRoot() ?? '';
const ofPid = (pid: number): string => `${GROUP_PREFIX}${pid}_`;
const ourLines = (pid: number): string[] => ourUprobeEvents(root()).filter((l) => l.includes(ofPid(pid)));
const ourInstances = (pid: number): string[] => readdirSync(join(root(), 'instances')).filter((d) => d.startsWith(ofPid(pid)));

/** Until the tracer has its probes in place: its uprobe event enabled in its instance, and its bpftrace running. */
async function attached(r: Run): Promise<number> {
  const pid = r.child.pid as number;
  for (;;) {
    const bpf = bpftraceIn(r.tmp);
    if (ourLines(pid).length > 0 && enabledOurEvents(root()).some((e) => e.includes(ofPid(pid))) && bpf !== undefined && r.out().length >= 0) return bpf;
    if (r.child.exitCode !== null) assert.fail(`the tracer exited early: ${r.out()}`);
    await sleep(50);
  }
}

/** The bpftrace whose program lies under `tmp` (ours), if running. */
function bpftraceIn(tmp: string): number | undefined {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0');
      if (argv.some((a) => a.startsWith(tmp) && a.endsWith('trace.bt'))) return Number(p);
    } catch { /* gone */ }
  }
  return undefined;
}

const deadOrZombie = (pid: number): boolean => {
  try { return /\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'latin1')); } catch { return true; }
};

function assertRestored(pid: number, tmp: string): void {
  assert.deepEqual(ourLines(pid), [], 'uprobe_events line left');
  assert.deepEqual(ourInstances(pid), [], 'ftrace instance left');
  assert.deepEqual(enabledOurEvents(root()).filter((e) => e.includes(ofPid(pid))), [], 'event left enabled');
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('memsleuth-trace-')), [], 'scratch folder left in TMPDIR');
}

test('trace user: Ctrl-C (SIGINT) prints the report, exits 0 and restores everything', { skip, timeout: 180_000 }, async () => {
  const r = startTracer();
  await attached(r);
  r.child.kill('SIGINT');
  const end = await r.exited;
  assert.deepEqual(end, { code: 0, signal: null }, r.out());
  assert.match(r.out(), /trace user: engine bpftrace, pid \d+, .* \(aborted\)/);
  assert.match(r.out(), /allocator: /);
  assertRestored(r.child.pid as number, r.tmp);
});

test('trace user: SIGTERM restores everything and no bpftrace outlives the tracer', { skip, timeout: 180_000 }, async () => {
  const r = startTracer();
  const bpf = await attached(r);
  r.child.kill('SIGTERM');
  const end = await r.exited;
  assert.equal(end.signal, 'SIGTERM', r.out());
  assert.ok(deadOrZombie(bpf), `bpftrace ${bpf} still running after the tracer exited`);
  assertRestored(r.child.pid as number, r.tmp);
});

/** The launched program of a tracer killed with -9 may still be held stopped (it never got resumed): ours to end. */
function killLaunched(): void {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(exe)) process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
  }
}

test('trace user: after kill -9, bpftrace dies with the tracer and the next run sweeps the instance, event and folder', { skip, timeout: 240_000 }, async (t) => {
  t.after(killLaunched);
  const r = startTracer();
  const bpf = await attached(r);
  const pid = r.child.pid as number;
  r.child.kill('SIGKILL');
  await r.exited;
  while (!deadOrZombie(bpf)) await sleep(50); // --pdeathsig: it goes by itself, without waiting for the next run
  assert.ok(ourLines(pid).length > 0 && ourInstances(pid).length > 0, 'kill -9 left nothing to sweep?');
  assert.ok(readdirSync(r.tmp).some((n) => n.startsWith(`memsleuth-trace-${pid}-`)));
  // The next run, in the same TMPDIR.
  const next = spawnSync(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), 'trace', 'user', '--engine', 'bpftrace', '--duration', '1s', '--', exe], {
    env: { ...process.env, TMPDIR: r.tmp, NO_COLOR: '1' }, encoding: 'utf8', timeout: 120_000,
  });
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stdout, /removed what killed memsleuth runs left: .*ftrace instance memsleuth_\d+_\d+/);
  assertRestored(pid, r.tmp);
});

test('sweep: only what is named memsleuth_<pid> / memsleuth-trace-<pid>- with a dead pid is removed', { skip, timeout: 120_000 }, async (t) => {
  const tr = root();
  const dead = spawnSync('true').pid as number;
  assert.ok(pidGone(dead));
  const live = process.pid;
  const tmp = mkdtempSync(join(tmpdir(), 'sweep-'));
  const made: string[] = [];
  const libc = findLibc(parseProcMaps(readFileSync('/proc/self/maps', 'utf8')).value);
  assert.ok(libc);
  const free = allocatorSymbols(libc.path).get('free');
  assert.ok(free);
  const event = (group: string): void => {
    appendFileSync(join(tr, 'uprobe_events'), `p:${group}/free ${libc.path}:0x${free.fileOffset.toString(16)}\n`);
    made.push(group);
  };
  t.after(() => {
    for (const g of made) { try { rmdirSync(join(tr, 'instances', g)); } catch { /* swept */ } try { appendFileSync(join(tr, 'uprobe_events'), `-:${g}/free\n`); } catch { /* swept */ } }
    rmSync(tmp, { recursive: true, force: true });
  });
  const deadGroup = `${GROUP_PREFIX}${dead}_1`;
  const liveGroup = `${GROUP_PREFIX}${live}_1`;
  const foreign = `other_${dead}_1`;
  for (const g of [deadGroup, liveGroup, foreign]) {
    event(g);
    mkdirSync(join(tr, 'instances', g));
    writeFileSync(join(tr, 'instances', g, 'events', g, 'free', 'enable'), '1');
  }
  const deadDir = join(tmp, `memsleuth-trace-${dead}-AbC123`);
  const liveDir = join(tmp, `memsleuth-trace-${live}-XyZ789`);
  for (const d of [deadDir, liveDir, join(tmp, `other-${dead}-AbC123`)]) mkdirSync(d);
  writeFileSync(join(deadDir, 'trace.bt'), 'interval:s:1000 { exit(); }\n');
  const orphan = spawn(findTool('bpftrace') as string, [join(deadDir, 'trace.bt')], { stdio: 'ignore', detached: true });
  t.after(() => { try { process.kill(orphan.pid as number, 'SIGKILL'); } catch { /* swept */ } });
  while (bpftraceIn(deadDir) === undefined) await sleep(50);

  const swept = sweepLeftovers({ tmp });
  assert.ok(swept.some((s) => s.startsWith('bpftrace')), swept.join('; '));
  assert.ok(deadOrZombie(orphan.pid as number), 'the dead run\'s bpftrace is still running');
  const lines = readFileSync(join(tr, 'uprobe_events'), 'utf8');
  assert.doesNotMatch(lines, new RegExp(`${deadGroup}/`), 'the dead run\'s uprobe event stays');
  assert.match(lines, new RegExp(`${liveGroup}/`), 'a live run\'s uprobe event was removed');
  assert.match(lines, new RegExp(`${foreign}/`), 'another tool\'s uprobe event was removed');
  assert.equal(existsSync(join(tr, 'instances', deadGroup)), false);
  assert.equal(existsSync(join(tr, 'instances', liveGroup)), true);
  assert.equal(existsSync(join(tr, 'instances', foreign)), true);
  assert.deepEqual(readdirSync(tmp).sort(), [`memsleuth-trace-${live}-XyZ789`, `other-${dead}-AbC123`].sort());
});
