/**
 * Shared by the live tests and bench/trace_kernel.ts: compiles testdata/fd_churn.c, runs it, and tells
 * why the live tests must skip on this machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRACEFS_CANDIDATES } from './tracefs_state.js';

/** src/trace/kernel/testdata, found from dist/src/trace/kernel/ as well. */
export function testdataDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'testdata'), join(here, '..', '..', '..', '..', 'src', 'trace', 'kernel', 'testdata')];
  return candidates.find((d) => existsSync(join(d, 'fd_churn.c'))) ?? candidates[0] ?? here;
}

export function compileFdChurn(): string | { skip: string } {
  const src = join(testdataDir(), 'fd_churn.c');
  const out = join(mkdtempSync(join(tmpdir(), 'memsleuth-fdchurn-')), 'fd_churn');
  const r = spawnSync('gcc', ['-O2', '-o', out, src], { encoding: 'utf8' });
  if (r.error !== undefined) return { skip: 'gcc not found (apt-get install gcc)' };
  if (r.status !== 0) return { skip: `gcc failed: ${r.stderr}` };
  return out;
}

export interface ChurnRun { child: ChildProcess; done: Promise<{ iterations: number; leaked: number }> }

/** Runs fd_churn; with `hold` it keeps its leaked fds until release() closes its stdin. */
export function runFdChurn(bin: string, seconds: number, mode: 'churn' | 'leak', hold = false, leakEvery = 64): ChurnRun & { release: () => void } {
  const child = spawn(bin, [String(seconds), mode, hold ? 'hold' : 'nohold', String(leakEvery)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  const done = new Promise<{ iterations: number; leaked: number }>((resolve) => {
    const check = (): boolean => {
      const m = /iterations (\d+) leaked (\d+)/.exec(text);
      if (m === null) return false;
      resolve({ iterations: Number(m[1]), leaked: Number(m[2]) });
      return true;
    };
    child.stdout?.on('data', () => { check(); });
    child.on('exit', () => { if (!check()) resolve({ iterations: 0, leaked: 0 }); });
  });
  return { child, done, release: () => { child.stdin?.end(); } };
}

export function bpftraceInstalled(): boolean {
  const r = spawnSync('bpftrace', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Why live kernel-tracing tests cannot run here, or undefined when they can. */
export function liveSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root: kernel tracing needs root';
  if (!TRACEFS_CANDIDATES.some((d) => existsSync(join(d, 'events'))) && !existsSync('/sys/kernel/tracing')) return 'no tracefs (CONFIG_TRACING off)';
  if (!existsSync('/proc/kallsyms')) return 'no /proc/kallsyms';
  return undefined;
}

/** Processes still running our bpftrace program (its text carries the "memsleuth-sample" marker). */
export function strayBpftrace(): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('memsleuth-sample')) pids.push(Number(p)); } catch { /* gone */ }
  }
  return pids;
}
