/**
 * analyzeRecording: the one call behind `memsleuth analyze`. A SeriesTable in, an Analysis out (the versioned
 * JSON of docs/analysis-schema.md): system verdict, leaks by kind with their culprits, lockstep clusters,
 * owners of kernel growth, the attribution tree and the time to OOM. Recordings with few samples get verdicts
 * at "low" confidence and never a significance claim. Large recordings can be judged on all cores first
 * (analyzeRecordingParallel); series that do not move are skipped without a test either way.
 */
import { mergeProcessAliases } from './process_aliases.js';
import type { Finding } from '../model/finding.js';
import type { SeriesTable } from '../model/series_table.js';
import {
  ANALYSIS_SCHEMA, type Analysis, type Confidence, type ConfidenceLevel, type Leak, type LeakKind, type LockstepCluster, type ProcessCulprit, type SeriesVerdict,
} from '../model/analysis.js';
import { SeriesJudge, windowOf, finitePoints, isFlat, MIN_TREND_POINTS, analyzeOptionsFor, type JudgeOptions } from './judge.js';
import { attribute, deriveSystemSeries, groupKey, SYSTEM } from './attribution.js';
import { rankCulprits, inferOwners, slabKind, parseCulpritKey, type Culprits } from './culprits.js';
import { clusterLockstep, type LockstepSeries } from './lockstep.js';
import { forecastOom } from './forecast.js';
import { analyzeParallel, type SeriesJob } from './parallel.js';
import type { SeriesKind } from './rules/index.js';
import { explainedByParts } from './rules/explained_by_parts.js';
import { contradictedByTotal } from './rules/part_of_whole.js';
import { bulkCacheTurnover, remainderAtQuietSamples, remainderInTransit } from './rules/remainder.js';
import { ownTree, setApartOwn, ownFootprint } from './own.js';
import { dependentGrowth, explainedByFollowers } from './rules/dependent.js';
import { findProbes, maskProbes, probeOutcome, judgedByProbe, type ProbeOutcome } from './rules/reclaim_probe.js';

export interface AnalyzeRecordingOptions {
  /** Window on the recording's axis (seconds since its first sample). */
  fromSec?: number;
  toSec?: number;
  alpha?: number;
  minRateBytesPerSec?: number;
  /** Culprit rows kept per family besides leaks. Default 20. */
  top?: number;
  /** Findings already computed for some series keys (the parallel path). */
  precomputed?: ReadonlyMap<string, Finding>;
  /** Wall clock for elapsedMs; injectable for golden tests. */
  now?: () => number;
}

const AGGREGATES: { kind: LeakKind; keys: string[]; label: string; family?: 'slab' | 'vmalloc' | 'process' | 'allocinfo' }[] = [
  { kind: 'kernel-slab', keys: [groupKey('slabUnreclaimable')], label: 'unreclaimable kernel slab', family: 'slab' },
  { kind: 'kernel-vmalloc', keys: [groupKey('vmalloc')], label: 'kernel vmalloc', family: 'vmalloc' },
  { kind: 'kernel-stack', keys: [groupKey('kernelStack')], label: 'kernel stacks (threads)' },
  { kind: 'kernel-pagetables', keys: [groupKey('pageTables')], label: 'page tables' },
  { kind: 'kernel-other', keys: [groupKey('unexplained'), groupKey('percpu')], label: 'kernel memory nobody counts', family: 'allocinfo' },
  { kind: 'user', keys: [groupKey('anon'), groupKey('shmem')], label: 'user memory', family: 'process' },
];

const RECLAIMABLE_GROUPS = [SYSTEM.pageCache, SYSTEM.buffers, groupKey('slabReclaimable')];

const LEVEL_RANK: Record<ConfidenceLevel, number> = { low: 0, medium: 1, high: 2 };
const minLevel = (a: ConfidenceLevel, b: ConfidenceLevel): ConfidenceLevel => (LEVEL_RANK[a] <= LEVEL_RANK[b] ? a : b);

/**
 * The reason beside a confidence level, in an engineer's words: how many samples of what. The test, its
 * statistic and p-value stay in the finding's evidence lines, where the method is read.
 */
