/**
 * Runs one bpftrace script as a child and parses what it prints at the end. bpftrace 0.17 prints a map of tuples
 * holding a `ustack(perf)` like this (user symbols off: BPFTRACE_NO_USER_SYMBOLS=1, we symbolize ourselves):
 *   @o[94255114306208]: (
 *   	55b968470182 0x55b968470182 ([unknown])
 *   	7f19c073724a 0x7f19c073724a ([unknown])
 *   , 100, 1230574886639)
 *   @pg[23013451]: (1230574886639, 94255114306208, 0, 0, 0, 0)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../../model/errors.js';
import { findTool } from '../../symbolize/addr2line.js';
import { within } from './target.js';
import { waitGone } from './leftovers.js';
import { killedWithUs } from '../parent_death.js';
import type { UndoStack } from './undo.js';

export const READY = '@@READY';
/** Appended to every script: tells us the probes are attached (interval probes start after the others). */
export const READY_PROBE = `interval:ms:50 /@__ready == 0/ { @__ready = 1; printf("${READY}\\n"); }`;

export interface BpftraceRun {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves when bpftrace printed READY (or rejects with its error output). */
  ready: Promise<void>;
  /** SIGINT (bpftrace runs END and prints its maps), then the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<void>;
}

export function bpftracePath(): string | undefined {
  return findTool('bpftrace');
}

export function runBpftrace(script: string, dir: string, undo: UndoStack, opts: { pid?: number; mapKeysMax?: number; env?: Record<string, string> } = {}): BpftraceRun {
  const bin = bpftracePath();
  if (bin === undefined) throw new TargetError('bpftrace is not installed (apt-get install bpftrace)', 'no-bpftrace');
  const file = join(dir, 'trace.bt');
  writeFileSync(file, script);
  const args = opts.pid !== undefined ? ['-p', String(opts.pid), file] : [file];
  // bpftrace gets SIGKILL when we die, even of kill -9, instead of staying attached as an orphan.
  const argv = killedWithUs([bin, ...args]);
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BPFTRACE_NO_USER_SYMBOLS: '1', BPFTRACE_MAP_KEYS_MAX: String(opts.mapKeysMax ?? 1 << 20), BPFTRACE_PERF_RB_PAGES: '256', ...(opts.env ?? {}) },
  });
  let finished = false;
  // Waits until it is gone: exiting right after the signal left bpftrace tearing down its probes for seconds.
  const kill = (): void => {
    if (finished || child.pid === undefined) return;
    try { process.kill(child.pid, 'SIGKILL'); } catch { return; }
    waitGone(child.pid);
  };
  undo.push(`bpftrace ${child.pid ?? '?'}`, kill);
  const stdout: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  let onReady: (() => void) | undefined;
  let onFail: ((e: Error) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => { onReady = resolve; onFail = reject; });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l === READY) onReady?.();
      else stdout.push(l);
    }
  });
  child.stderr.setEncoding('utf8');
  let errText = '';
  child.stderr.on('data', (chunk: string) => {
    errText += chunk;
    const lines = errText.split('\n');
    errText = lines.pop() ?? '';
    // bpftrace 0.17 always complains about RLIMIT_MEMLOCK; kernels >= 5.11 account BPF memory to the cgroup instead.
    for (const l of lines) if (l !== '' && !/RLIMIT_MEMLOCK/.test(l)) stderr.push(l);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      finished = true;
      if (partial !== '') stdout.push(partial);
      onFail?.(new TargetError(`bpftrace exited before its probes were attached: ${stderr.slice(-5).join(' | ') || 'no message'}`, 'bpftrace'));
      resolve();
    });
  });
  ready.catch(() => undefined);
  const stop = async (graceMs = 20_000): Promise<void> => {
    if (finished) return;
    try { child.kill('SIGINT'); } catch { /* gone */ }
    // within() clears its timer: a pending 20 s timer held the CLI open after the report was printed.
    if ((await within(exited, graceMs)) === 'timeout') { kill(); await exited; }
  };
  return { child, stdout, stderr, ready, stop, exited };
}

/** A map entry whose value may hold a stack: key, the stack's addresses (innermost first) and the numbers. */
export interface MapEntryOut { map: string; key: string; stack: bigint[]; values: number[] }

export function parseBpftraceMaps(lines: string[]): MapEntryOut[] {
  const out: MapEntryOut[] = [];
  let cur: MapEntryOut | undefined;
  for (const line of lines) {
    const head = /^@(\w+)\[([^\]]*)\]: (.*)$/.exec(line);
    if (head !== null) {
      const rest = head[3] ?? '';
      const entry: MapEntryOut = { map: head[1] ?? '', key: head[2] ?? '', stack: [], values: [] };
      if (rest === '(') { cur = entry; out.push(entry); continue; }
      entry.values = rest.replace(/^\(|\)$/g, '').split(',').map((v) => Number(v.trim()));
      out.push(entry);
      cur = undefined;
      continue;
    }
    if (cur === undefined) continue;
    const frame = /^\s+([0-9a-f]+)\s/.exec(line);
    if (frame !== null && frame[1] !== undefined) { cur.stack.push(BigInt(`0x${frame[1]}`)); continue; }
    if (line.startsWith(',')) {
      cur.values = line.replace(/^,|\)$/g, '').split(',').map((v) => Number(v.trim()));
      cur = undefined;
    }
  }
  return out;
}
