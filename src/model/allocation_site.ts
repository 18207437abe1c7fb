/**
 * One place in code that holds memory, as any leak tool reports it (kmemleak, SLUB call sites, valgrind,
 * LeakSanitizer, dmalloc, mtrace, page_owner, heaptrack, massif, bcc memleak, OOM reports, our tracers).
 * Sites from different tools merge by stack (see allocation_sites.ts).
 */
import type { Bytes } from './units.js';

export interface Frame {
  /** Absolute address as printed ("0xffffffff8123abcd", "0x4005d4"), when the tool printed one. */
  address?: string;
  /** Shared object or kernel module ("libc.so.6", "mi_sys", "vmlinux"). */
  module?: string;
  /** Offset inside module, when printed as module+0x1234. */
  moduleOffset?: string;
  symbol?: string;
  /** "+0x1c" part of "func+0x1c/0x60". */
  offset?: string;
  /** "/0x60" part: the function's length. */
  length?: string;
  file?: string;
  line?: number;
  column?: number;
  /** Frame was printed as "[inline]" (compiler-inlined into the next frame). */
  inline?: boolean;
}

export type LeakKind =
  | 'definite'     // valgrind "definitely lost", LSan "Direct leak"
  | 'indirect'     // reachable only from leaked blocks
  | 'possible'     // interior pointers only
  | 'reachable'    // still reachable at exit
  | 'unreferenced' // kmemleak
  | 'outstanding'  // allocated and not (yet) freed: SLUB call sites, page_owner, tracers, mtrace, dmalloc
  | 'first-touch'; // resident pages by the code that touched them first (page faults): frees unknown, so never a leak

export type EvidenceTool =
  | 'kmemleak' | 'slub' | 'valgrind' | 'lsan' | 'asan' | 'dmalloc' | 'mtrace' | 'page_owner'
  | 'heaptrack' | 'massif' | 'bcc-memleak' | 'oom' | 'allocinfo' | 'trace';

export interface AllocationSite {
  /** Innermost frame first, as tools print them. */
  stack: Frame[];
  bytes: Bytes;
  /**
   * Bytes lost only because this site's blocks are (valgrind "78 (16 direct, 62 indirect) bytes ... definitely
   * lost": bytes 16, indirectBytes 62). Not part of `bytes`: with --show-leak-kinds=all the same 62 bytes are
   * also their own "indirectly lost" sites, so adding them here would count them twice.
   */
  indirectBytes?: Bytes;
  /** Number of objects/blocks. */
  count: number;
  kind: LeakKind;
  tool: EvidenceTool;
  /** Age of the objects in seconds (kmemleak age, SLUB age=min/avg/max), when known. */
  ageSec?: { min: number; max: number; avg?: number };
  pids?: number[];
  comms?: string[];
  /** Slab cache or object kind, where the tool names it ("kmalloc-2k"). */
  cache?: string;
  /** Where in the input this came from, for the report ("valgrind.log:41"). */
  origin?: string;
  /**
   * The reports that showed this same leak, when several did (valgrind text and XML of one run, valgrind and
   * LSan of the same program): see mergeReports in allocation_sites.ts. `bytes` is then the largest of them.
   */
  seenIn?: Array<{ tool: EvidenceTool; origin?: string; bytes: Bytes; count: number }>;
}