function confidenceOf(v: SeriesVerdict): Confidence {
  const what = `${v.points} samples of ${readableKey(v.key)}`;
  if (v.rule === 'few-samples') return { level: 'low', reason: `only ${what}: a before/after comparison` };
  const short = v.level === 'low' && v.points >= 30 && v.verdict !== 'inconclusive' ? '; a recording this short cannot show that the growth persists' : '';
  return { level: v.level, reason: `${what}${short}` };
}

/** "system.slabUnreclaimable" -> "slab unreclaimable"; a culprit key -> its subject ("app (pid 42)"). */
function readableKey(key: string): string {
  if (key.startsWith('system.')) return key.slice('system.'.length).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return subjectOf(key);
}

function sinceIso(table: SeriesTable, sec: number): string | null {
  if (table.startedAtMs === undefined || table.meta.timeSource === 'index') return null;
  return new Date(table.startedAtMs + sec * 1000).toISOString();
}

function subjectOf(key: string): string {
  const k = parseCulpritKey(key);
  if (!k) return key;
  if (k.family === 'slab') return k.name;
  if (k.family === 'vmalloc') return `vmalloc ${k.name}`;
  if (k.family === 'process') return `${k.comm ?? ''} (pid ${k.pid ?? 0})`;
  if (k.family === 'mapping') return `${k.name} of ${k.comm ?? ''} (pid ${k.pid ?? 0})`;
  if (k.family === 'file') return `${k.name}.${k.field ?? ''}`;
  return k.name;
}

function familyRows(c: Culprits, family: 'slab' | 'vmalloc' | 'process' | 'allocinfo' | undefined): SeriesVerdict[] {
  if (!family) return [];
  if (family === 'slab') return c.slab.filter((r) => slabKind(r.cache) === 'normal');
  return c[family];
}

function sumCi(rows: readonly SeriesVerdict[]): [number | null, number | null] {
  let lo: number | null = 0;
  let hi: number | null = 0;
  for (const r of rows) {
    lo = lo === null || r.ci[0] === null ? null : lo + r.ci[0];
    hi = hi === null || r.ci[1] === null ? null : hi + r.ci[1];
  }
  return [lo, hi];
}

function clustersFor(judge: SeriesJudge, rows: readonly SeriesVerdict[], family: LockstepCluster['family']): LockstepCluster[] {
  const growing: LockstepSeries[] = rows
    .filter((r) => r.verdict === 'leak' && r.growthBytes > 0)
    .map((r) => ({ key: r.key, v: judge.values(r.key) ?? new Float64Array(0), growthBytes: r.growthBytes, firstBytes: r.firstBytes, rateBytesPerSec: r.rateBytesPerSec }));
  return clusterLockstep(growing, { family, idPrefix: family });
}

