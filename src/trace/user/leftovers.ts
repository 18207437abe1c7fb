/**
 * What a `trace user` run killed with -9 leaves behind, removed by the next run: its bpftrace (attached with
 * -p), its ftrace instance with the event enabled, its uprobe_events line and its scratch folder. Each carries
 * the killed run's pid in its name (memsleuth_<pid>_<target>, memsleuth-trace-<pid>-XXXXXX), and only what is
 * named so, with a pid that is no longer running, is touched: anything else (another tool's probes, an older
 * run's unnamed ones, a live run's) is left alone. The sampler and heaptrack engines' scratch folders
 * (memsleuth-sampler-<pid>-XXXXXX, memsleuth-heaptrack-<pid>-XXXXXX) are swept the same way.
 */
import { appendFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GROUP_PREFIX, tracefsRoot } from './tracefs.js';

export const TRACE_DIR_PREFIX = 'memsleuth-trace-';
export const SAMPLER_DIR_PREFIX = 'memsleuth-sampler-';
export const HEAPTRACK_DIR_PREFIX = 'memsleuth-heaptrack-';

const GROUP_RE = new RegExp(`^${GROUP_PREFIX}(\\d+)_\\d+$`);
const DIR_RE = new RegExp(`^${TRACE_DIR_PREFIX}(\\d+)-[A-Za-z0-9]+$`);
/** Every engine's scratch folder: mkdtemp adds six letters or digits after `<prefix><pid>-`. */
const SCRATCH_RE = new RegExp(`^(?:${[TRACE_DIR_PREFIX, SAMPLER_DIR_PREFIX, HEAPTRACK_DIR_PREFIX].join('|')})(\\d+)-[A-Za-z0-9]+$`);

/** A scratch folder named with our pid (`<prefix><pid>-XXXXXX`), so the next run can tell a killed run's from a live one's. */
export function scratchDir(prefix: string, base: string = tmpdir()): string {
  return mkdtempSync(join(base, `${prefix}${process.pid}-`));
}

/** A pid that no process has (ESRCH); EPERM means someone else's live process. */
export function pidGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface SweepOptions { root?: string | undefined; tmp?: string; procRoot?: string }

/** Removes the leftovers of dead memsleuth runs; returns one line per thing removed. */
export function sweepLeftovers(o: SweepOptions = {}): string[] {
  const root = 'root' in o ? o.root : tracefsRoot();
  const tmp = o.tmp ?? tmpdir();
  const done: string[] = [];
  const dead = (name: string, re: RegExp): boolean => {
    const m = re.exec(name);
    return m !== null && pidGone(Number(m[1]));
  };
  // 1. bpftrace runs whose program sits in a dead run's scratch folder: they hold the uprobes.
  const procRoot = o.procRoot ?? '/proc';
  for (const p of safeList(procRoot)) {
    if (!/^\d+$/.test(p)) continue;
    let argv: string[];
    try {
      argv = readFileSync(join(procRoot, p, 'cmdline'), 'latin1').split('\0');
      if (basename(readlinkSync(join(procRoot, p, 'exe'))) !== 'bpftrace') continue;
    } catch {
      continue;
    }
    const prog = argv.find((a) => a.startsWith(`${tmp}/${TRACE_DIR_PREFIX}`) && a.endsWith('/trace.bt'));
    const folder = prog?.slice(tmp.length + 1, -'/trace.bt'.length);
    if (folder === undefined || !dead(folder, DIR_RE)) continue;
    try {
      process.kill(Number(p), 'SIGKILL');
      waitGone(Number(p), procRoot);
      done.push(`bpftrace ${p} (${prog ?? ''})`);
    } catch { /* gone meanwhile */ }
  }
  if (root !== undefined) {
    // 2. Instances (disabling tracing first), then 3. the uprobe_events lines they used.
    for (const name of safeList(join(root, 'instances'))) {
      if (!dead(name, GROUP_RE)) continue;
      const dir = join(root, 'instances', name);
      try { writeFileSync(join(dir, 'tracing_on'), '0'); } catch { /* gone */ }
      try { writeFileSync(join(dir, 'events', 'enable'), '0'); } catch { /* no events dir */ }
      try { rmdirSync(dir); done.push(`ftrace instance ${name}`); } catch { /* busy: left, tried again next run */ }
    }
    const file = join(root, 'uprobe_events');
    let lines: string[] = [];
    try { lines = readFileSync(file, 'utf8').split('\n'); } catch { /* no uprobes in this kernel */ }
    for (const line of lines) {
      const m = /^[pr]:([^/\s]+)\/(\S+)\s/.exec(line);
      if (m === null || !dead(m[1] ?? '', GROUP_RE)) continue;
      try { appendFileSync(file, `-:${m[1]}/${m[2]}\n`); done.push(`uprobe event ${m[1]}/${m[2]}`); } catch { /* busy */ }
    }
  }
  // 4. Scratch folders (ours only: a folder someone else owns, or a symlink, is not touched). The sampler falls
  // back to /tmp when TMPDIR is too deep for a socket path, so /tmp is looked at too.
  const tmps = o.tmp !== undefined ? [o.tmp] : [...new Set([tmp, '/tmp'])];
  for (const [name, dir] of tmps.flatMap((t) => safeList(t).map((n) => [n, join(t, n)] as const))) {
    if (!dead(name, SCRATCH_RE)) continue;
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid)) continue;
      rmSync(dir, { recursive: true, force: true });
      done.push(`scratch folder ${dir}`);
    } catch { /* gone */ }
  }
  return done;
}

function safeList(dir: string): string[] {
  try { return existsSync(dir) ? readdirSync(dir) : []; } catch { return []; }
}

/** Until the process is gone or a zombie (its probes are detached by then); at most ~5 s. */
export function waitGone(pid: number, procRoot = '/proc'): void {
  for (let i = 0; i < 500; i++) {
    let state: string | undefined;
    try { state = /\) (\S)/.exec(readFileSync(join(procRoot, String(pid), 'stat'), 'latin1'))?.[1]; } catch { return; }
    if (state === 'Z' || state === 'X') return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}
