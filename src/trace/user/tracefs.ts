/**
 * tracefs uprobe events in a private ftrace instance, and a reader of its binary per-CPU ring buffers
 * (per_cpu/cpuN/trace_pipe_raw, kernel/trace/ring_buffer.c page format). Used for the `free` probe: bpftrace 0.17
 * (Debian) cannot place a uprobe past a function's first instruction, and the kernel refuses a tracepoint-type
 * BPF program on a uprobe trace event (PERF_EVENT_IOC_SET_BPF: EINVAL), so the events go through ftrace.
 *   /sys/kernel/tracing/uprobe_events:  p:memsleuth_4242/free_0 /usr/lib/x86_64-linux-gnu/libc.so.6:0x0000000000098ef9 ptr=%di:x64
 *   events/memsleuth_4242/free_0/format: field:unsigned long __probe_ip; offset:8; ... field:u64 ptr; offset:16;
 * Every change goes on the UndoStack before it is made visible to anyone else.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmdirSync, writeFileSync, constants } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { TargetError } from '../../model/errors.js';
import type { UndoStack } from './undo.js';

export const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
/** Every group we create starts with this, so leftovers are recognisable (and the undo test greps for it). */
export const GROUP_PREFIX = 'memsleuth_';

export function tracefsRoot(): string | undefined {
  return TRACEFS_ROOTS.find((r) => existsSync(join(r, 'uprobe_events')));
}

/**
 * bpftrace and our free probe need tracefs. A machine may boot without it mounted: mount it for the session
 * and put the umount on the undo stack, so the machine is left as found.
 */
export function ensureTracefsMounted(undo: UndoStack): string | undefined {
  const found = tracefsRoot();
  if (found !== undefined || process.getuid?.() !== 0) return found;
  const target = TRACEFS_ROOTS[0]!;
  if (spawnSync('mount', ['-t', 'tracefs', 'nodev', target]).status !== 0) return undefined;
  undo.push(`umount ${target}`, () => {
    const u = spawnSync('umount', [target], { encoding: 'utf8' });
    if (u.status !== 0) throw new Error(`umount "${target}": ${(u.stderr ?? '').trim()}`);
  });
  return tracefsRoot();
}

/** The register that holds the first integer argument at a function's entry, as uprobe_events spells it. */
export function firstArgRegister(arch: string = process.arch): string | undefined {
  switch (arch) {
    case 'x64': return '%di';
    case 'arm64': return '%x0';
    case 'arm': return '%r0';
    case 'riscv64': return '%a0';
    default: return undefined;
  }
}

export interface UprobeEvent { group: string; name: string; id: number; definition: string }

/** Appends one `p:` line to uprobe_events; the undo removes it (after whatever enabled it was undone). */
export function addUprobeEvent(root: string, undo: UndoStack, spec: { group: string; name: string; path: string; offset: bigint; fetch: string }): UprobeEvent {
  if (/\s/.test(spec.path)) throw new TargetError(`Cannot probe "${spec.path}": uprobe_events cannot take a path with spaces`, 'uprobe');
  const definition = `p:${spec.group}/${spec.name} ${spec.path}:0x${spec.offset.toString(16)} ${spec.fetch}`;
  const file = join(root, 'uprobe_events');
  try {
    appendFileSync(file, `${definition}\n`);
  } catch (err) {
    throw new TargetError(`Cannot write "${definition}" to "${file}": ${err instanceof Error ? err.message : String(err)}`, 'uprobe');
  }
  undo.push(`uprobe event ${spec.group}/${spec.name}`, () => appendFileSync(file, `-:${spec.group}/${spec.name}\n`));
  const id = Number(readFileSync(join(root, 'events', spec.group, spec.name, 'id'), 'utf8').trim());
  return { group: spec.group, name: spec.name, id, definition };
}

/** Lines of uprobe_events that are ours (for tests and for a "what did we leave" check). */
export function ourUprobeEvents(root: string): string[] {
  return readFileSync(join(root, 'uprobe_events'), 'utf8').split('\n').filter((l) => l.includes(GROUP_PREFIX));
}

export interface Instance { dir: string; name: string }

/** A private ftrace instance (its own buffers, clock and enables), removed by the undo. */
export function createInstance(root: string, undo: UndoStack, name: string, options: { bufferKb: number; pids: number[] }): Instance {
  const dir = join(root, 'instances', name);
  mkdirSync(dir);
  undo.push(`ftrace instance ${name}`, () => {
    try { writeFileSync(join(dir, 'tracing_on'), '0'); } catch { /* already gone */ }
    rmdirSync(dir);
  });
  // bpf_ktime_get_ns (bpftrace's nsecs) is CLOCK_MONOTONIC: so is "mono", which lets the two streams be merged.
  writeFileSync(join(dir, 'trace_clock'), 'mono');
  writeFileSync(join(dir, 'buffer_size_kb'), String(options.bufferKb));
  if (options.pids.length > 0) {
    writeFileSync(join(dir, 'set_event_pid'), options.pids.join(' '));
    try { writeFileSync(join(dir, 'options', 'event-fork'), '1'); } catch { /* older kernels: threads started later are missed */ }
  }
  return { dir, name };
}

