/**
 * The parsed shape of every kernel memory file memsleuth reads.
 * They live in model/ because the Snapshot (and so sources, store and analysis) carries them;
 * each is produced by exactly one parser in src/parse/, named after the file.
 * Absent is not zero: a field a kernel does not print is undefined, never 0.
 */
import type { Bytes } from './units.js';

/** /proc/meminfo or /sys/devices/system/node/nodeN/meminfo. kB values become bytes; HugePages_* stay counts. */
export interface Meminfo {
  /** Every "Key: N kB" line, in bytes, under the kernel's own key ("Active(anon)", "SUnreclaim", ...). */
  bytes: Record<string, Bytes>;
  /** Every unitless line (HugePages_Total, HugePages_Free, ...). */
  counts: Record<string, number>;
  /** Set for per-node files ("Node 0 MemTotal: ..."). */
  node?: number;
}

export interface SlabCache {
  name: string;
  activeObjs: number;
  numObjs: number;
  objSize: Bytes;
  objPerSlab: number;
  pagesPerSlab: number;
  activeSlabs: number;
  numSlabs: number;
  sharedAvail?: number;
  /** SLAB tunables; SLUB prints 0 0 0. */
  limit?: number;
  batchCount?: number;
  sharedFactor?: number;
  /** numSlabs x pagesPerSlab x page size: what the cache holds from the page allocator. */
  slabBytes: Bytes;
  /** activeObjs x objSize: what its users hold. */
  activeBytes: Bytes;
  /** Extra columns of the "(statistics)" variant (globalstat/cpustat), by the header's names. */
  statistics?: Record<string, number>;
}

export interface Slabinfo {
  /** "2.1", "2.0", "1.1"... as printed in "slabinfo - version: X". */
  version: string;
  statistics: boolean;
  caches: SlabCache[];
}

export interface VmallocArea {
  start: string;
  end: string;
  size: Bytes;
  /** "func" of "func+0x1c/0x60 [module]"; undefined when the line has no caller. */
  caller?: string;
  callerOffset?: string;
  module?: string;
  pages?: number;
  phys?: string;
  /** vmalloc, vmap, ioremap, user, vpages, vm_map_ram, unpurged, ... (a line may carry several). */
  kinds: string[];
  /** Per-node page counts "N0=4". */
  nodes?: Record<string, number>;
  /** True when the addresses are hashed or zeroed (kptr_restrict, non-root). */
  hashedAddresses: boolean;
}

export interface Vmallocinfo { areas: VmallocArea[] }

/**
 * Callers of the vmalloc areas that hold kernel thread stacks with CONFIG_VMAP_STACK=y (kernel/fork.c
 * alloc_thread_stack_node, usually inlined into dup_task_struct -> copy_process -> kernel_clone). Their pages are
 * in VmallocUsed and in KernelStack both: counted once, as kernel stacks.
 */
export const THREAD_STACK_CALLER = /^(?:alloc_thread_stack_node|dup_task_struct|copy_process|kernel_clone|_do_fork|do_fork)$/;

/**
 * The page size of the kernel that printed the areas: a vmalloc area's size is its pages plus one guard page
 * (mm/vmalloc.c, unless VM_NO_GUARD), so size / (pages + 1) is the page size. The most common answer wins; 4096
 * when no area says.
 */
export function vmallocPageSize(areas: readonly VmallocArea[]): number {
  const votes = new Map<number, number>();
  for (const a of areas) {
    if (a.pages === undefined || a.pages <= 0) continue;
    const ps = a.size / (a.pages + 1);
    if (ps === 4096 || ps === 8192 || ps === 16384 || ps === 65536) votes.set(ps, (votes.get(ps) ?? 0) + 1);
  }
  let best = 4096;
  let n = 0;
  for (const [ps, c] of votes) if (c > n) { best = ps; n = c; }
  return best;
}

/**
 * RAM an area holds: its pages (pages=N, what VmallocUsed adds up), not its size, which adds a guard page (20480
 * for a 16 KiB stack). Areas without pages= map memory counted elsewhere, or none: ioremap, vmap, "unpurged
 * vm_area", and the per-cpu chunks of pcpu_get_vm_areas (kind vmalloc, but their pages are meminfo's Percpu): 0.
 */
export function vmallocAreaBytes(a: VmallocArea, pageSize: number): number {
  return a.pages !== undefined ? a.pages * pageSize : 0;
}

export interface BuddyZone { node: number; zone: string; freeByOrder: number[] }
export interface Buddyinfo { zones: BuddyZone[] }