export function analyzeRecording(table: SeriesTable, options: AnalyzeRecordingOptions = {}): Analysis {
  const now = options.now ?? Date.now;
  const started = now();
  // One process, one key, in tables written before the flattener keyed a pid once (process_aliases.ts).
  const aliases = mergeProcessAliases(table);
  table = aliases.table;
  // Reclaim probes are experiments, not the system's course: judged apart (rules/reclaim_probe.ts).
  const probes = findProbes(table);
  const original = table;
  table = maskProbes(table, probes);
  const lastProbe = probes[probes.length - 1];
  const w = windowOf(table, options.fromSec, options.toSec);
  const lastFinite = (key: string): number | null => {
    const v = w.get(key);
    if (!v) return null;
    for (let i = v.length - 1; i >= 0; i--) if (Number.isFinite(v[i] as number)) return v[i] as number;
    return null;
  };
  const memTotal = lastFinite('meminfo.MemTotal') ?? lastFinite('free.mem.total');
  const jo: JudgeOptions = {};
  if (memTotal !== null) jo.memTotalBytes = memTotal;
  if (options.alpha !== undefined) jo.alpha = options.alpha;
  if (options.minRateBytesPerSec !== undefined) jo.minRateBytesPerSec = options.minRateBytesPerSec;
  if (table.meta.timeSource !== undefined) jo.timeSource = table.meta.timeSource;
  const judge = new SeriesJudge(w, jo, options.precomputed);
  const notes = [...table.meta.notes];
  if (table.meta.timeSource === 'index') notes.push(`the recording has no clock: samples are taken as ${table.meta.intervalSec ?? 1} s apart, so rates and times are in that unit`);
  for (const a of aliases.merged) notes.push(`pid ${a.pid}: "${a.comm}" (its kernel name) and "${a.whole}" are one process, read as one`);
  if (table.boots.length > 1) notes.push(`${table.boots.length} boot segments: counters restart at a reboot; analyse one boot with --window`);

  // System level, without memsleuth's own processes and tools (own.ts).
  const basis = deriveSystemSeries(judge);
  const ownPids = ownTree(judge, table.meta);
  const apart = setApartOwn(judge, ownPids, table.meta.tools ?? [], { anon: groupKey('anon'), vmalloc: groupKey('vmalloc'), unavailable: SYSTEM.unavailable });
  const system: SeriesVerdict[] = [];
  const sysUnavail = judge.judge(SYSTEM.unavailable);
  if (sysUnavail) system.push({ ...sysUnavail });
  const freeUsed = judge.values('free.mem.used');
  if (basis === 'meminfo' && freeUsed && (!sysUnavail || finitePoints(w.t, freeUsed).v.length > sysUnavail.points)) {
    const v = judge.judge('free.mem.used');
    if (v) system.push(v);
  }
  const aggregateVerdicts = new Map<string, SeriesVerdict>();
  for (const a of AGGREGATES) for (const k of a.keys) { const v = judge.judge(k); if (v) aggregateVerdicts.set(k, v); }
  for (const k of RECLAIMABLE_GROUPS) judge.judge(k, 'reclaimable');
  judge.judge(SYSTEM.cmaUsed);

  // Culprits, clusters, owners.
  const ownRows: ProcessCulprit[] = [];
  const culprits = rankCulprits(judge, { ...(options.top !== undefined ? { top: options.top } : {}), ownPids: new Set(ownPids.keys()), ownRows });
  if (apart.kernelKeys.size > 0) culprits.vmalloc = culprits.vmalloc.filter((r) => !apart.kernelKeys.has(r.key));
  const flat = Math.max(4096, 1e-6 * (memTotal ?? 0));
  // Levels around the probe come from the unmasked recording; a derived group from the meminfo line it is.
  const RAW_GROUP: Record<string, string> = {
    [groupKey('slabUnreclaimable')]: 'meminfo.SUnreclaim', [groupKey('anon')]: 'meminfo.AnonPages', [groupKey('vmalloc')]: 'meminfo.VmallocUsed',
    [groupKey('kernelStack')]: 'meminfo.KernelStack', [groupKey('pageTables')]: 'meminfo.PageTables',
  };
  const rawOf = (key: string): Float64Array | undefined => original.series.get(RAW_GROUP[key] ?? key) ?? judge.values(key);
  const outcome = (r: SeriesVerdict): ProbeOutcome | undefined => (lastProbe ? probeOutcome(r.key, r.growthBytes, rawOf(r.key), lastProbe, flat) : undefined);
  const probeFell = lastProbe ? new Set(culprits.slab.filter((r) => outcome(r)?.fell === true).map((r) => r.cache)) : undefined;
  // Caches that grow only because a reclaimable one does are freed with it (rules/dependent.ts).
  for (const d of dependentGrowth(culprits.slab, (c) => judge.values(`slab.${c}.objs`), (c) => slabKind(c) === 'reclaimable', (c) => judge.values(`slab.${c}.bytes`), probeFell)) {
    const i = culprits.slab.findIndex((r) => r.key === d.key);
    if (i >= 0) culprits.slab[i] = d;
    judge.verdicts.set(d.key, d);
  }
  const clusters = [
    ...clustersFor(judge, culprits.slab.filter((r) => slabKind(r.cache) === 'normal'), 'slab'),
    ...clustersFor(judge, culprits.vmalloc, 'vmalloc'),
    ...clustersFor(judge, culprits.allocinfo, 'allocinfo'),
    ...clustersFor(judge, culprits.file, 'file'),
  ];
  for (const c of clusters) {
    for (const m of c.members) {
      const s = culprits.slab.find((r) => r.key === m.key);
      if (s) s.cluster = c.id;
      const v = culprits.vmalloc.find((r) => r.key === m.key);
      if (v) v.cluster = c.id;
    }
  }
  const kernelRows: SeriesVerdict[] = [...culprits.slab];
  for (const k of [groupKey('kernelStack'), groupKey('pageTables')]) {
    const v = aggregateVerdicts.get(k);
    if (v) kernelRows.push({ ...v, key: k === groupKey('kernelStack') ? 'meminfo.KernelStack' : 'meminfo.PageTables' });
  }
  culprits.owner = inferOwners(judge, kernelRows);
  // A total whose parts explain its growth as warm-ups, or as followers of reclaimable caches, is not leaking
  // (rules/explained_by_parts.ts, rules/dependent.ts).
  for (const a of AGGREGATES) {
    const rows = familyRows(culprits, a.family);
    for (const k of a.keys) {
      const v = aggregateVerdicts.get(k);
      const down = v ? (a.family === 'slab' ? explainedByFollowers(v, culprits.slab) : undefined) ?? explainedByParts(v, rows) : undefined;
      if (down) { aggregateVerdicts.set(k, down); judge.verdicts.set(k, down); }
    }
  }

  // The uncounted remainder rising as the caches fall, with memory to spare, is a transfer (rules/remainder.ts).
  const rem = aggregateVerdicts.get(groupKey('unexplained'));
  if (rem?.verdict === 'leak') {
    const parts = [groupKey('unexplained'), SYSTEM.pageCache, SYSTEM.buffers, groupKey('slabReclaimable')].map((k) => judge.values(k));
    const free = judge.values('meminfo.MemFree');
    if (parts.every((v) => v !== undefined) && free && memTotal !== null && memTotal > 0) {
      const sum = new Float64Array(w.t.length);
      let minFree = Infinity;
      for (let i = 0; i < sum.length; i++) {
        sum[i] = parts.reduce((n, v) => n + ((v as Float64Array)[i] as number), 0);
        const f = free[i] as number;
        if (Number.isFinite(f) && f < minFree) minFree = f;
      }
      judge.define('system.unexplainedWithCaches', sum);
      const pc = judge.values(SYSTEM.pageCache);
      const turnover = pc ? bulkCacheTurnover(finitePoints(w.t, pc).v, rem.growthBytes) : 0;
      // Judged only where enough samples are quiet to judge a trend at all (half of them).
      const quiet = pc ? remainderAtQuietSamples(w.t, parts[0] as Float64Array, pc, rem.growthBytes) : undefined;
      if (quiet && quiet.quiet * 2 >= w.t.length) judge.define('system.unexplainedAtQuietSamples', quiet.values);
      const atQuiet = quiet && quiet.quiet * 2 >= w.t.length ? judge.judge('system.unexplainedAtQuietSamples') : undefined;
      const down = remainderInTransit(rem, judge.judge('system.unexplainedWithCaches'), Number.isFinite(minFree) ? minFree / memTotal : null, turnover, atQuiet);
      if (down) { aggregateVerdicts.set(groupKey('unexplained'), down); judge.verdicts.set(groupKey('unexplained'), down); }
    }
  }
  // Parts the total contradicts are not leaks (rules/part_of_whole.ts).
  const growthOf = (keys: string[]): number | null => {
    let n = 0;
    for (const k of keys) { const v = judge.verdicts.get(k); if (!v) return null; n += v.growthBytes; }
    return n;
  };
  // The most the total can have grown by its own confidence intervals: growth + (CI high - rate) x span
  // (a few-samples verdict has no interval: its growth is all there is).
  const spanSec = w.t.length > 1 ? (w.t[w.t.length - 1] as number) - (w.t[0] as number) : 0;
  const upperGrowthOf = (keys: string[]): number | null => {
    let n = 0;
    for (const k of keys) {
      const v = judge.verdicts.get(k);
      if (!v) return null;
      const hi = v.ci[1];
      n += v.growthBytes + (hi === null ? 0 : Math.max(0, hi - v.rateBytesPerSec) * spanSec);
    }
    return n;
  };
  const checkParts = <T extends SeriesVerdict>(rows: T[], aggKeys: string[], totalKeys: string[], label: string): void => {
    if (aggKeys.some((k) => aggregateVerdicts.get(k)?.verdict === 'leak')) return;
    const down = contradictedByTotal(rows, growthOf(totalKeys), label, upperGrowthOf(totalKeys));
    for (const d of down ?? []) {
      const i = rows.findIndex((r) => r.key === d.key);
      if (i >= 0) rows[i] = d;
      judge.verdicts.set(d.key, d);
    }
  };
  checkParts(culprits.slab, [groupKey('slabUnreclaimable')], [groupKey('slabUnreclaimable'), groupKey('slabReclaimable')], 'slab (SUnreclaim + SReclaimable)');
  checkParts(culprits.vmalloc, [groupKey('vmalloc')], [groupKey('vmalloc')], 'vmalloc (VmallocUsed)');

  // What a reclaim probe showed: fell = cache, stayed = pinned (rules/reclaim_probe.ts).
  let reclaimProbe: Analysis['reclaimProbe'] = null;
  if (lastProbe) {
    reclaimProbe = { atSec: probes.map((e) => e.atSec), fell: [], stayed: [] };
    const revise = <T extends SeriesVerdict>(rows: T[]): void => {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i] as T;
        const o = outcome(r);
        if (o && (r.verdict === 'leak' || r.verdict === 'inconclusive' || r.rule === 'dependent')) {
          const lv = { key: o.key, beforeBytes: o.beforeBytes, afterBytes: o.afterBytes, growthBytes: o.growthBytes };
          if (o.fell) reclaimProbe?.fell.push(lv); else reclaimProbe?.stayed.push(lv);
        }
        const d = judgedByProbe(r, o, lastProbe);
        if (d) { rows[i] = d; judge.verdicts.set(d.key, d); }
      }
    };
    revise(culprits.slab);
    revise(culprits.vmalloc);
    revise(culprits.process);
    for (const [k, v] of aggregateVerdicts) {
      const rows = [v];
      revise(rows);
      if (rows[0] !== v) aggregateVerdicts.set(k, rows[0] as SeriesVerdict);
    }
  }

  // Leaks by kind.
  const leaks: Leak[] = [];
  for (const a of AGGREGATES) {
    const agg = a.keys.map((k) => aggregateVerdicts.get(k)).filter((v): v is SeriesVerdict => v?.verdict === 'leak');
    const rows = familyRows(culprits, a.family);
    const rowLeaks = rows.filter((r) => r.verdict === 'leak');
    if (agg.length === 0 && rowLeaks.length === 0) continue;
    const lead = agg.sort((x, y) => y.rateBytesPerSec - x.rateBytesPerSec)[0];
    const names = [...rowLeaks, ...rows.filter((r) => r.verdict === 'inconclusive' && r.growthBytes > 0)].slice(0, 8).map((r) => r.key);
    const memberClusters = clusters.filter((c) => c.members.some((m) => names.includes(m.key))).map((c) => c.id);
    const ownerKind = a.kind === 'kernel-stack' ? 'meminfo.KernelStack' : a.kind === 'kernel-pagetables' ? 'meminfo.PageTables' : undefined;
    const owners = culprits.owner
      .filter((o) => (ownerKind ? o.kernelKey === ownerKind : names.includes(o.kernelKey)))
      .map((o) => ({ comm: o.comm, pid: o.pid, counter: o.counter }))
      .filter((o, i, all) => all.findIndex((x) => x.pid === o.pid && x.counter === o.counter) === i);
    let leak: Leak;
    if (lead) {
      leak = {
        kind: a.kind, subject: a.label, key: lead.key, rateBytesPerSec: lead.rateBytesPerSec, ci: lead.ci, ciLevel: lead.ciLevel,
        sinceSec: lead.sinceSec, since: sinceIso(table, lead.sinceSec), growthBytes: lead.growthBytes, confidence: confidenceOf(lead),
        culprits: names, clusters: memberClusters, owners, evidence: lead.evidence, nextStep: lead.nextStep,
      };
    } else {
      const first = rowLeaks[0] as SeriesVerdict;
      const level = rowLeaks.reduce<ConfidenceLevel>((l, r) => minLevel(l, r.level), 'high');
      leak = {
        kind: a.kind, subject: rowLeaks.length === 1 ? subjectOf(first.key) : `${a.label}: ${rowLeaks.length} series`, key: first.key,
        rateBytesPerSec: rowLeaks.reduce((n, r) => n + r.rateBytesPerSec, 0), ci: sumCi(rowLeaks), ciLevel: first.ciLevel,
        sinceSec: Math.min(...rowLeaks.map((r) => r.sinceSec)), since: null, growthBytes: rowLeaks.reduce((n, r) => n + r.growthBytes, 0),
        confidence: { level, reason: `${confidenceOf(first).reason}; the ${a.label} total does not show it on its own` },
        culprits: names, clusters: memberClusters, owners, evidence: first.evidence, nextStep: first.nextStep,
      };
      leak.since = sinceIso(table, leak.sinceSec);
    }
    leaks.push(leak);
  }
  // User-declared files: one leak per file.
  const fileLeaks = new Map<string, SeriesVerdict[]>();
  for (const r of culprits.file) if (r.verdict === 'leak') fileLeaks.set(r.file, [...(fileLeaks.get(r.file) ?? []), r]);
  for (const [name, rows] of fileLeaks) {
    const lead = rows[0] as SeriesVerdict;
    leaks.push({
      kind: 'file', subject: `declared file ${name}`, key: lead.key, rateBytesPerSec: lead.rateBytesPerSec, ci: lead.ci, ciLevel: lead.ciLevel,
      sinceSec: lead.sinceSec, since: sinceIso(table, lead.sinceSec), growthBytes: lead.growthBytes, confidence: confidenceOf(lead),
      culprits: rows.map((r) => r.key), clusters: clusters.filter((c) => c.members.some((m) => rows.some((r) => r.key === m.key))).map((c) => c.id),
      owners: [], evidence: lead.evidence, nextStep: lead.nextStep,
    });
  }
  leaks.sort((x, y) => y.rateBytesPerSec - x.rateBytesPerSec || y.growthBytes - x.growthBytes);

  const attribution = attribute(judge, basis, culprits);

  // Forecast from the system series when it leaks, else from the sum of the leaks.
  const sys = system[0];
  const availableNow = lastFinite('meminfo.MemAvailable') ?? (memTotal !== null && sys ? memTotal - sys.lastBytes : null);
  const endSec = (w.t[w.t.length - 1] as number | undefined) ?? 0;
  const endMs = table.startedAtMs !== undefined && table.meta.timeSource !== 'index' ? table.startedAtMs + endSec * 1000 : undefined;
  const sysLeaks = sys?.verdict === 'leak';
  const forecast = forecastOom({
    availableBytes: availableNow,
    memTotalBytes: memTotal,
    zones: table.lastZones,
    fall: sysLeaks && sys ? sys : leaks.length > 0 ? { rateBytesPerSec: leaks.reduce((n, l) => n + l.rateBytesPerSec, 0), ci: sumCi(leaks.map((l) => ({ ci: l.ci } as SeriesVerdict))), ciLevel: leaks[0]?.ciLevel ?? null } : sys ?? null,
    leaking: sysLeaks || leaks.length > 0,
    level: sysLeaks && sys ? sys.level : leaks[0]?.confidence.level ?? sys?.level ?? 'low',
    rateSource: sysLeaks ? 'MemAvailable' : leaks.length > 0 ? 'the leaks found' : 'MemAvailable',
    endMs,
    // One interval more than first-to-last: ten minutes of samples every 2 s is a ten-minute recording.
    spanSec: w.t.length > 1 ? (endSec - (w.t[0] as number)) * (w.t.length / (w.t.length - 1)) : 0,
  });

  // The verdict.
  let verdict: Analysis['verdict'];
  let confidence: Confidence;
  const lead = leaks[0];
  if (lead) {
    verdict = 'leak';
    confidence = lead.confidence;
  } else if (!sys || sys.points < MIN_TREND_POINTS || sys.verdict === 'inconclusive') {
    verdict = 'inconclusive';
    confidence = { level: 'low', reason: !sys ? 'no MemAvailable, MemFree or free output in the window' : sys.points < MIN_TREND_POINTS ? `only ${sys.points} samples of system memory` : `system memory: ${sys.evidence[sys.evidence.length - 1] ?? 'inconclusive'}` };
  } else {
    const open = [...aggregateVerdicts.values()].filter((v) => v.verdict === 'inconclusive' && v.growthBytes > 0);
    if (open.length > 0) {
      verdict = 'inconclusive';
      confidence = { level: 'low', reason: `${open.map((v) => v.key).join(', ')} may be growing: record longer` };
    } else {
      verdict = 'no-leak';
      confidence = { level: sys.level, reason: `${sys.test} on ${sys.points} samples: ${sys.verdict}` };
    }
  }

  return {
    schema: ANALYSIS_SCHEMA,
    source: table.meta.source,
    verdict,
    confidence,
    summary: '',
    window: {
      fromSec: (w.t[0] as number | undefined) ?? 0,
      toSec: endSec,
      samples: samplesIn(table, w.from, w.to),
      startedAt: table.startedAtMs !== undefined && table.meta.timeSource !== 'index' ? new Date(table.startedAtMs + ((w.t[0] as number | undefined) ?? 0) * 1000).toISOString() : null,
      timeSource: table.meta.timeSource ?? null,
      intervalSec: table.meta.intervalSec ?? null,
    },
    system,
    leaks,
    attribution,
    culprits,
    clusters,
    own: ownFootprint(judge, ownPids, ownRows, apart),
    reclaimProbe,
    forecast,
    stats: { seriesTotal: w.keys.length, seriesJudged: judge.judged, seriesSkippedFlat: judge.skippedFlat, elapsedMs: now() - started },
    notes,
  };
}

