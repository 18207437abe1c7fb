/**
 * Decisive no-leak for bounded shapes. A GC sawtooth whose troughs stay level over several cycles, or a noisy
 * plateau, is often "inconclusive" under the plain test, because the CI does not fit inside the small rate
 * threshold. But the data do bound the growth: when the rate's CI upper end is below `boundRateBytesPerSec`
 * (0.1% of MemTotal per hour, the smallest leak the detection targets promise to find) and the trend is not
 * significantly upward, no material leak hides there: "bounded: troughs flat at 41.2 MB over 6 cycles, no
 * growth faster than 2.1 KB/s (99% CI)". A sawtooth needs at least MIN_CYCLES troughs to be read this way.
 */
import { pass, trendFinding, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytes, formatBytesPerSec, formatDuration } from '../../model/units.js';

export const MIN_CYCLES = 4;
/** A plateau must be watched this long for its bound to say anything (a few seconds of quiet prove nothing). */
export const MIN_PLATEAU_SEC = 120;

function median(v: Float64Array): number {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

export const boundedRule: Rule = {
  name: 'bounded',
  apply(ctx: RuleContext): Decision {
    const o = ctx.options;
    const v = ctx.view;
    const troughs = v.what === 'troughs';
    if (troughs && v.t.length < MIN_CYCLES) return pass();
    const spanOf = v.t.length > 1 ? (v.t[v.t.length - 1] as number) - (v.t[0] as number) : 0;
    if (!troughs && spanOf < MIN_PLATEAU_SEC) return pass();
    const tr = trendOf(v, o);
    const [lo, hi] = tr.ci;
    if ((tr.pValue < o.alpha && lo > 0) || !(hi <= o.boundRateBytesPerSec)) return pass();
    // A plateau inside the stability threshold is "stable" (significance rule), the stronger word; a sawtooth's
    // troughs are "bounded" either way: the memory cycles, and the troughs are its bound.
    if (!troughs && lo > -o.minRateBytesPerSec && hi < o.minRateBytesPerSec) return pass();
    const level = median(v.v);
    const span = spanOf;
    const what = troughs ? `troughs flat at ${formatBytes(level)} over ${v.t.length} cycles` : `level ${formatBytes(level)} held over ${formatDuration(span)}`;
    const f = trendFinding(v, tr, 'bounded', [
      `bounded: ${what}; no growth faster than ${formatBytesPerSec(Math.max(0, hi))} (upper end of the CI), below the ${formatBytesPerSec(o.boundRateBytesPerSec)} (0.1% of MemTotal per hour) a leak must reach to matter`,
    ], o);
    f.bound = { what: troughs ? 'troughs' : 'level', levelBytes: level, cycles: troughs ? v.t.length : null, spanSec: span, maxRateBytesPerSec: Math.max(0, hi) };
    return { kind: 'verdict', finding: f };
  },
};
