/**
 * Where the memory goes, series by series: slab caches, vmalloc callers, processes (USS), mappings of
 * processes recorded with smaps, /proc/allocinfo call sites and user-declared files, each judged by the
 * trend policy (through SeriesJudge) and ranked leaks first, fastest first. Then the owner of kernel growth:
 * a process whose FDSize climbs with filp and socket caches, whose Threads climb with KernelStack, whose
 * VmPTE climbs with PageTables.
 */
import type {
  AllocinfoCulprit, Analysis, Confidence, FileCulprit, MappingCulprit, OwnerInference, ProcessCulprit, ProcessSize, SeriesVerdict,
  SlabCulprit, VmallocCulprit,
} from '../model/analysis.js';
import type { SeriesKind } from './rules/index.js';
import { decodeKeyPart } from '../model/series.js';
import { finitePoints, type SeriesJudge } from './judge.js';
import { pearson } from './lockstep.js';
import { formatBytes } from '../model/units.js';

export type Culprits = Analysis['culprits'];

/**
 * Slab caches the kernel shrinks under memory pressure (SLAB_RECLAIM_ACCOUNT and actually reclaimable):
 * dentries, inodes of real filesystems, page-cache tree nodes. Socket and tmpfs inodes are accounted as
 * reclaimable too but live as long as their socket or file, so their growth can be a leak.
 */
const RECLAIMABLE_SLAB = /^(dentry|radix_tree_node|buffer_head|ext4_extent_status|mbcache|xfs_ili|btrfs_extent_buffer|btrfs_delayed_node|fuse_request)$|inode/;
const PINNED_INODES = /^(sock_inode_cache|shmem_inode_cache|mqueue_inode_cache|anon_inode|inotify_inode_mark)/;

export function slabKind(cache: string): SeriesKind {
  return RECLAIMABLE_SLAB.test(cache) && !PINNED_INODES.test(cache) ? 'reclaimable' : 'normal';
}

/** Caches that grow with open files and sockets. */
export const FD_CACHES = /^(filp|sock_inode_cache|TCP|TCPv6|UDP|UDPv6|UNIX|UNIX-STREAM|RAW|RAWv6|PING|PINGv6|eventpoll_epi|eventpoll_pwq|pipe_inode_info|signalfd_ctx|skbuff_head_cache|request_sock_TCP|inotify_inode_mark)$/;
/** Caches that grow with threads. */
export const THREAD_CACHES = /^(task_struct|pid|thread_stack|signal_cache|sighand_cache|cred_jar)$/;

export interface ParsedKey {
  family: 'slab' | 'vmalloc' | 'process' | 'mapping' | 'allocinfo' | 'file';
  name: string;
  comm?: string;
  pid?: number;
  metric?: string;
  field?: string;
}

/** Reads a series key of the families culprits are ranked in (model/series.ts names them). */
export function parseCulpritKey(key: string): ParsedKey | undefined {
  const d = decodeKeyPart;
  let m = /^slab\.(.+)\.bytes$/.exec(key);
  if (m) return { family: 'slab', name: d(m[1] as string) };
  m = /^vmalloc\.caller\.(.+)\.bytes$/.exec(key);
  if (m) return { family: 'vmalloc', name: d(m[1] as string) };
  m = /^proc\.(.+):(\d+)\.map\.(.+)\.(uss|rss|anon|file)$/.exec(key);
  if (m) return { family: 'mapping', name: d(m[3] as string), comm: d(m[1] as string), pid: Number(m[2]), metric: m[4] as string };
  m = /^proc\.(.+):(\d+)\.(anon|uss|pss|rss)$/.exec(key);
  if (m) return { family: 'process', name: `${d(m[1] as string)}:${m[2] as string}`, comm: d(m[1] as string), pid: Number(m[2]), metric: m[3] as string };
  m = /^allocinfo\.(.+)\.bytes$/.exec(key);
  if (m) return { family: 'allocinfo', name: d(m[1] as string) };
  m = /^file\.([^.]+)\.(.+)$/.exec(key);
  if (m) return { family: 'file', name: d(m[1] as string), field: d(m[2] as string) };
  return undefined;
}

const VERDICT_RANK: Record<SeriesVerdict['verdict'], number> = { leak: 0, inconclusive: 1, bounded: 2, reclaimable: 3, stable: 4 };

/** Leaks first, then inconclusive, then the rest; fastest growth first within each. */
export function byLeakRate(a: SeriesVerdict, b: SeriesVerdict): number {
  return VERDICT_RANK[a.verdict] - VERDICT_RANK[b.verdict] || b.rateBytesPerSec - a.rateBytesPerSec || b.growthBytes - a.growthBytes || a.key.localeCompare(b.key);
}

