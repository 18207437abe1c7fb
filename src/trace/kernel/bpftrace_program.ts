/**
 * The bpftrace program of the `bpftrace` engine, and the parser of its `-f json` output (bpftrace 0.17+).
 * Everything is aggregated in the kernel: a hash map ptr -> (call_site, bytes_alloc, nsecs[, kstack]) and
 * per-CPU stats() maps of allocations and matched frees per call site. memsleuth reads a sample of the
 * per-site maps every interval (the series) and the per-object map once at the end (sites with ages).
 * Tracepoint fields (tracefs events/kmem/<event>/format, Linux 6.18):
 *   kmalloc           call_site ptr bytes_req bytes_alloc gfp_flags node
 *   kmem_cache_alloc  call_site ptr name(__data_loc) bytes_req bytes_alloc gfp_flags node accounted
 *   kfree             call_site ptr;   kmem_cache_free  call_site ptr name
 * Output lines, one JSON object each:
 *   {"type": "printf", "data": "memsleuth-sample 1202529749230\n"}
 *   {"type": "stats", "data": {"@a": {"-2123648052": {"count": 14, "average": 192, "total": 2688}}}}
 *   {"type": "map", "data": {"@live": {"0xffff8881613fb840": [18446744071585903564,192,1201529740730]}}}
 * Integer map keys print as signed 64-bit; tuple members as unsigned 64-bit, beyond JSON's exact range.
 */
import { bpftraceString } from '../bpftrace_quote.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning } from '../../model/parsed.js';
import { keyFromKernelAddress } from './ring_buffer.js';

export interface BpftraceProgramOptions {
  windowSec: number;
  settleSec: number;
  intervalSec: number;
  /** Which allocators: 'kmalloc' (kmalloc/kfree), 'cache' (kmem_cache_alloc/free). */
  kmalloc: boolean;
  cache: boolean;
  /** kmem_cache_alloc only for this cache name. */
  cacheName?: string;
  /** kmalloc only with this bytes_alloc (when cacheName is "kmalloc-<n>"). */
  kmallocSize?: number;
  /** [start, end) of the allocating function. */
  callSiteRange?: [bigint, bigint];
  minBytes?: number;
  stacks: boolean;
  /** Track (and count) one object in this many, chosen by address: allocations and the frees that look them up. */
  sampleEvery?: number;
}

const SAFE_CACHE = /^[A-Za-z0-9_.:()-]{1,31}$/;

export function isSafeCacheName(name: string): boolean { return SAFE_CACHE.test(name); }

