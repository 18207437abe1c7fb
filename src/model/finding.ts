/**
 * A verdict about one series (or allocation site), with the numbers that support it (DESIGN.md, "Findings").
 * Rates are bytes per second; times are seconds on the target's clock, like the series they come from.
 */

export type Verdict = 'leak' | 'bounded' | 'reclaimable' | 'stable' | 'inconclusive';

/** Shape that best describes the judged data. */
export type ShapeModel = 'linear' | 'saturating' | 'flat' | 'step' | 'hinge' | 'sawtooth';

export interface FindingModel {
  best: ShapeModel;
  /** Coefficient of determination of the best model on the judged data. */
  r2: number;
  aic?: number;
  bic?: number;
  /** BIC of the runner-up minus BIC of the best (higher = clearer). */
  deltaBic?: number;
  /** Saturating model: the level it approaches, and its time constant. */
  asymptoteBytes?: number;
  tauSec?: number;
  /** Every model scored, for the report. */
  scores?: { name: string; r2: number; bic: number }[];
}

export interface Finding {
  /** Series key (meminfo.SUnreclaim, slab.kmalloc-64.bytes, proc.app:42.uss) or site. */
  subject: string;
  verdict: Verdict;
  /** The rule of analyze/rules/ that decided. */
  rule: string;
  rateBytesPerSec: number;
  /** Confidence interval of the rate (level 1 - alpha). */
  ci: [number, number];
  /** Start (t, seconds) of the judged segment: after a warm-up, a step, or the first sample. */
  sinceSec: number;
  /** How sure, 0..1 (1 - p-value for a trend test; 1 for a deterministic bound). */
  confidence: number;
  pValue?: number;
  /** The test or bound used, e.g. "Mann-Kendall (Hamed-Rao) + Theil-Sen". */
  test: string;
  /** Human lines with the numbers behind the verdict, in the order they were established. */
  evidence: string[];
  nextStep?: string;
  model?: FindingModel;
  /** When inconclusive: how much longer to record before the rate can be decided. */
  recordMoreSec?: number;
  /** When bounded by the data (rules/bounded.ts): the level it holds and the fastest growth it still allows. */
  bound?: Bound;
}

/** "troughs flat at 41.2 MB over 6 cycles": the level a bounded series holds, and the rate bound the data give. */
export interface Bound {
  /** "troughs" (the lows of a sawtooth: what survives each collection) or "level" (a noisy plateau). */
  what: 'troughs' | 'level';
  levelBytes: number;
  /** Cycles of a sawtooth; null for a plateau. */
  cycles: number | null;
  spanSec: number;
  /** Upper end of the rate's confidence interval: no growth faster than this. */
  maxRateBytesPerSec: number;
}
