/**
 * One series of a recording judged, whatever its length: enough samples go through analyzeSeries (the trend
 * policy of rules/); two to five samples (two dumps pasted into a bug report) get a plain before/after
 * judgement that never claims significance. The result is JSON-safe (model/analysis.ts, SeriesVerdict).
 */
import type { Finding } from '../model/finding.js';
import type { ConfidenceLevel, SeriesVerdict } from '../model/analysis.js';
import { analyzeSeries, SHORT_SPAN_SEC, type AnalyzeOptions } from './trend.js';
import type { SeriesKind } from './rules/index.js';
import { formatBytes, formatDelta } from '../model/units.js';

/** Below this many samples no trend test is run: Mann-Kendall cannot reach p < 0.01 with five points. */
export const MIN_TREND_POINTS = 6;

export interface JudgeOptions {
  memTotalBytes?: number;
  alpha?: number;
  minRateBytesPerSec?: number;
  /** "index" when the recording has no clock: rates are per assumed interval and confidence is capped. */
  timeSource?: string;
  seed?: number;
}

export interface Points { t: Float64Array; v: Float64Array }

/** The finite samples of v (NaN marks "not sampled"), with their times. */
export function finitePoints(t: Float64Array, v: Float64Array): Points {
  let n = 0;
  for (let i = 0; i < v.length; i++) if (Number.isFinite(v[i] as number)) n++;
  if (n === v.length) return { t, v };
  const ot = new Float64Array(n);
  const ov = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (Number.isFinite(x)) { ot[j] = t[i] as number; ov[j] = x; j++; }
  }
  return { t: ot, v: ov };
}

/** Start and end levels: means of the first and last k samples (k grows with n, at most 10) so one noisy sample does not decide. */
export function levels(v: Float64Array): { first: number; last: number; k: number } {
  const n = v.length;
  if (n === 0) return { first: NaN, last: NaN, k: 0 };
  const k = Math.max(1, Math.min(10, Math.floor(n / 20)));
  let a = 0;
  let b = 0;
  for (let i = 0; i < k; i++) { a += v[i] as number; b += v[n - 1 - i] as number; }
  return { first: a / k, last: b / k, k };
}

export function flatBytesFor(memTotalBytes: number | undefined): number {
  return Math.max(4096, 1e-6 * (memTotalBytes ?? 0));
}

/**
 * Growth two dumps must show to be called a leak at all: 1% of MemTotal, at least four pages. Without a trend
 * test, only growth that matters to the machine's survival is worth a (low-confidence) alarm; a few seconds of a
 * busy machine move anonymous memory by tenths of a percent and must not cry wolf.
 */
export function materialBytesFor(memTotalBytes: number | undefined): number {
  return Math.max(4 * 4096, 1e-2 * (memTotalBytes ?? 0));
}
/** ... and grow by this share of its own first level. */
const FEW_SAMPLES_MIN_RELATIVE_GROWTH = 0.1;