export interface CulpritOptions {
  /** Rows kept per family besides the leaks. Default 20. */
  top?: number;
  /** memsleuth's own processes: judged, but into `ownRows`, never ranked as culprits. */
  ownPids?: ReadonlySet<number>;
  ownRows?: ProcessCulprit[];
}

const SIZE_METRICS = ['uss', 'pss', 'rss'] as const;

/**
 * The series a process is judged on: anonymous memory (proc.X.anon; in recordings made before it existed,
 * status RssAnon + VmSwap, defined on the judge), else USS, PSS or RSS, whichever was recorded.
 */
export function processMetric(judge: SeriesJudge, base: string, keys: ReadonlySet<string>): { key: string; metric: ProcessCulprit['metric'] } | undefined {
  if (keys.has(`${base}.anon`)) return { key: `${base}.anon`, metric: 'anon' };
  const anon = judge.values(`${base}.status.RssAnon`);
  if (anon) {
    const swap = judge.values(`${base}.status.VmSwap`);
    const v = new Float64Array(anon.length);
    for (let i = 0; i < v.length; i++) {
      const s = swap?.[i];
      v[i] = (anon[i] as number) + (s !== undefined && Number.isFinite(s) ? s : 0);
    }
    judge.define(`${base}.anon`, v);
    return { key: `${base}.anon`, metric: 'anon' };
  }
  for (const m of SIZE_METRICS) if (keys.has(`${base}.${m}`)) return { key: `${base}.${m}`, metric: m };
  return undefined;
}

/** USS, PSS, RSS of a process over the window (first and last sampled values), for the tables. */
function sizesOf(judge: SeriesJudge, base: string): ProcessSize[] {
  const out: ProcessSize[] = [];
  for (const metric of SIZE_METRICS) {
    const v = judge.values(`${base}.${metric}`);
    if (!v) continue;
    const p = finitePoints(judge.w.t, v);
    if (p.v.length === 0) continue;
    out.push({ metric, firstBytes: p.v[0] as number, lastBytes: p.v[p.v.length - 1] as number });
  }
  return out;
}

