/**
 * Cross-series guard: dependent growth. An unreclaimable cache can grow only because a reclaimable one does:
 * with memcg accounting every slab page of an accounted cache carries an obj_exts vector from kmalloc, so
 * 20,000 stat() calls a second on missing names (negative dentries, reclaimable) grow kmalloc-192 by one
 * object per 21 dentries (21 dentries per slab page, measured here on Linux 6.18). Freed with the dentry slab
 * page, it is not a leak, though it sits in SUnreclaim and grows as steadily as any leak.
 * So a leaking cache whose object count grows in lockstep (steady ratio: correlated increments, or the same
 * share of growth in every quarter) with a reclaimable cache's follows it: "kmalloc-192 follows dentry: 1
 * object per 21 of dentry's", judged reclaimable with why; it is a leak only if it stays when its driver is
 * reclaimed, which a reclaim probe shows (rules/reclaim_probe.ts). A total (SUnreclaim) whose growth is mostly
 * such followers, with no other part leaking, is judged the same way.
 */
import type { SeriesVerdict, SlabCulprit } from '../../model/analysis.js';
import { linkOf, type LockstepSeries } from '../lockstep.js';
import { formatBytes } from '../../model/units.js';

export interface Follows { cache: string; perObjects: number; method: string; detail: string }

/** How the dependence was established: the per-slab-metadata signature, or a reclaim probe (both fell). */
export type DependenceBasis = 'per-slab' | 'probe';

export interface SlabObjects {
  cache: string;
  /** Active objects, aligned with the window (NaN where not sampled). */
  objs: Float64Array;
  /** Slab bytes (pages the cache holds), aligned with the window. */
  bytes?: Float64Array;
}

/**
 * Whether the follower gains one object per slab of the driver: driver slab bytes per follower object is a
 * slab size (4 KiB x 2^order, order 0-3, within 15%). That is per-slab metadata (the obj_exts vector memcg
 * accounting hangs on every slab of an accounted cache), freed with the slab. Lockstep alone does not say
 * which series holds the other: a socket's dentry is pinned by the socket, not the reverse, and grows 1:1.
 */
function perSlabMetadata(driverBytesGrowth: number, followerObjsGrowth: number): number | undefined {
  if (!(driverBytesGrowth > 0) || !(followerObjsGrowth > 0)) return undefined;
  const per = driverBytesGrowth / followerObjsGrowth;
  for (let order = 0; order <= 3; order++) {
    const slab = 4096 * 2 ** order;
    if (Math.abs(per / slab - 1) <= 0.15) return slab;
  }
  return undefined;
}

const LINK = { minCorrelation: 0.8, maxFactorRatio: 1.3, minShareOfTop: 0.1, maxShareSpread: 1.6, topGrowth: 0 };

function growthOf(v: Float64Array): { first: number; growth: number } | undefined {
  let first: number | undefined;
  let last: number | undefined;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (!Number.isFinite(x)) continue;
    first ??= x;
    last = x;
  }
  return first === undefined || last === undefined ? undefined : { first, growth: last - first };
}

/** The reclaimable cache a growing cache follows, if any (best link first). */
export function followsOf(follower: SlabObjects, drivers: readonly SlabObjects[], probeFell?: ReadonlySet<string>): Follows | undefined {
  const g = growthOf(follower.objs);
  if (!g || !(g.growth > 0)) return undefined;
  let best: (Follows & { strength: number }) | undefined;
  for (const d of drivers) {
    const h = growthOf(d.objs);
    if (!h || !(h.growth > 0)) continue;
    const a: LockstepSeries = { key: follower.cache, v: follower.objs, growthBytes: g.growth, firstBytes: g.first, rateBytesPerSec: 0 };
    const b: LockstepSeries = { key: d.cache, v: d.objs, growthBytes: h.growth, firstBytes: h.first, rateBytesPerSec: 0 };
    const l = linkOf(a, b, { ...LINK, topGrowth: Math.max(g.growth, h.growth) });
    // Only the methods that see the samples: two dumps growing together say nothing about dependence.
    if (!l || l.method === 'co-growth') continue;
    const db = d.bytes ? growthOf(d.bytes) : undefined;
    const slab = db ? perSlabMetadata(db.growth, g.growth) : undefined;
    if (slab === undefined && !probeFell?.has(d.cache)) continue;
    const detail = `${l.detail}; ${slab !== undefined ? `one object per ${slab / 1024} KiB slab of ${d.cache}: per-slab metadata, freed with the slab` : `both fell when caches were dropped (reclaim probe)`}`;
    if (!best || l.strength > best.strength) best = { cache: d.cache, perObjects: h.growth / g.growth, method: l.method, detail, strength: l.strength };
  }
  if (!best) return undefined;
  const { strength: _s, ...f } = best;
  return f;
}

