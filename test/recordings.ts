/**
 * The real recordings of issue 13's failure classes (test/fixtures/recording-*-local.json, made on this machine
 * with test/fixtures/scenarios.c; exact commands in test/fixtures/SOURCES.md) and the truth each was made with.
 * Shared by src/analyze/real_recordings.test.ts (verdicts asserted) and bench/detect.ts (the detection table).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from './corpus.js';
import type { SeriesTable } from '../src/model/series_table.js';
import type { Analysis, LeakKind } from '../src/model/analysis.js';

export interface RecordingFixture {
  scenarioPid: number;
  /** Every process of the scenario (three services: all three); memsleuth's own are in meta.own. */
  scenarioPids?: number[];
  meta: SeriesTable['meta'];
  startedAtMs?: number;
  boots: SeriesTable['boots'];
  gaps: SeriesTable['gaps'];
  t: number[];
  series: Record<string, (number | null)[]>;
}

export function loadRecording(name: string): { table: SeriesTable; pid: number; pids: number[] } {
  const f = JSON.parse(readFileSync(join(fixturesDir, name), 'utf8')) as RecordingFixture;
  const series = new Map<string, Float64Array>();
  for (const [k, v] of Object.entries(f.series)) series.set(k, Float64Array.from(v, (x) => (x === null ? NaN : x)));
  const table: SeriesTable = { t: Float64Array.from(f.t), series, boots: f.boots, gaps: f.gaps, meta: f.meta };
  if (f.startedAtMs !== undefined) table.startedAtMs = f.startedAtMs;
  return { table, pid: f.scenarioPid, pids: f.scenarioPids ?? [f.scenarioPid] };
}

/**
 * The scenario's culprit as the analysis ranks it: the first culprit of the leaks (in their order) that is one of
 * the scenario's processes. Other tenants of the shared machine may rank before it; they are not the scenario.
 */
export function scenarioCulprit(a: Analysis, pids: readonly number[]): string | undefined {
  for (const l of a.leaks) for (const k of [...l.culprits, l.key]) {
    const m = /^proc\..+:(\d+)\./.exec(k);
    if (m && pids.includes(Number(m[1]))) return k;
  }
  return undefined;
}

export interface FailureClass {
  /** What the class is, as the issue names it. */
  name: string;
  file: string;
  /** A leak of the scenario's process (programmed rate in bytes/s), or none. */
  leak: { bytesPerSec: number } | null;
  /** Its anonymous-memory series is the right culprit (for leaks). */
  culprit?: (pid: number) => string;
  /**
   * For a non-leak class: the leak kinds that would be a false positive of this scenario. The machine is shared:
   * other tenants' processes (compilers, other engineers' leak tests) really grow during a recording; a user leak
   * naming only them is a fact about the machine, shown and not scored. A user leak naming the scenario's process
   * or memsleuth's own is always a false positive.
   */
  wrongKinds?: readonly LeakKind[];
}

const anonOf = (pid: number): string => `proc.scenarios_new:${pid}.anon`;

/** Leaks of an analysis that are false positives of a non-leak class (see FailureClass.wrongKinds). */
export function falsePositives(c: FailureClass, a: Analysis, pid: number): Analysis['leaks'] {
  const ours = new Set([pid, ...(a.own?.processes.map((p) => p.pid) ?? [])]);
  const names = (l: Analysis['leaks'][number]): boolean => [l.key, ...l.culprits].some((k) => { const m = /^proc\..+:(\d+)\./.exec(k); return m !== null && ours.has(Number(m[1])); });
  return a.leaks.filter((l) => names(l) || (c.wrongKinds ?? []).includes(l.kind));
}

export const FAILURE_CLASSES: FailureClass[] = [
  { name: 'file mapped and read (no leak)', file: 'recording-mapread-local.json', leak: null, wrongKinds: [] },
  { name: 'negative dentries, stat() of missing names (no leak)', file: 'recording-negdent-local.json', leak: null, wrongKinds: ['kernel-slab'] },
  { name: 'negative dentries + reclaim probe (no leak)', file: 'recording-negdent-probe-local.json', leak: null, wrongKinds: ['kernel-slab'] },
  { name: 'valgrind running a non-leaking program (no leak)', file: 'recording-run-valgrind-local.json', leak: null, wrongKinds: [] },
  { name: 'bpftrace tracing a non-leaking program (no leak)', file: 'recording-run-bpftrace-local.json', leak: null, wrongKinds: ['kernel-vmalloc'] },
  { name: 'slow heap leak under page-cache churn', file: 'recording-slowleak-churn-local.json', leak: { bytesPerSec: 16 * 1024 }, culprit: anonOf },
  { name: 'three services, only the smallest leaks', file: 'recording-services-local.json', leak: { bytesPerSec: 12 * 1024 }, culprit: anonOf },
  { name: 'leak plus malloc/free churn in one process', file: 'recording-churnleak-local.json', leak: { bytesPerSec: 24 * 1024 }, culprit: anonOf },
];
