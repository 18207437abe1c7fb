/**
 * The leak policy, read top to bottom. Each rule either decides or narrows what the next ones judge.
 *   1. flat         nothing moves (noise around a constant, or a range too small for any trend to matter)
 *   2. reclaimable  page cache, buffers, reclaimable slab: not a leak by kind
 *   3. sawtooth     GC / pool cycles: judge the troughs, not the peaks
 *   4. step         a one-off step is not a leak; judge after it
 *   5. warmup       warm-up then plateau is bounded; judge after the change point
 *   6. saturating   growth that levels off (model comparison) is bounded; still bending is inconclusive;
 *                   a leak under a finished warm-up is judged after the curve settled
 *   7. short-recording  under 10 minutes, a rise must be material (1e-4 MemTotal) to be called a leak
 *   8. bounded      troughs or a plateau whose growth the CI bounds below 0.1% of MemTotal per hour: no leak
 *   9. significance robust trend test: leak, stable, or inconclusive with how long to record
 * Then, across series (report_model.ts applies them once every series is judged):
 *   explained_by_parts  a total whose growth is mostly parts levelling off (warm-ups) is inconclusive
 *   part_of_whole       a slab cache or vmalloc caller whose total did not gain half its growth is inconclusive
 *   remainder           uncounted kernel memory rising as the caches fall, with memory to spare, is in transit
 *   dependent           a cache growing in lockstep with a reclaimable one follows it (freed with it)
 *   own footprint       memsleuth's own processes and its tracer's BPF maps are set apart (../own.ts)
 * and culprits.ts: a process that exited before the window ends is bounded, not leaking.
 */
import { flatRule } from './flat.js';
import { reclaimableRule } from './reclaimable.js';
import { sawtoothRule } from './sawtooth.js';
import { stepRule } from './step.js';
import { warmupRule } from './warmup.js';
import { saturatingRule } from './saturating.js';
import { shortRecordingRule } from './short_recording.js';
import { significanceRule } from './significance.js';
import { boundedRule } from './bounded.js';
import type { Finding, FindingModel } from '../../model/finding.js';
import type { Rule, RuleContext } from './rule.js';

export const POLICY: readonly Rule[] = [flatRule, reclaimableRule, sawtoothRule, stepRule, warmupRule, saturatingRule, shortRecordingRule, boundedRule, significanceRule];

export function runPolicy(ctx: RuleContext, rules: readonly Rule[] = POLICY): Finding {
  const evidence: string[] = [];
  let model: FindingModel | undefined;
  let c = ctx;
  for (const rule of rules) {
    const d = rule.apply(c);
    if (d.kind === 'verdict') {
      const f: Finding = { subject: ctx.subject, rule: rule.name, ...d.finding, evidence: [...evidence, ...d.finding.evidence] };
      if (!f.model && model) f.model = model;
      return f;
    }
    evidence.push(...d.evidence);
    if (d.model) model = d.model;
    if (d.view) c = { ...c, view: d.view };
  }
  throw new Error('policy ended without a verdict: significance must be the last rule');
}

export type { PolicyOptions, Rule, RuleContext, Decision, View, SeriesKind } from './rule.js';
