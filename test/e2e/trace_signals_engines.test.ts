/**
 * `trace user --engine sampler|heaptrack` under signals: the scratch folder (memsleuth-sampler-<pid>-XXXXXX,
 * memsleuth-heaptrack-<pid>-XXXXXX) is gone after Ctrl-C (report, exit 0) and after SIGTERM; a killed run's folder
 * (dead pid) is swept by the next run, a live run's and anything not named so stay. No timing bounds: each step
 * waits for a state.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../corpus.js';
import { findTool } from '../../src/symbolize/addr2line.js';
import { gcc, sleep, tempDir, writeSource } from '../../src/symbolize/test_programs.js';
import { pidGone, sweepLeftovers } from '../../src/trace/user/leftovers.js';

type Engine = 'sampler' | 'heaptrack';
const PREFIX: Record<Engine, string> = { sampler: 'memsleuth-sampler-', heaptrack: 'memsleuth-heaptrack-' };
/** What the launched program maps once the engine has it in hand (and the tracer's undo stack is armed). */
const LIB: Record<Engine, string> = { sampler: 'libmemsleuth_sampler', heaptrack: 'libheaptrack_preload' };

const noGcc = findTool('gcc') === undefined ? 'needs gcc' : false;
const skipOf = (e: Engine): string | false => noGcc !== false ? noGcc : e === 'heaptrack' && (findTool('heaptrack') === undefined || findTool('heaptrack_print') === undefined) ? 'needs heaptrack' : false;

