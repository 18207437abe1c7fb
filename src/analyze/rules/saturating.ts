/**
 * Guard: growth that saturates (an LRU cache, a pool filling up) is bounded. Decided by comparing models,
 * not by eye: the saturating exponential a - b exp(-t/tau) must beat the line by `minDeltaBic`, approach
 * from below (b > 0), and have bent within the recording (tau <= span / 2, so >= 86% of the rise is seen).
 * A curve with a longer tau cannot yet be told from a leak; the evidence says so and later rules decide.
 */
import { bicOf, modelOf, num, scoresText, shapesOf, slice, trendFinding, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';

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
    const fit = `saturating a - b·exp(-t/τ): a=${num(s.a)} B, b=${num(s.b)} B, τ=${num(s.tauSec)} s, R²=${s.r2.toFixed(4)}; line R²=${sh.cmp.linear.r2.toFixed(4)}; ΔBIC ${margin.toFixed(1)} [${scoresText(sh.cmp)}]`;
    if (s.tauSec > span / 2) {
      return { kind: 'pass', evidence: [`${fit}; τ exceeds half the recording: too early to call it bounded`] };
    }
    // Rate now: the trend over the last quarter, where the curve is nearly flat.
    const lastQuarter = slice(ctx.view, Math.floor((t.length * 3) / 4));
    const tr = trendOf(lastQuarter, o);
    const f = trendFinding(lastQuarter, tr, 'bounded', [`bounded: ${fit}; ${((1 - Math.exp(-span / s.tauSec)) * 100).toFixed(1)}% of the rise is done`], o);
    f.model = modelOf(sh.cmp, 'saturating');
    f.sinceSec = t0;
    f.nextStep = `expect a plateau near ${num(s.a)} B; if it must stay lower, cap the cache or pool`;
    return { kind: 'verdict', finding: f };
  },
};
