/**
 * Parses OOM-killer reports and allocation-failure reports out of a kernel log (dmesg, dmesg -T in any
 * locale, serial console, syslog with "#012" joins): dump_header()/oom_kill_process() in mm/oom_kill.c,
 * warn_alloc() in mm/page_alloc.c, __show_mem() (Mem-Info), dump_unreclaimable_slab() in mm/slab_common.c,
 * mem_cgroup_print_oom_meminfo() in mm/memcontrol.c. Real input lines:
 *
 *   [ven. nov. 28 07:26:44 2025] postmaster invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
 *   [<c0011521>] (unwind_backtrace) from [<c000fcc7>] (show_stack+0xb/0xc)
 *   [  159.759453] Node 0                     (a zone line split in two by interleaved printk)
 *   Out of memory: Killed process 473206 (doxygen) total-vm:30290680kB, anon-rss:9234320kB, file-rss:4kB, shmem-rss:0kB, UID:504 pgtables:59264kB oom_score_adj:0
 *
 * A report opens at "invoked oom-killer", "page allocation failure" or "vmalloc: allocation failure", or at a
 * Mem-Info with no open report; other printk output in between is ignored. Frames after the first call trace,
 * and "? " frames, are left out: in interleaved logs they belong to other tasks.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import { warning, type Parsed, type ParseWarning, withFiniteValues } from '../../model/parsed.js';
import { bytes, kib, pages, type Bytes } from '../../model/units.js';
import { cleanConsoleLine, parseKernelFrameLine, splitLines } from './kmemleak.js';

export type OomTrigger = 'oom-killer' | 'page-allocation-failure' | 'vmalloc-failure' | 'mem-info' | 'kill';

export interface OomZone {
  node?: number;
  zone: string;
  free: Bytes;
  min?: Bytes;
  low?: Bytes;
  high?: Bytes;
  present?: Bytes;
  managed?: Bytes;
  allUnreclaimable?: boolean;
  /** Every "key:value" on the line: kB values in bytes, others (pages_scanned) as printed. */
  fields: Record<string, number>;
}

export interface OomNodeStats {
  node: number;
  allUnreclaimable?: boolean;
  /** kB values in bytes, others as printed. */
  fields: Record<string, number>;
}

export interface OomTask {
  pid: number;
  uid?: number;
  tgid?: number;
  totalVm?: Bytes;
  rss?: Bytes;
  rssAnon?: Bytes;
  rssFile?: Bytes;
  rssShmem?: Bytes;
  /** pgtables_bytes (4.15+); older tables print nr_ptes (a count of page-table pages) instead. */
  pgtables?: Bytes;
  nrPtes?: number;
  swap?: Bytes;
  oomScoreAdj?: number;
  name: string;
  line: number;
}

export interface OomKill {
  pid: number;
  comm: string;
  /** "Memory cgroup out of memory: Killed process ..." */
  memcg: boolean;
  totalVm?: Bytes;
  anonRss?: Bytes;
  fileRss?: Bytes;
  shmemRss?: Bytes;
  uid?: number;
  pgtables?: Bytes;
  oomScoreAdj?: number;
  /** Old kernels: "Out of memory: Kill process 6576 (mysqld) score 651 or sacrifice child". */
  score?: number;
  line: number;
}

export interface OomMemcg {
  usage?: Bytes;
  limit?: Bytes;
  failcnt?: number;
  swapUsage?: Bytes;
  swapLimit?: Bytes;
  memswUsage?: Bytes;
  memswLimit?: Bytes;
  kmemUsage?: Bytes;
  kmemLimit?: Bytes;
  /** "Memory cgroup stats for /lxc/39004:" */
  statsPath?: string;
  /** memory.stat as printed (v2: bytes; v1 "rss:123KB": bytes). */
  stats: Record<string, number>;
}

