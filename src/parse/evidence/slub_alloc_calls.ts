/**
 * Parses SLUB call-site lists (list_locations() in mm/slub.c; Documentation/mm/slub.rst, "Extended slabinfo
 * mode and plotting"): /sys/kernel/slab/<cache>/alloc_calls and free_calls, /sys/kernel/debug/slab/<cache>/
 * alloc_traces and free_traces (5.17+: the full stack, indented, under each site), and `tools/mm/slabinfo -r
 * <cache>` reports, also when quoted in a mail reply. Real input lines:
 *
 *      29 disk_expand_part_tbl+0x4a/0xbc age=703072/703748/703896 pid=1-78
 *    4371 <not-available> age=635262 pid=0
 *   > 1272283 snd_ctl_ioctl+0x45f/0x6d0 waste=1048361192/824 age=6141/183854/366927 pid=687-33984 cpus=0-1,3-8,10
 *   >         memdup_user+0x21/0x70
 *
 * "age=" is in jiffies (jiffies - track->when), so it becomes seconds only when the caller passes HZ.
 * Bytes are count x object size when the text names the size ("Object :    2048" in slabinfo -r) or the caller
 * passes it; otherwise bytes are 0 and a warning says so.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import { warning, type Parsed, type ParseWarning, withFiniteValues } from '../../model/parsed.js';
import { bytes, type Bytes } from '../../model/units.js';
import { cleanConsoleLine, parseKernelFrameLine, splitLines } from './kmemleak.js';

export type SlubDirection = 'alloc' | 'free' | 'unknown';

export interface SlubAllocCalls {
  /** From "Slabcache: <name>", a "<name>: Kernel object allocation" heading, or the caller's hint. */
  cache?: string;
  /** 'alloc' when an allocation list was seen (or hinted), 'free' when only freeing lists, else 'unknown'. */
  direction: SlubDirection;
  /** Object size in bytes, when the report says it ("Object :    2048") or the caller gave it. */
  objectSize?: Bytes;
  /** The call sites: the allocation list when the text has one, else the one list the text is. kind 'outstanding'. */
  sites: AllocationSite[];
  /** Sites under "Kernel object freeing" when the text also has an allocation list (slabinfo -r): not memory held. */
  freeSites: AllocationSite[];
}

export interface SlubAllocCallsOptions {
  /** Which file the text came from, when known (alloc_calls vs free_calls have the same shape). */
  direction?: 'alloc' | 'free';
  cache?: string;
  /** Object size (/sys/kernel/slab/<cache>/object_size) for bytes = count x size. */
  objectSize?: number;
  /** Kernel HZ (CONFIG_HZ), to turn age= jiffies into seconds. */
  hz?: number;
}

const ENTRY_RE = /^(\d+)\s+(<not-available>|\S+?(?:\s+\[[\w.-]+\])?)(?:\s+(\w+=.*))?$/;
const HEADING_RE = /^(\S+): Kernel object (allocation|freeing)$/;
const SLABCACHE_RE = /^Slabcache:\s+(\S+)/;
const OBJECT_SIZE_RE = /^Object\s*:\s*(\d+)\s/;
/** Lines of a slabinfo -r report that carry nothing for call sites. */
const REPORT_NOISE = [
  /^Sizes \(bytes\)/, /^-{10,}$/, /^(?:SlabObj|SlabSiz|Loss|Align)\s*:/, /has no kmem_cache operations$/,
  /No NUMA information available\.?$/, /^NUMA\b/, /^(?:All slabs|Partial slabs)\b/, /^Node\b/,
];

function rangeEnds(v: string): number[] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  if (!m) return undefined;
  return m[2] === undefined ? [Number(m[1])] : [Number(m[1]), Number(m[2])];
}

interface Entry {
  site: AllocationSite;
  line: number;
  section: 'alloc' | 'free' | 'unknown';
  /** The location printed on the entry line, used when no multi-line stack follows. */
  location?: Frame;
  traced: Frame[];
}

