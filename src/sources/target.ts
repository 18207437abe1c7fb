/**
 * What every live source implements (local /proc, a shell behind `--via`, a serial console): take one sample
 * by a plan, say what it skipped and could not read, and report link drops as gaps (never as zeros).
 * The plan comes from sample_planner.ts; the recorder owns the loop and the store.
 */
import type { Snapshot } from '../model/snapshot.js';
import type { WatchSpec } from './watch_file.js';

/** System files a plan can ask for; uptime and boot_id ride in every sample and are not listed. */
export const SYSTEM_FILES = ['meminfo', 'vmstat', 'slabinfo', 'buddyinfo', 'zoneinfo', 'vmallocinfo', 'pagetypeinfo'] as const;
export type SystemFile = (typeof SYSTEM_FILES)[number];

export const SYSTEM_PATHS: Record<SystemFile | 'uptime' | 'boot_id', string> = {
  uptime: '/proc/uptime',
  boot_id: '/proc/sys/kernel/random/boot_id',
  meminfo: '/proc/meminfo',
  vmstat: '/proc/vmstat',
  slabinfo: '/proc/slabinfo',
  buddyinfo: '/proc/buddyinfo',
  zoneinfo: '/proc/zoneinfo',
  vmallocinfo: '/proc/vmallocinfo',
  pagetypeinfo: '/proc/pagetypeinfo',
};

export interface SamplePlan {
  /** 0-based sample number in this recording. */
  index: number;
  system: readonly SystemFile[];
  /** /proc/PID/status for every process (cheap counters: VmRSS, RssAnon, ...). */
  status: boolean;
  /** smaps_rollup for every process ('all', read by a loop on the target) or for these pids only. */
  rollup: 'all' | readonly number[];
  /** Full per-mapping smaps for these pids. */
  smaps: readonly number[];
  watch: readonly WatchSpec[];
  /** `echo 3 > /proc/sys/vm/drop_caches` before reading (opt-in, root only). */
  dropCaches: boolean;
  /**
   * A reclaim probe (record --probe-reclaim): `echo LEVEL > /proc/sys/vm/drop_caches` before reading (2: slab
   * objects such as dentries and inodes; 3: page cache too), and LEVEL... bytes to cgroup v2 memory.reclaim files.
   */
  reclaim?: { level: 2 | 3; cgroups?: readonly string[] };
  /** What the planner left out of this sample and why; copied into the TargetSample. */
  skipped: readonly string[];
}

/** Text as read, for the store's raw archive and for replay through the capture path. */
export interface RawFile {
  /** Section kind ("meminfo", "status", "smaps", "file"). */
  kind: string;
  /** Section name (a watched file's name for kind "file"). */
  name: string;
  pid?: number;
  text: string;
}

export interface UnreadableRead {
  /** "slabinfo", "smaps_rollup", a watched file's name, "drop_caches". */
  name: string;
  pid?: number;
  /** The target's own words ("cat: can't open '/proc/slabinfo': Permission denied"). */
  error: string;
}

/** An interval the link was down: nothing is known about the target inside it. */
export interface LinkGap {
  downAtMs: number;
  upAtMs: number;
  reason: string;
  /** Reconnection attempts it took. */
  attempts: number;
}

export type LinkEvent =
  | { kind: 'down'; atMs: number; reason: string }
  | { kind: 'up'; atMs: number; gap?: LinkGap }
  | { kind: 'retry'; atMs: number; attempt: number; delayMs: number; error: string };

export interface TargetSample {
  snapshot: Snapshot;
  raw: RawFile[];
  skipped: string[];
  unreadable: UnreadableRead[];
  /** Analysis lost because of what could not be read (no root, old kernel), one sentence each. */
  lost: string[];
  /** Host time from sending the command to the last byte of the answer. */
  durationMs: number;
  /** Set on the first sample after the link came back: the interval with no data. */
  gap?: LinkGap;
}

export interface Target {
  readonly name: string;
  sample(plan: SamplePlan): Promise<TargetSample>;
  close(): Promise<void>;
  /** Link events (down, retry, up with its gap); returns the unsubscribe function. */
  onLink(listener: (e: LinkEvent) => void): () => void;
}

/** Small listener set shared by the targets. */
export class LinkEvents {
  private readonly listeners = new Set<(e: LinkEvent) => void>();
  on(listener: (e: LinkEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: LinkEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** A new boot_id, or uptime going back, means the target rebooted between two samples: a new boot segment. */
export function isNewBoot(prev: Snapshot['target'], cur: Snapshot['target']): boolean {
  if (prev.bootId !== undefined && cur.bootId !== undefined) return prev.bootId !== cur.bootId;
  return prev.uptimeSec !== undefined && cur.uptimeSec !== undefined && cur.uptimeSec < prev.uptimeSec;
}

const PERMISSION_RE = /permission denied|operation not permitted|EACCES|EPERM/i;

/** What analysis is lost when a file cannot be read, one sentence per kind of file. */
export function describeLost(unreadable: readonly UnreadableRead[], root?: boolean): string[] {
  const lost: string[] = [];
  const system = new Map<string, UnreadableRead>();
  let deniedProcs = 0;
  for (const u of unreadable) {
    if (u.pid === undefined) system.set(u.name, u);
    else if (PERMISSION_RE.test(u.error)) deniedProcs++;
  }
  const why = (u: UnreadableRead): string => (PERMISSION_RE.test(u.error) ? 'root only' : 'absent on this kernel');
  const s = system.get('slabinfo');
  if (s) lost.push(`slab caches (${why(s)}): no per-cache attribution of kernel memory; only meminfo's Slab/SReclaimable/SUnreclaim totals remain`);
  const v = system.get('vmallocinfo');
  if (v) lost.push(`vmallocinfo (${why(v)}): no vmalloc attribution by caller; only meminfo's VmallocUsed remains`);
  const p = system.get('pagetypeinfo');
  if (p) lost.push(`pagetypeinfo (${why(p)}): no fragmentation by migrate type; buddyinfo still gives free blocks by order`);
  const z = system.get('zoneinfo');
  if (z) lost.push(`zoneinfo (${why(z)}): no per-zone watermarks; OOM forecasts use MemAvailable only`);
  const d = system.get('drop_caches');
  if (d) lost.push(`drop_caches (${why(d)}): caches were not dropped; page-cache swings stay in the series`);
  if (deniedProcs > 0) {
    const who = root === true ? `${deniedProcs} processes (refused even to root by the ptrace access check)` : `other users' processes (root only; ${deniedProcs} refused)`;
    lost.push(`memory maps of ${who}: no USS/PSS or per-mapping growth for them, status VmRSS only`);
  }
  return lost;
}
