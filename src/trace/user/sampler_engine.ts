/**
 * Engine `sampler` (the default): native/memsleuth_sampler.c inside the process samples allocations by bytes
 * (Poisson intervals of mean --sample-bytes), unwinds only sampled ones and tracks their frees; its records come
 * here over a Unix socket in the session's scratch directory.
 *   launch: LD_PRELOAD on the command (children that exec inherit it and connect on their own; forks too).
 *   attach: gdb calls dlopen() and memsleuth_attach() inside the process (the library patches the GOT slots of
 *     every loaded module), and at the end memsleuth_detach(): the slots are put back and the library, still
 *     mapped, only passes calls through. The process runs on.
 * Sites carry estimated live bytes (scaled back by the sampling probability) with a standard error, and a series
 * of live bytes over the trace that the verdict rules judge (cli/trace_user.ts).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import type { AllocationSite } from '../../model/allocation_site.js';
import { bytes } from '../../model/units.js';
import { TargetError } from '../../model/errors.js';
import { findTool } from '../../symbolize/addr2line.js';
import { findMapping, parseProcMaps } from '../../symbolize/proc_maps.js';
import { SAMPLER_LIB, ensureInjector, ensureSampler } from './native_lib.js';
import { SamplerRecordReader } from './sampler_protocol.js';
import type { SampledSite } from './sampler_sites.js';
import { SampleAccumulator, seriesOf } from './sampler_sites.js';
import type { SiteSeries, UserTraceOptions, UserTraceResult } from './result.js';
import { commOf, framesOf, symbolizeUserSites } from './result.js';
import type { Session } from './session.js';
import { withSession } from './session.js';
import { MapsKeeper, isAlive, waitForEnd, within } from './target.js';
import { SAMPLER_DIR_PREFIX, scratchDir } from './leftovers.js';

const run = promisify(execFile);

/**
 * Cap of the mean sampling interval: 256 KiB. The library starts each thread at 1 KiB and doubles the interval while
 * the thread takes more than 1,000 samples a second, so only malloc-bound code reaches the cap. On the bench's 5 M
 * malloc(64)/free loop (9 ns a pair bare; CPU time of the loop) a fixed interval measured 1.15x with the hooks in and
 * sampling off, 1.5x at 128 KiB, 1.55x at 64 KiB, 1.8x at 32 KiB; see bench/trace_user.ts for the adaptive one.
 */
export const DEFAULT_SAMPLE_BYTES = 256 * 1024;
export const DEFAULT_FRAMES = 32;

interface Stream {
  server: Server; sockets: Set<Socket>; acc: SampleAccumulator; keepers: Map<number, MapsKeeper>; broken: string[];
  /** Resolves when every connection has closed and no new one came during a short settle, or after limitMs. */
  quiet: (limitMs: number) => Promise<void>;
}

/**
 * Long enough for the event loop to accept a connection the kernel already queued: a forked child or an exec'd
 * image that connected just before the program exited. Connections open and close all through a run (exec closes
 * one, fork opens another), so "none open" is only the end once none has come for this long.
 */
const SETTLE_MS = 200;

function listen(path: string, acc: SampleAccumulator): Promise<Stream> {
  const sockets = new Set<Socket>();
  const keepers = new Map<number, MapsKeeper>();
  const broken: string[] = [];
  let next = 0;
  let waiters: (() => void)[] = [];
  const server = createServer((sock) => {
    const id = ++next;
    sockets.add(sock);
    const reader = new SamplerRecordReader();
    sock.on('data', (chunk: Buffer) => {
      for (const r of reader.push(chunk)) {
        if (r.kind === 'hello') {
          // Maps now, while the process (or its new image after exec) is surely there; refreshed until the end.
          const k = new MapsKeeper(r.ptr);
          keepers.get(r.ptr)?.stop();
          keepers.set(r.ptr, k);
          k.start(500);
        }
        acc.add(id, r);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (reader.broken !== undefined) broken.push(reader.broken);
      sockets.delete(sock);
      if (sockets.size === 0) { const w = waiters; waiters = []; for (const f of w) f(); }
    });
  });
  const noneOpen = (): Promise<void> => (sockets.size === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve)));
  const quiet = async (limitMs: number): Promise<void> => {
    const end = Date.now() + limitMs;
    while (Date.now() < end) {
      if ((await within(noneOpen(), end - Date.now())) === 'timeout') return;
      const seen = next;
      await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLE_MS, Math.max(0, end - Date.now()))));
      if (sockets.size === 0 && next === seen) return;
    }
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve({ server, sockets, quiet, acc, keepers, broken }));
  });
}

