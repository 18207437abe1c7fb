/**
 * The last word: a robust trend test on whatever earlier rules left to judge.
 *   p < alpha and the CI above 0 and the rate >= threshold      => leak
 *   p < alpha, CI below 0                                       => stable (shrinking)
 *   CI within +-threshold                                       => stable
 *   otherwise                                                   => inconclusive, with how much longer to record
 * Recording longer narrows the slope's CI like T^(-3/2) (n grows with T, and so does the lever arm), so the
 * time to decide is T * (halfWidth / needed)^(2/3), with `needed` the gap between the rate and 0 (to show a
 * leak) or between the rate and the threshold (to show stability), whichever comes first.
 */
import type { TrendTest } from '../stats/trend_test.js';
import { trendFinding, trendOf, type Decision, type PolicyOptions, type Rule, type RuleContext } from './rule.js';
import { formatBytesPerSec, formatDuration } from '../../model/units.js';

export const significanceRule: Rule = {
  name: 'significance',
  apply(ctx: RuleContext): Decision {
    const o = ctx.options;
    const tr = trendOf(ctx.view, o);
    const thr = o.minRateBytesPerSec;
    const [lo, hi] = tr.ci;
    const sig = tr.pValue < o.alpha;
    if (sig && lo > 0 && tr.slope >= thr) {
      const f = trendFinding(ctx.view, tr, 'leak', [`leak: grows at ${formatBytesPerSec(tr.slope)}, significant (p < ${o.alpha}) and above the ${formatBytesPerSec(thr)} threshold`], o);
      f.nextStep = nextStepFor(ctx.subject);
      return { kind: 'verdict', finding: f };
    }
    if (sig && hi < 0) return { kind: 'verdict', finding: trendFinding(ctx.view, tr, 'stable', ['shrinking: significant downward trend'], o) };
    if (lo > -thr && hi < thr) {
      return { kind: 'verdict', finding: trendFinding(ctx.view, tr, 'stable', [`stable: the whole CI lies within ±${formatBytesPerSec(thr)}`], o) };
    }
    const f = trendFinding(ctx.view, tr, 'inconclusive', [`inconclusive: the CI ${formatBytesPerSec(lo)} .. ${formatBytesPerSec(hi)} neither excludes 0 nor fits within ±${formatBytesPerSec(thr)}`], o);
    f.recordMoreSec = recordMoreSec(tr, o);
    f.evidence.push(`record about ${formatDuration(f.recordMoreSec)} more to decide (CI half-width shrinks like T^-1.5)`);
    f.nextStep = 'keep recording';
    return { kind: 'verdict', finding: f };
  },
};

export function recordMoreSec(tr: TrendTest, o: PolicyOptions): number {
  const T = tr.spanSec;
  const half = (tr.ci[1] - tr.ci[0]) / 2;
  if (!(T > 0) || !Number.isFinite(half)) return Math.max(T, 60) * 3;
  const rate = Math.abs(tr.slope);
  const needs: number[] = [];
  if (rate > 0) needs.push(rate); // to exclude 0
  if (rate < o.minRateBytesPerSec) needs.push(o.minRateBytesPerSec - rate); // to fit inside the threshold
  const need = Math.max(...needs, 0);
  if (!(need > 0)) return T * 3;
  const total = T * Math.pow(half / need, 2 / 3) * 1.2;
  return Math.max(total - T, T * 0.1);
}

function nextStepFor(subject: string): string {
  if (subject.startsWith('slab.')) {
    const cache = subject.split('.').slice(1, -1).join('.');
    return `find the allocating call sites of this cache: memsleuth trace kernel --cache ${cache} (kmem events), or memsleuth slab-calls ${cache} (SLUB alloc_calls)`;
  }
  if (subject.startsWith('proc.')) {
    const pid = /:(\d+)\./.exec(subject)?.[1];
    return `find the allocating code: memsleuth trace user --pid ${pid ?? 'PID'}, or memsleuth run --tool valgrind -- the program`;
  }
  if (subject.startsWith('vmalloc.')) return 'the caller is in the series key; memsleuth trace kernel shows the call stacks';
  return 'the kernel/user split and the culprits below say where it goes';
}