/** Samples behind points [from, to) of the table (a binned table's points are bin means). */
function samplesIn(table: SeriesTable, from: number, to: number): number {
  const c = table.binCounts;
  if (!c) return to - from;
  let n = 0;
  for (let i = from; i < to; i++) n += c[i] as number;
  return n;
}

/** Culprit series worth a test, with their kind (the same selection rankCulprits makes). */
function candidateJobs(table: SeriesTable, o: AnalyzeRecordingOptions, jo: JudgeOptions): { t: Float64Array; jobs: SeriesJob[] } {
  const w = windowOf(table, o.fromSec, o.toSec);
  const jobs: SeriesJob[] = [];
  for (const key of w.keys) {
    const k = parseCulpritKey(key);
    if (!k) continue;
    const v = w.get(key);
    if (!v) continue;
    const p = finitePoints(w.t, v);
    // The worker pool shares one time axis: only series sampled at every point of the window go there.
    if (p.v.length !== w.t.length || p.v.length < MIN_TREND_POINTS || isFlat(p, jo)) continue;
    const kind: SeriesKind = k.family === 'slab' ? slabKind(k.name) : 'normal';
    jobs.push({ subject: key, v: Float64Array.from(v), kind });
  }
  return { t: Float64Array.from(w.t), jobs };
}