export interface Zone {
  node: number;
  zone: string;
  free?: Bytes;
  min?: Bytes;
  low?: Bytes;
  high?: Bytes;
  managed?: Bytes;
  present?: Bytes;
  spanned?: Bytes;
  /** Every other counter of the zone block, as printed (pages or plain counts). */
  counters: Record<string, number>;
}
export interface Zoneinfo { zones: Zone[] }

export interface PagetypeFree { node: number; zone: string; type: string; freeByOrder: number[] }
export interface PagetypeBlocks { node: number; zone: string; counts: Record<string, number> }
export interface Pagetypeinfo {
  pageBlockOrder?: number;
  pagesPerBlock?: number;
  free: PagetypeFree[];
  blocks: PagetypeBlocks[];
}

export type Vmstat = Record<string, number>;

/** /proc/PID/status. */
export interface ProcStatus {
  name?: string;
  pid?: number;
  ppid?: number;
  tgid?: number;
  threads?: number;
  fdSize?: number;
  /** Every "Vm*", "Rss*", "HugetlbPages" kB line, in bytes. */
  bytes: Record<string, Bytes>;
  /** Every line, raw, by key (when parsed with rawFields: `memsleuth parse`, not the samplers). */
  fields?: Record<string, string>;
}

/** Kinds of mappings, by name: what an engineer groups by. */
export type MappingKind = 'heap' | 'stack' | 'anon' | 'so' | 'file' | 'special' | 'shmem';

export interface Mapping {
  start: string;
  end: string;
  perms: string;
  offset: string;
  dev: string;
  inode: number;
  /** Path or pseudo-name ("[heap]", "[anon:dalvik-main space]"); "" for anonymous. */
  name: string;
  kind: MappingKind;
  /** Every "Key: N kB" field in bytes (Size, Rss, Pss, Private_Dirty, Swap, ...). */
  bytes: Record<string, Bytes>;
  /** Unitless fields (THPeligible, ProtectionKey). */
  counts: Record<string, number>;
  vmFlags?: string[];
}

export interface Smaps { mappings: Mapping[] }

/** /proc/<pid>/statm in bytes (pages times the page size); lib and dt are always 0 since 2.6 and not kept. */
export interface Statm {
  /** Total program size (VmSize). */
  size?: Bytes;
  /** Resident set (VmRSS). */
  resident?: Bytes;
  /** Resident file-backed and shared pages (RssFile + RssShmem). */
  shared?: Bytes;
  /** Code (text). */
  text?: Bytes;
  /** Data + stack. */
  data?: Bytes;
}

/** The figures procrank/smem show for a process, derived from smaps or smaps_rollup. */
export interface ProcessMemory {
  /** Sum of mapping sizes; smaps_rollup does not carry it, so it is undefined there (use status VmSize). */
  vss?: Bytes;
  rss: Bytes;
  pss: Bytes;
  /** Private_Clean + Private_Dirty. */
  uss: Bytes;
  swap: Bytes;
  swapPss?: Bytes;
  /** "Anonymous:" summed (private anonymous pages, shmem not included); absent before Linux 2.6.34's smaps field. */
  anon?: Bytes;
}

export interface SmapsRollup {
  bytes: Record<string, Bytes>;
  memory: ProcessMemory;
}

export interface FreeRow {
  total?: Bytes;
  used?: Bytes;
  free?: Bytes;
  shared?: Bytes;
  buffers?: Bytes;
  cache?: Bytes;
  buffCache?: Bytes;
  available?: Bytes;
}

/** Output of `free` (procps old and new, busybox), any unit flag. */
export interface Free {
  mem?: FreeRow;
  swap?: FreeRow;
  total?: FreeRow;
  /** The old procps "-/+ buffers/cache:" line. */
  buffersCache?: FreeRow;
  /** Precision of the printed numbers: "-h" output loses digits. */
  unit: 'B' | 'KiB' | 'MiB' | 'GiB' | 'human';
}

/** cgroup v2 memory.stat (bytes for sizes, counts for events) and memory.current. */
export interface CgroupMemoryStat { values: Record<string, number> }

/** /proc/allocinfo (CONFIG_MEM_ALLOC_PROFILING, Linux 6.10+). */
export interface AllocinfoSite {
  bytes: Bytes;
  calls: number;
  /** "mm/slub.c:2442" */
  file: string;
  line: number;
  module?: string;
  func: string;
  /** Trailing context such as "(accurate)". */
  context?: string;
}
export interface Allocinfo { version?: string; sites: AllocinfoSite[] }
