/**
 * Decides what each sample reads, on a time budget. Pure: it sees what earlier samples returned (process sizes
 * from the cheap status counters, round-trip durations) and does no I/O, so every decision is testable.
 *
 * Why a budget: smaps_rollup walks the page tables under the process's mmap lock, about 7 ms per resident GB of
 * 4 KB pages on this machine and seconds for huge processes elsewhere, and every `cat` on a small board is a
 * fork+exec. So:
 *   - status for every process, every sample (cheap counters: VmRSS, RssAnon);
 *   - smaps_rollup for every process every Nth sample ("full round"), for suspects (growing processes) every
 *     sample, within a per-sample budget; processes a round could not afford are owed and come first after;
 *   - full smaps only for processes named (--pid, --comm) or promoted as the fastest-growing suspects;
 *   - vmallocinfo (95% of the system files' read time) every Nth sample unless vmalloc is a suspect.
 * Whatever is left out is said in plan.skipped, in words.
 */
import type { Snapshot } from '../model/snapshot.js';
import type { SamplePlan, SystemFile, TargetSample } from './target.js';
import type { WatchSpec } from './watch_file.js';

export interface PlannerOptions {
  /** smaps_rollup for every process every Nth sample. */
  rollupEvery?: number;
  vmallocEvery?: number;
  pagetypeEvery?: number;
  /** Host-side ms a sample may spend on per-process smaps_rollup / smaps reads. */
  budgetMs?: number;
  smapsPids?: readonly number[];
  smapsComms?: readonly string[];
  /** How many suspects get full smaps on top of the named processes. */
  maxSmapsSuspects?: number;
  maxSuspects?: number;
  /** Samples of status history a growth verdict looks at. */
  suspectWindow?: number;
  suspectMinGrowthBytes?: number;
  /** Treat vmalloc as a suspect from the start (vmallocinfo every sample). */
  vmallocSuspect?: boolean;
  vmallocMinGrowthBytes?: number;
  dropCaches?: boolean;
  /** memsleuth's own process on a local target: never a suspect (its growth is its own footprint, not a lead). */
  ownPid?: number;
  watch?: readonly WatchSpec[];
  /** System files read every sample (vmallocinfo and pagetypeinfo are added by their own cadence). */
  system?: readonly SystemFile[];
}

const DEFAULTS = {
  rollupEvery: 10, vmallocEvery: 10, pagetypeEvery: 10, budgetMs: 250, maxSmapsSuspects: 2, maxSuspects: 16,
  suspectWindow: 5, suspectMinGrowthBytes: 1 << 20, vmallocMinGrowthBytes: 1 << 20,
};
const BASE_SYSTEM: readonly SystemFile[] = ['meminfo', 'vmstat', 'slabinfo', 'buddyinfo', 'zoneinfo'];

/** Prior cost model before calibration: a fork+exec of cat, plus the page-table walk. */
export const PRIOR_COST = { perReadMs: 1, rollupMsPerGb: 7, smapsFactor: 3 };

const GB = 1024 ** 3;

interface ProcState {
  comm: string;
  /** VmRSS (bytes) of the last samples, oldest first; absent samples are not zeros, they are not pushed. */
  rss: number[];
  lastRollup?: number;
  kernelThread: boolean;
}

export interface Suspect { pid: number; comm: string; growthBytes: number }

const fmtMs = (ms: number): string => `${Math.round(ms)} ms`;

function pidList(pids: readonly number[], max = 8): string {
  const shown = pids.slice(0, max).join(', ');
  return pids.length > max ? `${shown}, ... (${pids.length - max} more)` : shown;
}

export class SamplePlanner {
  private readonly o: typeof DEFAULTS & PlannerOptions;
  private readonly procs = new Map<number, ProcState>();
  private index = 0;
  private roundStart: number | undefined;
  private vmallocUsed: number[] = [];
  /** Round-trip ms of samples with no per-process rollup/smaps (system files + status loop). */
  private baselineMs: number | undefined;
  /** Observed / predicted per-process cost, smoothed. */
  private scale = 1;

  constructor(options: PlannerOptions = {}) {
    this.o = { ...DEFAULTS, ...options };
  }

  /** Cost estimate of a per-process read, in host ms, from the calibrated model. */
  estimateMs(pid: number, kind: 'smaps_rollup' | 'smaps'): number {
    const rss = this.procs.get(pid)?.rss.at(-1) ?? 0;
    const walk = PRIOR_COST.perReadMs + PRIOR_COST.rollupMsPerGb * (rss / GB);
    return this.scale * (kind === 'smaps' ? walk * PRIOR_COST.smapsFactor : walk);
  }