export function bpftraceProgram(o: BpftraceProgramOptions): string {
  // Sampling by address (bits above the 64-byte line, so neighbours of one slab page spread over the
  // residues): the same test on the free side skips the lookup of objects never tracked. A site's count is
  // then a binomial draw of its objects: bpftrace_engine.ts scales it and states the error.
  const every = Math.max(1, Math.floor(o.sampleEvery ?? 1));
  const sampled = every > 1 ? [`((uint64)args->ptr >> 6) % ${every} == 0`] : [];
  const windowNs = BigInt(Math.round(o.windowSec * 1e9));
  // The address test comes first: && short-circuits, so an unsampled event costs one shift and one modulo
  // instead of `elapsed` (a map lookup and a clock read) as well.
  const conds = (extra: string[]): string => [...sampled, `elapsed < ${windowNs}`, ...extra].join(' && ');
  const common: string[] = [];
  if (o.callSiteRange !== undefined) common.push(`args->call_site >= 0x${o.callSiteRange[0].toString(16)}`, `args->call_site < 0x${o.callSiteRange[1].toString(16)}`);
  if (o.minBytes !== undefined) common.push(`args->bytes_alloc >= ${Math.floor(o.minBytes)}`);
  const value = `(args->call_site, args->bytes_alloc, nsecs${o.stacks ? ', kstack(6)' : ''})`;
  const record = [
    `  @live[args->ptr] = ${value};`,
    '  @a[args->call_site] = stats(args->bytes_alloc);',
  ];
  const lines: string[] = [
    'BEGIN { printf("memsleuth-start %llu\\n", nsecs); }',
  ];
  if (o.kmalloc) {
    const c = [...common];
    if (o.kmallocSize !== undefined) c.push(`args->bytes_alloc == ${o.kmallocSize}`);
    lines.push(`tracepoint:kmem:kmalloc /${conds(c)}/ {`, ...record, '}');
  }
  if (o.cache) {
    const c = [...common];
    if (o.cacheName !== undefined) {
      if (!isSafeCacheName(o.cacheName)) throw new Error(`cache name ${JSON.stringify(o.cacheName)} is not a slab cache name`);
      c.push(`str(args->name) == ${bpftraceString(o.cacheName, 'slab cache name')}`);
    }
    lines.push(
      `tracepoint:kmem:kmem_cache_alloc /${conds(c)}/ {`,
      ...record,
      // The cache name once per site: a string copy on every allocation would double the cost.
      '  if (@named[args->call_site] == 0) { @named[args->call_site] = 1; @cache[args->call_site] = str(args->name); }',
      '}',
    );
  }
  const frees = [o.kmalloc ? 'tracepoint:kmem:kfree' : '', o.cache ? 'tracepoint:kmem:kmem_cache_free' : ''].filter((s) => s !== '');
  lines.push(
    // Frees stop shortly before the final dump: a hash map changing under bpf_map_get_next_key iteration
    // restarts the walk and objects go missing from the dump.
    `${frees.join(', ')} /${[...sampled, `elapsed < ${windowNs + BigInt(Math.round(o.settleSec * 1e9))}`].join(' && ')}/ {`,
    '  $v = @live[args->ptr];',
    '  if ($v.0 != 0) { @f[$v.0] = stats($v.1); delete(@live[args->ptr]); }',
    '}',
    `interval:ms:${Math.max(100, Math.round(o.intervalSec * 1000))} { printf("memsleuth-sample %llu\\n", nsecs); print(@a); print(@f); }`,
    `interval:ms:${Math.max(1, Math.round((o.windowSec + o.settleSec) * 1000) + 200)} { exit(); }`,
    // END also runs on SIGINT (Ctrl-C, an early stop): the final dump comes either way.
    'END {',
    '  printf("memsleuth-final %llu\\n", nsecs);',
    '  print(@a); print(@f); print(@cache); print(@live);',
    '  clear(@live); clear(@a); clear(@f); clear(@named); clear(@cache);',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

export interface SiteStats { count: number; total: number }

export interface BpftraceSample { ns: number; allocs: Map<number, SiteStats>; frees: Map<number, SiteStats> }

export interface BpftraceObject { ptr: number; site: number; bytes: number; allocNs: number; stack?: string }

/** Incremental state of one bpftrace run's output. */
export interface BpftraceOutput {
  startNs?: number;
  finalNs?: number;
  attachedProbes?: number;
  samples: BpftraceSample[];
  caches: Map<number, string>;
  objects: BpftraceObject[];
  /** Totals at the final dump. */
  finalAllocs: Map<number, SiteStats>;
  finalFrees: Map<number, SiteStats>;
  /** bpftrace's own messages ({"type":"lost_events"} etc.). */
  messages: string[];
  lostEvents: number;
}

export function emptyOutput(): BpftraceOutput {
  return { samples: [], caches: new Map(), objects: [], finalAllocs: new Map(), finalFrees: new Map(), messages: [], lostEvents: 0 };
}

/** Integer key as bpftrace prints it (signed decimal or 0x hex) -> 48-bit site key. */
function siteKey(text: string): number | undefined {
  try { return keyFromKernelAddress(BigInt.asUintN(64, BigInt(text))); } catch { return undefined; }
}

// Numbers of 16+ digits as array members (tuple values): quoted before JSON.parse so none loses precision.
const BIG_IN_ARRAY = /([[,])\s*(-?\d{16,})(?=\s*[,\]])/g;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function statsMap(v: unknown): Map<number, SiteStats> {
  const out = new Map<number, SiteStats>();
  if (!isRecord(v)) return out;
  for (const [k, s] of Object.entries(v)) {
    const key = siteKey(k);
    if (key === undefined || !isRecord(s)) continue;
    out.set(key, { count: Number(s['count'] ?? 0), total: Number(s['total'] ?? 0) });
  }
  return out;
}

/** Feeds one output line; returns warnings for lines it could not use. Never throws. */
export function parseBpftraceLine(out: BpftraceOutput, line: string): ParseWarning[] {
  const text = line.trim();
  if (text === '') return [];
  let msg: unknown;
  try {
    msg = JSON.parse(text.replace(BIG_IN_ARRAY, '$1"$2"'));
  } catch {
    return [warning(0, text, 'not a JSON line from bpftrace -f json', 'info')];
  }
  if (!isRecord(msg)) return [];
  const type = msg['type'];
  const data = msg['data'];
  if (type === 'attached_probes' && isRecord(data)) { out.attachedProbes = Number(data['probes']); return []; }
  if (type === 'printf' && typeof data === 'string') {
    const m = /^memsleuth-(start|sample|final) (\d+)/.exec(data);
    if (m === null) { out.messages.push(data.trim()); return []; }
    const ns = Number(m[2]);
    if (m[1] === 'start') out.startNs = ns;
    else if (m[1] === 'sample') out.samples.push({ ns, allocs: new Map(), frees: new Map() });
    else out.finalNs = ns;
    return [];
  }
  if (type === 'lost_events' && isRecord(data)) { out.lostEvents += Number(data['events'] ?? 0); return []; }
  if ((type === 'stats' || type === 'map') && isRecord(data)) {
    const last = out.samples[out.samples.length - 1];
    for (const [name, v] of Object.entries(data)) {
      if (name === '@a' || name === '@f') {
        const m = statsMap(v);
        if (out.finalNs !== undefined) { if (name === '@a') out.finalAllocs = m; else out.finalFrees = m; } else if (last !== undefined) { if (name === '@a') last.allocs = m; else last.frees = m; }
      } else if (name === '@cache' && isRecord(v)) {
        for (const [k, c] of Object.entries(v)) { const key = siteKey(k); if (key !== undefined && typeof c === 'string') out.caches.set(key, c); }
      } else if (name === '@live' && isRecord(v)) {
        for (const [k, t] of Object.entries(v)) {
          if (!Array.isArray(t)) continue;
          const ptr = siteKey(k);
          const site = siteKey(String(t[0]));
          if (ptr === undefined || site === undefined) continue;
          const o: BpftraceObject = { ptr, site, bytes: Number(t[1]), allocNs: Number(t[2]) };
          if (typeof t[3] === 'string') o.stack = t[3];
          out.objects.push(o);
        }
      }
    }
    return [];
  }
  if (type === 'attached_probes' || type === 'time') return [];
  out.messages.push(text);
  return [];
}

/** Parses a whole captured output (tests, a saved `bpftrace -f json` log). */
export function parseBpftraceOutput(text: string): Parsed<BpftraceOutput> {
  const out = emptyOutput();
  const warnings: ParseWarning[] = [];
  text.split('\n').forEach((l, i) => { for (const w of parseBpftraceLine(out, l)) warnings.push({ ...w, line: i + 1 }); });
  return { value: out, warnings };
}
