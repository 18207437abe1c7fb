/**
 * Terminal rendering of leak evidence (`memsleuth evidence`, `kmemleak`, `slab-calls`, `oom`): the top allocation
 * sites as stack trees, totals per tool and kind, the diff of two captures, and OOM-kill summaries.
 * Every string that came from the input passes terminalSafe: a process may name itself an escape sequence.
 *
 *   #1  100 B in 1 object  definite  valgrind  leak.log:12
 *       ├─ malloc (vg_replace_malloc.c:381)
 *       ├─ make_buffer (leak.c:5)
 *       └─ main (leak.c:10)
 */
import type { AllocationSite, Frame, LeakKind } from '../model/allocation_site.js';
import type { SiteChange, SiteDiff } from '../model/allocation_sites.js';
import type { Colors } from './color.js';
import { terminalSafe } from './escape.js';
import { renderTable } from './table.js';
import { formatBytes, formatDelta } from './units.js';
import { bytes } from '../model/units.js';

// ---------------------------------------------------------------------------------------------
// Frames and sites

/**
 * Allocator entry points: the frame a leak is "in" is the first one below these. Kernel and user space alike;
 * the sanitizers' interceptors and valgrind's replacements included.
 */
const ALLOCATOR = new RegExp(
  '^(?:' +
    [
      'malloc', 'calloc', 'realloc', 'reallocarray', 'free', 'memalign', 'aligned_alloc', 'posix_memalign', 'valloc', 'pvalloc',
      'strdup', 'strndup', '__libc_\\w+', '__interceptor_\\w+', '___interceptor_\\w+', '__asan_\\w+', '__lsan_\\w+', 'operator new.*',
      '_Znw\\w*', '_Zna\\w*', 'g_malloc\\w*', 'g_realloc\\w*', 'dmalloc_\\w+', '_dmalloc_\\w+',
      // kernel
      '__?kmalloc\\w*', 'kmalloc\\w*', 'kzalloc\\w*', 'kcalloc\\w*', 'krealloc\\w*', 'kvmalloc\\w*', 'kvzalloc\\w*', '__kvmalloc\\w*',
      'kmem_cache_alloc\\w*', '__?kmem_cache_alloc\\w*', 'slab_alloc\\w*', '__slab_alloc\\w*', '___slab_alloc\\w*', 'slab_post_alloc_hook',
      'kmemleak_\\w+', 'create_object', '__create_object', 'alloc_debug_processing', 'set_track\\w*', 'kmalloc_trace\\w*',
      '__?vmalloc\\w*', 'vzalloc\\w*', '__vmalloc_node\\w*', 'alloc_pages\\w*', '__alloc_pages\\w*', 'kmemdup\\w*', 'kstrdup\\w*',
      'memdup_user\\w*', 'krealloc\\w*', '__do_kmalloc_node', 'dump_stack\\w*', 'stack_trace_save\\w*',
    ].join('|') +
    ')(?:\\.(?:isra|constprop|part|cold)(?:\\.\\d+)?)*$',
);

export function isAllocatorFrame(f: Frame): boolean {
  return f.symbol !== undefined && ALLOCATOR.test(f.symbol);
}

/** The frame that names the leaking code: the first below the allocator's own frames that says where it is. */
export function culpritFrame(site: AllocationSite): Frame | undefined {
  const frames = site.stack;
  let i = 0;
  while (i < frames.length && (isAllocatorFrame(frames[i] as Frame) || frames[i]?.inline === true && isAllocatorFrame(frames[i + 1] ?? {}))) i++;
  const rest = frames.slice(i);
  // A symbolized frame inside the caller (its inline callees come first, with file:line) is the most precise.
  return rest.find((f) => f.file !== undefined && f.line !== undefined) ?? rest.find((f) => f.symbol !== undefined) ?? rest[0] ?? frames[0];
}

