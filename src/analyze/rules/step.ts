/**
 * Guard: a one-off step (a daemon started, a buffer allocated once, a cache resized) is not a leak.
 * A level shift (step model) must beat the line, the hinge and the saturating curve by `minDeltaBic`; then
 * the segment after the step decides: flat after it => stable; still growing => later rules judge only
 * the segment after the step.
 */
import { bicOf, modelOf, rateText, shapesOf, slice, trendFinding, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytes, formatDuration } from '../../model/units.js';

export const stepRule: Rule = {
  name: 'step',
  apply(ctx: RuleContext): Decision {
    const o = ctx.options;
    const sh = shapesOf(ctx.view, o);
    const step = sh?.cmp.step;
    if (!sh || !step) return { kind: 'pass', evidence: [] };
    const others = Math.min(bicOf(sh.cmp, 'linear'), bicOf(sh.cmp, 'saturating'), bicOf(sh.cmp, 'hinge'));
    const margin = others - bicOf(sh.cmp, 'step');
    if (!(margin >= o.minDeltaBic)) return { kind: 'pass', evidence: [] };
    const at = sh.binStart(step.index);
    const after = slice(ctx.view, at);
    const tr = trendOf(after, o);
    const line = `step: level jumps by ${formatBytes(step.jump)} at t=${formatDuration(step.stepT)} (step model beats the others by ΔBIC ${margin.toFixed(1)})`;
    const growing = tr.pValue < o.alpha && tr.ci[0] > 0 && tr.slope >= o.minRateBytesPerSec;
    // A drop and then a climb is how a GC or pool cycle looks when the recording holds fewer than two of them:
    // a refill, not yet a trend. Only a longer recording (several cycles, judged on their troughs) decides.
    // Once the climb passes the level before the drop, it is growth, not a refill.
    const before = slice(ctx.view, 0, at).v;
    let peak = -Infinity;
    for (let i = 0; i < before.length; i++) peak = Math.max(peak, before[i] as number);
    const refilling = (after.v[after.v.length - 1] as number) <= peak;
    if (growing && refilling && step.jump < 0 && (ctx.full.t[ctx.full.t.length - 1] as number) - (ctx.full.t[0] as number) < o.shortSpanSec) {
      const f = trendFinding(after, tr, 'inconclusive', [`${line}; climbing again after the drop at ${rateText(tr, o.alpha)}: a cycle refilling (GC, pool) looks the same until several cycles are recorded`], o);
      f.recordMoreSec = Math.max(o.shortSpanSec - ((ctx.full.t[ctx.full.t.length - 1] as number) - (ctx.full.t[0] as number)), 60);
      f.nextStep = 'keep recording: several cycles show whether the lows rise';
      return { kind: 'verdict', finding: f };
    }
    if (growing) {
      return { kind: 'pass', evidence: [`${line}; still growing after it at ${rateText(tr, o.alpha)}: judging after the step`], view: after };
    }
    const f = trendFinding(after, tr, 'stable', [`${line}; a one-off step, not a leak: no growth after it`], o);
    f.model = modelOf(sh.cmp, 'step');
    f.nextStep = 'if the step is unexpected, look at what started at that time (process starts, cache resizes)';
    return { kind: 'verdict', finding: f };
  },
};
