/**
 * Engine `bpftrace`: uprobes/uretprobes on the allocation functions of the library the process really maps,
 * outstanding objects kept in a BPF hash (pointer -> stack, size, time), so nothing per call crosses to us.
 *   malloc & co: a uprobe at the entry (its first instruction, `push`, is emulated: ~0.5 us) and a uretprobe
 *     (the stack is taken at the return, where the frame-pointer chain starts at the caller).
 *   free, three ways (`freeProbe`):
 *     'tracefs' (default) - a uprobe_events probe past free's first instruction (`test %rdi,%rdi` is single-stepped,
 *        16.6 us; the next ones are emulated), recorded in a private ftrace instance and read from trace_pipe_raw
 *        here; an object is freed when a free of its pointer comes after its allocation (same CLOCK_MONOTONIC).
 *        bpftrace 0.17 cannot probe past a first instruction, nor attach to a uprobe trace event.
 *     'uprobe' - bpftrace's own uprobe on free: exact in-kernel delete, but single-stepped on glibc.
 *     'none' - no free probe: an address handed out again was freed before (the map entry is overwritten),
 *        so what stays is leaks plus blocks freed and not yet reused (bounded by the allocator's free lists).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../../model/errors.js';
import { bpftraceString, bpftraceSymbol } from '../bpftrace_quote.js';
import { parseProcMaps } from '../../symbolize/proc_maps.js';
import { findTool } from '../../symbolize/addr2line.js';
import type { AllocatorLibrary } from './libc.js';
import { allocatorLibrary, allocatorLibraryOf, disassemble, freeProbeOffset } from './libc.js';
import type { MapEntryOut } from './bpftrace_run.js';
import { READY_PROBE, parseBpftraceMaps, runBpftrace } from './bpftrace_run.js';
import type { Outstanding, UserTraceOptions, UserTraceResult } from './result.js';
import { framesOf, groupByStack, symbolizeUserSites } from './result.js';
import type { Session } from './session.js';
import { withSession } from './session.js';
import { waitForEnd } from './target.js';
import type { Instance } from './tracefs.js';
import { GROUP_PREFIX, RawReader, addUprobeEvent, createInstance, enableEvent, firstArgRegister, tracefsRoot } from './tracefs.js';

const NOW = '@@NOW';

/** The bpftrace program; exported for tests and for `--dry-run` style printing. */
export function bpftraceScript(lib: AllocatorLibrary, o: { pid: number; sampleEvery: number; stackDepth: number; freeProbe: 'tracefs' | 'uprobe' | 'none' }): string {
  const L = bpftraceString(lib.path, 'library path', 'attach-point'); // a path from the target's maps: quoted, never pasted
  const sample = o.sampleEvery > 1 ? ` && (rand % ${o.sampleEvery}) == 0` : '';
  const rec = (ptr: string, size: string): string => `@o[${ptr}] = (ustack(perf, ${o.stackDepth}), ${size}, nsecs);`;
  const has = (n: string): boolean => lib.symbols.has(n as never);
  const sym = (n: string): string => bpftraceSymbol(lib.symbols.get(n as never)?.symbol ?? n);
  const lines: string[] = [];
  // Sizes are stored +1 so that malloc(0) still counts as "in flight".
  const simple: Array<[string, string, string]> = [['malloc', 'm', 'arg0'], ['calloc', 'c', 'arg0 * arg1'], ['valloc', 'v', 'arg0'], ['memalign', 'g', 'arg1'], ['aligned_alloc', 'l', 'arg1']];
  for (const [fn, k, size] of simple) {
    if (!has(fn)) continue;
    lines.push(`uprobe:${L}:${sym(fn)} /pid == ${o.pid}${sample}/ { @${k}[tid] = ${size} + 1; }`);
    lines.push(`uretprobe:${L}:${sym(fn)} /@${k}[tid]/ { if (retval != 0) { ${rec('retval', `@${k}[tid] - 1`)} } delete(@${k}[tid]); }`);
  }
  if (has('realloc')) {
    // realloc moves or frees the old block whether or not this call is sampled.
    lines.push(`uprobe:${L}:${sym('realloc')} /pid == ${o.pid}/ { @rp[tid] = arg0 + 1; @r[tid] = arg1 + 1; @rs[tid] = 1;${sample !== '' ? ` if ((rand % ${o.sampleEvery}) != 0) { @rs[tid] = 0; }` : ''} }`);
    lines.push(`uretprobe:${L}:${sym('realloc')} /@r[tid]/ { if (@rp[tid] > 1 && @rp[tid] - 1 != retval && (retval != 0 || @r[tid] == 1)) { delete(@o[@rp[tid] - 1]); } if (retval != 0 && @rs[tid]) { ${rec('retval', '@r[tid] - 1')} } delete(@r[tid]); delete(@rp[tid]); delete(@rs[tid]); }`);
  }
  if (has('posix_memalign')) {
    lines.push(`uprobe:${L}:${sym('posix_memalign')} /pid == ${o.pid}${sample}/ { @pm[tid] = arg0; @ps[tid] = arg2 + 1; }`);
    lines.push(`uretprobe:${L}:${sym('posix_memalign')} /@ps[tid]/ { if (retval == 0) { $p = *(uint64 *)uptr(@pm[tid]); ${rec('$p', '@ps[tid] - 1')} } delete(@pm[tid]); delete(@ps[tid]); }`);
  }
  if (o.freeProbe === 'uprobe') lines.push(`uprobe:${L}:${sym('free')} /pid == ${o.pid}/ { delete(@o[arg0]); }`);
  lines.push(READY_PROBE);
  lines.push(`END { printf("${NOW} %lld\\n", nsecs); clear(@__ready); ${['m', 'c', 'v', 'g', 'l', 'rp', 'r', 'rs', 'pm', 'ps'].map((k) => `clear(@${k});`).join(' ')} }`);
  return `${lines.join('\n')}\n`;
}