/** "leak.c:5" / "make_buffer+0x1c" / "libfoo.so+0x1234" for the culprit frame; undefined for an empty stack. */
export function siteWhere(site: AllocationSite): string | undefined {
  const f = culpritFrame(site);
  if (f === undefined) return undefined;
  if (f.file !== undefined && f.line !== undefined) return `${f.file}:${f.line}`;
  return formatFrame(f);
}

const basenameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** One frame as a line: `symbol (file:line)`, `symbol+0x1c/0x60 [module]`, `libc.so.6+0x1234`, or the address. Not yet escaped. */
export function formatFrame(f: Frame): string {
  const where = f.file !== undefined ? `${f.file}${f.line !== undefined ? `:${f.line}` : ''}${f.column !== undefined ? `:${f.column}` : ''}` : undefined;
  let s: string;
  if (f.symbol !== undefined) {
    s = f.symbol;
    if (where === undefined && f.offset !== undefined) s += `${f.offset}${f.length ?? ''}`;
  } else if (f.module !== undefined && f.moduleOffset !== undefined) {
    s = `${basenameOf(f.module)}+${f.moduleOffset}`;
  } else if (f.address === undefined && where !== undefined) {
    // mtrace/dmalloc name a caller only by its source line: "leaky.c:24", not "? (leaky.c:24)".
    return f.inline === true ? `${where} [inline]` : where;
  } else {
    s = f.address ?? '?';
  }
  if (where !== undefined) s += ` (${where})`;
  else if (f.module !== undefined && (f.symbol !== undefined || f.moduleOffset === undefined)) s += ` [${basenameOf(f.module)}]`;
  if (f.inline === true) s += ' [inline]';
  return s;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${Math.abs(n) === 1 ? one : many}`;

/** "100 B in 1 object" / "3 objects" (no bytes) / "1.2 MiB" (count unknown). */
function amount(site: AllocationSite): string {
  if (site.indirectBytes !== undefined && site.indirectBytes > 0) {
    // valgrind's own shape: "78 (16 direct, 62 indirect) bytes in 1 blocks are definitely lost".
    const total = formatBytes(site.bytes + site.indirectBytes);
    return `${total} (${formatBytes(site.bytes)} direct, ${formatBytes(site.indirectBytes)} indirect) in ${plural(site.count, 'object')}`;
  }
  if (site.bytes > 0 && site.count > 0) return `${formatBytes(site.bytes)} in ${plural(site.count, 'object')}`;
  if (site.count > 0) return plural(site.count, 'object');
  return formatBytes(site.bytes);
}

/** What else identifies a site: slab cache, processes, age. */
function labels(site: AllocationSite): string[] {
  const out: string[] = [];
  if (site.cache !== undefined) out.push(`cache ${site.cache}`);
  if (site.comms !== undefined && site.comms.length > 0) {
    const pids = site.pids ?? [];
    out.push(site.comms.length === 1 && pids.length === 1 ? `${site.comms[0] ?? ''}[${pids[0] ?? ''}]` : `comm ${site.comms.slice(0, 3).join(',')}${site.comms.length > 3 ? ',...' : ''}`);
  } else if (site.pids !== undefined && site.pids.length > 0) {
    out.push(site.pids.length === 2 && site.tool === 'slub' ? `pid ${site.pids[0] ?? ''}-${site.pids[1] ?? ''}` : `pid ${site.pids.slice(0, 4).join(',')}${site.pids.length > 4 ? ',...' : ''}`);
  }
  if (site.ageSec !== undefined) {
    const lo = Math.round(site.ageSec.min);
    const hi = Math.round(site.ageSec.max);
    out.push(lo === hi ? `age ${lo} s` : `age ${lo}-${hi} s`);
  }
  return out;
}

export interface SiteRenderOptions {
  /** Frames shown per site (the rest summarised as "... N more"). */
  frames: number;
  /** Indentation in front of the tree. */
  indent?: string;
}

/** The stack as a tree under its site; allocator frames dimmed, the culprit bold. */
export function renderStack(site: AllocationSite, c: Colors, opts: SiteRenderOptions): string[] {
  const pad = opts.indent ?? '    ';
  if (site.stack.length === 0) return [`${pad}${c.dim('(no stack: the tool names no call site)')}`];
  const culprit = culpritFrame(site);
  const shown = site.stack.slice(0, Math.max(1, opts.frames));
  const more = site.stack.length - shown.length;
  return shown.map((f, i) => {
    const last = i === shown.length - 1 && more === 0;
    const text = terminalSafe(formatFrame(f));
    const styled = f === culprit ? c.bold(text) : isAllocatorFrame(f) ? c.dim(text) : text;
    return `${pad}${last ? '└─' : '├─'} ${styled}`;
  }).concat(more > 0 ? [`${pad}└─ ${c.dim(`... ${more} more ${more === 1 ? 'frame' : 'frames'}`)}`] : []);
}

function siteHeader(rank: string, site: AllocationSite, c: Colors): string {
  const parts = [c.bold(amount(site)), site.kind, toolsOf(site), ...labels(site).map(terminalSafe)];
  if (site.seenIn !== undefined) {
    // One leak in several reports: say where each saw it, and with how much when they differ.
    const same = site.seenIn.every((x) => x.bytes === site.bytes && x.count === site.count);
    parts.push(c.dim(terminalSafe(`seen in ${site.seenIn.map((x) => `${x.origin ?? x.tool}${same ? '' : ` (${formatBytes(x.bytes)})`}`).join(', ')}`)));
  } else if (site.origin !== undefined) parts.push(c.dim(terminalSafe(site.origin)));
  return `${rank}  ${parts.join('  ')}`;
}

// ---------------------------------------------------------------------------------------------
// Totals

/** "valgrind", or "valgrind+lsan" when several tools' reports showed the leak. */
export function toolsOf(site: AllocationSite): string {
  return site.seenIn !== undefined ? [...new Set(site.seenIn.map((x) => x.tool))].join('+') : site.tool;
}

export interface EvidenceTotal {
  /** One tool, or "valgrind+lsan" for leaks several tools' reports showed (AllocationSite.seenIn). */
  tool: string;
  kind: LeakKind;
  sites: number;
  count: number;
  bytes: number;
}

/** Sites, objects and bytes per tool and kind, largest bytes first. */
export function evidenceTotals(sites: readonly AllocationSite[]): EvidenceTotal[] {
  const by = new Map<string, EvidenceTotal>();
  for (const s of sites) {
    const tool = toolsOf(s);
    const k = `${tool}|${s.kind}`;
    const t = by.get(k) ?? { tool, kind: s.kind, sites: 0, count: 0, bytes: 0 };
    t.sites++;
    t.count += s.count;
    t.bytes += s.bytes;
    by.set(k, t);
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.tool.localeCompare(b.tool));
}

function renderTotals(totals: EvidenceTotal[], width: number | undefined): string {
  return renderTable(
    [{ header: 'bytes', align: 'right' }, { header: 'objects', align: 'right' }, { header: 'sites', align: 'right' }, { header: 'kind' }, { header: 'tool' }],
    totals.map((t) => [formatBytes(t.bytes), String(t.count), String(t.sites), t.kind, t.tool]),
    width,
  );
}

// ---------------------------------------------------------------------------------------------
// The evidence report

export interface EvidenceInput {
  /** File name as given, format, and what its parser said. */
  file: string;
  format: string;
  sites: number;
  warnings: { line: number; text: string; reason: string; severity: string }[];
}

export interface EvidenceView {
  inputs: EvidenceInput[];
  /** Merged and ranked, largest first. */
  sites: AllocationSite[];
  /** Symbolization problems, each once, with its fix. */
  problems: string[];
  /** Set when symbolization ran. */
  symbolized?: boolean;
}

export interface EvidenceRenderOptions {
  top: number;
  frames: number;
  width?: number;
  /** Warnings listed per file (the rest counted). */
  warnings?: number;
}

export function renderEvidence(v: EvidenceView, c: Colors, o: EvidenceRenderOptions): string {
  const out: string[] = [];
  const title = v.inputs.length === 1 ? terminalSafe(v.inputs[0]?.file ?? '') : `${v.inputs.length} files`;
  out.push(c.bold(`memsleuth evidence: ${title}: ${plural(v.sites.length, 'site')}`));
  out.push(...renderInputs(v.inputs, c, o.warnings ?? 3));
  if (v.sites.length === 0) {
    out.push('', 'No allocation sites: the reports list no leaked or outstanding memory.');
    return out.join('\n');
  }
  out.push('', c.bold('Totals by tool and kind'), renderTotals(evidenceTotals(v.sites), o.width));
  const top = v.sites.slice(0, Math.max(1, o.top));
  out.push('', c.bold(`Top sites (${top.length} of ${v.sites.length}, largest first)`));
  top.forEach((s, i) => {
    out.push(siteHeader(`#${i + 1}`, s, c));
    out.push(...renderStack(s, c, { frames: o.frames }));
  });
  out.push(...renderProblems(v.problems, c));
  return out.join('\n');
}