const PAUSING_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) { for (int i = 0; i < 600; i++) { free(malloc(64)); usleep(100000); } return 0; }
`;

let work = { dir: '', cleanup: (): void => undefined };
let exe = '';
/** The same program linked statically: LD_PRELOAD never loads heaptrack's library into it. */
let staticExe = '';
before(() => {
  if (noGcc !== false) return;
  work = tempDir('trace-signals-engines');
  writeSource(work.dir, 'pausing.c', PAUSING_C);
  gcc(['-O1', '-o', 'pausing', 'pausing.c'], work.dir);
  exe = join(work.dir, 'pausing');
  try {
    gcc(['-O1', '-static', '-o', 'pausing-static', 'pausing.c'], work.dir);
    staticExe = join(work.dir, 'pausing-static');
  } catch { /* no static libc: that test skips */ }
});
after(() => { killLaunched(); work.cleanup(); });

/** Our test program wherever it still runs (heaptrack's launched program may outlive a killed tracer). */
function killLaunched(): void {
  if (exe === '') return;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0')[0] === exe) process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
  }
}

interface Run { child: ChildProcess; tmp: string; out: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

function startTracer(engine: Engine, tmp = mkdtempSync(join(work.dir, 'tmp-')), extra: string[] = [], program = exe): Run {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), 'trace', 'user', '--engine', engine, ...extra, '--', program], {
    env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, tmp, out: () => out, exited };
}

/** The sampler falls back to /tmp when TMPDIR is too deep for a socket path (the test runner's may be): look in both. */
const ourFolders = (engine: Engine, r: Run): string[] => [r.tmp, '/tmp'].flatMap((d) => readdirSync(d).filter((n) => n.startsWith(`${PREFIX[engine]}${r.child.pid ?? 0}-`)).map((n) => join(d, n)));

/** Until the tracer's folder exists and the launched program runs with the engine's library mapped. */
async function tracing(engine: Engine, r: Run): Promise<void> {
  for (;;) {
    if (ourFolders(engine, r).length === 1 && programWith(LIB[engine])) return;
    if (r.child.exitCode !== null || r.child.signalCode !== null) assert.fail(`the tracer exited early: ${r.out()}`);
    await sleep(50);
  }
}

/**
 * The tracer's exit; if it has not come 150 s after the signal (the test's limit is 180 s), a failure that shows
 * what it printed and which processes were still there, instead of a bare timeout.
 */
async function exitedOrExplain(r: Run): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), 150_000); });
  const end = await Promise.race([r.exited, late]);
  clearTimeout(timer);
  if (end !== 'late') return end;
  const ps = spawnSync('ps', ['-eo', 'pid,ppid,pgid,stat,wchan:20,etimes,args'], { encoding: 'utf8' }).stdout;
  return assert.fail(`the tracer did not exit 150 s after the signal; it printed:\n${r.out()}\nprocesses:\n${ps.split('\n').filter((l) => /memsleuth|heaptrack|pausing|zstd|gzip/.test(l)).join('\n')}`);
}

/** Direct children of `ppid` whose command line names heaptrack. */
function childrenOf(ppid: number): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid && readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('heaptrack');
    } catch { return false; }
  }).map(Number);
}

function programWith(lib: string): boolean {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0')[0] === exe && readFileSync(`/proc/${p}/maps`, 'latin1').includes(lib)) return true;
    } catch { /* gone */ }
  }
  return false;
}

for (const engine of ['sampler', 'heaptrack'] as const) {
  const skip = skipOf(engine);
  if (skip !== false) console.log(`# skipping ${engine} signal tests: ${skip}`);

  test(`trace user --engine ${engine}: Ctrl-C (SIGINT) prints the report, exits 0 and removes the scratch folder`, { skip, timeout: 180_000 }, async (t) => {
    t.after(killLaunched);
    const r = startTracer(engine);
    await tracing(engine, r);
    r.child.kill('SIGINT');
    const end = await exitedOrExplain(r);
    assert.deepEqual(end, { code: 0, signal: null }, r.out());
    assert.match(r.out(), new RegExp(`trace user: engine ${engine}, pid \\d+, .* \\(aborted\\)`));
    assert.deepEqual(ourFolders(engine, r), [], 'scratch folder left in TMPDIR');
  });

  test(`trace user --engine ${engine}: SIGTERM removes the scratch folder`, { skip, timeout: 180_000 }, async (t) => {
    t.after(killLaunched);
    const r = startTracer(engine);
    await tracing(engine, r);
    r.child.kill('SIGTERM');
    const end = await r.exited;
    assert.equal(end.signal, 'SIGTERM', r.out());
    assert.deepEqual(ourFolders(engine, r), [], 'scratch folder left in TMPDIR');
    // The launched program goes too (with heaptrack it used to run on, orphaned); a zombie has no maps to read.
    while (programWith('')) await sleep(50);
  });

  test(`trace user --engine ${engine}: after kill -9 the folder stays, and the next run sweeps it`, { skip, timeout: 240_000 }, async (t) => {
    t.after(killLaunched);
    const r = startTracer(engine);
    await tracing(engine, r);
    const left = ourFolders(engine, r);
    const helpers = childrenOf(r.child.pid ?? 0); // heaptrack's script: it makes /tmp/heaptrack_fifo<its pid>
    r.child.kill('SIGKILL');
    await r.exited;
    // The sampler's program was launched by memsleuth (with a parent-death signal): the kernel ends it with us.
    // heaptrack's script launches its own, which runs on (see the report).
    if (engine === 'sampler') while (programWith('')) await sleep(50);
    killLaunched();
    // Killed along with us, heaptrack's script cannot remove its own pipe (not named with our pid: see the report).
    t.after(async () => {
      for (const h of helpers) {
        while (existsSync(`/proc/${h}/cmdline`) && readFileSync(`/proc/${h}/cmdline`, 'latin1').includes('heaptrack')) await sleep(50);
        rmSync(`/tmp/heaptrack_fifo${h}`, { force: true });
      }
    });
    assert.equal(left.filter((d) => existsSync(d)).length, 1, 'kill -9 left nothing to sweep?');
    const next = spawnSync(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), 'trace', 'user', '--engine', engine, '--duration', '1s', '--', exe], {
      env: { ...process.env, TMPDIR: r.tmp, NO_COLOR: '1' }, encoding: 'utf8', timeout: 150_000,
    });
    assert.equal(next.status, 0, next.stderr);
    assert.match(next.stdout, /removed what killed memsleuth runs left: .*scratch folder /);
    assert.deepEqual(left.filter((d) => existsSync(d)), [], 'the killed run\'s folder is still there');
  });

  test(`trace user --engine ${engine}: the next run sweeps a dead run's folders, not a live run's`, { skip, timeout: 180_000 }, async (t) => {
    t.after(killLaunched);
    const dead = spawnSync('true').pid as number;
    assert.ok(pidGone(dead));
    const tmp = mkdtempSync(join(work.dir, 'tmp-'));
    const deadOnes = [`memsleuth-sampler-${dead}-AbC123`, `memsleuth-heaptrack-${dead}-DeF456`];
    const kept = [`memsleuth-sampler-${process.pid}-XyZ789`, `memsleuth-heaptrack-${process.pid}-XyZ789`, `other-sampler-${dead}-AbC123`];
    for (const d of [...deadOnes, ...kept]) mkdirSync(join(tmp, d));
    const next = spawnSync(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), 'trace', 'user', '--engine', engine, '--duration', '1s', '--', exe], {
      env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' }, encoding: 'utf8', timeout: 150_000,
    });
    assert.equal(next.status, 0, next.stderr);
    assert.match(next.stdout, /removed what killed memsleuth runs left: .*scratch folder .*memsleuth-sampler-\d+-AbC123/);
    assert.deepEqual(readdirSync(tmp).sort(), [...kept].sort());
  });
}

