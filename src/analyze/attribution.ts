/**
 * The change over the window decomposed, as a tree with bytes and shares (DESIGN.md, "Findings"):
 *   memory taken (-ΔMemFree) = kernel (SUnreclaim, vmalloc, PageTables, KernelStack, Percpu, HugeTLB)
 *                            + user (AnonPages, Shmem) + reclaimable caches (page cache, Buffers, SReclaimable)
 *                            + unexplained (pages nobody counts: seeds/000 section 4.5)
 * by the identity of analyze/composition.ts applied sample by sample, so every group is also a series that is
 * judged like any other. Informational nodes (per-process USS, CMA, the ranked slab caches) overlap the groups
 * and are shown, not added. A recording with only `free` output gets the coarse split `free` allows.
 */
import type { Attribution, AttributionNode, SeriesVerdict } from '../model/analysis.js';
import type { Meminfo } from '../model/proc_files.js';
import { THREAD_STACK_CALLER } from '../model/proc_files.js';
import { decodeKeyPart } from '../model/series.js';
import { composition, COMPOSITION_GROUPS } from './composition.js';
import { finitePoints, levels, type SeriesJudge } from './judge.js';
import type { Culprits } from './culprits.js';

/** Derived series keys: groups of MemTotal per sample, and the headline "not available" series. */
export const SYSTEM = {
  unavailable: 'system.unavailable',
  taken: 'system.taken',
  unexplained: 'system.unexplained',
  vmalloc: 'system.vmalloc',
  pageCache: 'system.pageCache',
  buffers: 'system.buffers',
  cmaUsed: 'system.cmaUsed',
  percpu: 'system.percpu',
  hugetlb: 'system.hugetlb',
} as const;

export const groupKey = (g: string): string => `system.${g}`;

/**
 * Defines the derived system series on the judge. Returns the basis: "meminfo" when MemTotal and MemFree
 * were recorded, "free" when only `free` output was, else "none".
 */
export function deriveSystemSeries(judge: SeriesJudge): Attribution['basis'] {
  const w = judge.w;
  const n = w.t.length;
  const mem = new Map<string, Float64Array>();
  for (const key of w.keys) {
    if (!key.startsWith('meminfo.')) continue;
    const v = w.get(key);
    if (v) mem.set(key.slice(8), v);
  }
  const total = mem.get('MemTotal');
  const free = mem.get('MemFree');
  const hasMeminfo = !!total && !!free && finitePoints(w.t, free).v.length > 0;
  if (hasMeminfo) {
    const vmUsed = mem.get('VmallocUsed');
    let vmUsedSeen = false;
    if (vmUsed) for (let i = 0; i < n; i++) if ((vmUsed[i] as number) > 0) vmUsedSeen = true;
    // VmallocUsed was 0 on 4.x kernels (4.4 .. 5.3): vmallocinfo is then the only count of vmalloc pages.
    const vmInfo = vmUsedSeen ? undefined : w.get('vmalloc.total.bytes');
    const vmStacks = w.get('vmalloc.stacks.bytes');
    const out = new Map<string, Float64Array>();
    const arr = (k: string): Float64Array => {
      let a = out.get(k);
      if (!a) { a = new Float64Array(n).fill(NaN); out.set(k, a); }
      return a;
    };
    for (const g of COMPOSITION_GROUPS) arr(groupKey(g));
    for (const k of [SYSTEM.unavailable, SYSTEM.taken, SYSTEM.pageCache, SYSTEM.buffers, SYSTEM.cmaUsed]) arr(k);
    for (let i = 0; i < n; i++) {
      const tot = total[i] as number;
      if (!Number.isFinite(tot) || !Number.isFinite(free[i] as number)) continue;
      const m: Meminfo = { bytes: {} as Meminfo['bytes'], counts: {} };
      for (const [k, v] of mem) {
        const x = v[i] as number;
        if (!Number.isFinite(x)) continue;
        (m.bytes as Record<string, number>)[k] = x;
        m.counts[k] = x;
      }
      const vmi = vmInfo?.[i];
      const st = vmStacks?.[i];
      const c = composition(m, vmi !== undefined && Number.isFinite(vmi) ? vmi : undefined, st !== undefined && Number.isFinite(st) ? st : undefined);
      for (const g of COMPOSITION_GROUPS) {
        const x = c[g];
        if (x !== undefined) arr(groupKey(g))[i] = x;
      }
      const avail = m.bytes['MemAvailable'];
      if (avail !== undefined) arr(SYSTEM.unavailable)[i] = tot - avail;
      arr(SYSTEM.taken)[i] = tot - (free[i] as number);
      const buffers = m.bytes['Buffers'] ?? 0;
      arr(SYSTEM.buffers)[i] = buffers;
      arr(SYSTEM.pageCache)[i] = (c.fileCache ?? 0) - buffers;
      const cmaT = m.bytes['CmaTotal'];
      const cmaF = m.bytes['CmaFree'];
      if (cmaT !== undefined && cmaF !== undefined && cmaT > 0) arr(SYSTEM.cmaUsed)[i] = cmaT - cmaF;
    }
    for (const [k, v] of out) judge.define(k, v);
    return 'meminfo';
  }
  const ft = w.get('free.mem.total');
  const ff = w.get('free.mem.free');
  if (!ft || !ff) return 'none';
  const avail = w.get('free.mem.available');
  const buf = w.get('free.mem.buffers');
  const cache = w.get('free.mem.cache') ?? w.get('free.mem.buffCache');
  const unavailable = new Float64Array(n).fill(NaN);
  const taken = new Float64Array(n).fill(NaN);
  const caches = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    const tot = ft[i] as number;
    const fr = ff[i] as number;
    if (!Number.isFinite(tot) || !Number.isFinite(fr)) continue;
    taken[i] = tot - fr;
    const b = buf?.[i] ?? NaN;
    const c = cache?.[i] ?? NaN;
    caches[i] = (Number.isFinite(b) ? b : 0) + (Number.isFinite(c) ? c : 0);
    const a = avail?.[i] ?? NaN;
    // Old procps and busybox print used = total - free (buffers and cache inside); without "available", take them out.
    unavailable[i] = Number.isFinite(a) ? tot - a : (taken[i] as number) - (caches[i] as number);
  }
  judge.define(SYSTEM.unavailable, unavailable);
  judge.define(SYSTEM.taken, taken);
  judge.define(SYSTEM.pageCache, caches);
  return 'free';
}

