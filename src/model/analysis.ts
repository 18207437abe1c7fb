/**
 * The result of `memsleuth analyze`: what analyze/ produces and report/ renders. It is the versioned JSON
 * schema of docs/analysis-schema.md, so it holds only JSON values: no Map, no typed array, no Infinity or NaN
 * (an unknown bound is null). Bytes and bytes per second everywhere; times are seconds on the recording's
 * axis (t = 0 at its first sample) plus wall-clock ISO strings where the recording knows its start.
 */

import type { Bound } from './finding.js';

export const ANALYSIS_SCHEMA = 'memsleuth.analysis/1';

export type SystemVerdict = 'leak' | 'no-leak' | 'inconclusive';

export type LeakKind = 'kernel-slab' | 'kernel-vmalloc' | 'kernel-stack' | 'kernel-pagetables' | 'kernel-other' | 'user' | 'file';

/** How far a claim can be trusted, in words a reader acts on. */
export type ConfidenceLevel = 'high' | 'medium' | 'low';

export interface Confidence {
  level: ConfidenceLevel;
  /** Why not higher (or why this high), e.g. "only 2 samples of slabinfo: no statistical test". */
  reason: string;
}

/** A rate with its interval; a bound is null when the data cannot bound it (two samples, say). */
export interface RateEstimate {
  rateBytesPerSec: number;
  ci: [number | null, number | null];
  /** Level of the interval (0.99 for alpha 0.01); null when there is no interval. */
  ciLevel: number | null;
}

/** One series judged: the finding of analyze/trend (or the few-sample judgement) made JSON-safe. */
export interface SeriesVerdict extends RateEstimate {
  /** Series key (slab.kmalloc-64.bytes, proc.app:42.uss, meminfo.SUnreclaim, ...). */
  key: string;
  verdict: 'leak' | 'bounded' | 'reclaimable' | 'stable' | 'inconclusive';
  /** Rule that decided ("significance", "few-samples", "flat", ...). */
  rule: string;
  test: string;
  sinceSec: number;
  /** 0..1 as the test states it (1 - p); for few-sample judgements a heuristic, never above 0.5. */
  confidence: number;
  pValue: number | null;
  level: ConfidenceLevel;
  /** Samples judged, and the change over the window (last level minus first level). */
  points: number;
  firstBytes: number;
  lastBytes: number;
  growthBytes: number;
  evidence: string[];
  nextStep: string | null;
  recordMoreSec: number | null;
  /** A bounded series: the level it holds and the fastest growth the data still allow (null otherwise). */
  bound?: Bound | null;
}

export interface SlabCulprit extends SeriesVerdict {
  cache: string;
  /** Growth of active objects over the window, when slab.<cache>.objs was recorded. */
  objsGrowth: number | null;
  /** Id of the lockstep cluster the cache belongs to, if any. */
  cluster: string | null;
  /**
   * The reclaimable cache this one grows in lockstep with ("kmalloc-192 follows dentry: 1 object per 21 of
   * dentry's"): freed with it, so not a leak unless it stays when that cache is reclaimed. Null otherwise.
   */
  follows: { cache: string; perObjects: number; method: string; detail: string } | null;
}

export interface VmallocCulprit extends SeriesVerdict { caller: string; cluster: string | null }

/** A size of a process shown beside its verdict (USS, PSS, RSS): first and last level of the window. */
export interface ProcessSize { metric: 'uss' | 'pss' | 'rss'; firstBytes: number; lastBytes: number }

export interface ProcessCulprit extends SeriesVerdict {
  comm: string;
  pid: number;
  /**
   * The series the verdict is on. "anon": anonymous memory, swapped-out included, shmem apart (status
   * RssAnon + VmSwap, or smaps_rollup Anonymous + Swap): what a heap leak grows and page cache never does.
   * USS, PSS or RSS only where the recording has no anonymous count.
   */
  metric: 'anon' | 'uss' | 'pss' | 'rss';
  /** USS, PSS, RSS over the same window, for the engineer (not judged). */
  sizes: ProcessSize[];
}

export interface MappingCulprit extends SeriesVerdict {
  comm: string;
  pid: number;
  /** "[heap]", "[anon]", "/usr/lib/libfoo.so", ... */
  mapping: string;
  /**
   * "anon": the mapping's anonymous pages (a leak can live there); "file": its private file-backed pages
   * (USS minus anonymous: page cache mapped by this process, reclaimable, never a leak); "uss"/"rss" in
   * recordings without the split.
   */
  metric: 'anon' | 'file' | 'uss' | 'rss';
}

export interface ProbeLevel { key: string; beforeBytes: number; afterBytes: number; growthBytes: number }

/** What the last reclaim probe showed for the series that grew: fell (cache) or stayed (pinned). */
export interface ReclaimProbe { atSec: number[]; fell: ProbeLevel[]; stayed: ProbeLevel[] }

/** A process of memsleuth's own tree (the recorder, its tracers, `run`'s tool) and what it is there for. */
export interface OwnProcess { pid: number; comm: string; role: string }

/**
 * memsleuth's own footprint: its processes and the kernel memory its tools hold (bpftrace's BPF maps), set
 * apart from the culprits. Never a leak of the machine: it goes when memsleuth stops.
 */
export interface OwnFootprint {
  processes: OwnProcess[];
  /** The same processes judged like any other (never listed as leaks). */
  verdicts: ProcessCulprit[];
  /** Kernel series held by memsleuth's tools (vmalloc callers of BPF maps while bpftrace ran). */
  kernel: SeriesVerdict[];
  /** Growth of the footprint over the window (processes' judged series plus kernel series). */
  growthBytes: number;
  evidence: string[];
}