/**
 * Same result as analyzeRecording, with the culprit series judged on all cores first when the recording is
 * large (more than `minPoints` values to judge; default 2,000,000).
 */
export async function analyzeRecordingParallel(table: SeriesTable, options: AnalyzeRecordingOptions = {}, minPoints = 2_000_000): Promise<Analysis> {
  const memTotal = (() => {
    const v = table.series.get('meminfo.MemTotal') ?? table.series.get('free.mem.total');
    if (!v) return undefined;
    for (let i = v.length - 1; i >= 0; i--) if (Number.isFinite(v[i] as number)) return v[i] as number;
    return undefined;
  })();
  const jo: JudgeOptions = {};
  if (memTotal !== undefined) jo.memTotalBytes = memTotal;
  if (options.alpha !== undefined) jo.alpha = options.alpha;
  if (options.minRateBytesPerSec !== undefined) jo.minRateBytesPerSec = options.minRateBytesPerSec;
  const { t, jobs } = candidateJobs(table, options, jo);
  if (jobs.length * t.length < minPoints || jobs.length < 4) return analyzeRecording(table, options);
  const findings = await analyzeParallel(t, jobs, analyzeOptionsFor(jo));
  const precomputed = new Map<string, Finding>(findings.map((f) => [f.subject, f]));
  return analyzeRecording(table, { ...options, precomputed });
}