/**
 * How the library gets into a running process: on x86-64 our ptrace injector (native/memsleuth_inject.c) calls
 * dlopen and memsleuth_attach on the main thread; elsewhere gdb does the same calls (as `heaptrack -p` does).
 * gdb 13 fails on this machine's kernel ("Couldn't write extended state status"), hence the injector.
 */
interface Injector { name: string; attach: string[]; detach: string[]; cmd: string }

async function injectorFor(lib: string, socket: string, meanBytes: number, frames: number, pid: number, toolchain: string | undefined): Promise<Injector> {
  if (process.arch === 'x64') {
    const cmd = await ensureInjector(toolchain);
    return { name: 'ptrace injector', cmd, attach: ['attach', String(pid), lib, socket, String(meanBytes), String(frames)], detach: ['detach', String(pid), lib] };
  }
  if (findTool('gdb') === undefined) throw new TargetError('Attaching the sampler needs gdb here (apt-get install gdb), or use --engine first-touch', 'no-gdb');
  const g = (commands: string[]): string[] => ['--batch', '-n', '-iex', 'set auto-solib-add off', '-iex', 'set language c', '-p', String(pid), ...commands.flatMap((c) => ['-ex', c])];
  const q = (t: string): string => JSON.stringify(t);
  return {
    name: 'gdb', cmd: 'gdb',
    attach: g(['sharedlibrary libc.so', `call (void *) dlopen(${q(lib)}, 2)`, 'sharedlibrary libmemsleuth_sampler', `call (int) memsleuth_attach(${q(socket)}, ${meanBytes}, ${frames})`, 'detach']),
    detach: g(['sharedlibrary libmemsleuth_sampler', 'call (int) memsleuth_detach()', 'detach']),
  };
}

/** The number the call returned: "result 12" (injector) or "$2 = 12" (gdb). */
export function callResult(text: string): number | undefined {
  const inj = /^result (-?\d+)$/m.exec(text);
  if (inj !== null) return Number(inj[1]);
  const all = [...text.matchAll(/^\$\d+ = (?:\([^)]*\) )?(-?\d+)\s*$/gm)];
  const v = all[all.length - 1]?.[1];
  return v !== undefined ? Number(v) : undefined;
}

/** Loads the sampler into the attached process; returns the detach step (also pushed on the undo stack). */
async function inject(s: Session, lib: string, socket: string, meanBytes: number, frames: number, toolchain: string | undefined): Promise<() => Promise<void>> {
  const pid = s.target.pid;
  const inj = await injectorFor(lib, socket, meanBytes, frames, pid, toolchain);
  // From here on the process may hold our hooks: whatever happens, detach on every exit path (synchronously, so it
  // also runs from a signal or exit handler).
  let attached = true;
  let injecting: number | undefined;
  s.undo.push(`sampler in process ${pid}`, () => {
    if (!attached || !isAlive(pid)) return;
    attached = false;
    // An injector still inside the process must finish its call (killing it mid-call would leave the process
    // with our registers): wait for it, then detach.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 1500 && injecting !== undefined && isAlive(injecting); i++) Atomics.wait(pause, 0, 0, 20);
    execFileSync(inj.cmd, inj.detach, { stdio: 'ignore', timeout: 60_000 });
  });
  const detach = async (): Promise<void> => {
    if (!attached) return;
    attached = false;
    if (!isAlive(pid)) return;
    const out = await run(inj.cmd, inj.detach, { timeout: 60_000 }).then((r) => `${r.stdout}\n${r.stderr}`, (err: unknown) => (err as { stderr?: string }).stderr ?? String(err));
    const n = callResult(out);
    if (n === undefined) s.problems.push(`detaching the sampler from ${pid} (${inj.name}): ${out.trim().split('\n').slice(-2).join(' | ')}`);
    else s.notes.push(`detached: ${n} GOT slots restored; the library stays mapped in ${pid}, switched off`);
  };
  const call = run(inj.cmd, inj.attach, { timeout: 120_000 });
  injecting = call.child.pid;
  const out = await call.then((r) => `${r.stdout}\n${r.stderr}`, (err: unknown) => {
    const text = ((err as { stderr?: string }).stderr ?? '').trim();
    throw new TargetError(`Cannot load the sampler into process ${pid} (${inj.name}): ${text.split('\n').slice(-3).join(' | ') || (err instanceof Error ? err.message : String(err))}`, 'inject');
  });
  const n = callResult(out);
  if (n === undefined || n < 0) {
    throw new TargetError(`Cannot start the sampler in process ${pid} (${inj.name}): ${n !== undefined ? 'it could not connect to memsleuth\'s socket' : out.trim().split('\n').slice(-3).join(' | ')}`, 'inject');
  }
  s.notes.push(`attached (${inj.name}): dlopen + memsleuth_attach; ${n} GOT slots of the loaded modules point at the sampler`);
  return detach;
}