function renderInputs(inputs: EvidenceInput[], c: Colors, maxWarnings: number): string[] {
  const out: string[] = [];
  for (const inp of inputs) {
    const bad = inp.warnings.filter((w) => w.severity !== 'info');
    out.push(`  ${terminalSafe(inp.file)}: ${inp.format}, ${plural(inp.sites, 'site')}${bad.length > 0 ? `, ${plural(bad.length, 'warning')}` : ''}`);
    for (const w of bad.slice(0, maxWarnings)) {
      out.push(c.dim(`    ${w.line > 0 ? `line ${w.line}: ` : ''}${terminalSafe(w.reason)}${w.text !== '' ? `: ${terminalSafe(w.text)}` : ''}`));
    }
    if (bad.length > maxWarnings) out.push(c.dim(`    ... ${bad.length - maxWarnings} more (see memsleuth parse ${terminalSafe(inp.file)})`));
  }
  return out;
}

function renderProblems(problems: string[], c: Colors): string[] {
  if (problems.length === 0) return [];
  return ['', c.bold('Symbolization'), ...problems.map((p) => `  ${c.yellow('!')} ${terminalSafe(p)}`)];
}

// ---------------------------------------------------------------------------------------------
// Diff of two captures

export interface DiffRenderOptions {
  top: number;
  frames: number;
  /** Heading words for the sections; slab-calls reads "grew" rather than "grown". */
  title?: string;
}

