/**
 * Guard: a GC or pool sawtooth. The peaks hold garbage awaiting collection; what survives a collection is the
 * trough. Later rules judge the troughs, so a sawtooth without a leak is stable and a leak under a sawtooth is
 * still found, at the rate of the troughs.
 */
import { detectSawtooth } from '../stats/sawtooth.js';
import { type Decision, type Rule, type RuleContext } from './rule.js';
import { formatBytes, formatDuration } from '../../model/units.js';

export const sawtoothRule: Rule = {
  name: 'sawtooth',
  apply(ctx: RuleContext): Decision {
    const s = detectSawtooth(ctx.view.t, ctx.view.v);
    if (!s) return { kind: 'pass', evidence: [] };
    return {
      kind: 'pass',
      evidence: [
        `sawtooth: ${s.dropStarts.length} drops of ${formatBytes(s.meanDrop)} on average, every ${formatDuration(s.periodSec)} (period CV ${s.periodCv.toFixed(2)}); judging the ${s.troughT.length} troughs, not the peaks`,
      ],
      view: { t: s.troughT, v: s.troughV, what: 'troughs' },
      model: { best: 'sawtooth', r2: 0 },
    };
  },
};
