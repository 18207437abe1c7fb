/**
 * Guard: growth that saturates (an LRU cache, a pool filling up, a process warming up) is bounded. Decided by
 * comparing models, not by eye: the saturating exponential a - b exp(-t/tau) must beat the line by
 * `minDeltaBic` and approach from below (b > 0). Then:
 *   - bent within the recording (tau <= span / 2, so >= 86% of the rise is seen), and what is left after
 *     the curve settled (t >= t0 + 3 tau) does not keep rising above the curve => bounded;
 *   - settled, but the residuals after it still rise (a warm-up with a leak under it: the curve levels off
 *     to a slope, not to a plateau) => later rules judge the data after the curve settled;
 *   - still bending (tau > span / 2) => inconclusive, with how long to record. The data say growth slows
 *     down, strongly (ΔBIC), so calling it a leak would extrapolate a line the data reject; calling it
 *     bounded would trust an asymptote not yet seen. This is what a warm-up looks like in the first minutes
 *     of a recording (bench/detect.ts found "leaks" at 100x the true rate there before this rule).
 */
import type { View } from './rule.js';
import { bicOf, modelOf, scoresText, shapesOf, slice, trendFinding, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytes, formatBytesPerSec, formatDuration } from '../../model/units.js';

/** Samples the settled part must hold for its residual trend to be tested. */
const MIN_SETTLED_POINTS = 12;

export const saturatingRule: Rule = {
  name: 'saturating',
  apply(ctx: RuleContext): Decision {
    const o = ctx.options;
    const sh = shapesOf(ctx.view, o);
    if (!sh) return { kind: 'pass', evidence: [] };
    const s = sh.cmp.saturating;
    const margin = bicOf(sh.cmp, 'linear') - bicOf(sh.cmp, 'saturating');
    const t = ctx.view.t;
    const t0 = t[0] as number;
    const tEnd = t[t.length - 1] as number;
    const span = tEnd - t0;
    if (!(margin >= o.minDeltaBic) || !(s.b > 0)) return { kind: 'pass', evidence: [] };
    const fit = `saturating a - b·exp(-t/τ): a=${formatBytes(s.a)}, b=${formatBytes(s.b)}, τ=${formatDuration(s.tauSec)}, R²=${s.r2.toFixed(4)}; line R²=${sh.cmp.linear.r2.toFixed(4)}; ΔBIC ${margin.toFixed(1)} [${scoresText(sh.cmp)}]`;
    if (s.tauSec > span / 2) {
      const tr = trendOf(ctx.view, o);
      const f = trendFinding(ctx.view, tr, 'inconclusive', [`still bending: ${fit}; growth slows down, but τ exceeds half the recording: too early to tell a warm-up from a leak`], o);
      f.model = modelOf(sh.cmp, 'saturating');
      f.recordMoreSec = Math.max(2 * s.tauSec - span, span * 0.1);
      f.evidence.push(`record about ${formatDuration(f.recordMoreSec)} more (until τ is at most half the recording)`);
      f.nextStep = 'keep recording: a warm-up levels off near the fitted asymptote, a leak keeps rising after it';
      return { kind: 'verdict', finding: f };
    }
    // Settled: does anything keep rising above the fitted curve?
    const settledAt = firstIndexAtOrAfter(t, s.t0 + 3 * s.tauSec);
    if (t.length - settledAt >= MIN_SETTLED_POINTS) {
      const settled = slice(ctx.view, settledAt);
      const resid = new Float64Array(settled.v.length);
      for (let i = 0; i < resid.length; i++) resid[i] = (settled.v[i] as number) - (s.a - s.b * Math.exp(-((settled.t[i] as number) - s.t0) / s.tauSec));
      const residView: View = { t: settled.t, v: resid, what: 'residuals' };
      const rt = trendOf(residView, o);
      if (rt.pValue < o.alpha && rt.ci[0] > 0 && rt.slope >= o.minRateBytesPerSec) {
        return {
          kind: 'pass',
          evidence: [`${fit}; after the curve settled (t >= ${formatDuration(settled.t[0] as number)}) the data still rise above it at ${formatBytesPerSec(rt.slope)}: a leak under a warm-up is judged there`],
          view: settled,
        };
      }
    }
    // Rate now: the trend over the last quarter, where the curve is nearly flat.
    const lastQuarter = slice(ctx.view, Math.floor((t.length * 3) / 4));
    const tr = trendOf(lastQuarter, o);
    const f = trendFinding(lastQuarter, tr, 'bounded', [`bounded: ${fit}; ${((1 - Math.exp(-span / s.tauSec)) * 100).toFixed(1)}% of the rise is done`], o);
    f.model = modelOf(sh.cmp, 'saturating');
    f.sinceSec = t0;
    f.nextStep = `expect a plateau near ${formatBytes(s.a)}; if it must stay lower, cap the cache or pool`;
    return { kind: 'verdict', finding: f };
  },
};

function firstIndexAtOrAfter(t: Float64Array, x: number): number {
  let i = 0;
  while (i < t.length && (t[i] as number) < x) i++;
  return i;
}