export function followsText(follower: string, f: Follows): string {
  const per = f.perObjects >= 1 ? `1 object per ${f.perObjects.toPrecision(3)} of ${f.cache}'s` : `${(1 / f.perObjects).toPrecision(3)} objects per object of ${f.cache}`;
  return `${follower} follows ${f.cache}: ${per}`;
}

/**
 * Leaking (or growing, undecided) slab caches that follow a reclaimable cache, judged reclaimable with why.
 * Returns the rows to replace.
 */
export function dependentGrowth(
  rows: readonly SlabCulprit[], objsOf: (cache: string) => Float64Array | undefined, isReclaimable: (cache: string) => boolean,
  bytesOf: (cache: string) => Float64Array | undefined = () => undefined, probeFell?: ReadonlySet<string>,
): SlabCulprit[] {
  const drivers: SlabObjects[] = [];
  for (const r of rows) {
    if (!isReclaimable(r.cache) || !(r.growthBytes > 0)) continue;
    const objs = objsOf(r.cache);
    const bytes = bytesOf(r.cache);
    if (objs) drivers.push({ cache: r.cache, objs, ...(bytes ? { bytes } : {}) });
  }
  if (drivers.length === 0) return [];
  const out: SlabCulprit[] = [];
  for (const r of rows) {
    if (isReclaimable(r.cache) || !(r.growthBytes > 0) || (r.verdict !== 'leak' && r.verdict !== 'inconclusive')) continue;
    const objs = objsOf(r.cache);
    if (!objs) continue;
    // With a reclaim probe, only a follower that fell with its driver is dependent; one that stayed is pinned.
    if (probeFell && !probeFell.has(r.cache)) continue;
    const f = followsOf({ cache: r.cache, objs }, drivers, probeFell);
    if (!f) continue;
    out.push({
      ...r,
      verdict: 'reclaimable',
      rule: 'dependent',
      level: r.level,
      follows: f,
      evidence: [
        ...r.evidence,
        `dependent growth: ${followsText(r.cache, f)} (${f.detail}); it is freed when ${f.cache} is reclaimed, so it is a leak only if it stays after ${f.cache} is reclaimed`,
      ],
      nextStep: `to confirm, reclaim on purpose: memsleuth record --probe-reclaim (drops caches at the end and records what stays)`,
    });
  }
  return out;
}

/** A total (SUnreclaim) whose growth is mostly followers, with no other part leaking: judged with them. */
export function explainedByFollowers(total: SeriesVerdict, parts: readonly SlabCulprit[]): SeriesVerdict | undefined {
  if (total.verdict !== 'leak' || !(total.growthBytes > 0)) return undefined;
  if (parts.some((p) => p.verdict === 'leak')) return undefined;
  const followers = parts.filter((p) => p.rule === 'dependent' && p.growthBytes > 0);
  const explained = followers.reduce((n, p) => n + p.growthBytes, 0);
  if (followers.length === 0 || explained < 0.5 * total.growthBytes) return undefined;
  return {
    ...total,
    verdict: 'reclaimable',
    rule: 'dependent',
    evidence: [
      ...total.evidence,
      `dependent growth: ${followers.map((p) => (p.follows ? followsText(p.cache, p.follows) : p.cache)).join('; ')} account for ${Math.round((explained / total.growthBytes) * 100)}% of the ${formatBytes(total.growthBytes)} growth, and no other cache leaks: freed with the caches they follow`,
    ],
    nextStep: 'to confirm, reclaim on purpose: memsleuth record --probe-reclaim',
  };
}
