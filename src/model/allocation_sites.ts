/**
 * Operations on AllocationSite lists every evidence source shares: one stack key, merge, rank, diff.
 * Imports nothing outside model/.
 */
import type { AllocationSite, Frame } from './allocation_site.js';
import { bytes } from './units.js';

/**
 * Compiler clone suffixes differ between builds of the same code (".isra.7", ".constprop.0", ".part.27", ".cold"),
 * so they are dropped from the key.
 */
function baseSymbol(symbol: string): string {
  return symbol.replace(/(?:\.(?:isra|constprop|part|cold|lto_priv|llvm)(?:\.\d+)?)+$/, '');
}

function frameKey(f: Frame): string {
  if (f.symbol !== undefined && f.symbol !== '') return f.module !== undefined ? `${baseSymbol(f.symbol)} [${f.module}]` : baseSymbol(f.symbol);
  if (f.module !== undefined && f.moduleOffset !== undefined) return `${f.module}+${f.moduleOffset}`;
  if (f.address !== undefined) return f.address.toLowerCase();
  // mtrace and dmalloc reports name a caller only by "leaky.c:24": that is the whole identity of the site.
  if (f.file !== undefined) return f.line !== undefined ? `${f.file}:${f.line}` : f.file;
  return '?';
}

/**
 * The normalized identity of a stack: symbol names without offsets where available, else module+offset, else
 * address; innermost first, joined by ";". Frames printed "[inline]" are left out, so a symbolized stack and
 * the same stack read without debug info (which has no inline frames) get the same key.
 */
export function stackKey(frames: readonly Frame[]): string {
  return frames.filter((f) => f.inline !== true).map(frameKey).join(';');
}

/** Sites merge when stack, tool and kind agree; summing kmemleak and SLUB counts would count one object twice. */
function mergeKey(s: AllocationSite): string {
  const k = stackKey(s.stack);
  // An empty stack says nothing about the cause: such a site is known only by what it names (cache, process).
  const scope = k === '' ? `|${s.cache ?? ''}|${(s.comms ?? []).join(',')}|${(s.pids ?? []).join(',')}` : '';
  return `${s.tool}|${s.kind}|${k}${scope}`;
}

function union<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): T[] | undefined {
  if (a === undefined && b === undefined) return undefined;
  return [...new Set([...(a ?? []), ...(b ?? [])])];
}

function combine(a: AllocationSite, b: AllocationSite): AllocationSite {
  const out: AllocationSite = {
    stack: a.stack.length >= b.stack.length ? a.stack : b.stack,
    bytes: bytes(a.bytes + b.bytes),
    count: a.count + b.count,
    kind: a.kind,
    tool: a.tool,
  };
  if (a.indirectBytes !== undefined || b.indirectBytes !== undefined) out.indirectBytes = bytes((a.indirectBytes ?? 0) + (b.indirectBytes ?? 0));
  if (a.ageSec !== undefined || b.ageSec !== undefined) {
    const x = a.ageSec;
    const y = b.ageSec;
    if (x !== undefined && y !== undefined) {
      const age: { min: number; max: number; avg?: number } = { min: Math.min(x.min, y.min), max: Math.max(x.max, y.max) };
      if (x.avg !== undefined && y.avg !== undefined && a.count + b.count > 0) {
        age.avg = (x.avg * a.count + y.avg * b.count) / (a.count + b.count);
      }
      out.ageSec = age;
    } else {
      const only = x ?? y;
      if (only !== undefined) out.ageSec = { min: only.min, max: only.max };
    }
  }
  const pids = union(a.pids, b.pids);
  if (pids !== undefined) out.pids = pids.sort((p, q) => p - q);
  const comms = union(a.comms, b.comms);
  if (comms !== undefined) out.comms = comms;
  if (a.cache !== undefined && a.cache === b.cache) out.cache = a.cache;
  if (a.origin !== undefined) out.origin = a.origin;
  else if (b.origin !== undefined) out.origin = b.origin;
  return out;
}

/**
 * Merges sites with the same normalized stack (and tool and kind): bytes and counts summed, pids and comms
 * unioned, age widened (avg weighted by count). Keeps first-seen order; the cache survives only if all agree.
 */
export function mergeSites(sites: readonly AllocationSite[]): AllocationSite[] {
  const byKey = new Map<string, AllocationSite>();
  for (const s of sites) {
    const k = mergeKey(s);
    const prev = byKey.get(k);
    if (prev === undefined) {
      const empty: AllocationSite = { ...s, bytes: bytes(0), count: 0 };
      delete empty.indirectBytes;
      byKey.set(k, combine(empty, s));
    } else {
      const merged = combine(prev, s);
      if (prev.cache !== s.cache) delete merged.cache;
      byKey.set(k, merged);
    }
  }
  return [...byKey.values()];
}

/** Allocator entry points a leak report puts above the caller: they differ between tools, not between leaks. */
const ALLOCATOR = /^(?:_{0,3}interceptor_|__wrap_|__libc_|__)?(?:malloc|calloc|realloc|reallocarray|memalign|aligned_alloc|posix_memalign|valloc|pvalloc|strdup|strndup)$|^operator new|^_Zn[wa][jm]/;
/** Frames below main that only some tools print (LSan does, valgrind stops at main). */
const STARTUP = /^(?:__libc_start_call_main|__libc_start_main(?:_impl|_alias_\d+)?|_start)$/;
/** Frames compared across reports: valgrind's default --num-callers 12, minus its allocator frame, leaves 11. */
const REPORT_FRAMES = 10;

/**
 * The identity of a leak across tools: the symbolized frames below the allocator, without module names (valgrind
 * prints "malloc [vgpreload_memcheck-amd64-linux.so]", LSan "__interceptor_malloc"), startup frames, or more depth
 * than every tool prints. Undefined when a frame below the allocator has no symbol: addresses differ between runs.
 */