interface FreeStream { lastFree: Map<number, number>; reader: RawReader; timer: NodeJS.Timeout; instance: Instance }

function startFreeStream(s: Session, lib: AllocatorLibrary): FreeStream | undefined {
  const root = tracefsRoot();
  const reg = firstArgRegister();
  const free = lib.symbols.get('free');
  if (root === undefined || reg === undefined || free === undefined) {
    s.problems.push(root === undefined ? 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing): free is not seen, only address reuse' : `no free probe on ${process.arch}: only address reuse`);
    return undefined;
  }
  const where = freeProbeOffset(disassemble(lib.path, free));
  s.notes.push(`free: ${where.reason}`);
  // memsleuth_<our pid>_<target pid>: the next run removes it if we are killed (leftovers.ts).
  const group = `${GROUP_PREFIX}${process.pid}_${s.target.pid}`;
  const event = addUprobeEvent(root, s.undo, { group, name: 'free', path: lib.path, offset: free.fileOffset + BigInt(where.offset), fetch: `ptr=${reg}:x64` });
  s.notes.push(`uprobe_events: ${event.definition}`);
  const instance = createInstance(root, s.undo, group, { bufferKb: 32768, pids: [s.target.pid] });
  const lastFree = new Map<number, number>();
  const reader = new RawReader(instance, (type, ts, page, at) => {
    if (type !== event.id) return;
    // ptr: after the 8-byte common header and the 8-byte __probe_ip. User pointers fit in 2^53.
    const ptr = page.readUInt32LE(at + 16) + page.readUInt32LE(at + 20) * 4294967296;
    lastFree.set(ptr, ts);
  });
  s.undo.push('trace_pipe_raw readers', () => reader.close());
  enableEvent(instance, s.undo, event);
  const timer = setInterval(() => reader.drain(), 20);
  s.undo.push('free reader timer', () => clearInterval(timer));
  return { lastFree, reader, timer, instance };
}