const SECTIONS: { key: keyof SiteDiff; title: string }[] = [
  { key: 'added', title: 'New sites' },
  { key: 'grown', title: 'Grown' },
  { key: 'shrunk', title: 'Shrunk' },
  { key: 'gone', title: 'Gone' },
];

function changeLine(ch: SiteChange, key: keyof SiteDiff, c: Colors): string {
  const s = ch.site;
  const delta = [ch.deltaBytes !== 0 ? formatDelta(ch.deltaBytes) : '', ch.deltaCount !== 0 ? `${ch.deltaCount > 0 ? '+' : ''}${plural(ch.deltaCount, 'object')}` : '']
    .filter((x) => x !== '').join(', ');
  const colored = key === 'added' || key === 'grown' ? c.red(delta) : c.green(delta);
  const was = ch.before !== undefined ? c.dim(` (was ${amount(ch.before)}, now ${amount(s)})`) : '';
  const tail = [s.kind, s.tool, ...labels(s).map(terminalSafe)].join('  ');
  return `${colored || '0'}${was}  ${tail}`;
}

export function renderSiteDiff(d: SiteDiff, labelsAB: { a: string; b: string }, c: Colors, o: DiffRenderOptions): string {
  const out: string[] = [];
  out.push(c.bold(`${o.title ?? 'memsleuth evidence diff'}: ${terminalSafe(labelsAB.a)} -> ${terminalSafe(labelsAB.b)}`));
  out.push(`  ${d.added.length} new, ${d.grown.length} grown, ${d.shrunk.length} shrunk, ${d.gone.length} gone`);
  const net = [...d.added, ...d.grown, ...d.shrunk, ...d.gone].reduce((n, ch) => n + ch.deltaBytes, 0);
  if (net !== 0) out.push(`  net change: ${formatDelta(net)}`);
  for (const { key, title } of SECTIONS) {
    const list = d[key];
    if (list.length === 0) continue;
    const shown = list.slice(0, Math.max(1, o.top));
    out.push('', c.bold(`${title} (${list.length}${shown.length < list.length ? `, top ${shown.length}` : ''})`));
    shown.forEach((ch, i) => {
      out.push(`#${i + 1}  ${changeLine(ch, key, c)}`);
      out.push(...renderStack(ch.site, c, { frames: o.frames }));
    });
  }
  if (d.added.length + d.grown.length + d.shrunk.length + d.gone.length === 0) out.push('', 'No site changed.');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// OOM kills

/**
 * The parts of an OOM report the summary reads (structurally the parser's OomReport, so report/ needs no import
 * from parse/).
 */
export interface OomView {
  trigger: string;
  line: number;
  time?: string;
  invoker?: { comm: string; pid?: number };
  gfpMask?: string;
  gfpFlags?: string[];
  order?: number;
  requested?: number;
  stack: Frame[];
  memInfo?: Record<string, number>;
  unreclaimableSlab: { name: string; used: number; total: number }[];
  memcg?: { usage?: number; limit?: number; statsPath?: string };
  constraint?: Record<string, string>;
  tasks: { pid: number; name: string; rss?: number; rssAnon?: number; rssFile?: number; rssShmem?: number; totalVm?: number; swap?: number; oomScoreAdj?: number }[];
  killed?: { pid: number; comm: string; memcg: boolean; anonRss?: number; fileRss?: number; shmemRss?: number; totalVm?: number; oomScoreAdj?: number; line: number };
  pageCounts: Record<string, number>;
}

export type OomSide = 'kernel-slab' | 'user-process' | 'memcg-limit' | 'constrained' | 'allocation-failure' | 'manual' | 'unknown';

export interface OomSummary {
  index: number;
  line: number;
  time?: string;
  trigger: string;
  invoker?: { comm: string; pid?: number };
  gfp?: string;
  order?: number;
  requested?: number;
  constraint?: string;
  victim?: { pid: number; comm: string; rss: number; memcg: boolean; oomScoreAdj?: number };
  memcg?: { usage?: number; limit?: number; path?: string };
  ram?: number;
  /** slab_unreclaimable from Mem-Info, or the sum of the per-cache table. */
  unreclaimableSlab?: number;
  topCaches: { name: string; used: number }[];
  topTasks: { pid: number; name: string; rss: number }[];
  /** Innermost first, allocator and dump_stack frames left in. */
  stack: Frame[];
  /** Where the memory most likely went, and why. */
  side: OomSide;
  reason: string;
  nextSteps: string[];
}

const taskRss = (t: OomView['tasks'][number]): number => t.rss ?? (t.rssAnon ?? 0) + (t.rssFile ?? 0) + (t.rssShmem ?? 0);

/** What one OOM report says, and which evidence to collect next (kmemleak / slab-calls for slab, valgrind for a process). */
export function summarizeOom(r: OomView, index: number): OomSummary {
  const s: OomSummary = { index, line: r.line, trigger: r.trigger, topCaches: [], topTasks: [], stack: r.stack, side: 'unknown', reason: '', nextSteps: [] };
  if (r.time !== undefined) s.time = r.time;
  if (r.invoker !== undefined) s.invoker = r.invoker;
  if (r.gfpMask !== undefined) s.gfp = r.gfpFlags !== undefined ? `${r.gfpMask}(${r.gfpFlags.join('|')})` : r.gfpMask;
  if (r.order !== undefined) s.order = r.order;
  if (r.requested !== undefined) s.requested = r.requested;
  if (r.constraint?.['constraint'] !== undefined) s.constraint = r.constraint['constraint'];
  const k = r.killed;
  if (k !== undefined) {
    const victim: NonNullable<OomSummary['victim']> = { pid: k.pid, comm: k.comm, rss: (k.anonRss ?? 0) + (k.fileRss ?? 0) + (k.shmemRss ?? 0), memcg: k.memcg };
    if (k.oomScoreAdj !== undefined) victim.oomScoreAdj = k.oomScoreAdj;
    if (victim.rss === 0) {
      const row = r.tasks.find((t) => t.pid === k.pid);
      if (row !== undefined) victim.rss = taskRss(row);
    }
    s.victim = victim;
  }
  if (r.memcg !== undefined && (r.memcg.usage !== undefined || r.memcg.limit !== undefined)) {
    const m: NonNullable<OomSummary['memcg']> = {};
    if (r.memcg.usage !== undefined) m.usage = r.memcg.usage;
    if (r.memcg.limit !== undefined) m.limit = r.memcg.limit;
    if (r.memcg.statsPath !== undefined) m.path = r.memcg.statsPath;
    s.memcg = m;
  }
  const ramPages = r.pageCounts['pages RAM'];
  if (ramPages !== undefined) s.ram = ramPages * 4096;
  const slabTable = r.unreclaimableSlab.reduce((n, x) => n + x.used, 0);
  const slab = r.memInfo?.['slab_unreclaimable'] ?? (r.unreclaimableSlab.length > 0 ? slabTable : undefined);
  if (slab !== undefined) s.unreclaimableSlab = slab;
  s.topCaches = [...r.unreclaimableSlab].sort((a, b) => b.used - a.used).slice(0, 5).map((x) => ({ name: x.name, used: x.used }));
  s.topTasks = r.tasks.map((t) => ({ pid: t.pid, name: t.name, rss: taskRss(t) })).sort((a, b) => b.rss - a.rss).slice(0, 5);

  const biggestTask = s.topTasks[0];
  const userTotal = r.tasks.reduce((n, t) => n + taskRss(t), 0);
  const cache = s.topCaches[0];
  const mi = r.memInfo;
  // Without "pages RAM", the pages Mem-Info accounts for stand in for the machine's size.
  const accounted = mi === undefined ? undefined
    : ['active_anon', 'inactive_anon', 'active_file', 'inactive_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable', 'pagetables', 'free']
      .reduce((n, k) => n + (mi[k] ?? 0), 0);
  const size = s.ram ?? (accounted !== undefined && accounted > 0 ? accounted : undefined);
  const free = mi?.['free'];
  const pct = (n: number): string => (size !== undefined && size > 0 ? ` (${Math.round((n / size) * 100)}% of ${s.ram !== undefined ? 'RAM' : 'the memory Mem-Info accounts for'})` : '');
  const slabBig = slab !== undefined && slab > 0 && (size !== undefined ? slab > 0.2 * size : userTotal > 0 && slab > userTotal);
  const victimRss = s.victim?.rss ?? biggestTask?.rss ?? 0;
  const victimName = s.victim !== undefined ? `${s.victim.comm}[${s.victim.pid}]` : biggestTask !== undefined ? `${biggestTask.name}[${biggestTask.pid}]` : undefined;
  const slabSteps = (): void => {
    if (cache !== undefined) s.nextSteps.push(`memsleuth slab-calls ${cache.name}   (needs slub_debug=U,${cache.name} on the kernel command line)`);
    s.nextSteps.push('memsleuth kmemleak   (needs CONFIG_DEBUG_KMEMLEAK=y)');
  };
  if (s.victim?.memcg === true || (s.constraint !== undefined && /MEMCG/.test(s.constraint))) {
    s.side = 'memcg-limit';
    s.reason = `the cgroup${s.memcg?.path !== undefined ? ` ${s.memcg.path}` : ''} hit its limit${s.memcg?.limit !== undefined ? ` of ${formatBytes(s.memcg.limit)}` : ''}; the machine itself may have had memory left`;
    s.nextSteps.push('raise the cgroup limit, or find what grows inside it: memsleuth record, then memsleuth analyze');
  } else if (r.order === -1) {
    // out_of_memory() with order -1 comes from SysRq-f (moom_callback in drivers/tty/sysrq.c): no allocation failed.
    s.side = 'manual';
    s.reason = `order -1: the OOM killer was started by hand (SysRq-f, run by ${s.invoker?.comm ?? 'a kworker'}), not by a failed allocation${free !== undefined ? `; ${formatBytes(free)} was free${pct(free)}` : ''}`;
  } else if (r.trigger === 'vmalloc-failure' || r.trigger === 'page-allocation-failure') {
    s.side = 'allocation-failure';
    const what = r.trigger === 'vmalloc-failure' ? 'a vmalloc' : 'a page allocation';
    const asked = s.requested !== undefined ? ` of ${formatBytes(s.requested)}` : s.order !== undefined ? ` of order ${s.order} (${formatBytes(4096 * 2 ** s.order)})` : '';
    const why = s.requested !== undefined && free !== undefined && s.requested > free ? ': the request was larger than all free memory'
      : s.order !== undefined && s.order >= 3 && free !== undefined && free > 0 ? ': a high-order request with memory free means fragmentation (see /proc/buddyinfo), not a leak'
      : '';
    s.reason = `${what}${asked} failed${free !== undefined ? ` with ${formatBytes(free)} free` : ''}; no task was killed${why}`;
    if (slabBig && slab !== undefined) {
      s.reason += `; unreclaimable slab held ${formatBytes(slab)}${pct(slab)}`;
      slabSteps();
    }
  } else if (slabBig && slab !== undefined) {
    s.side = 'kernel-slab';
    s.reason = `unreclaimable slab held ${formatBytes(slab)}${pct(slab)}, more than ${size !== undefined ? 'a fifth of it' : `all tasks' RSS (${formatBytes(userTotal)})`}: a kernel leak is likely`;
    slabSteps();
  } else if (r.trigger === 'mem-info') {
    s.reason = 'a Mem-Info dump with no kill (SysRq-m, or the start of its report was not captured)';
  } else if (free !== undefined && size !== undefined && free > 0.1 * size) {
    s.side = 'constrained';
    s.reason = `${formatBytes(free)} was still free${pct(free)}: the allocation could not be served from the zones, nodes or cpuset it was allowed (gfp ${s.gfp ?? '?'}${r.order !== undefined ? `, order ${r.order}` : ''}), not a machine-wide shortage`;
    s.nextSteps.push('check the zone lines (min/low/high per zone), mems_allowed and the gfp zone flags of the request');
  } else if (victimName !== undefined && victimRss > 0) {
    s.side = 'user-process';
    s.reason = `${victimName} held ${formatBytes(victimRss)} of RSS${pct(victimRss)}${slab !== undefined ? `; unreclaimable slab only ${formatBytes(slab)}` : ''}`;
    const comm = s.victim?.comm ?? biggestTask?.name ?? 'PROGRAM';
    s.nextSteps.push(`watch its growth: memsleuth record, then memsleuth analyze (series proc.${comm}:<pid>.uss)`);
    s.nextSteps.push(`find the call site: valgrind --leak-check=full --xml=yes --xml-file=vg.xml ${comm} ...; memsleuth evidence vg.xml`);
  } else {
    s.reason = 'the report is cut before its Mem-Info and task list: not enough to tell';
  }
  return s;
}

export function renderOomSummaries(file: string, list: OomSummary[], c: Colors, o: { frames: number; width?: number }): string {
  const out: string[] = [];
  const kills = list.filter((s) => s.victim !== undefined).length;
  out.push(c.bold(`memsleuth oom: ${terminalSafe(file)}: ${plural(list.length, 'report')}, ${plural(kills, 'kill')}`));
  for (const s of list) {
    out.push('');
    const when = s.time !== undefined ? `[${terminalSafe(s.time)}] ` : '';
    const inv = s.invoker !== undefined ? `${terminalSafe(s.invoker.comm)}${s.invoker.pid !== undefined ? `[${s.invoker.pid}]` : ''}` : 'unknown task';
    const what = s.trigger === 'oom-killer' ? `${inv} invoked the OOM killer` : s.trigger === 'kill' ? 'OOM kill' : s.trigger === 'mem-info' ? 'memory report (Mem-Info)' : `${inv}: ${s.trigger.replace(/-/g, ' ')}`;
    out.push(c.bold(`#${s.index + 1} ${when}${what}`) + c.dim(` (line ${s.line})`));
    const asked = [s.gfp !== undefined ? `gfp ${terminalSafe(s.gfp)}` : '', s.order !== undefined ? `order ${s.order}` : '', s.requested !== undefined ? `${formatBytes(s.requested)} requested` : '', s.constraint !== undefined ? terminalSafe(s.constraint) : '']
      .filter((x) => x !== '');
    if (asked.length > 0) out.push(`  asked for: ${asked.join(', ')}`);
    if (s.victim !== undefined) {
      out.push(`  killed: ${c.red(`${terminalSafe(s.victim.comm)}[${s.victim.pid}]`)} RSS ${formatBytes(s.victim.rss)}${s.victim.oomScoreAdj !== undefined ? `, oom_score_adj ${s.victim.oomScoreAdj}` : ''}${s.victim.memcg ? ' (memory cgroup OOM)' : ''}`);
    } else {
      out.push('  killed: nobody (no kill line in this report)');
    }
    if (s.memcg !== undefined) out.push(`  cgroup${s.memcg.path !== undefined ? ` ${terminalSafe(s.memcg.path)}` : ''}: usage ${formatBytes(s.memcg.usage)} of limit ${formatBytes(s.memcg.limit)}`);
    if (s.ram !== undefined || s.unreclaimableSlab !== undefined) out.push(`  RAM ${formatBytes(s.ram)}, unreclaimable slab ${formatBytes(s.unreclaimableSlab)}`);
    if (s.topCaches.length > 0) out.push(`  largest unreclaimable caches: ${s.topCaches.map((x) => `${terminalSafe(x.name)} ${formatBytes(x.used)}`).join(', ')}`);
    if (s.topTasks.length > 0) {
      out.push('  largest tasks by RSS:');
      out.push(renderTable([{ header: 'RSS', align: 'right' }, { header: 'PID', align: 'right' }, { header: 'name' }],
        s.topTasks.map((t) => [formatBytes(t.rss), String(t.pid), t.name]), o.width).split('\n').map((l) => `    ${l}`).join('\n'));
    }
    if (s.stack.length > 0) {
      out.push('  invoking stack (who asked last, not who holds the memory):');
      out.push(...renderStack({ stack: s.stack, bytes: bytes(0), count: 0, kind: 'outstanding', tool: 'oom' }, c, { frames: o.frames }));
    }
    out.push(`  verdict: ${s.side === 'unknown' ? '' : `${c.bold(s.side)}: `}${terminalSafe(s.reason)}`);
    for (const n of s.nextSteps) out.push(`  next: ${terminalSafe(n)}`);
  }
  return out.join('\n');
}