function leakKey(s: AllocationSite): string | undefined {
  const frames = s.stack.filter((f) => f.inline !== true);
  let i = 0;
  while (i < frames.length && ALLOCATOR.test(baseSymbol(frames[i]?.symbol ?? ''))) i++;
  const rest = frames.slice(i).filter((f) => !STARTUP.test(f.symbol ?? '')).slice(0, REPORT_FRAMES);
  if (rest.length === 0) return undefined;
  const keys: string[] = [];
  for (const [i, f] of rest.entries()) {
    // The caller's line tells apart two allocations in one function ("malloc" at :15, "strdup" at :16).
    const line = f.file !== undefined && f.line !== undefined ? `${f.file.replace(/^.*\//, '')}:${f.line}` : undefined;
    if (f.symbol !== undefined && f.symbol !== '') keys.push(i === 0 && line !== undefined ? `${baseSymbol(f.symbol)}@${line}` : baseSymbol(f.symbol));
    else if (line !== undefined) keys.push(line);
    else return undefined;
  }
  return `${s.kind}|${keys.join(';')}`;
}

/**
 * Joins reports that describe the same leaks: valgrind text and XML of one run, valgrind and LSan of the same
 * program, several CI runs. Each list is one report, already merged (mergeSites); a site whose leak key (kind and
 * symbolized stack below the allocator, see leakKey) matches a site of another report becomes one site whose bytes
 * and count are the largest report's (adding them would count one leak once per report), with `seenIn` naming each
 * report's numbers. Sites of one report are never joined here, and unsymbolized sites stay apart.
 */
export function mergeReports(reports: readonly (readonly AllocationSite[])[]): AllocationSite[] {
  if (reports.length <= 1) return [...(reports[0] ?? [])];
  const out: AllocationSite[] = [];
  const byKey = new Map<string, { index: number; reports: Set<number> }>();
  reports.forEach((sites, r) => {
    for (const s of sites) {
      const k = leakKey(s);
      const prev = k !== undefined ? byKey.get(k) : undefined;
      if (k === undefined || prev === undefined || prev.reports.has(r)) {
        if (k !== undefined && prev === undefined) byKey.set(k, { index: out.length, reports: new Set([r]) });
        out.push(s);
        continue;
      }
      prev.reports.add(r);
      const a = out[prev.index] as AllocationSite;
      const seen = a.seenIn ?? [seenOf(a)];
      const bigger = s.bytes > a.bytes || (s.bytes === a.bytes && s.stack.length > a.stack.length) ? s : a;
      const merged: AllocationSite = { ...bigger, seenIn: [...seen, seenOf(s)] };
      const indirect = Math.max(a.indirectBytes ?? 0, s.indirectBytes ?? 0);
      if (indirect > 0) merged.indirectBytes = bytes(indirect);
      const pids = union(a.pids, s.pids);
      if (pids !== undefined) merged.pids = pids.sort((p, q) => p - q);
      out[prev.index] = merged;
    }
  });
  return out;
}

function seenOf(s: AllocationSite): NonNullable<AllocationSite['seenIn']>[number] {
  const x: NonNullable<AllocationSite['seenIn']>[number] = { tool: s.tool, bytes: s.bytes, count: s.count };
  if (s.origin !== undefined) x.origin = s.origin;
  return x;
}

/** Largest first: bytes descending, then count descending. Returns a new array. */
export function rankSites(sites: readonly AllocationSite[]): AllocationSite[] {
  return [...sites].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
}

export interface SiteChange {
  /** The site in the newer list (for "gone": the older one). */
  site: AllocationSite;
  /** The site in the older list, when there was one. */
  before?: AllocationSite;
  deltaBytes: number;
  deltaCount: number;
}

export interface SiteDiff {
  added: SiteChange[];
  grown: SiteChange[];
  shrunk: SiteChange[];
  gone: SiteChange[];
}

/**
 * What changed between two evidence captures, by merged stack. "grown" means bytes grew, or bytes stayed and
 * the count grew; "shrunk" the reverse; unchanged sites are in none of the lists. Each list is ranked by the
 * size of its change, largest first.
 */
export function diffSites(oldSites: readonly AllocationSite[], newSites: readonly AllocationSite[]): SiteDiff {
  const before = new Map(mergeSites(oldSites).map((s) => [mergeKey(s), s] as const));
  const after = mergeSites(newSites);
  const out: SiteDiff = { added: [], grown: [], shrunk: [], gone: [] };
  const seen = new Set<string>();
  for (const s of after) {
    const k = mergeKey(s);
    seen.add(k);
    const b = before.get(k);
    if (b === undefined) {
      out.added.push({ site: s, deltaBytes: s.bytes, deltaCount: s.count });
      continue;
    }
    const change: SiteChange = { site: s, before: b, deltaBytes: s.bytes - b.bytes, deltaCount: s.count - b.count };
    const sign = Math.sign(change.deltaBytes) || Math.sign(change.deltaCount);
    if (sign > 0) out.grown.push(change);
    else if (sign < 0) out.shrunk.push(change);
  }
  for (const [k, b] of before) {
    if (!seen.has(k)) out.gone.push({ site: b, deltaBytes: -b.bytes, deltaCount: -b.count });
  }
  const bySize = (x: SiteChange, y: SiteChange): number =>
    Math.abs(y.deltaBytes) - Math.abs(x.deltaBytes) || Math.abs(y.deltaCount) - Math.abs(x.deltaCount);
  out.added.sort(bySize);
  out.grown.sort(bySize);
  out.shrunk.sort(bySize);
  out.gone.sort(bySize);
  return out;
}
