/**
 * Guard: memory the kernel gives back under pressure (meminfo.Cached, Buffers, SReclaimable, reclaimable slab
 * caches such as dentry and inode caches) grows whenever memory is free; that is not a leak. The caller knows
 * the series' kind and passes it. The rate is still measured and reported.
 */
import { rateText, trendLine, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';

export const reclaimableRule: Rule = {
  name: 'reclaimable',
  apply(ctx: RuleContext): Decision {
    if (ctx.options.kind !== 'reclaimable') return { kind: 'pass', evidence: [] };
    const tr = trendOf(ctx.view, ctx.options);
    return {
      kind: 'verdict',
      finding: {
        verdict: 'reclaimable',
        rateBytesPerSec: tr.slope,
        ci: tr.ci,
        sinceSec: ctx.view.t[0] as number,
        confidence: 1 - tr.pValue,
        pValue: tr.pValue,
        test: tr.test,
        evidence: [
          `reclaimable: the kernel frees this memory under pressure; it grows at ${rateText(tr, ctx.options.alpha)} but that is not a leak`,
          trendLine(ctx.view, tr, ctx.options),
        ],
        nextStep: 'judge MemAvailable and SUnreclaim instead; to confirm, compare before/after memory pressure on a test machine',
      },
    };
  },
};
