/**
 * Options and result of the kernel allocation tracer (`memsleuth trace kernel`), shared by both engines.
 */
import type { AllocationSite } from '../../model/allocation_site.js';
import type { UndoFailure } from './tracefs_state.js';

export type KernelEngineName = 'bpftrace' | 'ftrace';

export interface KernelTraceOptions {
  /** 'auto' (default): bpftrace when installed (aggregates in the kernel: no event buffer to overflow, but the kernel may skip events, counted as lost), else ftrace. */
  engine?: KernelEngineName | 'auto';
  /** Window in which allocations are tracked. Default 30 s. */
  durationSec?: number;
  /** After the window, frees keep being matched for this long (RCU-freed sockets, deferred fput). Default 5 s. */
  settleSec?: number;
  /** Report only objects at least this old at the end. Default 0. */
  minAgeSec?: number;
  /** Only this slab cache ("filp", "sock_inode_cache", "kmalloc-256"). */
  cache?: string;
  /** Only allocations from this function (kallsyms name) or address ("0xffffffff8193b6cc"). */
  callSite?: string;
  /** Only allocations of at least this many bytes (bytes_alloc). */
  minBytes?: number;
  /** Also group by kernel stack (bpftrace engine; 6 frames). */
  stacks?: boolean;
  /** Seconds between samples of the per-site series. Default 1. */
  intervalSec?: number;
  /** Bound on tracked objects (bpftrace map entries; ftrace engine's JS table). Default 262144. */
  maxTracked?: number;
  /** Unstripped vmlinux of the running kernel: call sites to file:line. */
  vmlinux?: string;
  /** Sites in the report (largest first). Default 20. */
  top?: number;
  /** Progress lines ("attached 7 probes", "settling 5 s"). */
  onProgress?: (message: string) => void;
  /** Stops the window early (Ctrl-C is wired to this by the CLI); the report still comes. */
  signal?: AbortSignal;
  /** Install exit/SIGINT/SIGTERM/uncaughtException handlers that undo everything. Default true. */
  handleSignals?: boolean;
  /** Mount tracefs when it is not mounted (and unmount it at the end). Default true. */
  mountTracefs?: boolean;
  /**
   * Track one object in `sampleEvery`, chosen by its address (bpftrace engine), and scale counts and bytes
   * back up: for very busy machines. Default 1 (every object). The result states the sampling error.
   */
  sampleEvery?: number;
  /** bpftrace executable. Default "bpftrace" on PATH. */
  bpftracePath?: string;
}

export interface SeriesPoint { t: number; value: number }

/** A per-site series of outstanding bytes or objects, seconds since the window opened. */
export interface KernelSeries { key: string; site: string; unit: 'bytes' | 'objects'; points: SeriesPoint[] }

export interface KernelTraceCounters {
  allocs: number;
  frees: number;
  matchedFrees: number;
  replaced: number;
  evicted: number;
}

export interface LostEvents {
  /** Events the kernel could not hand to us (ring buffer overrun / dropped; BPF map full). */
  total: number;
  /** One line per source, e.g. "cpu0: overrun 0, dropped events 123456". */
  detail: string[];
}

export interface KernelTraceResult {
  engine: KernelEngineName;
  /** Why this engine (e.g. "bpftrace not found on PATH: using ftrace"). */
  engineReason: string;
  windowSec: number;
  settleSec: number;
  minAgeSec: number;
  /** Outstanding sites, largest first, kind 'outstanding', tool 'trace'. */
  sites: AllocationSite[];
  series: KernelSeries[];
  lost: LostEvents;
  counters: KernelTraceCounters;
  /** Stopped early (Ctrl-C / abort): no settle period ran. */
  interrupted: boolean;
  warnings: string[];
  undoFailures: UndoFailure[];
}