/** Whether a series could not hold a trend worth testing: range within the flat threshold, or too small a range for the span. */
export function isFlat(p: Points, o: JudgeOptions): boolean {
  const n = p.v.length;
  if (n < 2) return true;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = p.v[i] as number;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const range = hi - lo;
  if (range <= flatBytesFor(o.memTotalBytes)) return true;
  if (n < MIN_TREND_POINTS) return false;
  const span = (p.t[n - 1] as number) - (p.t[0] as number);
  const minRate = o.minRateBytesPerSec ?? Math.max((0.01 * (o.memTotalBytes ?? 0)) / 86400, 4096 / 3600);
  return span > 0 && range / span < minRate;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * Confidence from the number of samples, the verdict and the p-value. A recording shorter than SHORT_SPAN_SEC
 * is "low" whatever its sample count: 120 one-second samples prove that memory moved in those two minutes,
 * not that it keeps moving (rules/short_recording.ts).
 */
export function levelOf(n: number, verdict: Finding['verdict'], pValue: number | undefined, o: JudgeOptions, spanSec = Infinity): ConfidenceLevel {
  let level: ConfidenceLevel = n >= 30 ? 'high' : n >= 12 ? 'medium' : 'low';
  if (n > 1 && (spanSec * n) / (n - 1) < SHORT_SPAN_SEC) level = 'low';
  if (verdict === 'inconclusive') level = 'low';
  if (verdict === 'leak' && pValue !== undefined && pValue > (o.alpha ?? 0.01) / 10 && level === 'high') level = 'medium';
  if (o.timeSource === 'index' && level === 'high') level = 'medium';
  return level;
}

/** A finding of analyzeSeries made JSON-safe, with the window's levels. */
export function fromFinding(key: string, f: Finding, p: Points, o: JudgeOptions): SeriesVerdict {
  const lv = levels(p.v);
  const alpha = o.alpha ?? 0.01;
  const hasCi = Number.isFinite(f.ci[0]) || Number.isFinite(f.ci[1]);
  return {
    key,
    verdict: f.verdict,
    rule: f.rule,
    test: f.test,
    rateBytesPerSec: f.rateBytesPerSec,
    ci: [finiteOrNull(f.ci[0]), finiteOrNull(f.ci[1])],
    ciLevel: hasCi ? 1 - alpha : null,
    sinceSec: f.sinceSec,
    confidence: f.confidence,
    pValue: f.pValue ?? null,
    level: levelOf(p.v.length, f.verdict, f.pValue, o, p.v.length > 1 ? (p.t[p.t.length - 1] as number) - (p.t[0] as number) : 0),
    points: p.v.length,
    firstBytes: lv.first,
    lastBytes: lv.last,
    growthBytes: lv.last - lv.first,
    evidence: f.evidence,
    nextStep: f.nextStep ?? null,
    recordMoreSec: f.recordMoreSec ?? null,
    bound: f.bound ?? null,
  };
}

/**
 * Two to five samples: what changed between them, judged by size alone. A leak needs growth of at least
 * materialBytes and 10% of the starting level, with no sample below the first; it is always "low" confidence.
 */
export function judgeFewSamples(key: string, p: Points, kind: SeriesKind, o: JudgeOptions): SeriesVerdict {
  const n = p.v.length;
  const first = (p.v[0] as number | undefined) ?? NaN;
  const last = (p.v[n - 1] as number | undefined) ?? NaN;
  const t0 = (p.t[0] as number | undefined) ?? 0;
  const span = n > 1 ? (p.t[n - 1] as number) - t0 : 0;
  const growth = last - first;
  const rate = span > 0 ? growth / span : 0;
  const flat = flatBytesFor(o.memTotalBytes);
  const material = materialBytesFor(o.memTotalBytes);
  const rel = first > 0 ? growth / first : growth > 0 ? Infinity : 0;
  let monotone = true;
  for (let i = 1; i < n; i++) if ((p.v[i] as number) < first - flat) monotone = false;
  const relText = Number.isFinite(rel) ? `${(rel * 100).toFixed(0)}%` : 'from nothing';
  const what = `${n} samples over ${span} s: ${formatBytes(first)} -> ${formatBytes(last)} (${formatDelta(growth)}, ${relText})`;
  let verdict: SeriesVerdict['verdict'];
  const evidence = [`few samples: ${what}; no trend test is possible with fewer than ${MIN_TREND_POINTS} samples`];
  if (n < 2) { verdict = 'inconclusive'; evidence.push('a single sample shows no change'); }
  else if (Math.abs(growth) <= flat) { verdict = 'stable'; evidence.push(`change within ${formatBytes(flat)}: no growth between the samples`); }
  else if (kind === 'reclaimable') { verdict = 'reclaimable'; evidence.push('reclaimable memory: growth here is not a leak'); }
  else if (growth < 0) { verdict = 'stable'; evidence.push('shrank between the samples'); }
  else if (growth >= material && rel >= FEW_SAMPLES_MIN_RELATIVE_GROWTH && monotone) {
    verdict = 'leak';
    evidence.push(`grew by at least ${formatBytes(material)} and 10% of its first level, never below it: a leak if the samples are typical (low confidence)`);
  } else { verdict = 'inconclusive'; evidence.push(`growth below ${formatBytes(material)} or 10% of its level, or not monotone`); }
  return {
    key,
    verdict,
    rule: 'few-samples',
    test: `before/after comparison of ${n} samples (no significance claimed)`,
    rateBytesPerSec: rate,
    ci: [null, null],
    ciLevel: null,
    sinceSec: t0,
    confidence: verdict === 'leak' ? Math.min(0.5, 0.2 + 0.05 * n) : 0,
    pValue: null,
    level: 'low',
    points: n,
    firstBytes: first,
    lastBytes: last,
    growthBytes: growth,
    evidence,
    nextStep: verdict === 'leak' || verdict === 'inconclusive' ? 'record more samples at a steady interval (memsleuth record) to measure the rate with an interval' : null,
    recordMoreSec: null,
  };
}

function analyzeOptions(key: string, kind: SeriesKind, o: JudgeOptions): AnalyzeOptions {
  const a: AnalyzeOptions = { subject: key, kind };
  if (o.memTotalBytes !== undefined) a.memTotalBytes = o.memTotalBytes;
  if (o.alpha !== undefined) a.alpha = o.alpha;
  if (o.minRateBytesPerSec !== undefined) a.minRateBytesPerSec = o.minRateBytesPerSec;
  if (o.seed !== undefined) a.seed = o.seed;
  return a;
}

export function analyzeOptionsFor(o: JudgeOptions): AnalyzeOptions {
  const { subject: _s, kind: _k, ...rest } = analyzeOptions('', 'normal', o);
  return rest;
}

/** Judges one series (values aligned with t, NaN where not sampled). A precomputed finding (parallel path) is used when given. */
export function judgeSeries(key: string, t: Float64Array, v: Float64Array, kind: SeriesKind, o: JudgeOptions, precomputed?: Finding): SeriesVerdict {
  const p = finitePoints(t, v);
  if (p.v.length < MIN_TREND_POINTS) return judgeFewSamples(key, p, kind, o);
  const f = precomputed ?? analyzeSeries(p.t, p.v, analyzeOptions(key, kind, o));
  return fromFinding(key, f, p, o);
}

/** The recording's samples between two times: what every analysis step sees. */
export interface WindowView {
  t: Float64Array;
  from: number;
  to: number;
  keys: string[];
  get(key: string): Float64Array | undefined;
}

export function windowOf(table: { t: Float64Array; series: Map<string, Float64Array> }, fromSec?: number, toSec?: number): WindowView {
  const t = table.t;
  let from = 0;
  let to = t.length;
  if (fromSec !== undefined) while (from < to && (t[from] as number) < fromSec) from++;
  if (toSec !== undefined) while (to > from && (t[to - 1] as number) > toSec) to--;
  const tw = t.subarray(from, to);
  return {
    t: tw,
    from,
    to,
    keys: [...table.series.keys()],
    get: (key) => table.series.get(key)?.subarray(from, to),
  };
}

/**
 * Judges series of one window once each, remembering the verdicts; `ifMoving` skips flat series cheaply
 * (one pass, no sorting, no finding built), which is how thousands of idle series cost almost nothing.
 */
export class SeriesJudge {
  readonly verdicts = new Map<string, SeriesVerdict>();
  judged = 0;
  skippedFlat = 0;
  private readonly derived = new Map<string, Float64Array>();

  constructor(readonly w: WindowView, readonly o: JudgeOptions, private readonly precomputed?: ReadonlyMap<string, Finding>) {}

  /** Adds a series computed from others (system.unavailable, system.unexplained, ...). */
  define(key: string, v: Float64Array): void {
    this.derived.set(key, v);
  }

  values(key: string): Float64Array | undefined {
    return this.derived.get(key) ?? this.w.get(key);
  }

  /** Always a verdict when the series exists (flat series get the policy's "stable"). */
  judge(key: string, kind: SeriesKind = 'normal'): SeriesVerdict | undefined {
    const done = this.verdicts.get(key);
    if (done) return done;
    const v = this.values(key);
    if (!v) return undefined;
    const p = finitePoints(this.w.t, v);
    if (p.v.length === 0) return undefined;
    const r = p.v.length < MIN_TREND_POINTS
      ? judgeFewSamples(key, p, kind, this.o)
      : fromFinding(key, this.precomputed?.get(key) ?? analyzeSeries(p.t, p.v, analyzeOptions(key, kind, this.o)), p, this.o);
    this.judged++;
    this.verdicts.set(key, r);
    return r;
  }

  /** A verdict only for series that move; flat ones are counted and skipped. */
  ifMoving(key: string, kind: SeriesKind = 'normal'): SeriesVerdict | undefined {
    const done = this.verdicts.get(key);
    if (done) return done;
    const v = this.values(key);
    if (!v) return undefined;
    const p = finitePoints(this.w.t, v);
    if (p.v.length === 0) return undefined;
    if (isFlat(p, this.o)) { this.skippedFlat++; return undefined; }
    return this.judge(key, kind);
  }
}