export interface OomReport {
  trigger: OomTrigger;
  /** 1-based line the report opened at. */
  line: number;
  /** The printk/dmesg -T timestamp of that line, as printed. */
  time?: string;
  invoker?: { comm: string; pid?: number };
  gfpMask?: string;
  gfpFlags?: string[];
  nodemask?: string;
  order?: number;
  oomScoreAdj?: number;
  /** vmalloc failures: the size asked for. */
  requested?: Bytes;
  cpuset?: string;
  memsAllowed?: string;
  /** Innermost first; "? " frames left out. */
  stack: Frame[];
  /** Mem-Info summary (active_anon, slab_unreclaimable, free, ...), pages converted to bytes (4 KiB pages). */
  memInfo?: Record<string, Bytes>;
  nodes: OomNodeStats[];
  zones: OomZone[];
  swapFree?: Bytes;
  swapTotal?: Bytes;
  /** "4115400 pages RAM", "97082 pages reserved", "44659 total pagecache pages": label -> pages. */
  pageCounts: Record<string, number>;
  unreclaimableSlab: { name: string; used: Bytes; total: Bytes }[];
  memcg?: OomMemcg;
  /** "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),...,task=doxygen,pid=473206,uid=504" */
  constraint?: Record<string, string>;
  tasks: OomTask[];
  killed?: OomKill;
}

export interface OomReports {
  reports: OomReport[];
}

const INVOKED_RE = /^(.+?) invoked oom-killer: (.*)$/;
const PAGE_FAIL_RE = /^(?:(.+?): )?page allocation failure: order:(-?\d+), mode:(0x[0-9a-fA-F]+)(?:\(([^)]*)\))?(?:, nodemask=(\S+))?/;
const VMALLOC_FAIL_RE = /^(?:(.+?): )?vmalloc: allocation failure: (\d+) bytes(?:, mode:(0x[0-9a-fA-F]+)(?:\(([^)]*)\))?)?(?:, nodemask=(\S+))?/;
const KILLED_RE = /^(?:(Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): )?Killed process (\d+) \((.*?)\)(.*)$/;
const KILL_OLD_RE = /^(Memory cgroup out of memory|Out of memory): Kill process (\d+) \((.*?)\) score (\d+)/;
// "CPU: 3 PID: 473206 Comm: doxygen Tainted: ..." (2.6.36+); "Pid: 1234, comm: foo Not tainted ..." before.
const CPU_RE = /^(?:CPU: \d+ PID: (\d+) Comm: (.*?)|Pid: (\d+), comm: (.*?)) (?:Kdump: loaded )?(?:Not tainted|Tainted:)/;
const CPUSET_RE = /^(\S+) cpuset=(\S*)(?:\s+mems_allowed=(\S+))?$/;
const ZONE_RE = /^(?:Node (\d+) )?([A-Za-z][\w]*) free:(\d+)kB\b(.*)$/;
const NODE_RE = /^Node (\d+) (active_anon:.*)$/;
const TASK_HEADER_RE = /^\[\s*pid\s*\]\s+(.*)\bname$/;
const TASK_ROW_RE = /^\[\s*(\d+)\]\s+(.*)$/;
const SLAB_ROW_RE = /^(\S+)\s+(\d+)KB\s+(\d+)KB$/;
const PAGE_COUNT_RE = /^(\d+) ((?:total pagecache pages|pages (?:in swap cache|RAM|HighMem\/MovableOnly|reserved|cma reserved|hwpoisoned)))$/;
const MEMCG_USAGE_RE = /^(memory|memory\+swap|swap|kmem): usage (\d+)kB, limit (\d+)kB(?:, failcnt (\d+))?/;

