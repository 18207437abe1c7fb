/**
 * Test support (not shipped logic): compiles our own small C programs with the host gcc and runs them
 * long enough to capture /proc/PID/maps. Every process started here is killed by stop() / cleanup.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `memsleuth-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** 1-based line of the first line containing `marker` (a comment like `/* @site *\/` in our C source). */
export function lineOf(source: string, marker: string): number {
  const i = source.split('\n').findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`marker ${marker} not in source`);
  return i + 1;
}

export function gcc(args: string[], cwd: string): void {
  execFileSync('gcc', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function writeSource(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface Running {
  pid: number;
  /** Lines printed before READY. */
  lines: string[];
  maps: string;
  stop: () => Promise<void>;
}

/** Starts `exe`, waits for a "READY" line, captures /proc/PID/maps, leaves it sleeping until stop(). */
export function runUntilReady(exe: string, env: Record<string, string> = {}): Promise<Running> {
  const child: ChildProcess = spawn(exe, [], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const stop = (): Promise<void> => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const out = child.stdout;
    if (out === null || child.pid === undefined) { reject(new Error(`cannot start ${exe}`)); return; }
    const pid = child.pid;
    const rl = createInterface({ input: out });
    const timer = setTimeout(() => { void stop(); reject(new Error(`${exe} printed no READY`)); }, 10_000);
    rl.on('line', (line) => {
      if (line !== 'READY') { lines.push(line); return; }
      clearTimeout(timer);
      resolve({ pid, lines, maps: readFileSync(`/proc/${pid}/maps`, 'utf8'), stop });
    });
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/** Names of live processes whose parent is this test process (to prove close() leaves none behind). */
export function childProcessNames(): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') out.push(stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // raced with exit
    }
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A shared library with a function that mallocs; it reports the return address of its call to where(). */
export const LIB_C = `#include <stdlib.h>
__attribute__((noinline)) static void *where(void) { return __builtin_return_address(0); }
__attribute__((noinline)) void *lib_alloc(unsigned long n, void **site) {
  void *p = malloc(n);
  *site = where(); /* @lib-site */
  return p;
}
`;

/** The program: a plain call site, one inside an always_inline helper, and the library's. */
export const MAIN_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *lib_alloc(unsigned long n, void **site);
__attribute__((noinline)) static void *where(void) { return __builtin_return_address(0); }
static inline __attribute__((always_inline)) void *inlined_helper(void) {
  return where(); /* @inline-site */
}
int main(void) {
  void *site_main = where(); /* @main-site */
  void *site_inline = inlined_helper(); /* @inline-caller */
  void *site_lib = 0;
  void *p = lib_alloc(64, &site_lib);
  printf("main %p\\ninline %p\\nlib %p\\nREADY\\n", site_main, site_inline, site_lib);
  fflush(stdout);
  sleep(60);
  free(p);
  return 0;
}
`;

export interface Leaky { dir: string; lib: string; pie: string; nopie: string; cleanup: () => void }

/** Builds libleak.so, a PIE and a -no-pie executable linked to it, all `-g -O0`. */
export function buildLeaky(): Leaky {
  const { dir, cleanup } = tempDir('leaky');
  writeSource(dir, 'lib.c', LIB_C);
  writeSource(dir, 'main.c', MAIN_C);
  gcc(['-g', '-O0', '-shared', '-fPIC', '-o', 'libleak.so', 'lib.c'], dir);
  gcc(['-g', '-O0', '-fPIE', '-pie', '-o', 'main-pie', 'main.c', '-L.', '-lleak', `-Wl,-rpath,${dir}`], dir);
  gcc(['-g', '-O0', '-fno-pie', '-no-pie', '-o', 'main-nopie', 'main.c', '-L.', '-lleak', `-Wl,-rpath,${dir}`], dir);
  return { dir, lib: join(dir, 'libleak.so'), pie: join(dir, 'main-pie'), nopie: join(dir, 'main-nopie'), cleanup };
}

/** "main 0x55d..." lines -> { main: 0x55d..n, ... } */
export function printedAddresses(lines: string[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const l of lines) {
    const m = /^(\w+) (0x[0-9a-f]+)$/.exec(l);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = BigInt(m[2]);
  }
  return out;
}
