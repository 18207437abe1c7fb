/**
 * One series in, one finding out: resolves options (nothing read from globals) and runs the ordered policy
 * of rules/index.ts. t in seconds (ascending), v in bytes.
 */
import type { Finding } from '../model/finding.js';
import type { HamedRaoOptions } from './stats/mann_kendall.js';
import { runPolicy, type PolicyOptions, type SeriesKind } from './rules/index.js';
import { binSeries } from './stats/bin.js';
import { ANALYSIS_MAX_POINTS } from '../model/series_table.js';

export interface AnalyzeOptions {
  subject?: string;
  kind?: SeriesKind;
  /** Default 0.01. */
  alpha?: number;
  /** Default: the largest of 1% of MemTotal per day, 1% of the series' mean level per day, one page per hour. */
  minRateBytesPerSec?: number;
  memTotalBytes?: number;
  /** Default: max(4096, 1e-6 MemTotal). */
  flatBytes?: number;
  /** Default 600 (rules/short_recording.ts). */
  shortSpanSec?: number;
  /** Default: max(64 KiB, 1e-4 MemTotal) (rules/short_recording.ts). */
  materialBytes?: number;
  /** Default 10 ("very strong" on Kass and Raftery's scale). */
  minDeltaBic?: number;
  /** A bound on growth below this proves no material leak (rules/bounded.ts). Default 0.1% of MemTotal per hour. */
  boundRateBytesPerSec?: number;
  maxBins?: number;
  /**
   * A longer series is judged on the means of this many consecutive bins (model/series_table.ts,
   * ANALYSIS_MAX_POINTS, says why and what it does to the interval). Default ANALYSIS_MAX_POINTS.
   */
  maxPoints?: number;
  /** Theil-Sen pairs sampled above this many pairs. Default 200,000. */
  maxPairs?: number;
  seed?: number;
  hamedRao?: HamedRaoOptions;
}

const DAY = 86400;
/** Below ten minutes a recording shows that memory rose, not that the rise persists. */
export const SHORT_SPAN_SEC = 600;

export function resolveOptions(v: Float64Array, options: AnalyzeOptions): PolicyOptions {
  let mean = 0;
  for (let i = 0; i < v.length; i++) mean += v[i] as number;
  mean = v.length > 0 ? mean / v.length : 0;
  const memTotal = options.memTotalBytes ?? 0;
  return {
    kind: options.kind ?? 'normal',
    alpha: options.alpha ?? 0.01,
    minRateBytesPerSec: options.minRateBytesPerSec ?? Math.max((0.01 * memTotal) / DAY, (0.01 * Math.abs(mean)) / DAY, 4096 / 3600),
    flatBytes: options.flatBytes ?? Math.max(4096, 1e-6 * memTotal),
    shortSpanSec: options.shortSpanSec ?? SHORT_SPAN_SEC,
    materialBytes: options.materialBytes ?? Math.max(64 * 1024, 1e-4 * memTotal),
    boundRateBytesPerSec: options.boundRateBytesPerSec ?? (1e-3 * memTotal) / 3600,
    minDeltaBic: options.minDeltaBic ?? 10,
    maxBins: options.maxBins ?? 400,
    maxPairs: options.maxPairs ?? 200_000,
    seed: options.seed ?? 0x5eed,
    hamedRao: options.hamedRao ?? {},
  };
}

export function analyzeSeries(t: Float64Array, v: Float64Array, options: AnalyzeOptions = {}): Finding {
  if (t.length !== v.length) throw new RangeError(`analyzeSeries: t has ${t.length} points, v has ${v.length}`);
  const subject = options.subject ?? 'series';
  const o = resolveOptions(v, options);
  if (t.length < 3) {
    return {
      subject,
      verdict: 'inconclusive',
      rule: 'input',
      rateBytesPerSec: 0,
      ci: [-Infinity, Infinity],
      sinceSec: (t[0] as number | undefined) ?? 0,
      confidence: 0,
      test: 'none',
      evidence: [`only ${t.length} samples`],
      recordMoreSec: 600,
      nextStep: 'keep recording',
    };
  }
  const maxPoints = options.maxPoints ?? ANALYSIS_MAX_POINTS;
  if (t.length > maxPoints) {
    // Bin means, judged like samples; the finding says so first.
    const b = binSeries(t, v, maxPoints);
    const view = { t: b.t, v: b.v, what: 'bin means' };
    const f = runPolicy({ subject, options: o, full: view, view });
    f.evidence.unshift(`binned: ${t.length} samples judged as ${b.t.length} means of ~${(t.length / b.t.length).toFixed(0)} consecutive samples`);
    return f;
  }
  const view = { t, v, what: 'samples' };
  return runPolicy({ subject, options: o, full: view, view });
}
