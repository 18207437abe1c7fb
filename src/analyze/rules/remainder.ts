/**
 * Cross-series guard for "kernel memory nobody counts" (system.unexplained): it is a remainder, MemTotal minus
 * MemFree minus every counted group, so pages moving between groups show up in it for a while. On this
 * machine (a VM with DAMON reclaim and free page reporting to the hypervisor) pages leaving the page cache
 * are counted nowhere for tens of seconds: the remainder rose by 200 MB in 30 s while Cached fell by more,
 * with 21 GiB free. When the machine is not short of memory (MemFree never below a tenth of MemTotal, so the
 * kernel has no reason to shrink caches to feed anyone) and the remainder plus the reclaimable caches does not
 * grow, the remainder's rise is a transfer out of the caches, not a leak: inconclusive. Under pressure a real
 * uncounted leak (a driver's alloc_pages) does shrink the caches as it grows, and MemFree sits at the low
 * watermark: that case is left to the trend test.
 */
import type { SeriesVerdict } from '../../model/analysis.js';

/** MemFree must stay above this share of MemTotal for the guard to apply. */
export const NO_PRESSURE_FREE_SHARE = 0.1;

export function remainderInTransit(remainder: SeriesVerdict, withCaches: SeriesVerdict | undefined, minFreeShare: number | null): SeriesVerdict | undefined {
  if (remainder.verdict !== 'leak' || !withCaches || withCaches.verdict === 'leak') return undefined;
  if (minFreeShare === null || minFreeShare < NO_PRESSURE_FREE_SHARE) return undefined;
  return {
    ...remainder,
    verdict: 'inconclusive',
    level: 'low',
    evidence: [
      ...remainder.evidence,
      `in transit: the uncounted remainder plus the reclaimable caches is ${withCaches.verdict} (${withCaches.key}), and MemFree stayed above ${Math.round(minFreeShare * 100)}% of MemTotal: pages leaving the caches, counted nowhere for a while, not a leak`,
    ],
    nextStep: 'keep recording; a leak of uncounted pages keeps rising after the caches settle',
  };
}