interface NodeSpec {
  id: string;
  label: string;
  key: string;
  keys: string[];
  additive?: boolean;
  note?: string;
}

function leaf(judge: SeriesJudge, s: NodeSpec): AttributionNode | undefined {
  const v = judge.values(s.key);
  if (!v) return undefined;
  const p = finitePoints(judge.w.t, v);
  if (p.v.length === 0) return undefined;
  const lv = levels(p.v);
  return {
    id: s.id,
    label: s.label,
    deltaBytes: lv.last - lv.first,
    share: null,
    startBytes: lv.first,
    endBytes: lv.last,
    keys: s.keys,
    additive: s.additive ?? true,
    verdict: judge.verdicts.get(s.key)?.verdict ?? null,
    note: s.note ?? null,
    children: [],
  };
}

function parent(id: string, label: string, children: (AttributionNode | undefined)[], note?: string): AttributionNode {
  const kids = children.filter((c): c is AttributionNode => c !== undefined);
  const add = kids.filter((c) => c.additive);
  const sum = (f: (c: AttributionNode) => number | null): number | null => (add.length === 0 || add.some((c) => f(c) === null) ? null : add.reduce((n, c) => n + (f(c) as number), 0));
  return {
    id, label, deltaBytes: add.reduce((n, c) => n + c.deltaBytes, 0), share: null,
    startBytes: sum((c) => c.startBytes), endBytes: sum((c) => c.endBytes), keys: [], additive: true, verdict: null, note: note ?? null, children: kids,
  };
}

function culpritNodes(rows: readonly SeriesVerdict[], label: (r: SeriesVerdict) => string, max = 5): AttributionNode[] {
  return rows.filter((r) => r.growthBytes > 0).slice(0, max).map((r) => ({
    id: r.key, label: label(r), deltaBytes: r.growthBytes, share: null, startBytes: r.firstBytes, endBytes: r.lastBytes,
    keys: [r.key], additive: false, verdict: r.verdict, note: null, children: [],
  }));
}

/**
 * Culprit rows of one group measured on the same samples as the group, so the rows and the group add up: the group
 * and every row are levelled (first/last levels) over the samples where `maskKey` was read (vmallocinfo is read
 * less often than meminfo; a spike in a sample one series lacks would otherwise land in one and not the other).
 * A last row, "other ... (net)", holds what the shown rows leave of the group: callers not shown, and shrinking ones.
 */