export async function traceBpftrace(o: UserTraceOptions): Promise<UserTraceResult> {
  return withSession(o, true, async (s) => {
    const sampleEvery = o.sampleEvery ?? 1;
    const freeProbe = o.freeProbe ?? 'tracefs';
    const libOpts: { lib?: string; symbolsPrefix?: string } = {};
    if (o.lib !== undefined) libOpts.lib = o.lib;
    if (o.symbolsPrefix !== undefined) libOpts.symbolsPrefix = o.symbolsPrefix;
    let lib: AllocatorLibrary;
    if (s.target.launched) {
      const exe = o.command?.[0] ?? '';
      const path = exe.includes('/') ? exe : findTool(exe);
      if (path === undefined || !existsSync(path)) throw new TargetError(`Cannot find "${exe}" to launch`, 'no-command');
      lib = allocatorLibraryOf(path, libOpts);
    } else lib = allocatorLibrary(parseProcMaps(s.maps.text).value, libOpts);
    s.notes.push(`allocator: ${lib.path} (${lib.flavor}); probes on ${[...lib.symbols.values()].map((x) => x.symbol).join(', ')}`);
    if (sampleEvery > 1) s.notes.push(`sampling: one allocation in ${sampleEvery} recorded (rand % ${sampleEvery}); bytes and counts are scaled by ${sampleEvery}`);

    const stream = freeProbe === 'tracefs' ? startFreeStream(s, lib) : undefined;
    const script = bpftraceScript(lib, { pid: s.target.pid, sampleEvery, stackDepth: o.stackDepth ?? 16, freeProbe });
    const bt = runBpftrace(script, s.dir, s.undo, { pid: s.target.pid });
    await bt.ready;
    s.rss.start();
    const t0 = process.hrtime.bigint();
    s.target.resume();
    const ended = await waitForEnd(s.target, o.durationSec, o.signal);
    const durationSec = Number(process.hrtime.bigint() - t0) / 1e9;
    s.maps.refresh();
    await bt.stop();
    if (stream !== undefined) {
      clearInterval(stream.timer);
      // Stop the writer first: the page it is filling is handed to readers only once it is not being written.
      try { writeFileSync(join(stream.instance.dir, 'tracing_on'), '0'); } catch { /* gone */ }
      stream.reader.drain();
    }
    if (bt.stderr.some((l) => /ERROR/.test(l))) s.problems.push(`bpftrace: ${bt.stderr.filter((l) => /ERROR/.test(l)).slice(0, 3).join(' | ')}`);

    const entries: MapEntryOut[] = parseBpftraceMaps(bt.stdout);
    const nowLine = bt.stdout.find((l) => l.startsWith(NOW));
    const nowNs = nowLine !== undefined ? Number(nowLine.split(' ')[1]) : undefined;
    const objects: Outstanding[] = [];
    let freedLate = 0;
    for (const e of entries) {
      if (e.map !== 'o') continue;
      const ptr = Number(e.key);
      const [size, ts] = e.values;
      if (size === undefined || ts === undefined) continue;
      const f = stream?.lastFree.get(ptr);
      if (f !== undefined && f >= ts) { freedLate++; continue; }
      const obj: Outstanding = { stack: framesOf(e.stack, lib.symbols.get('malloc')?.symbol ?? 'malloc'), size };
      if (nowNs !== undefined) obj.ageSec = Math.max(0, (nowNs - ts) / 1e9);
      objects.push(obj);
    }
    const stats: Record<string, number> = { recorded: entries.filter((e) => e.map === 'o').length, freedAfterRecord: freedLate, outstanding: objects.length };
    if (stream !== undefined) {
      stats['freeEvents'] = stream.reader.events;
      stats['lostPages'] = stream.reader.missedPages;
      if (stream.reader.missedPages > 0) s.problems.push(`${stream.reader.missedPages} ring-buffer pages of free events were overwritten before we read them: some freed blocks may show as outstanding (raise the instance buffer or use --sample-every)`);
    }
    if (stats['recorded'] !== undefined && stats['recorded'] >= (1 << 20)) s.problems.push('the object map was full (BPFTRACE_MAP_KEYS_MAX): newer allocations were not recorded');
    if (freeProbe === 'none') s.notes.push('no free probe: outstanding = never-reused addresses (leaks, plus blocks freed but not yet handed out again)');

    let sites = groupByStack(objects, 'trace', s.target.pid, s.comm, sampleEvery);
    if (o.minBytes !== undefined) sites = sites.filter((x) => x.bytes >= (o.minBytes ?? 0));
    if (o.symbolize !== false) sites = await symbolizeUserSites(sites, s.maps.text, lib.path, s.problems);
    const result: UserTraceResult = { engine: 'bpftrace', pid: s.target.pid, sites, maps: s.maps.text, durationSec, ended, rss: s.rss.samples, problems: s.problems, notes: s.notes, stats };
    if (s.target.done()) result.exitCode = await s.target.exited;
    return result;
  });
}