export function enableEvent(instance: Instance, undo: UndoStack, event: UprobeEvent): void {
  const file = join(instance.dir, 'events', event.group, event.name, 'enable');
  writeFileSync(file, '1');
  undo.push(`enable of ${event.group}/${event.name} in ${instance.name}`, () => writeFileSync(file, '0'));
}

/** Names of enabled events in the top-level trace and in our instances (for tests). */
export function enabledOurEvents(root: string): string[] {
  const out: string[] = [];
  const dirs = [root, ...(existsSync(join(root, 'instances')) ? readdirSync(join(root, 'instances')).map((d) => join(root, 'instances', d)) : [])];
  for (const d of dirs) {
    const ev = join(d, 'events');
    if (!existsSync(ev)) continue;
    for (const g of readdirSync(ev)) {
      if (!g.startsWith(GROUP_PREFIX)) continue;
      for (const e of readdirSync(join(ev, g))) {
        const f = join(ev, g, e, 'enable');
        try { if (readFileSync(f, 'utf8').trim() !== '0') out.push(`${d}:${g}/${e}`); } catch { /* not an event dir */ }
      }
    }
  }
  return out;
}

/** One record from the ring buffer: the event's type id, its timestamp (ns, the instance's clock) and its bytes. */
export interface RawEvent { type: number; ts: number; data: Buffer }

/**
 * Parses one ring-buffer page as trace_pipe_raw hands it out: u64 time stamp, u64 commit (data length, with
 * RB_MISSED_EVENTS in bit 31 and RB_MISSED_STORED in bit 30), then events with a 32-bit header
 * (type_len:5, time_delta:27). type_len 1..28: that many 32-bit words of data; 0: length in the next word;
 * 29 padding; 30 time extend; 31 absolute time stamp.
 */
export function parseRingPage(page: Buffer, onEvent: (type: number, ts: number, page: Buffer, dataOffset: number, dataLength: number) => void): { events: number; missed: boolean } {
  if (page.length < 16) return { events: 0, missed: false };
  let ts = Number(page.readBigUInt64LE(0));
  const commitWord = page.readUInt32LE(8);
  const missed = (commitWord & 0x80000000) !== 0;
  const size = Math.min(commitWord & 0x3fffffff, page.length - 16);
  let o = 16;
  const end = 16 + size;
  let events = 0;
  while (o + 4 <= end) {
    const h = page.readUInt32LE(o);
    const typeLen = h & 0x1f;
    const delta = h >>> 5;
    if (typeLen === 29) {
      if (delta === 0) break; // the rest of the page is empty
      o += 4 + (o + 8 <= end ? page.readUInt32LE(o + 4) : 0);
      continue;
    }
    if (typeLen === 30) {
      ts += delta + (o + 8 <= end ? page.readUInt32LE(o + 4) : 0) * 2 ** 27;
      o += 8;
      continue;
    }
    if (typeLen === 31) {
      // Absolute stamps carry the low 59 bits; the page's time stamp has the rest.
      const abs = delta + (o + 8 <= end ? page.readUInt32LE(o + 4) : 0) * 2 ** 27;
      ts = abs;
      o += 8;
      continue;
    }
    ts += delta;
    let dataOffset: number;
    let dataLength: number;
    if (typeLen === 0) {
      const len = o + 8 <= end ? page.readUInt32LE(o + 4) : 0;
      dataOffset = o + 8;
      dataLength = len - 4;
      o += 4 + len;
    } else {
      dataOffset = o + 4;
      dataLength = typeLen * 4;
      o += 4 + dataLength;
    }
    if (dataLength < 8 || dataOffset + dataLength > end) break;
    onEvent(page.readUInt16LE(dataOffset), ts, page, dataOffset, dataLength);
    events++;
  }
  return { events, missed };
}

/** Non-blocking reader of an instance's per-CPU raw buffers; drain() reads every full or partial page available. */
export class RawReader {
  private readonly fds: number[] = [];
  private readonly page: Buffer;
  events = 0;
  missedPages = 0;

  constructor(instance: Instance, private readonly onEvent: (type: number, ts: number, page: Buffer, dataOffset: number, dataLength: number) => void) {
    let size = 4096;
    try { size = Number(readFileSync(join(instance.dir, 'buffer_subbuf_size_kb'), 'utf8').trim()) * 1024 || 4096; } catch { /* before 6.8: one page */ }
    this.page = Buffer.alloc(size);
    const perCpu = join(instance.dir, 'per_cpu');
    for (const cpu of readdirSync(perCpu).filter((d) => /^cpu\d+$/.test(d))) {
      this.fds.push(openSync(join(perCpu, cpu, 'trace_pipe_raw'), constants.O_RDONLY | constants.O_NONBLOCK));
    }
  }

  drain(): void {
    for (const fd of this.fds) {
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, this.page, 0, this.page.length, null);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
        if (n <= 0) break;
        const r = parseRingPage(this.page.subarray(0, n), this.onEvent);
        this.events += r.events;
        if (r.missed) this.missedPages++;
      }
    }
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
