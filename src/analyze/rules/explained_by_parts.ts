/**
 * Cross-series guard: a total (user memory, unreclaimable slab, vmalloc) that rises because its parts warm
 * up is not leaking. Totals are noisier than their parts (user memory sums every process; a 5 MB jitter hides
 * the bend of a 40 MB warm-up), so the total's own trend test can call a leak that its parts, judged one by
 * one, show to be curves levelling off. When the parts whose shape was judged not to be a leak (bounded,
 * a step or warm-up that ended, or still bending: "inconclusive" from the saturating rule) account for most
 * of the total's growth and no part is a leak, the total is inconclusive: the data say "growth that slows
 * down", and only a longer recording tells a warm-up from a leak. Found by bench/detect.ts: "user" leaks of
 * 0.01% MemTotal/h were "detected" at 2 minutes at 100x their rate, from the warm-up before the leak.
 */
import type { SeriesVerdict } from '../../model/analysis.js';
import { formatBytes } from '../../model/units.js';

/** Share of the total's growth the levelling-off parts must explain. */
const EXPLAINED_SHARE = 0.5;

const SHAPE_RULES = new Set(['saturating', 'warmup', 'step']);

function levelsOff(r: SeriesVerdict): boolean {
  if (r.verdict === 'bounded') return true;
  return SHAPE_RULES.has(r.rule) && (r.verdict === 'stable' || r.verdict === 'inconclusive');
}

/** The total's verdict, downgraded to inconclusive when levelling-off parts explain its growth; else undefined. */
export function explainedByParts(total: SeriesVerdict, parts: readonly SeriesVerdict[]): SeriesVerdict | undefined {
  if (total.verdict !== 'leak' || !(total.growthBytes > 0)) return undefined;
  if (parts.some((p) => p.verdict === 'leak')) return undefined;
  const shaped = parts.filter((p) => p.growthBytes > 0 && levelsOff(p));
  const explained = shaped.reduce((n, p) => n + p.growthBytes, 0);
  if (explained < EXPLAINED_SHARE * total.growthBytes) return undefined;
  const names = shaped.sort((a, b) => b.growthBytes - a.growthBytes).slice(0, 3).map((p) => `${p.key} (${p.verdict}, ${p.rule})`).join(', ');
  const more = Math.max(0, ...shaped.map((p) => p.recordMoreSec ?? 0));
  return {
    ...total,
    verdict: 'inconclusive',
    level: 'low',
    recordMoreSec: more > 0 ? more : total.recordMoreSec,
    evidence: [
      ...total.evidence,
      `explained by parts that level off: ${names} account for ${Math.round((explained / total.growthBytes) * 100)}% of the ${formatBytes(total.growthBytes)} growth and none of the parts leaks; the total rises, but its rise slows down: record longer`,
    ],
    nextStep: 'keep recording: a warm-up levels off, a leak keeps rising after it',
  };
}