test('sweep: sampler and heaptrack folders with a dead pid go; live pids, other names, symlinks and files stay', () => {
  const dead = spawnSync('true').pid as number;
  assert.ok(pidGone(dead));
  const live = process.pid;
  const tmp = mkdtempSync(join(tmpdir(), 'sweep-engines-'));
  try {
    const gone = [`memsleuth-sampler-${dead}-AbC123`, `memsleuth-heaptrack-${dead}-AbC123`];
    const stay = [`memsleuth-sampler-${live}-AbC123`, `memsleuth-heaptrack-${live}-AbC123`, `memsleuth-sampler-AbC123`, `heaptrack-${dead}-AbC123`, `memsleuth-heaptrack-${dead}`];
    for (const d of [...gone, ...stay]) mkdirSync(join(tmp, d));
    mkdirSync(join(gone[0] !== undefined ? join(tmp, gone[0]) : tmp, 'inside'));
    // A symlink named like ours with a dead pid points elsewhere: neither it nor its target is touched.
    const elsewhere = mkdtempSync(join(tmpdir(), 'sweep-target-'));
    const link = `memsleuth-heaptrack-${dead}-LiNk00`;
    symlinkSync(elsewhere, join(tmp, link));
    const swept = sweepLeftovers({ root: undefined, tmp });
    assert.equal(swept.length, 2, swept.join('; '));
    assert.deepEqual(readdirSync(tmp).sort(), [...stay, link].sort());
    assert.ok(existsSync(elsewhere));
    rmSync(elsewhere, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('trace user --engine heaptrack: Ctrl-C before heaptrack\'s library is in the program (a static binary: never) ends at once, says heaptrack saw nothing, and leaves no heaptrack process', { skip: skipOf('heaptrack'), timeout: 180_000 }, async (t) => {
  if (staticExe === '') { t.skip('gcc -static failed (no static libc)'); return; }
  const r = startTracer('heaptrack', undefined, [], staticExe);
  t.after(() => { for (const p of readdirSync('/proc')) { try { if (readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0')[0] === staticExe) process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } } });
  // Until the program runs: heaptrack's reader now waits on its pipe for a writer that will never come.
  const running = (): boolean => readdirSync('/proc').some((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0')[0] === staticExe; } catch { return false; } });
  while (!running()) {
    if (r.child.exitCode !== null) assert.fail(`the tracer exited early: ${r.out()}`);
    await sleep(50);
  }
  r.child.kill('SIGINT');
  const end = await exitedOrExplain(r);
  assert.deepEqual(end, { code: 0, signal: null }, r.out());
  assert.match(r.out(), /problem: heaptrack recorded no allocation calls/);
  // Nothing of heaptrack's group lives on (its reader blocked on the pipe kept memsleuth from exiting, once).
  const folder = `${PREFIX.heaptrack}${r.child.pid ?? 0}-`;
  const ours = (): string[] => readdirSync('/proc').filter((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(folder); } catch { return false; } });
  while (ours().length > 0) await sleep(50);
  assert.equal(running(), false, 'the program was stopped');
});
