/**
 * A Snapshot flattened to named numeric series: the lingua franca of analysis (DESIGN.md, "Series keys").
 * Keys are stable, readable and greppable; values are bytes where the thing is a size.
 */
import type { Snapshot } from './snapshot.js';

export type SeriesValues = Map<string, number>;

/** Characters that would make a key ambiguous ('.' separates parts) are replaced, so keys stay parseable. */
export function keyPart(name: string): string {
  return name.replace(/[.\s]/g, '_');
}

export function processKey(comm: string, pid: number): string {
  return `proc.${keyPart(comm)}:${pid}`;
}

export function flattenSnapshot(snapshot: Snapshot): SeriesValues {
  const out: SeriesValues = new Map();
  const { meminfo, slabinfo, vmallocinfo, vmstat, free, allocinfo } = snapshot;
  if (meminfo) {
    for (const [k, v] of Object.entries(meminfo.bytes)) out.set(`meminfo.${keyPart(k)}`, v);
    for (const [k, v] of Object.entries(meminfo.counts)) out.set(`meminfo.${keyPart(k)}`, v);
  }
  if (free) {
    for (const [row, values] of Object.entries({ mem: free.mem, swap: free.swap })) {
      if (!values) continue;
      for (const [k, v] of Object.entries(values)) if (v !== undefined) out.set(`free.${row}.${k}`, v);
    }
  }
  if (slabinfo) {
    for (const c of slabinfo.caches) {
      const base = `slab.${keyPart(c.name)}`;
      // Caches with the same name appear twice on some kernels (per-memcg copies before 5.9): sum them.
      add(out, `${base}.bytes`, c.slabBytes);
      add(out, `${base}.active_bytes`, c.activeBytes);
      add(out, `${base}.objs`, c.activeObjs);
    }
  }
  if (vmallocinfo) {
    for (const a of vmallocinfo.areas) {
      const caller = a.caller ? keyPart(a.caller) : 'unknown';
      add(out, `vmalloc.caller.${caller}.bytes`, a.size);
      add(out, `vmalloc.caller.${caller}.areas`, 1);
      add(out, 'vmalloc.total.bytes', a.size);
    }
  }
  if (vmstat) for (const [k, v] of Object.entries(vmstat)) out.set(`vmstat.${keyPart(k)}`, v);
  if (allocinfo) {
    for (const s of allocinfo.sites) add(out, `allocinfo.${keyPart(`${s.file}:${s.line}:${s.func}`)}.bytes`, s.bytes);
  }
  for (const p of snapshot.processes) {
    const base = processKey(p.comm, p.pid);
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
    if (st) {
      for (const k of ['VmRSS', 'VmSize', 'VmSwap', 'RssAnon', 'RssFile', 'RssShmem', 'VmPTE', 'VmData'] as const) {
        const v = st.bytes[k];
        if (v !== undefined) out.set(`${base}.status.${k}`, v);
      }
      if (st.threads !== undefined) out.set(`${base}.threads`, st.threads);
      if (st.fdSize !== undefined) out.set(`${base}.fdsize`, st.fdSize);
    }
    if (p.smaps) {
      // Mappings of the same name (a .so has 4-5 segments) add up: the engineer asks "how much does libfoo hold".
      for (const m of p.smaps.mappings) {
        const name = m.kind === 'anon' ? '[anon]' : m.name;
        add(out, `${base}.map.${keyPart(name)}.rss`, m.bytes['Rss'] ?? 0);
        const uss = (m.bytes['Private_Clean'] ?? 0) + (m.bytes['Private_Dirty'] ?? 0);
        add(out, `${base}.map.${keyPart(name)}.uss`, uss);
      }
    }
  }
  for (const w of snapshot.watched ?? []) {
    for (const [k, v] of Object.entries(w.values)) out.set(`file.${keyPart(w.name)}.${keyPart(k)}`, v);
  }
  return out;
}

function add(out: SeriesValues, key: string, value: number): void {
  out.set(key, (out.get(key) ?? 0) + value);
}
