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

/** Page-cache turnover (sum of |changes|) this many times the remainder's growth makes the remainder a transfer. */
export const CHURN_FACTOR = 10;

/**
 * The page cache's turnover in bulk moves: the sum of |change| between consecutive samples, counting only changes of
 * at least a CHURN_FACTOR-th of the remainder's growth. Smaller changes are sampling noise or slow drift: summed
 * over a week of samples they reach any total (40,000 samples of 1 MiB noise are 40 GiB) yet put no pages in
 * transit, and counting them once hid every uncounted leak of a long recording (issue 18: 9 of 10 planted
 * kernel-other leaks in a simulated fleet). Bulk moves are what a dd/cat/rm loop makes (hundreds of MB a sample).
 */
export function bulkCacheTurnover(cache: ArrayLike<number>, remainderGrowthBytes: number): number {
  const floor = Math.max(remainderGrowthBytes, 0) / CHURN_FACTOR;
  let turnover = 0;
  for (let i = 1; i < cache.length; i++) {
    const move = Math.abs((cache[i] as number) - (cache[i - 1] as number));
    if (move >= floor) turnover += move;
  }
  return turnover;
}

/** How long freed cache pages stay counted nowhere: tens of seconds measured here; twice the longest seen, rounded up. */
export const TRANSIT_SEC = 120;

/**
 * The remainder at the samples that no pages can be in transit to: NaN at each sample that follows a bulk fall of
 * the page cache (a fall of at least a CHURN_FACTOR-th of the remainder's growth) by less than TRANSIT_SEC, and at
 * the sample that ends the interval holding the fall. Freed pages are counted nowhere only for a while, so a
 * remainder that still rises at these quiet samples is not pages in transit: over a week of samples with a cache
 * drop every few hours, it rises there just the same; in a dd/cat/rm loop almost no sample is quiet.
 */
export function remainderAtQuietSamples(t: Float64Array, remainder: Float64Array, cache: Float64Array, remainderGrowthBytes: number): { values: Float64Array; quiet: number } {
  const floor = Math.max(remainderGrowthBytes, 0) / CHURN_FACTOR;
  const out = Float64Array.from(remainder);
  let lastFall = -Infinity;
  let quiet = 0;
  let prev = NaN;
  for (let i = 0; i < t.length; i++) {
    const c = cache[i] as number;
    if (Number.isFinite(c)) {
      if (Number.isFinite(prev) && prev - c >= floor) lastFall = t[i] as number;
      prev = c;
    }
    if ((t[i] as number) - lastFall <= TRANSIT_SEC) out[i] = NaN;
    else if (Number.isFinite(out[i] as number)) quiet++;
  }
  return { values: out, quiet };
}

/**
 * Under heavy page-cache churn (files written, read and deleted over and over) the caches grow and fall by GiB
 * while the remainder creeps up by hundreds of MB: freed cache pages pass through it (free page reporting) on
 * their way back to MemFree. Measured here with a 768 MB dd/cat/rm loop: remainder +247 MB in 10 minutes,
 * cache turnover tens of GiB. `cacheTurnoverBytes` is that turnover; with no pressure it marks a transfer too.
 */
export function remainderInTransit(remainder: SeriesVerdict, withCaches: SeriesVerdict | undefined, minFreeShare: number | null, cacheTurnoverBytes = 0, atQuietSamples?: SeriesVerdict): SeriesVerdict | undefined {
  if (remainder.verdict !== 'leak' || !withCaches) return undefined;
  if (atQuietSamples?.verdict === 'leak') return undefined; // it rises where nothing can be in transit
  if (minFreeShare === null || minFreeShare < NO_PRESSURE_FREE_SHARE) return undefined;
  const churn = cacheTurnoverBytes >= CHURN_FACTOR * Math.max(remainder.growthBytes, 0);
  if (withCaches.verdict === 'leak' && !churn) return undefined;
  if (churn) {
    return {
      ...remainder, verdict: 'inconclusive', level: 'low',
      evidence: [...remainder.evidence, `in transit: the page cache turned over ${Math.round(cacheTurnoverBytes)} B meanwhile (over ${CHURN_FACTOR}x the remainder's ${Math.round(remainder.growthBytes)} B growth) and MemFree stayed above ${Math.round(minFreeShare * 100)}% of MemTotal: freed cache pages counted nowhere for a while, not a leak`],
      nextStep: 'keep recording once the file activity stops; a leak of uncounted pages keeps rising after it',
    };
  }
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
