/** Options and result of `traceUser`, shared by the engines; and the step every engine ends with: objects -> sites. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { AllocationSite, EvidenceTool, Frame } from '../../model/allocation_site.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';
import { symbolizeSites } from '../../symbolize/index.js';

export type UserEngine = 'sampler' | 'bpftrace' | 'heaptrack' | 'faults';
/** How the bpftrace engine sees `free`: tracefs uprobe event past the first instruction (default), a plain bpftrace uprobe, or not at all (address reuse only). */
export type FreeProbe = 'tracefs' | 'uprobe' | 'none';

export interface UserTraceOptions {
  engine: UserEngine;
  /** Attach to this running process... */
  pid?: number;
  /** ...or launch this command (argv) held at a start gate until the probes are in. */
  command?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Output of a launched command (default 'inherit'). */
  stdio?: 'inherit' | 'ignore';
  /** Stop after this many seconds (default: when the process exits, or on `signal`). */
  durationSec?: number;
  signal?: AbortSignal;
  /** Library that holds the allocator (default: the C library the process maps; a static binary probes itself). */
  lib?: string;
  /** Prefix of the allocator's symbol names ("je_" for a prefixed jemalloc). */
  symbolsPrefix?: string;
  /** sampler: mean sampling interval in bytes (default 128 KiB). */
  sampleBytes?: number;
  /** sampler: record every allocation. */
  exact?: boolean;
  /** Cross toolchain prefix ("aarch64-linux-gnu-"): builds the sampler and symbolizes with its tools. */
  toolchain?: string;
  /** bpftrace: record one allocation in N (sizes and counts are scaled back by N). */
  sampleEvery?: number;
  freeProbe?: FreeProbe;
  /** User stack frames kept per allocation (default 16). */
  stackDepth?: number;
  /** Sites holding fewer bytes than this are dropped (default 0). */
  minBytes?: number;
  /** Symbolize frames (default true); tests of the raw data turn it off. */
  symbolize?: boolean;
  /** Directory for scratch files (default: a fresh one under the OS tmpdir, removed at the end). */
  workDir?: string;
}

export interface RssSample { tSec: number; rss: Bytes }

/** Sampler engine: what stands behind one site's estimate, and its live bytes over the trace. */
export interface SiteSeries {
  pid: number;
  /** Standard error of the site's estimated live bytes. */
  liveBytesSe: number;
  /** Sampled blocks still live. */
  liveSamples: number;
  /** Estimated bytes allocated at the site during the trace (freed or not). */
  allocatedBytes: number;
  /** Estimated live bytes at t seconds after the trace started. */
  points: Array<{ t: number; value: number }>;
}

export interface UserTraceResult {
  engine: UserEngine;
  pid: number;
  /** Outstanding memory by stack, most bytes first; kind 'outstanding', tool 'trace' (or 'heaptrack'). */
  sites: AllocationSite[];
  /** /proc/PID/maps as last read: keep it to symbolize again later. */
  maps: string;
  durationSec: number;
  ended: 'exited' | 'duration' | 'aborted';
  exitCode?: number | string | null;
  /** Resident memory of the process over the run (VmRSS, sampled every 0.5 s). */
  rss: RssSample[];
  /** Things that lower confidence (lost events, truncated stacks, unsymbolized frames), each with what to do. */
  problems: string[];
  /** How the engine worked (probe offsets, sampling), for the report's evidence. */
  notes: string[];
  /** Counters: events seen, objects outstanding, lost pages. */
  stats: Record<string, number>;
  /** Sampler engine: one entry per site, in the order of `sites`. */
  series?: SiteSeries[];
  /** Sampler engine: the mean sampling interval used (0 = exact). */
  sampleBytes?: number;
}

/** One outstanding object or page, before grouping. */
export interface Outstanding { stack: Frame[]; size: number; ageSec?: number }

const stackKey = (stack: Frame[]): string => stack.map((f) => f.address ?? `${f.module ?? ''}:${f.symbol ?? ''}:${f.file ?? ''}:${f.line ?? ''}`).join('|');

/** Groups objects by identical stack: count, bytes, min/avg/max age. */
export function groupByStack(objects: Outstanding[], tool: EvidenceTool, pid: number, comm: string | undefined, scale = 1): AllocationSite[] {
  const groups = new Map<string, { stack: Frame[]; bytes: number; count: number; ages: number[] }>();
  for (const o of objects) {
    const k = stackKey(o.stack);
    let g = groups.get(k);
    if (g === undefined) { g = { stack: o.stack, bytes: 0, count: 0, ages: [] }; groups.set(k, g); }
    g.bytes += o.size * scale;
    g.count += scale;
    if (o.ageSec !== undefined) g.ages.push(o.ageSec);
  }
  const sites: AllocationSite[] = [];
  for (const g of groups.values()) {
    const site: AllocationSite = { stack: g.stack, bytes: bytes(g.bytes), count: g.count, kind: 'outstanding', tool, pids: [pid] };
    if (comm !== undefined) site.comms = [comm];
    if (g.ages.length > 0) {
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const a of g.ages) { if (a < min) min = a; if (a > max) max = a; sum += a; }
      site.ageSec = { min: round3(min), max: round3(max), avg: round3(sum / g.ages.length) };
    }
    sites.push(site);
  }
  return sites.sort((a, b) => b.bytes - a.bytes);
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** Addresses -> frames; the innermost frame is the allocation function itself when `allocator` is given. */
export function framesOf(addresses: bigint[], allocator?: string): Frame[] {
  const frames: Frame[] = addresses.map((a) => ({ address: `0x${a.toString(16)}` }));
  // A symbol-only frame is left alone by the symbolizer, and makes every address after it a return address (looked up at -1).
  if (allocator !== undefined) frames.unshift({ symbol: allocator });
  return frames;
}

/** Symbolizes with the maps kept from the run; the allocator frame gets its library as module afterwards. */
export async function symbolizeUserSites(sites: AllocationSite[], maps: string, allocatorPath: string | undefined, problems: string[], toolchainPrefix?: string): Promise<AllocationSite[]> {
  const r = await symbolizeSites(sites, toolchainPrefix !== undefined ? { maps, toolchainPrefix } : { maps });
  for (const p of r.problems) problems.push(p);
  if (allocatorPath !== undefined) {
    for (const s of r.sites) {
      const f = s.stack[0];
      if (f !== undefined && f.address === undefined && f.module === undefined) f.module = basename(allocatorPath);
    }
  }
  return r.sites;
}

export function commOf(pid: number): string | undefined {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return undefined; }
}

/** VmRSS sampler: cheap, and a second witness next to the tracer's own numbers. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = process.hrtime.bigint();
  constructor(private readonly pid: number) {}
  sample(): void {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      if (m !== null) this.samples.push({ tSec: Number(process.hrtime.bigint() - this.t0) / 1e9, rss: bytes(Number(m[1]) * 1024) });
    } catch { /* gone */ }
  }
  start(everyMs = 500): void { this.sample(); this.timer = setInterval(() => this.sample(), everyMs); this.timer.unref(); }
  stop(): void { if (this.timer !== undefined) clearInterval(this.timer); }
}
