/**
 * Outstanding per-site summaries -> AllocationSite[] (kind 'outstanding', tool 'trace') and the per-site
 * series, with call sites symbolized through /proc/kallsyms (symbolize/kallsyms.ts) and, given a vmlinux,
 * to file:line. Series keys: `trace.kernel.<symbol+off>.bytes` / `.objs`.
 */
import { readFileSync } from 'node:fs';
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import { keyPart } from '../../model/series.js';
import { bytes } from '../../model/units.js';
import type { Kallsyms, KernelModule } from '../../symbolize/kallsyms.js';
import { KernelLines, formatKernelLocation, parseKallsyms, parseModules, resolveKernelAddress } from '../../symbolize/kallsyms.js';
import type { SiteSummary } from './outstanding.js';
import { kernelAddressFromKey } from './ring_buffer.js';

export interface KernelSymbols { kallsyms: Kallsyms; modules: KernelModule[]; warnings: string[] }

export function loadKernelSymbols(procRoot = '/proc'): KernelSymbols {
  const warnings: string[] = [];
  let kallsyms: Kallsyms = { symbols: [], zeroed: false };
  let modules: KernelModule[] = [];
  try {
    const p = parseKallsyms(readFileSync(`${procRoot}/kallsyms`, 'utf8'));
    kallsyms = p.value;
    if (p.value.zeroed) warnings.push('kallsyms addresses are zeroed (not root?): call sites stay raw addresses');
  } catch (err) {
    warnings.push(`cannot read "${procRoot}/kallsyms": ${err instanceof Error ? err.message : String(err)}`);
  }
  try { modules = parseModules(readFileSync(`${procRoot}/modules`, 'utf8')).value.modules; } catch { /* no modules: static kernel */ }
  return { kallsyms, modules, warnings };
}

const hex = (n: bigint): string => `0x${n.toString(16)}`;

export function callSiteFrame(ks: KernelSymbols, siteKey: number): Frame {
  const address = kernelAddressFromKey(siteKey);
  const frame: Frame = { address: hex(address) };
  const loc = resolveKernelAddress(ks.kallsyms, address, ks.modules);
  if (loc === undefined) return frame;
  frame.symbol = loc.symbol;
  frame.offset = `+${hex(loc.offset)}`;
  if (loc.length !== undefined) frame.length = `/${hex(loc.length)}`;
  frame.module = loc.module ?? 'vmlinux';
  if (loc.module !== undefined) frame.moduleOffset = hex(loc.offset);
  return frame;
}

export function siteLabel(ks: KernelSymbols, siteKey: number): string {
  const address = kernelAddressFromKey(siteKey);
  const loc = resolveKernelAddress(ks.kallsyms, address, ks.modules);
  if (loc === undefined) return hex(address);
  return formatKernelLocation({ symbol: loc.symbol, offset: loc.offset, ...(loc.module !== undefined ? { module: loc.module } : {}) });
}

/** Function range [start, end) of a symbol name or the exact address given as 0x...; undefined if unknown. */
export function callSiteRange(ks: KernelSymbols, spec: string): [bigint, bigint] | undefined {
  if (/^0x[0-9a-f]+$/i.test(spec)) { const a = BigInt(spec); return [a, a + 1n]; }
  const syms = ks.kallsyms.symbols;
  const i = syms.findIndex((s) => s.name === spec);
  const s = syms[i];
  if (s === undefined) return undefined;
  for (let j = i + 1; j < syms.length; j++) {
    const n = syms[j];
    if (n !== undefined && n.address > s.address && n.module === s.module) return [s.address, n.address];
  }
  return [s.address, s.address + 1n];
}

/** "\n  kmem_cache_alloc_noprof+551\n  alloc_empty_file+60\n" (bpftrace kstack) -> frames, allocator frames dropped. */
export function framesFromKstack(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*([^\s+]+)\+(\d+)/.exec(raw);
    if (m === null) continue;
    const symbol = m[1] ?? '';
    if (frames.length === 0 && /^(kmem_cache_alloc|__kmalloc|kmalloc|__kmem_cache_alloc|kmem_cache_alloc_lru|slab_alloc)/.test(symbol)) continue;
    frames.push({ symbol, offset: `+0x${Number(m[2]).toString(16)}` });
  }
  return frames;
}

export interface SiteReportOptions {
  top: number;
  caches: ReadonlyMap<number, string>;
  /** Per site, the most frequent kernel stack text (bpftrace kstack). */
  stacks?: ReadonlyMap<number, string>;
  vmlinux?: string;
  origin: string;
}

export async function toAllocationSites(ks: KernelSymbols, summaries: SiteSummary[], o: SiteReportOptions): Promise<AllocationSite[]> {
  const chosen = summaries.slice(0, o.top);
  const sites = chosen.map((s): AllocationSite => {
    const frame = callSiteFrame(ks, s.site);
    const stackText = o.stacks?.get(s.site);
    const rest = stackText !== undefined ? framesFromKstack(stackText) : [];
    // The kstack's first frame after the allocator is the call site itself: keep ours (it has an address).
    if (rest[0]?.symbol !== undefined && rest[0].symbol === frame.symbol) rest.shift();
    const site: AllocationSite = {
      stack: [frame, ...rest],
      bytes: bytes(s.bytes),
      count: s.count,
      kind: 'outstanding',
      tool: 'trace',
      ageSec: { min: round3(s.ageSec.min), max: round3(s.ageSec.max), avg: round3(s.ageSec.avg) },
      origin: s.evicted > 0 ? `${o.origin} (${s.evicted} objects evicted from tracking)` : o.origin,
    };
    const cache = o.caches.get(s.site) ?? (s.sizes.length === 1 && s.sizes[0] !== undefined ? `kmalloc-${s.sizes[0]}` : undefined);
    if (cache !== undefined) site.cache = cache;
    return site;
  });
  if (o.vmlinux !== undefined) {
    const lines = new KernelLines({ vmlinux: o.vmlinux });
    try {
      const frames = sites.map((s) => s.stack[0]);
      const reqs = frames.map((f) => ({ symbol: f?.symbol ?? '', offset: BigInt((f?.offset ?? '+0x0').slice(1)) }));
      const answers = await lines.lookup(reqs.filter((r) => r.symbol !== ''));
      let k = 0;
      for (const f of frames) {
        if (f?.symbol === undefined) continue;
        const a = answers[k++];
        const src = a?.frames[0]; // innermost: the line of the call itself, inlined callee included
        if (a?.status === 'ok' && src?.file !== undefined) { f.file = src.file; if (src.line !== undefined) f.line = src.line; }
      }
    } finally {
      lines.close();
    }
  }
  return sites;
}

function round3(n: number): number { return Math.round(n * 1000) / 1000; }

export function seriesKey(label: string, unit: 'bytes' | 'objs'): string {
  return `trace.kernel.${keyPart(label)}.${unit}`;
}