function alignedGroup(judge: SeriesJudge, group: AttributionNode | undefined, maskKey: string, rows: readonly SeriesVerdict[], label: (r: SeriesVerdict) => string, other: string, max = 5): void {
  if (!group) return;
  const mask = judge.values(maskKey);
  const gv = judge.values(groupKey(group.id));
  if (!mask || !gv) {
    group.children = culpritNodes(rows, label, max);
    return;
  }
  const on = (v: Float64Array): Float64Array => {
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) if (Number.isFinite(mask[i] as number) && Number.isFinite(gv[i] as number) && Number.isFinite(v[i] as number)) out.push(v[i] as number);
    return Float64Array.from(out);
  };
  const g = on(gv);
  if (g.length < 2) {
    group.children = culpritNodes(rows, label, max);
    return;
  }
  const glv = levels(g);
  group.deltaBytes = glv.last - glv.first;
  group.startBytes = glv.first;
  group.endBytes = glv.last;
  const kids: AttributionNode[] = [];
  for (const r of rows) {
    const v = judge.values(r.key);
    if (!v) continue;
    const x = on(v);
    if (x.length !== g.length) continue; // read on other samples than the group: not comparable row by row
    const lv = levels(x);
    const d = lv.last - lv.first;
    if (d <= 0) continue;
    kids.push({ id: r.key, label: label(r), deltaBytes: d, share: null, startBytes: lv.first, endBytes: lv.last, keys: [r.key], additive: false, verdict: r.verdict, note: null, children: [] });
  }
  kids.sort((a, b) => b.deltaBytes - a.deltaBytes);
  const shown = kids.slice(0, max);
  const rest = group.deltaBytes - shown.reduce((n, k) => n + k.deltaBytes, 0);
  if (shown.length > 0 && Math.abs(rest) >= 4096) {
    shown.push({ id: `${group.id}.other`, label: other, deltaBytes: rest, share: null, startBytes: null, endBytes: null, keys: [], additive: false, verdict: null, note: null, children: [] });
  }
  group.children = shown;
}

function setShares(node: AttributionNode, gross: number): void {
  node.share = gross > 0 ? node.deltaBytes / gross : null;
  for (const c of node.children) setShares(c, gross);
}

function grossOf(node: AttributionNode): number {
  const add = node.children.filter((c) => c.additive);
  if (add.length === 0) return Math.max(0, node.deltaBytes);
  return add.reduce((n, c) => n + grossOf(c), 0);
}

