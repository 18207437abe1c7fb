/**
 * Cross-series guard: a part cannot leak more memory than its whole gains. A slab cache or a vmalloc caller
 * may be called a leak while its total (meminfo Slab = SUnreclaim + SReclaimable, VmallocUsed) is not: a
 * noisy total can hide a small steady leak, and that is what per-cache series are for. But when the total
 * gained less than half of what the leaking parts gained, the parts' growth is not new memory taken from the
 * machine: it moved between caches, was offset by others shrinking, or is address space over pages counted
 * elsewhere (vmallocinfo areas without a caller that VmallocUsed does not count). Such parts are inconclusive.
 * Found on real recordings here: a 2 GiB file read while another tenant mapped 45 MB of "unknown" vmalloc
 * areas (VmallocUsed +77 KB), and kmalloc-192 rising during writeback while the slab total did not.
 *
 * The total's growth is a measurement with noise: a total that wanders (SUnreclaim moved by every other cache)
 * can end a week lower than it would have without the leak by chance. So the total contradicts the parts only
 * when even the top of its own confidence interval (growth + (CI high - rate) x span) stays below half of
 * theirs. Before this, the 7-day simulation of bench/store.ts (a 137 KiB/h slab leak under a slab total that
 * wanders by a random walk) was a leak at 1.2 days and "no leak" at 7: the wandering total happened to cover
 * half the leak's growth early and not late, so a longer recording hid the leak.
 */
import type { SeriesVerdict } from '../../model/analysis.js';
import { formatBytes } from '../../model/units.js';

/** Share of the parts' growth the total must show for the parts to be believed on their own. */
const MIN_TOTAL_SHARE = 0.5;

/**
 * The parts downgraded to inconclusive when the total's growth contradicts them; undefined when it does not
 * (or the total was not recorded).
 */
export function contradictedByTotal<T extends SeriesVerdict>(
  parts: readonly T[], totalGrowthBytes: number | null, totalLabel: string, totalUpperGrowthBytes: number | null = totalGrowthBytes,
): T[] | undefined {
  if (totalGrowthBytes === null || !Number.isFinite(totalGrowthBytes)) return undefined;
  const upper = totalUpperGrowthBytes !== null && Number.isFinite(totalUpperGrowthBytes) ? Math.max(totalGrowthBytes, totalUpperGrowthBytes) : Infinity;
  const leaking = parts.filter((p) => p.verdict === 'leak' && p.growthBytes > 0);
  const partsGrowth = leaking.reduce((n, p) => n + p.growthBytes, 0);
  if (leaking.length === 0 || upper >= MIN_TOTAL_SHARE * partsGrowth) return undefined;
  const bound = upper > totalGrowthBytes ? ` (at most ${formatBytes(upper)} by its confidence interval)` : '';
  const why = `${totalLabel} grew by ${formatBytes(totalGrowthBytes)}${bound} while the leaking parts grew by ${formatBytes(partsGrowth)}: the parts' growth is not new memory of the machine (moved between caches, offset elsewhere, or counted elsewhere)`;
  return leaking.map((p) => ({ ...p, verdict: 'inconclusive', level: 'low', evidence: [...p.evidence, `contradicted by the total: ${why}`], nextStep: 'keep recording; a leak shows in the total too' }));
}