  /** Processes whose VmRSS grew by at least the threshold over the window, mostly step by step. */
  suspects(): Suspect[] {
    const out: Suspect[] = [];
    for (const [pid, p] of this.procs) {
      if (pid === this.o.ownPid) continue;
      const w = p.rss.slice(-this.o.suspectWindow);
      if (w.length < 3) continue;
      const growth = (w.at(-1) ?? 0) - (w[0] ?? 0);
      let ups = 0;
      for (let i = 1; i < w.length; i++) if ((w[i] ?? 0) > (w[i - 1] ?? 0)) ups++;
      if (growth >= this.o.suspectMinGrowthBytes && ups >= 0.6 * (w.length - 1)) out.push({ pid, comm: p.comm, growthBytes: growth });
    }
    return out.sort((a, b) => b.growthBytes - a.growthBytes || a.pid - b.pid).slice(0, this.o.maxSuspects);
  }

  private vmallocGrowing(): boolean {
    const w = this.vmallocUsed.slice(-this.o.suspectWindow);
    return w.length >= 3 && (w.at(-1) ?? 0) - (w[0] ?? 0) >= this.o.vmallocMinGrowthBytes;
  }

  /** The plan for the next sample. Call observe() with its result before asking for another. */
  plan(): SamplePlan {
    const i = this.index;
    const skipped: string[] = [];
    const system: SystemFile[] = [...(this.o.system ?? BASE_SYSTEM)];
    const vmallocHot = this.o.vmallocSuspect === true || this.vmallocGrowing();
    if (!system.includes('vmallocinfo')) {
      if (vmallocHot || i % this.o.vmallocEvery === 0) system.push('vmallocinfo');
      else skipped.push(`vmallocinfo: read every ${this.o.vmallocEvery}th sample while VmallocUsed is not growing (next: #${i + this.o.vmallocEvery - (i % this.o.vmallocEvery)})`);
    }
    if (!system.includes('pagetypeinfo') && i % this.o.pagetypeEvery === 0) system.push('pagetypeinfo');

    const suspects = this.suspects();
    const suspectPids = suspects.map((s) => s.pid);
    let budget = this.o.budgetMs;

    // Full smaps: the processes the user named always; the fastest-growing suspects when the budget allows.
    const named = new Set<number>(this.o.smapsPids ?? []);
    const comms = new Set(this.o.smapsComms ?? []);
    for (const [pid, p] of this.procs) if (comms.has(p.comm)) named.add(pid);
    const smaps = [...named].sort((a, b) => a - b);
    for (const pid of smaps) budget -= this.estimateMs(pid, 'smaps');
    if (budget < 0) skipped.push(`budget: the named processes' smaps alone take an estimated ${fmtMs(this.o.budgetMs - budget)} (budget ${fmtMs(this.o.budgetMs)}); read anyway`);
    const promoted: number[] = [];
    for (const pid of suspectPids) {
      if (promoted.length >= this.o.maxSmapsSuspects || named.has(pid)) continue;
      const cost = this.estimateMs(pid, 'smaps');
      if (cost <= budget) { promoted.push(pid); budget -= cost; }
      else skipped.push(`smaps of suspect ${pid} (${this.procs.get(pid)?.comm ?? '?'}): estimated ${fmtMs(cost)}, over what is left of the ${fmtMs(this.o.budgetMs)} budget; smaps_rollup instead`);
    }
    smaps.push(...promoted);
    const withSmaps = new Set(smaps);

    // smaps_rollup: a new full round every Nth sample; suspects and processes a round still owes, by priority.
    const user = [...this.procs].filter(([pid, p]) => !p.kernelThread && !withSmaps.has(pid)).map(([pid]) => pid);
    let rollup: 'all' | number[] = [];
    if (this.procs.size === 0) {
      if (i === 0) skipped.push('smaps_rollup: deferred to the next sample (process sizes are unknown until status has been read once)');
    } else {
      if (this.roundStart === undefined || i - this.roundStart >= this.o.rollupEvery) this.roundStart = i;
      const round = this.roundStart;
      const owed = user.filter((pid) => (this.procs.get(pid)?.lastRollup ?? -1) < round);
      const fullCost = user.reduce((sum, pid) => sum + this.estimateMs(pid, 'smaps_rollup'), 0);
      if (i === round && owed.length === user.length && fullCost <= budget && withSmaps.size === 0) {
        rollup = 'all';
      } else {
        const want = [...new Set([...suspectPids.filter((p) => !withSmaps.has(p)), ...owed.sort((a, b) => this.priority(a, b))])];
        const picked: number[] = [];
        const left: number[] = [];
        for (const pid of want) {
          const cost = this.estimateMs(pid, 'smaps_rollup');
          if (cost <= budget) { picked.push(pid); budget -= cost; } else left.push(pid);
        }
        rollup = picked.sort((a, b) => a - b);
        if (left.length > 0) {
          const leftCost = left.reduce((sum, pid) => sum + this.estimateMs(pid, 'smaps_rollup'), 0);
          skipped.push(`smaps_rollup of ${left.length} processes (${pidList(left)}): estimated ${fmtMs(leftCost)} more than the ${fmtMs(this.o.budgetMs)} budget; owed, read first in the next samples`);
        }
      }
    }
    return { index: i, system, status: true, rollup, smaps, watch: this.o.watch ?? [], dropCaches: this.o.dropCaches === true, skipped };
  }

