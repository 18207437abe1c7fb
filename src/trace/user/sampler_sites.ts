/**
 * Turns the sampler's records into per-site estimates: live bytes and blocks scaled back by the sampling rate,
 * with their standard error, and a series of live bytes over time per site.
 *
 * A block of s bytes is sampled with probability p = 1 - exp(-s/M) (M the mean interval the sample was drawn with,
 * carried by each record since the library adapts it per thread; M = 0 samples every block), so each sampled block stands for 1/p blocks and s/p bytes (Horvitz-Thompson: unbiased whatever the
 * sizes); the variance of a site's estimate is the sum over its live samples of s^2 (1-p)/p^2.
 * Streams are keyed by connection: a HELLO names the pid and M. A second HELLO from the same pid means it
 * exec'ed (its old address space is gone: its live blocks are released); a forked child says HELLO with its own
 * pid and starts empty (frees of blocks it inherited are counted as unmatched, not subtracted anywhere).
 */
import type { SamplerRecord } from './sampler_protocol.js';
import { ALLOC_FUNCTIONS } from './sampler_protocol.js';

export interface SampledSite {
  pid: number;
  /** The allocation function that made the sampled blocks (malloc, calloc, ...). */
  fn: string;
  /** Return addresses, innermost first. */
  stack: bigint[];
  liveBytes: number;
  liveBlocks: number;
  /** Standard error of liveBytes. */
  liveBytesSe: number;
  /** Sampled blocks still live (the evidence behind the estimate). */
  liveSamples: number;
  /** Estimated bytes ever allocated here during the trace. */
  allocatedBytes: number;
  /** (seconds since the start, change of estimated live bytes), in arrival order. */
  events: Array<[number, number]>;
}

interface Block { site: SampledSite; size: number; bytes: number; variance: number }
interface PidState { conn: number; live: Map<number, Block>; meanBytes: number }

export interface SamplerStats {
  samples: number;
  matchedFrees: number;
  unmatchedFrees: number;
  /** Sampled blocks whose address came back from the allocator before we saw their free (replaced). */
  reused: number;
  execs: number;
  processes: number;
  droppedTableFull: number;
  failedSends: number;
  /** Records from a connection that a newer HELLO of the same pid superseded. */
  stale: number;
}

export class SampleAccumulator {
  private readonly conns = new Map<number, { pid?: number; meanBytes: number }>();
  private readonly pids = new Map<number, PidState>();
  private readonly sitesByKey = new Map<string, SampledSite>();
  readonly stats: SamplerStats = { samples: 0, matchedFrees: 0, unmatchedFrees: 0, reused: 0, execs: 0, processes: 0, droppedTableFull: 0, failedSends: 0, stale: 0 };
  /** pids in the order they said HELLO. */
  readonly pidOrder: number[] = [];
  /** The last /proc/PID/maps each process sent (after HELLO, before BYE). */
  readonly maps = new Map<number, string>();
  /** Mean sampling interval in bytes of the first HELLO (0: every allocation). */
  meanBytes: number | undefined;

  constructor(private readonly t0Ns: bigint) {}

  private tSec(ns: bigint): number {
    return Number(ns - this.t0Ns) / 1e9;
  }

  add(conn: number, r: SamplerRecord): void {
    let c = this.conns.get(conn);
    if (c === undefined) { c = { meanBytes: 0 }; this.conns.set(conn, c); }
    if (r.kind === 'hello') {
      const pid = r.ptr;
      c.pid = pid;
      c.meanBytes = r.size;
      this.meanBytes ??= r.size;
      const old = this.pids.get(pid);
      if (old !== undefined) {
        this.stats.execs++;
        this.release(old, this.tSec(r.tNs));
      } else {
        this.stats.processes++;
        this.pidOrder.push(pid);
      }
      this.pids.set(pid, { conn, live: new Map(), meanBytes: r.size });
      return;
    }
    const pid = c.pid;
    const state = pid !== undefined ? this.pids.get(pid) : undefined;
    if (pid === undefined || state === undefined) return;
    if (state.conn !== conn) { this.stats.stale++; return; }
    const t = this.tSec(r.tNs);
    if (r.kind === 'maps') {
      if (r.text !== undefined && r.text !== '') this.maps.set(pid, r.text);
      return;
    }
    if (r.kind === 'bye') {
      this.stats.droppedTableFull += r.ptr;
      this.stats.failedSends += r.size;
      return;
    }
    if (r.kind === 'free') {
      const b = state.live.get(r.ptr);
      if (b === undefined) { this.stats.unmatchedFrees++; return; }
      state.live.delete(r.ptr);
      this.stats.matchedFrees++;
      this.drop(b, t);
      return;
    }
    this.stats.samples++;
    const prev = state.live.get(r.ptr);
    if (prev !== undefined) { this.stats.reused++; this.drop(prev, t); }
    const fn = ALLOC_FUNCTIONS[r.fn] ?? 'malloc';
    const key = `${pid}:${fn}:${r.stack.map((a) => a.toString(16)).join(',')}`;
    let site = this.sitesByKey.get(key);
    if (site === undefined) {
      site = { pid, fn, stack: r.stack, liveBytes: 0, liveBlocks: 0, liveBytesSe: 0, liveSamples: 0, allocatedBytes: 0, events: [] };
      this.sitesByKey.set(key, site);
    }
    const size = Math.max(1, r.size);
    // The library adapts its interval per thread: each sample carries the mean it was drawn with.
    const p = r.mean <= 0 ? 1 : -Math.expm1(-size / r.mean);
    const block: Block = { site, size, bytes: size / p, variance: (size * size * (1 - p)) / (p * p) };
    state.live.set(r.ptr, block);
    site.liveBytes += block.bytes;
    site.liveBlocks += 1 / p;
    site.liveSamples++;
    site.allocatedBytes += block.bytes;
    site.liveBytesSe += block.variance; // a variance until sites() takes the root
    site.events.push([t, block.bytes]);
  }

  private drop(b: Block, t: number): void {
    const s = b.site;
    s.liveBytes -= b.bytes;
    s.liveBlocks -= b.bytes / b.size;
    s.liveSamples--;
    s.liveBytesSe -= b.variance;
    s.events.push([t, -b.bytes]);
  }

  private release(state: PidState, t: number): void {
    for (const b of state.live.values()) this.drop(b, t);
    state.live.clear();
  }

  /** Sites with their standard errors, most live bytes first. */
  sites(): SampledSite[] {
    return [...this.sitesByKey.values()]
      .map((s) => ({ ...s, liveBytes: Math.max(0, s.liveBytes), liveBlocks: Math.max(0, Math.round(s.liveBlocks)), liveBytesSe: Math.sqrt(Math.max(0, s.liveBytesSe)) }))
      .sort((a, b) => b.liveBytes - a.liveBytes);
  }
}

/** Live bytes of a site at t = 0, step, 2 step, ... endSec (each point counts the events up to it). */
export function seriesOf(site: SampledSite, endSec: number, stepSec: number): Array<{ t: number; value: number }> {
  const ev = [...site.events].sort((a, b) => a[0] - b[0]);
  const out: Array<{ t: number; value: number }> = [];
  let v = 0;
  let i = 0;
  const n = Math.max(1, Math.floor(endSec / stepSec + 1e-9));
  for (let k = 0; k <= n; k++) {
    const t = k === n ? endSec : k * stepSec;
    for (; i < ev.length && (ev[i]?.[0] ?? Infinity) <= t; i++) v += ev[i]?.[1] ?? 0;
    out.push({ t: Math.round(t * 1000) / 1000, value: Math.max(0, Math.round(v)) });
  }
  return out;
}
