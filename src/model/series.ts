/**
 * A Snapshot flattened to named numeric series: the lingua franca of analysis (DESIGN.md, "Series keys").
 * Keys are stable, readable and greppable; values are bytes where the thing is a size.
 */
import type { FreeRow, Mapping } from './proc_files.js';
import { THREAD_STACK_CALLER, vmallocAreaBytes, vmallocPageSize } from './proc_files.js';
import type { Snapshot } from './snapshot.js';

export type SeriesValues = Map<string, number>;

/** Marks the samples of a reclaim probe (record --probe-reclaim); the value is the drop_caches level written before it. */
export const RECLAIM_PROBE_KEY = 'probe.reclaim';

/**
 * '.' separates the parts of a key, so a name's own dots are percent-encoded, and so are whitespace and '%'
 * ("libc.so.6" -> "libc%2Eso%2E6", "Web Content" -> "Web%20Content"): keys stay parseable and greppable, and
 * decodeKeyPart gives the real name back for people to read. (Recordings made before kept "_" in their place.)
 */
export function keyPart(name: string): string {
  return name.replace(/[%.\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The real name of a key part (see keyPart): what every table, label and report shows. */
export function decodeKeyPart(part: string): string {
  return part.includes('%') ? part.replace(/%([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))) : part;
}

/** A whole key as people read it: every part decoded ("proc.Web%20Content:42.uss" -> "proc.Web Content:42.uss"). */
export function readableKey(key: string): string {
  return key.includes('%') ? key.split('.').map(decodeKeyPart).join('.') : key;
}

export function processKey(comm: string, pid: number): string {
  return `proc.${keyPart(comm)}:${pid}`;
}

/**
 * A process key's parts: "proc.com%2Eandroid%2Esystemui:screenshot:4786.uss" -> name "com%2Eandroid%2Esystemui:
 * screenshot" (still encoded), pid 4786, end 40 (where the key's base stops). A name's own dots are encoded, so the
 * base ends at the first dot after "proc."; the pid follows its last colon. Undefined for other keys.
 */
export function splitProcessKey(key: string): { name: string; pid: number; end: number } | undefined {
  if (!key.startsWith('proc.')) return undefined;
  let end = key.indexOf('.', 5);
  if (end < 0) end = key.length;
  const colon = key.lastIndexOf(':', end);
  if (colon <= 5 || colon + 1 >= end) return undefined;
  const digits = key.slice(colon + 1, end);
  if (!/^\d+$/.test(digits)) return undefined;
  return { name: key.slice(5, colon), pid: Number(digits), end };
}

const STATM_KEYS = ['size', 'resident', 'shared', 'text', 'data'] as const;
const STATUS_KEYS = ['VmRSS', 'VmSize', 'VmSwap', 'RssAnon', 'RssFile', 'RssShmem', 'VmPTE', 'VmData'] as const;
/** Names seen in one recording are a few hundred; endlessly new names must not grow the cache without end. */
const MAX_CACHED_KEYS = 100_000;

/**
 * Flattens snapshots, building each key once per name rather than once per sample: the keys of a long recording
 * repeat every few seconds, and building them is most of what flattening costs. Keep one per stream of samples.
 */
export class SeriesFlattener {
  private readonly keys = new Map<string, string>();
  private readonly slabKeys = new Map<string, readonly [string, string, string]>();
  /** pid -> [the comm its status gave, the whole name an Android tool gave it] (see processNames). */
  private readonly wholeNames = new Map<number, readonly [string, string]>();

  flatten(snapshot: Snapshot, out: SeriesValues = new Map()): SeriesValues {
    const { meminfo, slabinfo, vmallocinfo, vmstat, free, allocinfo } = snapshot;
    if (meminfo) {
      for (const k in meminfo.bytes) out.set(this.key('meminfo.', k), meminfo.bytes[k] as number);
      for (const k in meminfo.counts) out.set(this.key('meminfo.', k), meminfo.counts[k] as number);
    }
    if (free) {
      this.freeRow(out, 'free.mem.', free.mem);
      this.freeRow(out, 'free.swap.', free.swap);
    }
    if (slabinfo) {
      for (const c of slabinfo.caches) {
        // Caches with the same name appear twice on some kernels (per-memcg copies before 5.9): sum them.
        const [bytes, active, objs] = this.slabKey(c.name);
        add(out, bytes, c.slabBytes);
        add(out, active, c.activeBytes);
        add(out, objs, c.activeObjs);
      }
    }
    if (vmallocinfo) {
      // Bytes are the pages an area holds, the unit of VmallocUsed: its size column adds a guard page.
      const pageSize = vmallocPageSize(vmallocinfo.areas);
      out.set('vmalloc.total.bytes', 0);
      out.set('vmalloc.stacks.bytes', 0);
      for (const a of vmallocinfo.areas) {
        const caller = a.caller ? keyPart(a.caller) : 'unknown';
        const b = vmallocAreaBytes(a, pageSize);
        add(out, `vmalloc.caller.${caller}.bytes`, b);
        add(out, `vmalloc.caller.${caller}.areas`, 1);
        add(out, 'vmalloc.total.bytes', b);
        if (a.caller !== undefined && THREAD_STACK_CALLER.test(a.caller)) add(out, 'vmalloc.stacks.bytes', b);
      }
    }
    if (vmstat) for (const k in vmstat) out.set(this.key('vmstat.', k), vmstat[k] as number);
    if (allocinfo) {
      for (const s of allocinfo.sites) add(out, `allocinfo.${keyPart(`${s.file}:${s.line}:${s.func}`)}.bytes`, s.bytes);
    }
    const names = this.processNames(snapshot);
    for (const p of snapshot.processes) {
      const base = processKey(names?.get(p.pid) ?? p.comm, p.pid);
      if (p.memory) {
        const m = p.memory;
        out.set(`${base}.uss`, m.uss);
        out.set(`${base}.pss`, m.pss);
        out.set(`${base}.rss`, m.rss);
        out.set(`${base}.swap`, m.swap);
        if (m.vss !== undefined) out.set(`${base}.vss`, m.vss);
        if (m.swapPss !== undefined) out.set(`${base}.swap_pss`, m.swapPss);
      }
      const st = p.status;
      // Anonymous memory (swapped out included, shmem apart): what a heap leak grows and page cache never does.
      // status counters come every sample; smaps_rollup only when the planner read it.
      const rssAnon = st?.bytes['RssAnon'];
      if (rssAnon !== undefined) out.set(`${base}.anon`, rssAnon + (st?.bytes['VmSwap'] ?? 0));
      else if (p.memory?.anon !== undefined) out.set(`${base}.anon`, p.memory.anon + p.memory.swap);
      if (st) {
        for (const k of STATUS_KEYS) {
          const v = st.bytes[k];
          if (v !== undefined) out.set(`${base}.status.${k}`, v);
        }
        if (st.threads !== undefined) out.set(`${base}.threads`, st.threads);
        if (st.fdSize !== undefined) out.set(`${base}.fdsize`, st.fdSize);
        // The process tree: what memsleuth started (its tracers, `run`'s tool) is told apart by it.
        if (st.ppid !== undefined) out.set(`${base}.ppid`, st.ppid);
      }
      if (p.smaps) {
        // Mappings of the same name (a .so has 4-5 segments) add up: the engineer asks "how much does libfoo hold".
        for (const m of p.smaps.mappings) {
          const name = keyPart(m.kind === 'anon' ? '[anon]' : m.name);
          add(out, `${base}.map.${name}.rss`, m.bytes['Rss'] ?? 0);
          add(out, `${base}.map.${name}.uss`, (m.bytes['Private_Clean'] ?? 0) + (m.bytes['Private_Dirty'] ?? 0));
          // The mapping's anonymous part (heap, COW pages of a private file mapping); the rest of its USS is file-backed.
          add(out, `${base}.map.${name}.anon`, (m.bytes['Anonymous'] ?? 0) + (m.bytes['Swap'] ?? 0));
        }
      }
      if (p.statm) {
        for (const k of STATM_KEYS) {
          const v = p.statm[k];
          if (v !== undefined) out.set(`${base}.statm.${k}`, v);
        }
      }
      if (p.maps) {
        // maps has no sizes but the address ranges: how many mappings (an mmap leak grows it) and how much they span.
        out.set(`${base}.maps.count`, p.maps.mappings.length);
        out.set(`${base}.maps.vss`, mappedBytes(p.maps.mappings));
      }
      if (p.fds !== undefined) out.set(`${base}.fds`, p.fds);
    }
    for (const w of snapshot.watched ?? []) {
      for (const [k, v] of Object.entries(w.values)) out.set(`file.${keyPart(w.name)}.${keyPart(k)}`, v);
    }
    if (snapshot.series) {
      for (const [k, v] of Object.entries(snapshot.series)) {
        const at = names === undefined ? undefined : splitProcessKey(k);
        const name = at === undefined ? undefined : names?.get(at.pid);
        out.set(at !== undefined && name !== undefined && name !== at.name ? `${processKey(name, at.pid)}${k.slice(at.end)}` : k, v);
      }
    }
    return out;
  }

  /**
   * One process, one key: the pid is the process, its names are labels. Android tools name a process by its
   * command line ("com.android.systemui:screenshot", "/system/bin/mediaserver"), its status by the kernel's comm, at
   * most 15 characters ("emui:screenshot": Android keeps the last 15 of an app's name; "mediaserver": the file's
   * name). A pid that both name in one sample is one process, keyed by the whole name (the longest a tool gave);
   * later samples where that pid has the same comm keep it, so a loop that runs procrank every tenth sample does
   * not split the process in two. A pid whose comm changed is another process (or renamed itself) and keys by its
   * comm again. Undefined when no process has a whole name: keys are then exactly processKey(comm, pid).
   */
  private processNames(snapshot: Snapshot): Map<number, string> | undefined {
    let tools: Map<number, string> | undefined;
    for (const k in snapshot.series ?? {}) {
      const at = splitProcessKey(k);
      if (at === undefined) continue;
      const name = decodeKeyPart(at.name);
      const had = (tools ??= new Map()).get(at.pid);
      if (had === undefined || name.length > had.length) tools.set(at.pid, name);
    }
    if (tools === undefined && this.wholeNames.size === 0) return undefined;
    const names = new Map<number, string>(tools);
    for (const p of snapshot.processes) {
      const tool = tools?.get(p.pid);
      if (tool !== undefined) {
        if (this.wholeNames.size > MAX_CACHED_KEYS) this.wholeNames.clear();
        this.wholeNames.set(p.pid, [p.comm, tool]);
        continue;
      }
      const known = this.wholeNames.get(p.pid);
      if (known === undefined) continue;
      if (known[0] === p.comm) names.set(p.pid, known[1]);
      else this.wholeNames.delete(p.pid);
    }
    return names;
  }

  private freeRow(out: SeriesValues, prefix: string, row: FreeRow | undefined): void {
    if (!row) return;
    for (const k in row) {
      const v = row[k as keyof FreeRow];
      if (v !== undefined) out.set(this.key(prefix, k), v);
    }
  }

  private key(prefix: string, name: string): string {
    const id = prefix + name;
    let k = this.keys.get(id);
    if (k === undefined) {
      if (this.keys.size > MAX_CACHED_KEYS) this.keys.clear();
      k = prefix + keyPart(name);
      this.keys.set(id, k);
    }
    return k;
  }

  private slabKey(name: string): readonly [string, string, string] {
    let k = this.slabKeys.get(name);
    if (k === undefined) {
      if (this.slabKeys.size > MAX_CACHED_KEYS) this.slabKeys.clear();
      const base = `slab.${keyPart(name)}`;
      k = [`${base}.bytes`, `${base}.active_bytes`, `${base}.objs`];
      this.slabKeys.set(name, k);
    }
    return k;
  }
}

const shared = new SeriesFlattener();

export function flattenSnapshot(snapshot: Snapshot): SeriesValues {
  return shared.flatten(snapshot);
}

function add(out: SeriesValues, key: string, value: number): void {
  out.set(key, (out.get(key) ?? 0) + value);
}

/** Bytes the mappings span. Addresses are page-aligned, so even kernel-half ones are exact as doubles. */
function mappedBytes(mappings: readonly Mapping[]): number {
  let total = 0;
  for (const m of mappings) {
    const size = parseInt(m.end, 16) - parseInt(m.start, 16);
    if (size > 0) total += size;
  }
  return total;
}
