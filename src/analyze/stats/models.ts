/**
 * Compares shape models on (binned) data by information criteria, so "saturating or unbounded" is decided by
 * numbers, not by eye: linear (2 parameters), saturating exponential (3), hinge (4: two slopes, level, break),
 * step (4: level, slope, jump, position).
 *
 * Autocorrelated noise makes every richer model look better, so the log-likelihood is scaled by an effective
 * sample size m_eff = m (1 - r1) / (1 + r1), with r1 the lag-1 autocorrelation of the residuals of the best
 * fitting model (a saturating curve fitted by a line leaves curved residuals; those must not count as noise).
 *   BIC = m_eff ln(SSE/m) + k ln(m_eff),   AIC = m_eff ln(SSE/m) + 2k
 */
import { bestHinge, bestStep, type HingeFit, type StepFit } from './change_point.js';
import { fitLinear, fitSaturating, type LinearFit, type SaturatingFit } from './saturation.js';

export type ModelName = 'linear' | 'saturating' | 'hinge' | 'step';

export interface ModelScore {
  name: ModelName;
  params: number;
  sse: number;
  r2: number;
  aic: number;
  bic: number;
}

export interface ModelComparison {
  m: number;
  mEff: number;
  residualRho1: number;
  linear: LinearFit;
  saturating: SaturatingFit;
  hinge: HingeFit | undefined;
  step: StepFit | undefined;
  scores: ModelScore[];
  /** Lowest BIC first. */
  ranked: ModelScore[];
}

export function compareModels(t: Float64Array, v: Float64Array, minSegment = 5): ModelComparison {
  const m = t.length;
  const linear = fitLinear(t, v);
  const saturating = fitSaturating(t, v);
  const hinge = bestHinge(t, v, minSegment);
  const step = bestStep(t, v, minSegment);
  let mv = 0;
  for (let i = 0; i < m; i++) mv += v[i] as number;
  mv /= m;
  let svv = 0;
  for (let i = 0; i < m; i++) svv += ((v[i] as number) - mv) ** 2;
  const fits: { name: ModelName; params: number; sse: number }[] = [
    { name: 'linear', params: 2, sse: linear.sse },
    { name: 'saturating', params: 3, sse: saturating.sse },
  ];
  if (hinge) fits.push({ name: 'hinge', params: 4, sse: hinge.sse });
  if (step) fits.push({ name: 'step', params: 4, sse: step.sse });
  let bestFit = fits[0] as { name: ModelName; params: number; sse: number };
  for (const f of fits) if (f.sse < bestFit.sse) bestFit = f;
  const resid = residuals(t, v, bestFit.name, linear, saturating, hinge, step);
  const residualRho1 = lag1(resid);
  const r1 = Math.max(0, residualRho1);
  const mEff = Math.max(4, (m * (1 - r1)) / (1 + r1));
  // A perfect fit (noise-free synthetic data) would give ln(0); floor SSE at a tiny fraction of the variance.
  const floor = Math.max(svv * 1e-12, 1e-300);
  const scores = fits.map((f): ModelScore => {
    const ll = mEff * Math.log(Math.max(f.sse, floor) / m);
    return { name: f.name, params: f.params, sse: f.sse, r2: svv > 0 ? 1 - f.sse / svv : 1, aic: ll + 2 * f.params, bic: ll + f.params * Math.log(mEff) };
  });
  const ranked = [...scores].sort((a, b) => a.bic - b.bic);
  return { m, mEff, residualRho1, linear, saturating, hinge, step, scores, ranked };
}

export function score(c: ModelComparison, name: ModelName): ModelScore | undefined {
  return c.scores.find((s) => s.name === name);
}

function residuals(
  t: Float64Array, v: Float64Array, name: ModelName,
  linear: LinearFit, sat: SaturatingFit, hinge: HingeFit | undefined, step: StepFit | undefined,
): Float64Array {
  const m = t.length;
  const out = new Float64Array(m);
  const fitted = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const x = t[i] as number;
    if (name === 'saturating') fitted[i] = sat.a - sat.b * Math.exp(-(x - sat.t0) / sat.tauSec);
    else if (name === 'hinge' && hinge) fitted[i] = hinge.slopeBefore * x + (hinge.slopeAfter - hinge.slopeBefore) * Math.max(0, x - hinge.breakT);
    else if (name === 'step' && step) fitted[i] = step.slope * x + (x >= step.stepT ? step.jump : 0);
    else fitted[i] = linear.intercept + linear.slope * x;
  }
  // Hinge and step omit their level; remove the mean offset so residuals are centred.
  let off = 0;
  for (let i = 0; i < m; i++) off += (v[i] as number) - (fitted[i] as number);
  off /= m;
  for (let i = 0; i < m; i++) out[i] = (v[i] as number) - (fitted[i] as number) - off;
  return out;
}

function lag1(r: Float64Array): number {
  let c0 = 0;
  let c1 = 0;
  for (let i = 0; i < r.length; i++) c0 += (r[i] as number) ** 2;
  for (let i = 1; i < r.length; i++) c1 += (r[i] as number) * (r[i - 1] as number);
  return c0 > 0 ? c1 / c0 : 0;
}