/** Mappings whose pages are anonymous by name (recordings without the per-mapping Anonymous split). */
const ANON_MAPPING = /^\[(heap|stack|anon)/;

function keep<T extends SeriesVerdict>(rows: T[], top: number): T[] {
  rows.sort(byLeakRate);
  const leaks = rows.filter((r) => r.verdict === 'leak');
  return leaks.length >= top ? leaks : rows.slice(0, top);
}

/** Ranks every culprit family of the window. Series that do not move are skipped without a test. */
export function rankCulprits(judge: SeriesJudge, options: CulpritOptions = {}): Culprits {
  const top = options.top ?? 20;
  const slab: SlabCulprit[] = [];
  const vmalloc: VmallocCulprit[] = [];
  const procByPid = new Map<string, ProcessCulprit>();
  const mapping: MappingCulprit[] = [];
  const allocinfo: AllocinfoCulprit[] = [];
  const file: FileCulprit[] = [];
  const keySet = new Set(judge.w.keys);
  const own = options.ownPids ?? new Set<number>();
  const doneProc = new Set<string>();
  for (const key of judge.w.keys) {
    const k = parseCulpritKey(key);
    if (!k) continue;
    switch (k.family) {
      case 'slab': {
        const v = judge.ifMoving(key, slabKind(k.name));
        if (!v) break;
        const objs = judge.values(key.replace(/\.bytes$/, '.objs'));
        let objsGrowth: number | null = null;
        if (objs) {
          const p = finitePoints(judge.w.t, objs);
          if (p.v.length >= 2) objsGrowth = (p.v[p.v.length - 1] as number) - (p.v[0] as number);
        }
        slab.push({ ...v, cache: k.name, objsGrowth, cluster: null, follows: null });
        break;
      }
      case 'vmalloc': {
        const v = judge.ifMoving(key);
        if (v) vmalloc.push({ ...v, caller: k.name, cluster: null });
        break;
      }
      case 'process': {
        // One verdict per process, on its anonymous memory (processMetric); its other sizes ride along.
        // The key's own (encoded) prefix: the decoded name would not find the series again.
        const base = /^(proc\..+:\d+)\./.exec(key)?.[1] ?? `proc.${k.name}`;
        if (doneProc.has(base)) break;
        doneProc.add(base);
        const pm = processMetric(judge, base, keySet);
        if (!pm) break;
        const v = seenBriefly(judge, pm.key, exitedOr(judge, pm.key, judge.ifMoving(pm.key)));
        if (!v) break;
        const row: ProcessCulprit = { ...v, comm: k.comm ?? '', pid: k.pid ?? 0, metric: pm.metric, sizes: sizesOf(judge, base) };
        if (own.has(row.pid)) options.ownRows?.push(row);
        else procByPid.set(k.name, row);
        break;
      }
      case 'mapping': {
        if (k.metric !== 'uss' || own.has(k.pid ?? -1)) break;
        const base = key.slice(0, -'.uss'.length);
        const who = { comm: k.comm ?? '', pid: k.pid ?? 0, mapping: k.name };
        const anonKey = `${base}.anon`;
        const uss = judge.values(key);
        const anon = judge.values(anonKey);
        if (anon && uss) {
          // Split: the anonymous part is judged; the rest of the USS is file-backed page cache (reclaimable).
          const a = exitedOr(judge, anonKey, judge.ifMoving(anonKey));
          if (a) mapping.push({ ...a, ...who, metric: 'anon' });
          const file = new Float64Array(uss.length);
          for (let i = 0; i < file.length; i++) file[i] = (uss[i] as number) - (anon[i] as number);
          judge.define(`${base}.file`, file);
          const f = judge.ifMoving(`${base}.file`, 'reclaimable');
          if (f) mapping.push({ ...f, ...who, metric: 'file' });
        } else if (ANON_MAPPING.test(k.name)) {
          const v = exitedOr(judge, key, judge.ifMoving(key));
          if (v) mapping.push({ ...v, ...who, metric: 'uss' });
        } else if (uss) {
          // A file mapping's private pages, recorded without the split: clean file pages, page cache.
          judge.define(`${base}.file`, uss);
          const f = judge.ifMoving(`${base}.file`, 'reclaimable');
          if (f) mapping.push({ ...f, ...who, metric: 'file' });
        }
        break;
      }
      case 'allocinfo': {
        const v = judge.ifMoving(key);
        if (v) allocinfo.push({ ...v, site: k.name });
        break;
      }
      case 'file': {
        const v = judge.ifMoving(key);
        if (v) file.push({ ...v, file: k.name, field: k.field ?? '' });
        break;
      }
    }
  }
  return {
    slab: keep(slab, top),
    vmalloc: keep(vmalloc, top),
    process: keep([...procByPid.values()], top),
    mapping: keep(mapping, top),
    allocinfo: keep(allocinfo, top),
    file: keep(file, top),
    owner: [],
  };
}

/** Trailing samples without a value after which a process counts as gone (one missed read is not an exit). */
const EXITED_AFTER_MISSING = 2;

/**
 * A process that exited before the window ends is not leaking: the kernel took back its memory at exit. On a
 * busy machine, compilers and test runners grow for their few seconds of life and would otherwise be called
 * leaks at their start-up rate; their growth is shown, judged "bounded", with why.
 */
function exitedOr(judge: SeriesJudge, key: string, v: SeriesVerdict | undefined): SeriesVerdict | undefined {
  if (!v || v.verdict !== 'leak') return v;
  const values = judge.values(key);
  if (!values) return v;
  let last = values.length - 1;
  while (last >= 0 && !Number.isFinite(values[last] as number)) last--;
  if (values.length - 1 - last < EXITED_AFTER_MISSING) return v;
  const at = judge.w.t[last] as number;
  const out: SeriesVerdict = { ...v, verdict: 'bounded', level: 'low', evidence: [...v.evidence, `exited: no sample after t=${at} s; its memory went back to the kernel at exit, so it is not leaking now`], nextStep: null };
  judge.verdicts.set(key, out);
  return out;
}

/** A process born inside the window and seen for less than this is judged on too little of its life. */
const BRIEF_SEC = 120;

/**
 * A process that started inside the window and was seen for under BRIEF_SEC grows as every program does when
 * it starts (a compiler's cc1 takes 177 MB in 10 s): its start-up is not a rate that lasts. Its growth is shown,
 * judged inconclusive, with why; the same process watched longer is judged like any other.
 */
function seenBriefly(judge: SeriesJudge, key: string, v: SeriesVerdict | undefined): SeriesVerdict | undefined {
  if (!v || v.verdict !== 'leak') return v;
  const values = judge.values(key);
  if (!values) return v;
  const p = finitePoints(judge.w.t, values);
  const first = p.t[0] as number;
  const seen = (p.t[p.t.length - 1] as number) - first;
  if (!(first > (judge.w.t[0] as number)) || seen >= BRIEF_SEC) return v;
  const out: SeriesVerdict = { ...v, verdict: 'inconclusive', level: 'low', evidence: [...v.evidence, `seen for ${Math.round(seen)} s only, since it started at t=${Math.round(first)} s: a program's start-up grows like this; a leak keeps growing after it`], nextStep: 'keep recording while it runs' };
  judge.verdicts.set(key, out);
  return out;
}

interface OwnerRule {
  counter: OwnerInference['counter'];
  suffix: string;
  /** Kernel series this counter explains. */
  explains(key: string): boolean;
  /** Bytes of kernel memory per unit of the counter, for a plausibility check (undefined: no check). */
  bytesPerUnit?: [number, number];
}

const OWNER_RULES: OwnerRule[] = [
  { counter: 'fdsize', suffix: '.fdsize', explains: (k) => /^slab\.(.+)\.bytes$/.test(k) && FD_CACHES.test(k.slice(5, -6)) },
  // One kernel stack per thread: 4-32 KiB depending on architecture and config.
  { counter: 'threads', suffix: '.threads', explains: (k) => k === 'meminfo.KernelStack' || (/^slab\.(.+)\.bytes$/.test(k) && THREAD_CACHES.test(k.slice(5, -6))), bytesPerUnit: [2048, 65536] },
  { counter: 'VmPTE', suffix: '.status.VmPTE', explains: (k) => k === 'meminfo.PageTables' },
];

/**
 * Names processes behind growing kernel series. A candidate's counter must have grown over the window; the
 * best candidate is the one whose counter correlates best with the kernel series. Confidence is medium only
 * when one process alone climbs and its counter tracks the kernel series closely (r >= 0.8 over >= 6 samples).
 */
export function inferOwners(judge: SeriesJudge, kernel: readonly SeriesVerdict[]): OwnerInference[] {
  const out: OwnerInference[] = [];
  const t = judge.w.t;
  for (const rule of OWNER_RULES) {
    const targets = kernel.filter((k) => rule.explains(k.key) && (k.verdict === 'leak' || k.verdict === 'inconclusive') && k.growthBytes > 0);
    if (targets.length === 0) continue;
    const candidates: { comm: string; pid: number; key: string; v: Float64Array; growth: number }[] = [];
    for (const key of judge.w.keys) {
      if (!key.startsWith('proc.') || !key.endsWith(rule.suffix)) continue;
      const m = /^proc\.(.+):(\d+)\./.exec(key);
      const v = judge.values(key);
      if (!m || !v) continue;
      const p = finitePoints(t, v);
      if (p.v.length < 2) continue;
      const growth = (p.v[p.v.length - 1] as number) - (p.v[0] as number);
      if (growth > 0) candidates.push({ comm: m[1] as string, pid: Number(m[2]), key, v, growth });
    }
    if (candidates.length === 0) continue;
    for (const target of targets) {
      const kv = judge.values(target.key);
      if (!kv) continue;
      const scored = candidates.map((c) => {
        const x: number[] = [];
        const y: number[] = [];
        for (let i = 0; i < kv.length; i++) {
          const a = kv[i] as number;
          const b = c.v[i] as number;
          if (Number.isFinite(a) && Number.isFinite(b)) { x.push(a); y.push(b); }
        }
        return { c, r: pearson(x, y) ?? null, n: x.length };
      }).sort((a, b) => (b.r ?? -2) - (a.r ?? -2) || b.c.growth - a.c.growth);
      const best = scored[0];
      if (!best) continue;
      const evidence = [
        `${best.c.key} grew by ${best.c.growth} while ${target.key} grew by ${formatBytes(target.growthBytes)}`,
        best.r !== null ? `levels correlate r=${best.r.toFixed(2)} over ${best.n} common samples` : `only ${best.n} common samples: no correlation computed`,
        `${candidates.length} process(es) with a climbing ${rule.counter}`,
      ];
      let plausible = true;
      if (rule.bytesPerUnit) {
        const per = target.growthBytes / best.c.growth;
        plausible = per >= rule.bytesPerUnit[0] / 4 && per <= rule.bytesPerUnit[1] * 4;
        evidence.push(`${formatBytes(per)} of kernel memory per ${rule.counter === 'threads' ? 'thread' : 'unit'} (${plausible ? 'plausible' : 'implausible'})`);
      }
      if (rule.counter === 'VmPTE') {
        const ratio = best.c.growth / target.growthBytes;
        plausible = ratio >= 0.25;
        evidence.push(`the process's page tables account for ${(ratio * 100).toFixed(0)}% of the growth`);
      }
      const strong = candidates.length === 1 && best.r !== null && best.r >= 0.8 && best.n >= 6 && plausible;
      const confidence: Confidence = strong
        ? { level: 'medium', reason: `the only process whose ${rule.counter} climbs, and it tracks ${target.key}` }
        : { level: 'low', reason: best.n < 6 ? `only ${best.n} samples` : candidates.length > 1 ? `${candidates.length} processes climb; the best correlated is named` : 'weak correlation or implausible size' };
      out.push({
        kernelKey: target.key,
        comm: best.c.comm,
        pid: best.c.pid,
        counter: rule.counter,
        counterKey: best.c.key,
        counterGrowth: best.c.growth,
        kernelGrowthBytes: target.growthBytes,
        correlation: best.r,
        confidence,
        evidence,
      });
    }
  }
  return out;
}
