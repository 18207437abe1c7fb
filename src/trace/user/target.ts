/**
 * The process being traced: attached to by pid, or launched by us held stopped until the probes are in
 * (`sh -c 'kill -STOP $$; exec "$@"'`: same pid before and after exec, so a pid filter set while it is stopped holds).
 * Its /proc/PID/maps is kept from the start and refreshed, so a process that exits can still be symbolized.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InputError, TargetError } from '../../model/errors.js';
import type { UndoStack } from './undo.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for `p` at most `ms`; the timer is cleared either way, so it never holds the process open. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  const s = processState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

export function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter((n) => Number.isInteger(n));
  } catch {
    return [pid];
  }
}

/** Keeps the last readable /proc/PID/maps; the first one is read at construction. */
export class MapsKeeper {
  text = '';
  private timer: NodeJS.Timeout | undefined;
  constructor(readonly pid: number) { this.refresh(); }
  refresh(): string {
    try {
      const t = readFileSync(`/proc/${this.pid}/maps`, 'utf8');
      if (t.trim() !== '') this.text = t;
    } catch {
      // gone: keep what we had
    }
    return this.text;
  }
  /**
   * A launched command waits at its gate as a stopped `sh`; after SIGCONT it execs the program, which may run
   * to completion before the next poll. Spin briefly until the maps show the program and its C library, so a
   * short-lived process can still be symbolized. Returns whether the program's mapping was seen.
   */
  captureAfterExec(exe: string, timeoutMs = 200): boolean {
    const name = exe.slice(exe.lastIndexOf('/') + 1);
    const deadline = performance.now() + timeoutMs;
    let seenExe = false;
    while (performance.now() < deadline) {
      const t = this.refresh();
      seenExe ||= t.includes(`/${name}\n`);
      if (seenExe && /\/libc[.-]/.test(t)) return true;
    }
    return seenExe;
  }

  start(everyMs = 500): void {
    this.timer ??= setInterval(() => this.refresh(), everyMs);
    this.timer.unref();
  }
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export interface Target {
  pid: number;
  launched: boolean;
  /** Lets a launched process run (no-op when attached). */
  resume(): void;
  /** Resolves with the exit code (or signal name) of a launched process, or when an attached one disappears. */
  exited: Promise<number | string | null>;
  done(): boolean;
  kill(): void;
  /** Stops watching the process (an attached target polls /proc); leaves the process alone. Safe to call twice. */
  release(): void;
}

export interface LaunchOptions { command: string[]; env?: Record<string, string>; cwd?: string; stdio?: 'inherit' | 'ignore' }

/**
 * The program a command line would run, found as the shell would (a path, or a name on PATH), or an InputError:
 * without this check the start gate's `exec` fails only after the tracer is set up, and the trace reports an
 * empty, successful run of nothing.
 */
export function resolveCommand(command: string[], path = process.env['PATH'] ?? ''): string {
  const exe = command[0];
  if (exe === undefined || exe === '') throw new InputError('No command to run: give it after "--"', 'no-command');
  const runnable = (p: string): boolean => {
    try { return statSync(p).isFile() && (accessSync(p, constants.X_OK), true); } catch { return false; }
  };
  if (exe.includes('/')) {
    if (runnable(exe)) return exe;
    throw new InputError(existsSync(exe) ? `Cannot run "${exe}": not an executable file` : `Cannot run "${exe}": no such file`, 'no-command');
  }
  for (const dir of path.split(delimiter)) {
    if (dir !== '' && runnable(join(dir, exe))) return join(dir, exe);
  }
  throw new InputError(`Cannot run "${exe}": no such command on PATH`, 'no-command');
}

/**
 * util-linux's setpriv (Essential in Debian) sets the launched program's parent-death signal, which survives the
 * exec: if memsleuth is killed with -9, the kernel kills the program it launched (without it, the program ran
 * on, or stayed stopped at its start gate, after its tracer was gone). Where setpriv is missing, the gate alone.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export async function launchStopped(o: LaunchOptions, undo: UndoStack): Promise<Target & { child: ChildProcess }> {
  const [exe, ...args] = o.command;
  if (exe === undefined) throw new TargetError('No command to run', 'no-command');
  const gate = ['/bin/sh', '-c', 'kill -STOP $$; exec "$0" "$@"', exe, ...args];
  const argv = SETPRIV !== undefined ? [SETPRIV, '--pdeathsig', 'KILL', ...gate] : gate;
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', o.stdio ?? 'inherit', o.stdio ?? 'inherit'],
    env: { ...process.env, ...(o.env ?? {}) },
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
  });
  const pid = child.pid;
  if (pid === undefined) throw new TargetError(`Cannot start "${exe}"`, 'spawn');
  let finished = false;
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => { finished = true; resolve(code ?? signal); });
    child.once('error', () => { finished = true; resolve(null); });
  });
  const kill = (): void => { if (!finished) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } };
  undo.push(`launched process ${pid}`, kill);
  for (let i = 0; i < 500 && processState(pid) !== 'T'; i++) await sleep(5);
  if (processState(pid) !== 'T') { kill(); throw new TargetError(`"${exe}" did not reach its start gate`, 'spawn'); }
  return {
    pid, launched: true, child, exited, kill,
    done: () => finished,
    release: () => undefined,
    resume: () => { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } },
  };
}

export function attach(pid: number): Target {
  if (!isAlive(pid)) throw new TargetError(`Process "${pid}" does not exist`, 'no-process');
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const exited = new Promise<number | string | null>((resolve) => {
    timer = setInterval(() => {
      if (!isAlive(pid)) { finished = true; clearInterval(timer); resolve(null); }
    }, 100);
    // The poll must never keep memsleuth alive on its own: `--pid P --duration 5s` ends at 5 s, not when P dies.
    timer.unref();
  });
  const release = (): void => { if (timer !== undefined) clearInterval(timer); };
  return {
    pid, launched: false, exited,
    done: () => finished,
    resume: () => undefined,
    kill: release,
    release,
  };
}

/** Waits for the first of: the target's exit, `durationSec`, the abort signal. */
export async function waitForEnd(target: Target, durationSec: number | undefined, signal: AbortSignal | undefined): Promise<'exited' | 'duration' | 'aborted'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const racers: Array<Promise<'exited' | 'duration' | 'aborted'>> = [target.exited.then(() => 'exited' as const)];
  if (durationSec !== undefined) racers.push(new Promise((r) => { timer = setTimeout(() => r('duration'), durationSec * 1000); }));
  if (signal !== undefined) {
    racers.push(new Promise((r) => {
      if (signal.aborted) { r('aborted'); return; }
      onAbort = () => r('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    }));
  }
  try {
    return await Promise.race(racers);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
