/**
 * Two snapshots compared the way an engineer does it after the seeds' Beyond Compare step:
 * meminfo grouped, slab caches and vmalloc callers ranked by growth, processes ranked by USS/PSS growth.
 */
import type { Snapshot } from '../model/snapshot.js';
import { composition, COMPOSITION_GROUPS, vmallocSplit, type CompositionGroup } from './composition.js';

export interface Change { before: number; after: number; delta: number }
export interface NamedChange extends Change {
  name: string;
  /** after / before; Infinity when it grew from nothing. */
  factor: number;
}
export interface ProcessChange { comm: string; pid: number; uss: Change; pss: Change; rss: Change }

export interface SnapshotDiff {
  elapsedSec?: number;
  memAvailable?: Change;
  memFree?: Change;
  groups: { group: CompositionGroup; change: Change }[];
  slab: NamedChange[];
  vmalloc: NamedChange[];
  processes: ProcessChange[];
  /** Processes in only one of the two snapshots ("pid:comm"). */
  appeared: string[];
  exited: string[];
  /** Every meminfo key that changed, for the full listing. */
  meminfo: NamedChange[];
}

/** 2001-09-09: any real wall clock reads later than this. */
const WALL_CLOCK_EPOCH_MS = 1e12;

const change = (before: number, after: number): Change => ({ before, after, delta: after - before });
const named = (name: string, before: number, after: number): NamedChange => ({
  name, ...change(before, after), factor: before === 0 ? (after === 0 ? 1 : Infinity) : after / before,
});

function vmallocByCaller(s: Snapshot): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of s.vmallocinfo?.areas ?? []) {
    const key = a.caller ? (a.module ? `${a.caller} [${a.module}]` : a.caller) : `(${a.kinds.join(',') || 'no caller'})`;
    m.set(key, (m.get(key) ?? 0) + a.size);
  }
  return m;
}

function rankMaps(a: Map<string, number>, b: Map<string, number>): NamedChange[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  const out: NamedChange[] = [];
  for (const n of names) {
    const c = named(n, a.get(n) ?? 0, b.get(n) ?? 0);
    if (c.delta !== 0) out.push(c);
  }
  return out.sort((x, y) => y.delta - x.delta || x.name.localeCompare(y.name));
}

const compositionOf = (s: Snapshot & { meminfo: NonNullable<Snapshot['meminfo']> }): ReturnType<typeof composition> => {
  const vm = vmallocSplit(s.vmallocinfo?.areas);
  return composition(s.meminfo, vm?.total, vm?.stacks);
};

export function diffSnapshots(a: Snapshot, b: Snapshot): SnapshotDiff {
  const out: SnapshotDiff = { groups: [], slab: [], vmalloc: [], processes: [], appeared: [], exited: [], meminfo: [] };
  const ua = a.target.uptimeSec, ub = b.target.uptimeSec;
  if (ua !== undefined && ub !== undefined && ub >= ua && a.target.bootId === b.target.bootId) out.elapsedSec = ub - ua;
  // A capture log without clocks numbers its samples from 0; such times are not a duration anyone measured.
  else if (b.takenAtMs > a.takenAtMs && a.takenAtMs > WALL_CLOCK_EPOCH_MS) out.elapsedSec = (b.takenAtMs - a.takenAtMs) / 1000;

  const ma = a.meminfo?.bytes, mb = b.meminfo?.bytes;
  if (ma && mb) {
    if (ma['MemAvailable'] !== undefined && mb['MemAvailable'] !== undefined) out.memAvailable = change(ma['MemAvailable'], mb['MemAvailable']);
    if (ma['MemFree'] !== undefined && mb['MemFree'] !== undefined) out.memFree = change(ma['MemFree'], mb['MemFree']);
    const ca = compositionOf({ ...a, meminfo: a.meminfo! }), cb = compositionOf({ ...b, meminfo: b.meminfo! });
    for (const g of COMPOSITION_GROUPS) {
      const x = ca[g], y = cb[g];
      if (x !== undefined && y !== undefined) out.groups.push({ group: g, change: change(x, y) });
    }
    out.meminfo = rankMaps(new Map(Object.entries(ma)), new Map(Object.entries(mb)));
  } else if (a.free?.mem?.free !== undefined && b.free?.mem?.free !== undefined) {
    out.memFree = change(a.free.mem.free, b.free.mem.free);
    const avA = a.free.mem.available, avB = b.free.mem.available;
    if (avA !== undefined && avB !== undefined) out.memAvailable = change(avA, avB);
  }

  if (a.slabinfo && b.slabinfo) {
    const bytesOf = (s: Snapshot): Map<string, number> => {
      const m = new Map<string, number>();
      for (const c of s.slabinfo!.caches) m.set(c.name, (m.get(c.name) ?? 0) + c.slabBytes);
      return m;
    };
    out.slab = rankMaps(bytesOf(a), bytesOf(b));
  }
  if (a.vmallocinfo && b.vmallocinfo) out.vmalloc = rankMaps(vmallocByCaller(a), vmallocByCaller(b));

  // A PID reused by another program is a different process: match on pid and comm together.
  const key = (p: { pid: number; comm: string }): string => `${p.pid}:${p.comm}`;
  const before = new Map(a.processes.filter((p) => p.memory).map((p) => [key(p), p]));
  const after = new Map(b.processes.filter((p) => p.memory).map((p) => [key(p), p]));
  for (const [k, p] of after) {
    const q = before.get(k);
    if (!q) { out.appeared.push(k); continue; }
    const m0 = q.memory!, m1 = p.memory!;
    out.processes.push({ comm: p.comm, pid: p.pid, uss: change(m0.uss, m1.uss), pss: change(m0.pss, m1.pss), rss: change(m0.rss, m1.rss) });
  }
  for (const k of before.keys()) if (!after.has(k)) out.exited.push(k);
  out.processes.sort((x, y) => y.uss.delta - x.uss.delta || y.pss.delta - x.pss.delta);
  return out;
}
