/**
 * Guard: little growth in a short recording is not yet a leak. Minutes of a busy machine move memory in
 * bursts (a build, a page-cache read pulling in buffer heads and extent trees, a neighbour's test starting
 * or ending) that a trend test on 40-120 one-second samples calls significant: the test proves the samples
 * rose, not that the rise persists. So while the recording is shorter than `shortSpanSec`, a rise that would
 * be a leak must also be material: its growth over the judged samples must reach `materialBytes` (1e-4 of
 * MemTotal: 2.4 MB on 24 GiB). Below that it is inconclusive, with the time after which either the growth is
 * material at the measured rate or the recording is long enough to judge persistence, whichever comes first.
 * A fast leak (a socket leak of 140 KB/s, a malloc loop of 2 MB/s) passes in seconds; a few hundred KB of
 * kmalloc-192 during a file read does not. Real recording that motivated it: test/fixtures/SOURCES.md,
 * recording-page-cache-local.json.
 */
import { trendFinding, trendOf, type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytes, formatBytesPerSec, formatDuration } from '../../model/units.js';

export const shortRecordingRule: Rule = {
  name: 'short-recording',
  apply(ctx: RuleContext): Decision {
    const o = ctx.options;
    const full = ctx.full.t;
    // The span plus one interval: ten minutes of 2 s samples span 598 s and are a ten-minute recording.
    const recorded = full.length > 1 ? ((full[full.length - 1] as number) - (full[0] as number)) * (full.length / (full.length - 1)) : 0;
    if (!(recorded < o.shortSpanSec)) return { kind: 'pass', evidence: [] };
    const t = ctx.view.t;
    const span = t.length > 1 ? (t[t.length - 1] as number) - (t[0] as number) : 0;
    const tr = trendOf(ctx.view, o);
    const wouldLeak = tr.pValue < o.alpha && tr.ci[0] > 0 && tr.slope >= o.minRateBytesPerSec;
    if (!wouldLeak) return { kind: 'pass', evidence: [] };
    const growth = tr.slope * span;
    if (growth >= o.materialBytes) {
      return { kind: 'pass', evidence: [`short recording (${formatDuration(recorded)}) but material growth: ${formatBytes(growth)} >= ${formatBytes(o.materialBytes)}`] };
    }
    const untilMaterial = o.materialBytes / tr.slope - span;
    const untilLong = o.shortSpanSec - recorded;
    const more = Math.max(Math.min(untilMaterial, untilLong), span * 0.1, 1);
    const f = trendFinding(ctx.view, tr, 'inconclusive', [
      `short recording: rises at ${formatBytesPerSec(tr.slope)} (significant) but only ${formatBytes(growth)} over ${formatDuration(span)}, below the ${formatBytes(o.materialBytes)} that a recording under ${formatDuration(o.shortSpanSec)} needs to call a leak: a burst of activity looks the same`,
    ], o);
    f.recordMoreSec = more;
    f.evidence.push(`record about ${formatDuration(more)} more to decide`);
    f.nextStep = 'keep recording';
    return { kind: 'verdict', finding: f };
  },
};