export function parseSlubAllocCalls(text: string, options: SlubAllocCallsOptions = {}): Parsed<SlubAllocCalls> {
  const warnings: ParseWarning[] = [];
  let cache = options.cache;
  let objectSize = options.objectSize;
  let section: Entry['section'] = options.direction ?? 'unknown';
  const entries: Entry[] = [];
  let cur: Entry | undefined;
  let sawAllocHeading = false;
  let sawFreeHeading = false;
  let elided = 0;

  splitLines(text).forEach((raw, i) => {
    const n = i + 1;
    const { text: t } = cleanConsoleLine(raw);
    const s = t.trim();
    if (s === '') {
      cur = undefined;
      return;
    }
    if (s === '...' || /^\[\s*(?:\.\.\.|…)\s*\]$/.test(s)) {
      elided++;
      warnings.push(warning(n, raw, 'elided lines in the quoted report: the list is incomplete', 'info'));
      cur = undefined;
      return;
    }
    const sc = SLABCACHE_RE.exec(s);
    if (sc && sc[1] !== undefined) {
      cache ??= sc[1];
      return;
    }
    const os = OBJECT_SIZE_RE.exec(s);
    if (os && os[1] !== undefined) {
      objectSize ??= Number(os[1]);
      return;
    }
    const h = HEADING_RE.exec(s);
    if (h && h[1] !== undefined) {
      cache ??= h[1];
      section = h[2] === 'allocation' ? 'alloc' : 'free';
      if (section === 'alloc') sawAllocHeading = true;
      else sawFreeHeading = true;
      cur = undefined;
      return;
    }
    const e = ENTRY_RE.exec(s);
    if (e && e[1] !== undefined && e[2] !== undefined) {
      const site: AllocationSite = { stack: [], bytes: bytes(0), count: Number(e[1]), kind: 'outstanding', tool: 'slub', origin: `line ${n}` };
      const entry: Entry = { site, line: n, section, traced: [] };
      if (e[2] !== '<not-available>') {
        const f = parseKernelFrameLine(e[2]);
        if (f) entry.location = f.frame;
        else warnings.push(warning(n, raw, `call site "${e[2]}" not understood; kept without a stack`, 'data-loss'));
      }
      for (const kv of (e[3] ?? '').split(/\s+/)) {
        const eq = kv.indexOf('=');
        if (eq < 0) continue;
        const key = kv.slice(0, eq);
        const val = kv.slice(eq + 1);
        if (key === 'age') {
          const parts = val.split('/').map(Number);
          if (parts.some((x) => !Number.isFinite(x))) continue;
          if (options.hz !== undefined && options.hz > 0) {
            const hz = options.hz;
            const [mn, av, mx] = parts.length === 3 ? parts : [parts[0], parts[0], parts[0]];
            if (mn !== undefined && mx !== undefined) site.ageSec = av === undefined ? { min: mn / hz, max: mx / hz } : { min: mn / hz, max: mx / hz, avg: av / hz };
          }
        } else if (key === 'pid') {
          const p = rangeEnds(val);
          if (p) site.pids = p;
        }
        // waste=, cpus=, nodes= have no place in AllocationSite; see the report on model gaps.
      }
      entries.push(entry);
      cur = entry;
      return;
    }
    // An indented stack line under an entry (alloc_traces, slabinfo -r on 5.17+).
    if (cur && /^\s/.test(t)) {
      const f = parseKernelFrameLine(s);
      if (f) {
        cur.traced.push(f.frame);
        return;
      }
    }
    if (REPORT_NOISE.some((r) => r.test(s)) || /^Object\s*:/.test(s)) return;
    warnings.push(warning(n, raw, 'not a SLUB call-site line; skipped', 'info'));
  });

  if (options.hz === undefined && entries.length > 0) {
    warnings.push(warning(0, '', 'age= is in jiffies and HZ is unknown: ages left out', 'info'));
  }
  if (objectSize === undefined && entries.length > 0) {
    warnings.push(warning(0, '', 'object size unknown (no "Object :" line, none given): bytes set to 0', 'info'));
  }
  if (elided > 0 && entries.length === 0) {
    warnings.push(warning(0, '', 'only elisions, no call sites', 'data-loss'));
  }

  const sites: AllocationSite[] = [];
  const freeSites: AllocationSite[] = [];
  for (const e of entries) {
    e.site.stack = e.traced.length > 0 ? e.traced : e.location ? [e.location] : [];
    if (objectSize !== undefined) e.site.bytes = bytes(e.site.count * objectSize);
    if (cache !== undefined) e.site.cache = cache;
    // Only a text with an allocation heading splits its lists; a bare free_calls file is the list asked for.
    (sawAllocHeading && e.section === 'free' ? freeSites : sites).push(e.site);
  }
  const direction: SlubDirection =
    sawAllocHeading || options.direction === 'alloc' ? 'alloc' : sawFreeHeading || options.direction === 'free' ? 'free' : 'unknown';
  const value: SlubAllocCalls = { direction, sites, freeSites };
  if (cache !== undefined) value.cache = cache;
  if (objectSize !== undefined) value.objectSize = bytes(objectSize);
  return withFiniteValues({ value, warnings });
}
