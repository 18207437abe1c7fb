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
    if (growing) {
      return { kind: 'pass', evidence: [`${line}; still growing after it at ${rateText(tr, o.alpha)}: judging after the step`], view: after };
    }
    const f = trendFinding(after, tr, 'stable', [`${line}; a one-off step, not a leak: no growth after it`], o);
    f.model = modelOf(sh.cmp, 'step');
    f.nextStep = 'if the step is unexpected, look at what started at that time (process starts, cache resizes)';
    return { kind: 'verdict', finding: f };
  },
};