/** Frames of our own library at the top of a stack (the unwinder starts inside the hook) are dropped. */
function withoutOwnFrames(stack: bigint[], maps: string): bigint[] {
  const m = parseProcMaps(maps).value;
  let i = 0;
  while (i < stack.length && (findMapping(m, stack[i] ?? 0n)?.path ?? '').endsWith(SAMPLER_LIB)) i++;
  return stack.slice(i);
}

export async function traceSampler(o: UserTraceOptions): Promise<UserTraceResult> {
  const lib = await ensureSampler(o.toolchain);
  const meanBytes = o.exact === true ? 0 : o.sampleBytes ?? DEFAULT_SAMPLE_BYTES;
  const frames = Math.min(64, o.stackDepth ?? DEFAULT_FRAMES);
  // The socket must exist before the command starts: the scratch directory is ours, not the session's.
  // A Unix socket path holds at most 107 bytes (sun_path): a deep TMPDIR falls back to /tmp. Named with our pid
  // (memsleuth-sampler-<pid>-XXXXXX): if we are killed with -9, the next run sweeps it (leftovers.ts).
  const base = join(tmpdir(), `${SAMPLER_DIR_PREFIX}${process.pid}-XXXXXX`, 'sampler.sock').length < 100 ? tmpdir() : '/tmp';
  const dir = o.workDir ?? scratchDir(SAMPLER_DIR_PREFIX, base);
  const socket = join(dir, 'sampler.sock');
  if (socket.length >= 100) throw new TargetError(`The sampler's socket path "${socket}" is too long for a Unix socket (pass a shorter work directory)`, 'socket-path');
  const t0 = process.hrtime.bigint();
  const acc = new SampleAccumulator(t0);
  const stream = await listen(socket, acc);
  // A process of another user must reach the socket (attach mode, or a setuid step in a launched command).
  chmodSync(dir, 0o711);
  chmodSync(socket, 0o666);
  const env: Record<string, string> = {
    ...(o.env ?? {}),
    LD_PRELOAD: [lib, process.env['LD_PRELOAD'] ?? ''].filter((x) => x !== '').join(':'),
    MEMSLEUTH_SOCKET: socket,
    MEMSLEUTH_SAMPLE_BYTES: String(meanBytes),
    MEMSLEUTH_MAX_FRAMES: String(frames),
  };
  try {
    return await withSession({ ...o, workDir: dir, ...(o.pid === undefined ? { env } : {}) }, true, async (s) => {
      // On the undo stack, so a signal (SIGTERM, a second Ctrl-C) removes it too; pushed first, it goes last.
      if (o.workDir === undefined) s.undo.push(`scratch folder ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
      s.undo.push('sampler socket', () => { for (const c of stream.sockets) c.destroy(); stream.server.close(); });
      const detach = s.target.launched ? undefined : await inject(s, lib, socket, meanBytes, frames, o.toolchain);
      s.rss.start();
      const tStart = process.hrtime.bigint();
      s.target.resume();
      const ended = await waitForEnd(s.target, o.durationSec, o.signal);
      await detach?.();
      // The library sends in batches (at most 50 ms old) and on exit or detach: wait for its connections to close.
      // After a detach that found the library's lock taken the connection stays open: closing our end makes the
      // holder's next send fail, which switches it off.
      if (ended === 'exited' || !s.target.launched) await stream.quiet(3000);
      if (!s.target.launched) for (const c of stream.sockets) c.destroy();
      const endNs = process.hrtime.bigint();
      const durationSec = Number(endNs - tStart) / 1e9;
      for (const k of stream.keepers.values()) { k.refresh(); k.stop(); }
      s.maps.refresh();
      return buildResult(o, s, stream, { ended, durationSec, endSec: Number(endNs - t0) / 1e9, meanBytes });
    });
  } finally {
    for (const c of stream.sockets) c.destroy();
    stream.server.close();
    for (const k of stream.keepers.values()) k.stop();
    if (o.workDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

async function buildResult(o: UserTraceOptions, s: Session, stream: Stream, r: { ended: UserTraceResult['ended']; durationSec: number; endSec: number; meanBytes: number }): Promise<UserTraceResult> {
  const acc = stream.acc;
  // A process alive at the end: what we read last. One that is gone: the maps it sent itself (at exit, or at
  // HELLO when it was killed), which a short-lived child may be the only one to have.
  const mapsOf = (pid: number): string => {
    const polled = stream.keepers.get(pid)?.text ?? (pid === s.target.pid ? s.maps.text : '');
    const sent = acc.maps.get(pid) ?? '';
    return (isAlive(pid) && polled !== '') || sent === '' ? polled : sent;
  };
  const step = r.endSec >= 30 ? 1 : Math.max(0.05, r.endSec / 30);
  let kept: SampledSite[] = acc.sites().filter((x) => x.liveSamples > 0);
  if (o.minBytes !== undefined) kept = kept.filter((x) => x.liveBytes >= (o.minBytes ?? 0));
  const byPid = new Map<number, SampledSite[]>();
  for (const x of kept) byPid.set(x.pid, [...(byPid.get(x.pid) ?? []), x]);
  const sites: AllocationSite[] = [];
  const series: SiteSeries[] = [];
  for (const [pid, list] of byPid) {
    const maps = mapsOf(pid);
    // A process that is gone has no comm any more; its program is the first file its maps name (the launch gate's
    // `sh` name would be wrong after the exec).
    const exe = parseProcMaps(maps).value.find((m) => m.path?.startsWith('/') === true)?.path;
    const comm = commOf(pid) ?? (exe !== undefined ? basename(exe).slice(0, 15) : pid === s.target.pid ? s.comm : undefined);
    let raw: AllocationSite[] = list.map((x) => {
      const site: AllocationSite = { stack: framesOf(withoutOwnFrames(x.stack, maps), x.fn), bytes: bytes(Math.round(x.liveBytes)), count: x.liveBlocks, kind: 'outstanding', tool: 'trace', pids: [pid] };
      if (comm !== undefined) site.comms = [comm];
      return site;
    });
    if (o.symbolize !== false) raw = await symbolizeUserSites(raw, maps, undefined, s.problems, o.toolchain);
    raw.forEach((site, i) => {
      const x = list[i];
      if (x === undefined) return;
      sites.push(site);
      series.push({ pid, liveBytesSe: Math.round(x.liveBytesSe), liveSamples: x.liveSamples, allocatedBytes: Math.round(x.allocatedBytes), points: seriesOf(x, r.endSec, step) });
    });
  }
  // Most live bytes first, series kept alongside.
  const order = sites.map((_, i) => i).sort((a, b) => (sites[b]?.bytes ?? 0) - (sites[a]?.bytes ?? 0));
  const st = acc.stats;
  if (st.droppedTableFull > 0) s.problems.push(`${st.droppedTableFull} samples were not tracked (the sampler's address table was full): raise --sample-bytes`);
  if (st.failedSends > 0) s.problems.push('the sampler could not send some records and switched itself off');
  for (const b of stream.broken) s.problems.push(`a sampler stream broke off: ${b}`);
  if (acc.pidOrder.length === 0) s.problems.push(s.target.launched ? 'the sampler never connected: is the program static, or does it reset LD_PRELOAD?' : 'the sampler never connected');
  s.notes.push(r.meanBytes === 0 ? 'exact: every allocation recorded' : `sampling: Poisson, one sample per 1 KiB to ${Math.round(r.meanBytes / 1024)} KiB on average (adapted per thread to at most ~1,000 samples a second); live bytes are estimates with a standard error`);
  if (acc.pidOrder.length > 1) s.notes.push(`processes: ${acc.pidOrder.join(', ')} (children that forked or exec'd speak for themselves)`);
  const result: UserTraceResult = {
    engine: 'sampler', pid: s.target.pid, sites: order.map((i) => sites[i] as AllocationSite), maps: mapsOf(s.target.pid) || s.maps.text,
    durationSec: r.durationSec, ended: r.ended, rss: s.rss.samples, problems: s.problems, notes: s.notes,
    stats: { ...st, meanBytes: r.meanBytes },
    series: order.map((i) => series[i] as SiteSeries),
    sampleBytes: r.meanBytes,
  };
  if (s.target.done()) result.exitCode = await s.target.exited;
  return result;
}
