/**
 * One look at a target's memory: everything read in one round trip, typed.
 * Sources build it (local /proc, a remote shell, a capture log); the store keeps it; analysis flattens it to series.
 */
import type {
  Buddyinfo, Meminfo, Pagetypeinfo, ProcessMemory, ProcStatus, Slabinfo, Smaps, Vmallocinfo, Vmstat, Zoneinfo,
  Allocinfo, Free, Statm,
} from './proc_files.js';
import type { ParseWarning } from './parsed.js';

/** Target identity that rides in every sample: a new bootId, or uptime going back, starts a new boot segment. */
export interface TargetClock {
  /** /proc/uptime first field, seconds since boot on the target's clock. */
  uptimeSec?: number;
  /** /proc/sys/kernel/random/boot_id */
  bootId?: string;
}

export interface ProcessSample {
  pid: number;
  comm: string;
  status?: ProcStatus;
  /** From smaps_rollup, or summed from smaps where rollup is missing (kernels before 4.14). */
  memory?: ProcessMemory;
  /** Full per-mapping smaps, only for processes asked for or promoted as suspects. */
  smaps?: Smaps;
  /** /proc/PID/statm, when a capture loop printed it. */
  statm?: Statm;
  /** /proc/PID/maps: the mappings only, no sizes but their address ranges. */
  maps?: Smaps;
  /** Open file descriptors: the entries of /proc/PID/fd (an `ls -l` listing or an `ls | wc -l` count). */
  fds?: number;
}

/** A warning attached to the file it came from ("/proc/slabinfo", "/proc/1234/smaps_rollup"). */
export interface SnapshotWarning extends ParseWarning { source: string }

/** Text of a user-declared file (--watch-file), already reduced to numbers by its declared format. */
export interface WatchedFile { name: string; values: Record<string, number> }

export interface Snapshot {
  /** Host wall-clock time the sample was taken, ms since the epoch. */
  takenAtMs: number;
  target: TargetClock;
  pageSize?: number;
  meminfo?: Meminfo;
  slabinfo?: Slabinfo;
  vmallocinfo?: Vmallocinfo;
  buddyinfo?: Buddyinfo;
  zoneinfo?: Zoneinfo;
  pagetypeinfo?: Pagetypeinfo;
  vmstat?: Vmstat;
  allocinfo?: Allocinfo;
  /** `free` output, when that is all a capture log had for a sample. */
  free?: Free;
  processes: ProcessSample[];
  watched?: WatchedFile[];
  /**
   * Series a section already gave under their final keys: Android tools' outputs framed in a capture log (procrank,
   * the `dumpsys meminfo` summary) name processes (`proc.<name>:<pid>.pss`) and their own totals themselves.
   */
  series?: Record<string, number>;
  warnings: SnapshotWarning[];
}
