/**
 * What a rule sees and what it returns. A rule either decides (a verdict with its evidence) or passes,
 * possibly narrowing what later rules judge (the troughs of a sawtooth, the segment after a warm-up or a step).
 */
import type { Finding, FindingModel } from '../../model/finding.js';
import type { HamedRaoOptions } from '../stats/mann_kendall.js';
import { binSeries } from '../stats/bin.js';
import { compareModels, type ModelComparison } from '../stats/models.js';
import { trendTest, type TrendTest } from '../stats/trend_test.js';
import { formatBytesPerSec, formatDuration } from '../../model/units.js';

export type SeriesKind = 'reclaimable' | 'normal';

export interface PolicyOptions {
  kind: SeriesKind;
  /** Significance level of trend tests and level of confidence intervals (1 - alpha). */
  alpha: number;
  /** Rates below this are "stable" whatever their significance. */
  minRateBytesPerSec: number;
  /** A series whose whole range is within this many bytes does not move. */
  flatBytes: number;
  /** Recordings shorter than this cannot show that growth persists (rules/short_recording.ts). */
  shortSpanSec: number;
  /** Growth a short recording must show to call a leak (rules/short_recording.ts). */
  materialBytes: number;
  /** A rate bound below this shows there is no material leak (rules/bounded.ts; 0.1% of MemTotal per hour). */
  boundRateBytesPerSec: number;
  /** BIC margin a richer shape model (step, hinge, saturating) needs over the simpler ones to be believed. */
  minDeltaBic: number;
  /** Bins for shape-model searches. */
  maxBins: number;
  maxPairs: number;
  seed: number;
  hamedRao: HamedRaoOptions;
}

export interface View {
  t: Float64Array;
  v: Float64Array;
  /** What the points are, for evidence lines: "samples", "troughs". */
  what: string;
}

export interface RuleContext {
  subject: string;
  options: PolicyOptions;
  full: View;
  view: View;
}

export type Verdict = Omit<Finding, 'subject' | 'rule'>;

export type Decision =
  | { kind: 'verdict'; finding: Verdict }
  | { kind: 'pass'; evidence: string[]; view?: View; model?: FindingModel };

export interface Rule {
  name: string;
  apply(ctx: RuleContext): Decision;
}

export const pass = (evidence: string[] = [], view?: View): Decision => (view ? { kind: 'pass', evidence, view } : { kind: 'pass', evidence });

/** Three significant digits, for evidence lines (units are formatted by report/; these stay bytes). */
export function rateText(r: { slope: number; ci: [number, number] }, alpha: number): string {
  return `${formatBytesPerSec(r.slope)} (${Math.round((1 - alpha) * 100)}% CI ${formatBytesPerSec(r.ci[0])} .. ${formatBytesPerSec(r.ci[1])})`;
}

const trendCache = new WeakMap<Float64Array, { o: PolicyOptions; t: Float64Array; tr: TrendTest }>();

/** The trend test of a view; memoised per view, since a rule that passes a view on has often tested it. */
export function trendOf(view: View, o: PolicyOptions): TrendTest {
  const hit = trendCache.get(view.v);
  if (hit && hit.o === o && hit.t === view.t) return hit.tr;
  const tr = trendTest(view.t, view.v, { alpha: o.alpha, maxPairs: o.maxPairs, seed: o.seed, hamedRao: o.hamedRao });
  trendCache.set(view.v, { o, t: view.t, tr });
  return tr;
}

export function slice(view: View, from: number, to = view.t.length): View {
  return { t: view.t.subarray(from, to), v: view.v.subarray(from, to), what: view.what };
}

export interface Shapes {
  binnedT: Float64Array;
  cmp: ModelComparison;
  /** Maps a bin index to the first sample index of the view. */
  binStart(b: number): number;
}

export function shapesOf(view: View, o: PolicyOptions): Shapes | undefined {
  if (view.t.length < 12) return undefined;
  const b = binSeries(view.t, view.v, o.maxBins);
  return { binnedT: b.t, cmp: compareModels(b.t, b.v), binStart: (i) => b.starts[i] as number };
}

export function modelOf(cmp: ModelComparison, best: FindingModel['best']): FindingModel {
  const [first, second] = cmp.ranked;
  const s = cmp.scores.find((x) => x.name === best) ?? first;
  const m: FindingModel = {
    best,
    r2: s ? s.r2 : 0,
    scores: cmp.scores.map((x) => ({ name: x.name, r2: x.r2, bic: x.bic })),
  };
  if (s) {
    m.aic = s.aic;
    m.bic = s.bic;
  }
  if (first && second && s === first) m.deltaBic = second.bic - first.bic;
  if (best === 'saturating') {
    m.asymptoteBytes = cmp.saturating.a;
    m.tauSec = cmp.saturating.tauSec;
  }
  return m;
}

export function bicOf(cmp: ModelComparison, name: string): number {
  return cmp.scores.find((s) => s.name === name)?.bic ?? Infinity;
}

export function scoresText(cmp: ModelComparison): string {
  return cmp.ranked.map((s) => `${s.name} R²=${s.r2.toFixed(3)} BIC=${s.bic.toFixed(1)}`).join(', ') + ` (m=${cmp.m} bins, effective ${cmp.mEff.toFixed(0)})`;
}

/** The standard finding of a trend test on a judged view. */
export function trendFinding(view: View, tr: TrendTest, verdict: Verdict['verdict'], evidence: string[], o: PolicyOptions): Verdict {
  const f: Verdict = {
    verdict,
    rateBytesPerSec: tr.slope,
    ci: tr.ci,
    sinceSec: (view.t[0] as number | undefined) ?? 0,
    confidence: 1 - tr.pValue,
    pValue: tr.pValue,
    test: tr.test,
    evidence: [...evidence, trendLine(view, tr, o)],
  };
  return f;
}

export function trendLine(view: View, tr: TrendTest, o: PolicyOptions): string {
  const hr = tr.mk?.hamedRao;
  const corr = hr ? `, Hamed-Rao variance x${tr.varianceFactor.toFixed(2)} (${hr.significantLags} of ${hr.lagsExamined} lags)` : '';
  const samp = tr.sampled ? `, Theil-Sen sampled, ±${formatBytesPerSec(tr.sampleError)}` : '';
  return `${tr.test} on ${tr.n} ${view.what} over ${formatDuration(tr.spanSec)}: rate ${rateText(tr, o.alpha)}, z=${tr.z.toFixed(2)}, p=${tr.pValue.toExponential(2)}${corr}${samp}`;
}
