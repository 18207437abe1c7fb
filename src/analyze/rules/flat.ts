/**
 * Guard: nothing moves. Either the whole range of the series is within `flatBytes` (noise around a constant),
 * or the range divided by the span is below the rate threshold, which bounds any trend's rate: a trend of r
 * over the span moves the series by r * span, and the range is at least that. O(n), no sorting: this is how
 * most of thousands of series are skipped cheaply.
 */
import { pass, type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytes, formatBytesPerSec, formatDuration } from '../../model/units.js';

export const flatRule: Rule = {
  name: 'flat',
  apply(ctx: RuleContext): Decision {
    const { t, v } = ctx.view;
    const o = ctx.options;
    const n = t.length;
    if (n < 2) return pass();
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = v[i] as number;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const range = hi - lo;
    const span = (t[n - 1] as number) - (t[0] as number);
    if (!(span > 0)) return pass();
    const bound = range / span;
    const tiny = range <= o.flatBytes;
    if (!tiny && bound >= o.minRateBytesPerSec) return pass();
    const why = tiny
      ? `all ${n} samples within ${formatBytes(range)} (flat threshold ${formatBytes(o.flatBytes)})`
      : `range ${formatBytes(range)} over ${formatDuration(span)} bounds any trend to ${formatBytesPerSec(bound)}, below the ${formatBytesPerSec(o.minRateBytesPerSec)} threshold`;
    return {
      kind: 'verdict',
      finding: {
        verdict: 'stable',
        rateBytesPerSec: ((v[n - 1] as number) - (v[0] as number)) / span,
        ci: [-bound, bound],
        sinceSec: t[0] as number,
        confidence: 1,
        test: 'range bound',
        evidence: [`flat: ${why}`],
        model: { best: 'flat', r2: 0 },
      },
    };
  },
};
