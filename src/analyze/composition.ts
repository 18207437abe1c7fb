/**
 * Where MemTotal goes, from /proc/meminfo alone: the groups an engineer reads after diffing two dumps.
 * The kernel has no single identity for this; the one used here (Documentation/filesystems/proc.rst, "meminfo"):
 *   MemTotal = MemFree + file cache (Cached - Shmem + Buffers + SwapCached) + Shmem + AnonPages
 *            + SReclaimable + SUnreclaim + vmalloc + PageTables + KernelStack + Percpu + HugeTLB + ION + unexplained
 * where vmalloc leaves out the thread stacks when they are vmalloc'd (CONFIG_VMAP_STACK, the default on x86_64
 * and arm64): those pages are in VmallocUsed and in KernelStack both, and are counted once, as kernel stacks.
 * "unexplained" is what nobody counts: pages taken straight from the buddy allocator by drivers
 * (alloc_pages without a counter), as the seeds found by hand on an embedded board.
 */
import type { Meminfo, VmallocArea } from '../model/proc_files.js';
import { THREAD_STACK_CALLER, vmallocAreaBytes, vmallocPageSize } from '../model/proc_files.js';

export const COMPOSITION_GROUPS = [
  'free', 'fileCache', 'shmem', 'anon', 'slabReclaimable', 'slabUnreclaimable',
  'vmalloc', 'pageTables', 'kernelStack', 'percpu', 'hugetlb', 'ion', 'unexplained',
] as const;
export type CompositionGroup = (typeof COMPOSITION_GROUPS)[number];


/** Whether memory in the group comes back under pressure without anyone freeing it. */
export const RECLAIMABLE_GROUPS: ReadonlySet<CompositionGroup> = new Set(['free', 'fileCache', 'slabReclaimable']);

export type Composition = Partial<Record<CompositionGroup, number>> & { total?: number };

/**
 * @param vmallocBytes vmalloc pages counted from /proc/vmallocinfo, when read: VmallocUsed was 0 on 4.x kernels
 *   (between 4.4 and 5.3 the kernel stopped computing it), so the file is the better source when present.
 * @param stackBytes bytes of the vmalloc areas that are thread stacks (vmallocinfo, see THREAD_STACK_CALLER), when
 *   read. Without vmallocinfo, stacks are taken as vmalloc'd when VmallocUsed is at least KernelStack.
 */
export function composition(meminfo: Meminfo, vmallocBytes?: number, stackBytes?: number): Composition {
  const b = meminfo.bytes;
  const get = (k: string): number => b[k] ?? 0;
  const total = b['MemTotal'];
  const out: Composition = {};
  if (total === undefined) return out;
  out.total = total;
  out.free = get('MemFree');
  const shmem = get('Shmem');
  out.fileCache = Math.max(0, get('Cached') - shmem) + get('Buffers') + get('SwapCached');
  out.shmem = shmem;
  out.anon = get('AnonPages');
  if (b['SReclaimable'] !== undefined || b['SUnreclaim'] !== undefined) {
    out.slabReclaimable = get('SReclaimable');
    out.slabUnreclaimable = get('SUnreclaim');
  } else if (b['Slab'] !== undefined) {
    // 2.6.18 and older have only Slab: count it as unreclaimable, the cautious side for a leak hunt.
    out.slabUnreclaimable = get('Slab');
  }
  const vmallocUsed = b['VmallocUsed'];
  const vm = vmallocBytes ?? (vmallocUsed !== undefined && vmallocUsed < total ? vmallocUsed : undefined);
  const kernelStack = get('KernelStack');
  if (vm !== undefined) {
    const stacks = stackBytes ?? (vm >= kernelStack ? kernelStack : 0);
    out.vmalloc = Math.max(0, vm - Math.min(stacks, kernelStack));
  }
  out.pageTables = get('PageTables') + get('SecPageTables');
  out.kernelStack = kernelStack;
  if (b['Percpu'] !== undefined) out.percpu = get('Percpu');
  const hugeTotal = meminfo.counts['HugePages_Total'];
  const hugeSize = b['Hugepagesize'];
  if (hugeTotal !== undefined && hugeSize !== undefined) out.hugetlb = hugeTotal * hugeSize;
  // Android kernels with ION (4.x): buffers the camera, display and codecs share, and ION's pool of free pages
  // kept for them; no other counter holds them, so without this they were all "unexplained".
  if (b['ION_heap'] !== undefined || b['ION_page_pool'] !== undefined) out.ion = get('ION_heap') + get('ION_page_pool');
  let known = 0;
  for (const g of COMPOSITION_GROUPS) if (g !== 'unexplained') known += out[g] ?? 0;
  out.unexplained = total - known;
  return out;
}

/**
 * vmalloc bytes from /proc/vmallocinfo: the pages (pages=N) of areas of kind "vmalloc", not their size, which adds a
 * guard page each; ioremap and vmap map memory counted elsewhere. `stacks` is the part that is thread stacks.
 */
export function vmallocBytes(areas: readonly VmallocArea[] | undefined): number | undefined {
  return vmallocSplit(areas)?.total;
}

export function vmallocSplit(areas: readonly VmallocArea[] | undefined): { total: number; stacks: number } | undefined {
  if (!areas) return undefined;
  const ps = vmallocPageSize(areas);
  let total = 0;
  let stacks = 0;
  for (const a of areas) {
    if (!a.kinds.includes('vmalloc')) continue;
    const b = vmallocAreaBytes(a, ps);
    total += b;
    if (a.caller !== undefined && THREAD_STACK_CALLER.test(a.caller)) stacks += b;
  }
  return { total, stacks };
}