/** The attribution tree of the window, with culprits hung under their groups (shown, not added). */
export function attribute(judge: SeriesJudge, basis: Attribution['basis'], culprits: Culprits): Attribution {
  const w = judge.w;
  const fromSec = (w.t[0] as number | undefined) ?? 0;
  const toSec = (w.t[w.t.length - 1] as number | undefined) ?? 0;
  const deltaOf = (key: string): number | null => {
    const v = judge.values(key);
    if (!v) return null;
    const p = finitePoints(w.t, v);
    if (p.v.length === 0) return null;
    const lv = levels(p.v);
    return lv.last - lv.first;
  };
  const lastOf = (key: string): number | null => {
    const v = judge.values(key);
    if (!v) return null;
    const p = finitePoints(w.t, v);
    return p.v.length ? (p.v[p.v.length - 1] as number) : null;
  };
  const g = (id: string, label: string, keys: string[], extra: Partial<NodeSpec> = {}): AttributionNode | undefined =>
    leaf(judge, { id, label, key: groupKey(id), keys, ...extra });
  let root: AttributionNode;
  let memAvailableDelta: number | null = null;
  let memFreeDelta: number | null = null;
  let memTotal: number | null = null;
  if (basis === 'meminfo') {
    memTotal = lastOf('meminfo.MemTotal');
    memFreeDelta = deltaOf('meminfo.MemFree');
    memAvailableDelta = deltaOf('meminfo.MemAvailable');
    const slab = g('slabUnreclaimable', 'slab, unreclaimable (SUnreclaim)', ['meminfo.SUnreclaim']);
    if (slab) slab.children = culpritNodes(culprits.slab, (r) => `cache ${decodeKeyPart(r.key.slice(5, -6))}`);
    // Thread stacks are vmalloc areas (CONFIG_VMAP_STACK) counted as kernel stacks: their caller rows go there.
    const isStack = (r: SeriesVerdict): boolean => THREAD_STACK_CALLER.test(decodeKeyPart(r.key.slice(15, -6)));
    const vm = g('vmalloc', 'vmalloc (without thread stacks)', ['meminfo.VmallocUsed', 'vmalloc.total.bytes', 'meminfo.KernelStack']);
    alignedGroup(judge, vm, 'vmalloc.total.bytes', culprits.vmalloc.filter((r) => !isStack(r)), (r) => `caller ${decodeKeyPart(r.key.slice(15, -6))}`, 'other callers (net)');
    const stacks = g('kernelStack', 'kernel stacks (KernelStack)', ['meminfo.KernelStack']);
    alignedGroup(judge, stacks, 'vmalloc.total.bytes', culprits.vmalloc.filter(isStack), (r) => `vmalloc'd stacks, caller ${decodeKeyPart(r.key.slice(15, -6))}`, 'stacks not in vmallocinfo (net)');
    const cma = leaf(judge, { id: 'cmaUsed', label: 'CMA in use (CmaTotal - CmaFree)', key: SYSTEM.cmaUsed, keys: ['meminfo.CmaTotal', 'meminfo.CmaFree'], additive: false, note: 'CMA pages may hold user or cache pages counted above: shown, not added' });
    const kernel = parent('kernel', 'kernel', [
      slab, vm,
      g('pageTables', 'page tables (PageTables)', ['meminfo.PageTables']),
      stacks,
      g('percpu', 'per-cpu (Percpu)', ['meminfo.Percpu']),
      g('hugetlb', 'hugetlb pages', ['meminfo.HugePages_Total']),
      g('ion', 'ION heaps (ION_heap + ION_page_pool)', ['meminfo.ION_heap', 'meminfo.ION_page_pool']),
      cma,
    ]);
    const procs = culpritNodes(culprits.process, (r) => { const m = /^proc\.(.+):(\d+)\./.exec(r.key); return m ? `${decodeKeyPart(m[1] as string)} (pid ${m[2] as string})` : r.key; });
    const procNode: AttributionNode | undefined = procs.length === 0 ? undefined : {
      id: 'processes', label: 'processes (USS growth)', deltaBytes: procs.reduce((n, c) => n + c.deltaBytes, 0), share: null, startBytes: null, endBytes: null,
      keys: [], additive: false, verdict: null, note: 'USS counts private file pages too: overlaps the groups above, shown, not added', children: procs,
    };
    const user = parent('user', 'user', [g('anon', 'anonymous (AnonPages)', ['meminfo.AnonPages']), g('shmem', 'shmem/tmpfs (Shmem)', ['meminfo.Shmem']), procNode]);
    const caches = parent('caches', 'reclaimable caches', [
      leaf(judge, { id: 'pageCache', label: 'page cache (Cached - Shmem + SwapCached)', key: SYSTEM.pageCache, keys: ['meminfo.Cached', 'meminfo.Shmem', 'meminfo.SwapCached'] }),
      leaf(judge, { id: 'buffers', label: 'buffers (Buffers)', key: SYSTEM.buffers, keys: ['meminfo.Buffers'] }),
      g('slabReclaimable', 'slab, reclaimable (SReclaimable)', ['meminfo.SReclaimable']),
    ]);
    const unexplained = g('unexplained', 'unexplained (kernel pages nobody counts)', ['meminfo.MemTotal', 'meminfo.MemFree'], { note: 'MemTotal minus MemFree minus every counted group: drivers taking pages straight from the buddy allocator' });
    root = parent('taken', 'memory taken (MemTotal - MemFree)', [kernel, user, caches, unexplained]);
  } else if (basis === 'free') {
    memFreeDelta = deltaOf('free.mem.free');
    const av = deltaOf('free.mem.available');
    memAvailableDelta = av;
    memTotal = lastOf('free.mem.total');
    const used = leaf(judge, { id: 'unavailable', label: 'used, excluding buffers and cache', key: SYSTEM.unavailable, keys: ['free.mem.used', 'free.mem.available'] });
    const caches = leaf(judge, { id: 'caches', label: 'buffers and cache', key: SYSTEM.pageCache, keys: ['free.mem.buffers', 'free.mem.cache'] });
    root = parent('taken', 'memory taken (total - free), from `free` only', [used, caches], 'only `free` output: no kernel/user split is possible');
  } else {
    root = parent('taken', 'no meminfo or free output in the window', []);
  }
  const gross = grossOf(root);
  setShares(root, gross);
  return {
    basis,
    memTotalBytes: memTotal,
    memAvailableDeltaBytes: memAvailableDelta,
    memFreeDeltaBytes: memFreeDelta,
    grossGrowthBytes: gross,
    fromSec,
    toSec,
    root,
  };
}