  /** Suspects first is done by the caller; among owed processes: never read first, then the oldest read, then the largest. */
  private priority(a: number, b: number): number {
    const pa = this.procs.get(a);
    const pb = this.procs.get(b);
    const la = pa?.lastRollup ?? -1;
    const lb = pb?.lastRollup ?? -1;
    if (la !== lb) return la - lb;
    return (pb?.rss.at(-1) ?? 0) - (pa?.rss.at(-1) ?? 0) || a - b;
  }

  /** Feeds back what the sample returned: process sizes, which rollups came back, what it cost. */
  observe(plan: SamplePlan, result: Pick<TargetSample, 'snapshot' | 'durationMs'>): void {
    this.index = plan.index + 1;
    this.observeSnapshot(result.snapshot, plan);
    this.calibrate(plan, result.durationMs);
  }

  /** Samples missed during a link gap leave the history as it was: absent is not zero. */
  private observeSnapshot(snap: Snapshot, plan: SamplePlan): void {
    if (plan.status) {
      const seen = new Set<number>();
      for (const p of snap.processes) {
        if (!p.status) continue;
        seen.add(p.pid);
        let st = this.procs.get(p.pid);
        if (!st || st.comm !== p.comm) { st = { comm: p.comm, rss: [], kernelThread: false }; this.procs.set(p.pid, st); }
        // Kernel threads have no Vm* lines and an empty smaps_rollup.
        st.kernelThread = p.status.bytes['VmSize'] === undefined;
        const rss = p.status.bytes['VmRSS'];
        if (rss !== undefined) {
          st.rss.push(rss);
          if (st.rss.length > this.o.suspectWindow) st.rss.shift();
        }
      }
      for (const pid of [...this.procs.keys()]) if (!seen.has(pid)) this.procs.delete(pid);
    }
    for (const p of snap.processes) {
      const st = this.procs.get(p.pid);
      if (st && (p.memory !== undefined || p.smaps !== undefined)) st.lastRollup = plan.index;
    }
    const v = snap.meminfo?.bytes['VmallocUsed'];
    if (v !== undefined) {
      this.vmallocUsed.push(v);
      if (this.vmallocUsed.length > this.o.suspectWindow) this.vmallocUsed.shift();
    }
  }

  private calibrate(plan: SamplePlan, durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    const perProcess = plan.rollup === 'all' || plan.rollup.length > 0 || plan.smaps.length > 0;
    if (!perProcess) {
      this.baselineMs = this.baselineMs === undefined ? durationMs : 0.7 * this.baselineMs + 0.3 * durationMs;
      return;
    }
    if (this.baselineMs === undefined) return;
    const pids = plan.rollup === 'all' ? [...this.procs].filter(([, p]) => !p.kernelThread).map(([pid]) => pid) : plan.rollup;
    const unit = this.scale;
    let predicted = 0;
    for (const pid of pids) predicted += this.estimateMs(pid, 'smaps_rollup') / unit;
    for (const pid of plan.smaps) predicted += this.estimateMs(pid, 'smaps') / unit;
    if (predicted <= 0) return;
    const observed = Math.max(0, durationMs - this.baselineMs);
    const ratio = Math.min(100, Math.max(0.01, observed / predicted));
    this.scale = 0.5 * this.scale + 0.5 * ratio;
  }

  /** The current calibration, for reports ("per-process reads cost 0.4x the prior model"). */
  calibration(): { baselineMs: number | undefined; scale: number } {
    return { baselineMs: this.baselineMs, scale: this.scale };
  }
}
