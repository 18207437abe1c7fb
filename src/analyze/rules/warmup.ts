/**
 * Guard: warm-up, then plateau. Memory climbs while caches and pools fill after a start, then levels off.
 * A hinge (two slopes joined at a change point) must beat the line and the saturating curve by `minDeltaBic`;
 * only the data after the change point is judged. Flat after it => bounded (the warm-up ended); growing
 * after it => later rules judge from the change point on ("since" is the change point).
 */
import { bicOf, modelOf, rateText, shapesOf, slice, trendFinding, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytesPerSec, formatDuration } from '../../model/units.js';

export const warmupRule: Rule = {
  name: 'warmup',
  apply(ctx: RuleContext): Decision {
    const o = ctx.options;
    const sh = shapesOf(ctx.view, o);
    const h = sh?.cmp.hinge;
    if (!sh || !h) return { kind: 'pass', evidence: [] };
    const margin = Math.min(bicOf(sh.cmp, 'linear'), bicOf(sh.cmp, 'saturating')) - bicOf(sh.cmp, 'hinge');
    if (!(margin >= o.minDeltaBic)) return { kind: 'pass', evidence: [] };
    const at = sh.binStart(h.index);
    const after = slice(ctx.view, at);
    const tr = trendOf(after, o);
    const line = `change point at t=${formatDuration(h.breakT)}: rate ${formatBytesPerSec(h.slopeBefore)} before, ${formatBytesPerSec(h.slopeAfter)} after (hinge beats line and saturating curve by ΔBIC ${margin.toFixed(1)})`;
    const growing = tr.pValue < o.alpha && tr.ci[0] > 0;
    if (growing || h.slopeBefore <= h.slopeAfter) {
      return { kind: 'pass', evidence: [`${line}; judging after it: ${rateText(tr, o.alpha)}`], view: after };
    }
    const verdict = h.slopeBefore > o.minRateBytesPerSec ? 'bounded' : 'stable';
    const f = trendFinding(after, tr, verdict, [`warm-up: ${line}; no growth after the change point`], o);
    f.model = modelOf(sh.cmp, 'hinge');
    return { kind: 'verdict', finding: f };
  },
};