function kvTokens(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of s.matchAll(/([\w()+-]+):\s?(-?\d+(?:kB|KB)?)/g)) {
    if (m[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

function numericFields(s: string): { fields: Record<string, number>; allUnreclaimable?: boolean } {
  const fields: Record<string, number> = {};
  for (const m of s.matchAll(/([\w()]+):\s?(\d+)(kB|KB)?/g)) {
    if (m[1] === undefined || m[2] === undefined) continue;
    fields[m[1]] = m[3] !== undefined ? kib(Number(m[2])) : Number(m[2]);
  }
  const u = /all_unreclaimable\? (yes|no)/.exec(s);
  return u ? { fields, allUnreclaimable: u[1] === 'yes' } : { fields };
}

function gfp(report: OomReport, mask: string | undefined, flags: string | undefined): void {
  if (mask !== undefined) report.gfpMask = mask.toLowerCase();
  if (flags !== undefined && flags !== '') report.gfpFlags = flags.split('|');
}

/** The columns of the old (nr_ptes) and new (pgtables_bytes, rss_anon/file/shmem) task tables. */
function taskFromRow(columns: string[], rest: string, pid: number, line: number): OomTask | undefined {
  const tokens = rest.split(/\s+/);
  if (tokens.length < columns.length + 1) return undefined;
  const nums = tokens.slice(0, columns.length).map(Number);
  if (nums.some((x) => !Number.isFinite(x))) return undefined;
  const task: OomTask = { pid, name: tokens.slice(columns.length).join(' '), line };
  columns.forEach((c, i) => {
    const v = nums[i];
    if (v === undefined) return;
    switch (c) {
      case 'uid': task.uid = v; break;
      case 'tgid': task.tgid = v; break;
      case 'total_vm': task.totalVm = pages(v); break;
      case 'rss': task.rss = pages(v); break;
      case 'rss_anon': task.rssAnon = pages(v); break;
      case 'rss_file': task.rssFile = pages(v); break;
      case 'rss_shmem': task.rssShmem = pages(v); break;
      case 'pgtables_bytes': task.pgtables = bytes(v); break;
      case 'nr_ptes': task.nrPtes = v; break;
      case 'swapents': task.swap = pages(v); break;
      case 'oom_score_adj': task.oomScoreAdj = v; break;
      default: break;
    }
  });
  return task;
}

type Section = 'none' | 'meminfo' | 'slab' | 'tasks' | 'memcg-stats';

export function parseOomReports(text: string): Parsed<OomReports> {
  const warnings: ParseWarning[] = [];
  const reports: OomReport[] = [];
  let cur: OomReport | undefined;
  let section: Section = 'none';
  let stackOpen = false;
  let sawTraceHeading = false;
  let pendingNode: number | undefined;
  let taskColumns: string[] = ['uid', 'tgid', 'total_vm', 'rss', 'nr_ptes', 'swapents', 'oom_score_adj'];
  let lastArmFrom: Frame | undefined;
  /**
   * Whose trace the next frames are: dump_stack() prints "CPU: n PID: p Comm: c" first. Frames count only after
   * that line names the invoking task; a trace under another task's CPU line (KASAN, a panic) is someone else's.
   */
  let traceIsInvoker = false;

  const finishStack = (): void => {
    if (cur && lastArmFrom) cur.stack.push(lastArmFrom);
    lastArmFrom = undefined;
    stackOpen = false;
  };
  const open = (trigger: OomTrigger, n: number, time: string | undefined): OomReport => {
    finishStack();
    cur = { trigger, line: n, stack: [], nodes: [], zones: [], pageCounts: {}, unreclaimableSlab: [], tasks: [] };
    if (time !== undefined) cur.time = time;
    reports.push(cur);
    section = 'none';
    stackOpen = trigger !== 'mem-info' && trigger !== 'kill';
    sawTraceHeading = false;
    traceIsInvoker = false;
    pendingNode = undefined;
    return cur;
  };

  const lines = splitLines(text);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const cleaned = cleanConsoleLine(raw);
    // rsyslog writes the newlines of one multi-line printk as "#012".
    for (const part of cleaned.text.split('#012')) handle(part, n, raw, cleaned.time);
  });
  finishStack();

  function handle(t: string, n: number, raw: string, time: string | undefined): void {
    const s = t.trim();
    if (s === '') return; // blank lines separate nothing here (seed 002 pastes one between every line)

    let m: RegExpExecArray | null;
    if ((m = INVOKED_RE.exec(s)) && m[1] !== undefined) {
      const r = open('oom-killer', n, time);
      r.invoker = { comm: m[1] };
      const rest = m[2] ?? '';
      const g = /gfp_mask=(0x[0-9a-fA-F]+)(?:\(([^)]*)\))?/.exec(rest);
      if (g) gfp(r, g[1], g[2]);
      const nm = /nodemask=([^,\s]+)/.exec(rest);
      if (nm && nm[1] !== undefined) r.nodemask = nm[1];
      const o = /order=(-?\d+)/.exec(rest);
      if (o) r.order = Number(o[1]);
      const a = /oom_score_adj=(-?\d+)/.exec(rest);
      if (a) r.oomScoreAdj = Number(a[1]);
      return;
    }
    if ((m = VMALLOC_FAIL_RE.exec(s))) {
      const r = open('vmalloc-failure', n, time);
      if (m[1] !== undefined) r.invoker = { comm: m[1] };
      r.requested = bytes(Number(m[2]));
      gfp(r, m[3], m[4]);
      if (m[5] !== undefined) r.nodemask = m[5];
      return;
    }
    if ((m = PAGE_FAIL_RE.exec(s))) {
      // 4.x vmalloc printed "vmalloc: allocation failure: N bytes" and then warn_alloc's own line: one event.
      const joinVmalloc = cur?.trigger === 'vmalloc-failure' && cur.gfpMask === undefined && cur.memInfo === undefined && cur.stack.length === 0;
      const r = joinVmalloc && cur ? cur : open('page-allocation-failure', n, time);
      if (m[1] !== undefined) r.invoker = { comm: m[1] };
      r.order = Number(m[2]);
      gfp(r, m[3], m[4]);
      if (m[5] !== undefined) r.nodemask = m[5];
      return;
    }
    if ((m = KILL_OLD_RE.exec(s))) {
      const r = cur && cur.killed === undefined ? cur : open('kill', n, time);
      r.killed = { pid: Number(m[2]), comm: m[3] ?? '', memcg: m[1] === 'Memory cgroup out of memory', score: Number(m[4]), line: n };
      finishStack();
      section = 'none';
      return;
    }
    if ((m = KILLED_RE.exec(s)) && m[2] !== undefined) {
      const pid = Number(m[2]);
      const comm = m[3] ?? '';
      const same = cur?.killed !== undefined && cur.killed.pid === pid && cur.killed.comm === comm;
      const r = cur && (cur.killed === undefined || same) ? cur : open('kill', n, time);
      const k: OomKill = r.killed ?? { pid, comm, memcg: false, line: n };
      if (m[1] === 'Memory cgroup out of memory') k.memcg = true;
      const kv = kvTokens(m[4] ?? '');
      const kb = (key: string): Bytes | undefined => {
        const v = kv.get(key);
        return v !== undefined && /^\d+kB$/i.test(v) ? kib(Number.parseInt(v, 10)) : undefined;
      };
      const tv = kb('total-vm'); if (tv !== undefined) k.totalVm = tv;
      const ar = kb('anon-rss'); if (ar !== undefined) k.anonRss = ar;
      const fr = kb('file-rss'); if (fr !== undefined) k.fileRss = fr;
      const sr = kb('shmem-rss'); if (sr !== undefined) k.shmemRss = sr;
      const pt = kb('pgtables'); if (pt !== undefined) k.pgtables = pt;
      const uid = kv.get('UID'); if (uid !== undefined) k.uid = Number(uid);
      const adj = kv.get('oom_score_adj'); if (adj !== undefined) k.oomScoreAdj = Number(adj);
      r.killed = k;
      finishStack();
      section = 'none';
      return;
    }
    if (s === 'Mem-Info:') {
      if (!cur || cur.memInfo !== undefined || cur.killed !== undefined) open('mem-info', n, time);
      finishStack();
      if (cur) cur.memInfo = {};
      section = 'meminfo';
      return;
    }
    if (s.startsWith('oom_reaper:')) return;
    if (!cur) return; // printk outside any report

    if (s.startsWith('oom-kill:')) {
      const c: Record<string, string> = {};
      for (const kv of s.slice('oom-kill:'.length).split(',')) {
        const eq = kv.indexOf('=');
        if (eq > 0) c[kv.slice(0, eq)] = kv.slice(eq + 1);
        else if (kv !== '') c[kv] = 'true';
      }
      cur.constraint = c;
      finishStack();
      section = 'none';
      return;
    }
    if ((m = CPU_RE.exec(s))) {
      const pid = Number(m[1] ?? m[3]);
      const comm = m[2] ?? m[4];
      if (cur.invoker !== undefined && cur.invoker.comm === comm) {
        cur.invoker.pid ??= pid;
        if (cur.stack.length === 0) traceIsInvoker = true;
      }
      return;
    }
    if ((m = CPUSET_RE.exec(s)) && cur.invoker?.comm === m[1]) {
      cur.cpuset = m[2] ?? '';
      if (m[3] !== undefined) cur.memsAllowed = m[3];
      return;
    }
    if (s === 'Call Trace:' || s === 'Backtrace:' || s === 'Call trace:') {
      if (sawTraceHeading && cur.stack.length > 0) finishStack();
      sawTraceHeading = true;
      return;
    }
    if (stackOpen && traceIsInvoker) {
      const f = parseKernelFrameLine(s);
      if (f) {
        if (f.unreliable) return;
        if (f.from) {
          // ARM: "(callee) from [<lr>] (caller+off/len)": the offset of this frame was printed on the line before.
          const fr = f.frame;
          if (lastArmFrom && lastArmFrom.address === fr.address) {
            if (lastArmFrom.offset !== undefined) fr.offset = lastArmFrom.offset;
            if (lastArmFrom.length !== undefined) fr.length = lastArmFrom.length;
          }
          cur.stack.push(fr);
          lastArmFrom = f.from;
        } else {
          cur.stack.push(f.frame);
        }
        return;
      }
    }
    if ((m = MEMCG_USAGE_RE.exec(s))) {
      finishStack();
      const mc: OomMemcg = cur.memcg ?? { stats: {} };
      const usage = kib(Number(m[2]));
      const limit = kib(Number(m[3]));
      if (m[1] === 'memory') {
        mc.usage = usage;
        mc.limit = limit;
        if (m[4] !== undefined) mc.failcnt = Number(m[4]);
      } else if (m[1] === 'swap') {
        mc.swapUsage = usage;
        mc.swapLimit = limit;
      } else if (m[1] === 'memory+swap') {
        mc.memswUsage = usage;
        mc.memswLimit = limit;
      } else {
        mc.kmemUsage = usage;
        mc.kmemLimit = limit;
      }
      cur.memcg = mc;
      return;
    }
    if ((m = /^Memory cgroup stats for ([^:]*):(.*)$/.exec(s))) {
      const mc: OomMemcg = cur.memcg ?? { stats: {} };
      if (m[1] !== undefined && mc.statsPath === undefined) mc.statsPath = m[1];
      // cgroup v1 prints the stats on this line as "rss:123KB"; v2 one "key value" per line after it.
      for (const kv of (m[2] ?? '').matchAll(/(\w+):(\d+)KB/g)) {
        if (kv[1] !== undefined) mc.stats[kv[1]] = kib(Number(kv[2]));
      }
      cur.memcg = mc;
      section = 'memcg-stats';
      return;
    }
    if (section === 'memcg-stats' && (m = /^(\w+) (\d+)$/.exec(s)) && cur.memcg && m[1] !== undefined) {
      cur.memcg.stats[m[1]] = Number(m[2]);
      return;
    }
    if (section === 'meminfo' && cur.memInfo !== undefined && /^(?:[\w()]+:\d+\s*)+$/.test(s)) {
      for (const kv of s.matchAll(/([\w()]+):(\d+)/g)) {
        if (kv[1] !== undefined) cur.memInfo[kv[1]] = pages(Number(kv[2]));
      }
      return;
    }
    if ((m = NODE_RE.exec(s))) {
      cur.nodes.push({ node: Number(m[1]), ...numericFields(m[2] ?? '') });
      section = 'none';
      return;
    }
    if ((m = /^Node (\d+)$/.exec(s))) {
      pendingNode = Number(m[1]);
      return;
    }
    if ((m = ZONE_RE.exec(s)) && m[2] !== undefined && /\bmin:\d+kB/.test(m[4] ?? '')) {
      const { fields, allUnreclaimable } = numericFields(`free:${m[3]}kB${m[4] ?? ''}`);
      const zone: OomZone = { zone: m[2], free: kib(Number(m[3])), fields };
      const node = m[1] !== undefined ? Number(m[1]) : pendingNode;
      if (node !== undefined) zone.node = node;
      if (m[1] === undefined && pendingNode !== undefined) {
        warnings.push(warning(n, raw, 'zone line split from its "Node N" prefix by interleaved output; joined', 'info'));
      }
      pendingNode = undefined;
      for (const key of ['min', 'low', 'high', 'present', 'managed'] as const) {
        const v = fields[key];
        if (v !== undefined) zone[key] = bytes(v);
      }
      if (allUnreclaimable !== undefined) zone.allUnreclaimable = allUnreclaimable;
      cur.zones.push(zone);
      section = 'none';
      return;
    }
    if ((m = PAGE_COUNT_RE.exec(s)) && m[2] !== undefined) {
      cur.pageCounts[m[2]] = Number(m[1]);
      return;
    }
    if ((m = /^(Free|Total) swap\s+=\s+(\d+)kB$/.exec(s))) {
      if (m[1] === 'Free') cur.swapFree = kib(Number(m[2]));
      else cur.swapTotal = kib(Number(m[2]));
      return;
    }
    if (s === 'Unreclaimable slab info:') {
      section = 'slab';
      return;
    }
    if (section === 'slab') {
      if (/^Name\s+Used\s+Total$/.test(s)) return;
      if ((m = SLAB_ROW_RE.exec(s)) && m[1] !== undefined) {
        cur.unreclaimableSlab.push({ name: m[1], used: kib(Number(m[2])), total: kib(Number(m[3])) });
        return;
      }
    }
    if ((m = TASK_HEADER_RE.exec(s))) {
      taskColumns = (m[1] ?? '').trim().split(/\s+/);
      section = 'tasks';
      return;
    }
    if (section === 'tasks' && (m = TASK_ROW_RE.exec(s))) {
      const task = taskFromRow(taskColumns, m[2] ?? '', Number(m[1]), n);
      if (task) cur.tasks.push(task);
      else warnings.push(warning(n, raw, `task row does not fit the ${taskColumns.length + 2}-column header; skipped`, 'data-loss'));
      return;
    }
    // Anything else is other printk output interleaved with the report.
  }

  for (const r of reports) {
    if (r.trigger === 'oom-killer' && r.memInfo === undefined && r.killed === undefined) {
      warnings.push(warning(r.line, '', 'OOM report ends before Mem-Info and the kill line (log truncated or interleaved)', 'data-loss'));
    }
  }
  return withFiniteValues({ value: { reports }, warnings });
}

/**
 * Evidence an OOM report gives about where memory went: one site per cache in "Unreclaimable slab info"
 * (bytes = used; count unknown, 0) and one for the killed task (bytes = anon + file + shmem RSS). Neither has a
 * stack: the invoking allocation's stack says who asked last, not who holds the memory, so it is not a site.
 */
export function oomSites(report: OomReport): AllocationSite[] {
  const origin = `line ${report.line}`;
  const sites: AllocationSite[] = report.unreclaimableSlab.map((s) => ({
    stack: [], bytes: s.used, count: 0, kind: 'outstanding', tool: 'oom', cache: s.name, origin,
  }));
  const k = report.killed;
  if (k !== undefined) {
    const rss = (k.anonRss ?? 0) + (k.fileRss ?? 0) + (k.shmemRss ?? 0);
    sites.push({ stack: [], bytes: bytes(rss), count: 1, kind: 'outstanding', tool: 'oom', pids: [k.pid], comms: [k.comm], origin: `line ${k.line}` });
  }
  return sites;
}