export interface AllocinfoCulprit extends SeriesVerdict {
  /** "file:line:func" as /proc/allocinfo prints it. */
  site: string;
}

export interface FileCulprit extends SeriesVerdict {
  file: string;
  field: string;
}

/** A process whose own counters climb with a kernel series: who is behind kernel growth. */
export interface OwnerInference {
  /** Kernel series explained: slab.filp.bytes, meminfo.KernelStack, meminfo.PageTables, ... */
  kernelKey: string;
  comm: string;
  pid: number;
  /** The process counter that climbs with it. */
  counter: 'fdsize' | 'threads' | 'VmPTE';
  counterKey: string;
  counterGrowth: number;
  kernelGrowthBytes: number;
  /** Pearson correlation of the two series' levels over their common samples (null with < 3). */
  correlation: number | null;
  confidence: Confidence;
  evidence: string[];
}

export interface LockstepMember { key: string; growthBytes: number; relativeGrowth: number | null }

/** Series that grow together: one leak seen through several counters (three caches filled by one allocation path). */
export interface LockstepCluster {
  id: string;
  family: 'slab' | 'vmalloc' | 'allocinfo' | 'file' | 'other';
  members: LockstepMember[];
  totalGrowthBytes: number;
  rateBytesPerSec: number;
  /** "increments" (correlated increments), "proportional" (steady co-growth), "co-growth" (few samples). */
  method: 'increments' | 'proportional' | 'co-growth';
  /** Smallest pairwise link strength inside the cluster (correlation for "increments"; similarity otherwise). */
  minLink: number;
  confidence: Confidence;
  evidence: string[];
}

export interface AttributionNode {
  id: string;
  label: string;
  /** Change over the window, bytes (positive: more memory held). */
  deltaBytes: number;
  /** deltaBytes over the gross growth (sum of the positive additive leaves); null when nothing grew. */
  share: number | null;
  startBytes: number | null;
  endBytes: number | null;
  /** Series the node was computed from. */
  keys: string[];
  /** False for informational nodes that overlap others (per-process USS, CMA) and are not summed. */
  additive: boolean;
  /** The verdict on the node's series, when judged. */
  verdict: SeriesVerdict['verdict'] | null;
  note: string | null;
  children: AttributionNode[];
}

export interface Attribution {
  /** What the tree is built from: full meminfo, only `free` output, or nothing usable. */
  basis: 'meminfo' | 'free' | 'none';
  memTotalBytes: number | null;
  memAvailableDeltaBytes: number | null;
  memFreeDeltaBytes: number | null;
  /** Gross growth: the denominator of every share. */
  grossGrowthBytes: number;
  fromSec: number;
  toSec: number;
  root: AttributionNode;
}

export interface Leak extends RateEstimate {
  kind: LeakKind;
  /** Human subject ("unreclaimable kernel slab", "process app (pid 42)") and the series that carries the rate. */
  subject: string;
  key: string;
  sinceSec: number;
  /** ISO time of sinceSec, when the recording's wall-clock start is known. */
  since: string | null;
  growthBytes: number;
  confidence: Confidence;
  /** Ranked culprit keys behind it (caches, callers, processes), and the lockstep clusters among them. */
  culprits: string[];
  clusters: string[];
  /** Processes inferred to own it (kernel leaks), best first. */
  owners: { comm: string; pid: number; counter: string }[];
  evidence: string[];
  nextStep: string | null;
}

export interface Forecast {
  /** "too-short": the window is too short to extrapolate a time from (a rise of 20 s is not a lasting rate). */
  status: 'oom-expected' | 'no-oom-trend' | 'too-short' | 'unknown';
  /** MemAvailable now and the level where the OOM killer comes (sum of zones' min watermarks). */
  availableBytes: number | null;
  watermarkBytes: number | null;
  watermarkSource: 'zoneinfo' | 'estimated' | null;
  /** Rate at which MemAvailable falls (positive = falling). */
  fallRateBytesPerSec: number | null;
  secondsToOom: number | null;
  /** Interval from the rate's CI: [soonest, latest]; latest null when the CI allows no fall. */
  interval: [number | null, number | null];
  /** ISO time of the expected OOM, when the wall clock is known. */
  at: string | null;
  confidence: Confidence;
  evidence: string[];
}

export interface AnalysisWindow {
  fromSec: number;
  toSec: number;
  samples: number;
  startedAt: string | null;
  /** Where times come from: "uptime", "date", "terminal", "index" (no clock: sample index x interval). */
  timeSource: string | null;
  intervalSec: number | null;
}

export interface Analysis {
  schema: typeof ANALYSIS_SCHEMA;
  source: string;
  verdict: SystemVerdict;
  confidence: Confidence;
  /** The one sentence a manager reads. */
  summary: string;
  window: AnalysisWindow;
  /** Judgement of system memory (MemAvailable, or what `free` shows). */
  system: SeriesVerdict[];
  leaks: Leak[];
  attribution: Attribution;
  culprits: {
    slab: SlabCulprit[];
    vmalloc: VmallocCulprit[];
    process: ProcessCulprit[];
    mapping: MappingCulprit[];
    allocinfo: AllocinfoCulprit[];
    file: FileCulprit[];
    owner: OwnerInference[];
  };
  clusters: LockstepCluster[];
  /** memsleuth's own processes and tools, set apart (null when the recording does not say which they were). */
  own: OwnFootprint | null;
  /** Reclaim probes of the recording (record --probe-reclaim): what fell (cache) and what stayed (pinned). */
  reclaimProbe: ReclaimProbe | null;
  forecast: Forecast;
  /** Series judged, skipped as flat without a test, and the cost. */
  stats: { seriesTotal: number; seriesJudged: number; seriesSkippedFlat: number; elapsedMs: number };
  notes: string[];
}
