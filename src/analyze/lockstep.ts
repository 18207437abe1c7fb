/**
 * Series that grow in lockstep are one leak seen through several counters: seeds/002's
 * mi_sys_bufhandle_cachep, g_mi_sys_chunk_cachep and mi_sys_mma_allocation_cachep each hold one object per
 * leaked MMA buffer, so they grow ~14x together. Two growing series are linked when
 *   - increments: their increments are correlated (Pearson r of k-sample increments, at the scale k where it
 *     is highest; increments remove the common trend, so two unrelated steady leaks do not link this way), or
 *   - proportional: increments carry no signal (smooth growth) but both grew in every quarter of the window,
 *     in the same proportions; or
 *   - co-growth (fewer than 8 common samples): they grew in the same window by similar relative amounts
 *     (growth factors within `maxFactorRatio` on a log scale), and both are among the large growers (at least
 *     `minShareOfTop` of the largest growth). This is all two dumps allow: confidence low.
 * Clusters are the connected components of the links (single linkage), confidence the weakest link's.
 */
import type { Confidence, LockstepCluster, LockstepMember } from '../model/analysis.js';

export interface LockstepSeries {
  key: string;
  /** Values aligned with the shared t (NaN where not sampled). */
  v: Float64Array;
  growthBytes: number;
  firstBytes: number;
  rateBytesPerSec: number;
}

export interface LockstepOptions {
  /** Correlation of increments needed to link. Default 0.7. */
  minCorrelation?: number;
  /** Co-growth: largest ratio between two series' log growth factors. Default 1.3. */
  maxFactorRatio?: number;
  /** Co-growth: a member must have grown at least this share of the largest grower's growth. Default 0.1. */
  minShareOfTop?: number;
  /** Proportional: largest spread (max/min) of the per-quarter growth shares between two series. Default 1.6. */
  maxShareSpread?: number;
  family?: LockstepCluster['family'];
  idPrefix?: string;
}

export interface Link { a: number; b: number; method: LockstepCluster['method']; strength: number; detail: string }

const MIN_INCREMENT_POINTS = 8;

function common(a: Float64Array, b: Float64Array): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const p = a[i] as number;
    const q = b[i] as number;
    if (Number.isFinite(p) && Number.isFinite(q)) { x.push(p); y.push(q); }
  }
  return { x, y };
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | undefined {
  const n = Math.min(x.length, y.length);
  if (n < 3) return undefined;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) { mx += x[i] as number; my += y[i] as number; }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (!(sxx > 0) || !(syy > 0)) return undefined;
  return sxy / Math.sqrt(sxx * syy);
}

/** Non-overlapping k-sample increments. */
function increments(x: number[], k: number): number[] {
  const out: number[] = [];
  for (let i = k; i < x.length; i += k) out.push((x[i] as number) - (x[i - k] as number));
  return out;
}

/** Best correlation of increments over scales k = 1, 2, 4, ... while at least 8 increments remain. */
export function incrementCorrelation(x: number[], y: number[]): { r: number; k: number; m: number } | undefined {
  let best: { r: number; k: number; m: number } | undefined;
  for (let k = 1; Math.floor((x.length - 1) / k) >= MIN_INCREMENT_POINTS; k *= 2) {
    const dx = increments(x, k);
    const dy = increments(y, k);
    const r = pearson(dx, dy);
    if (r !== undefined && (!best || r > best.r)) best = { r, k, m: dx.length };
  }
  return best;
}

/** Share of the total growth made in each quarter of the common samples; undefined when not growing in every quarter. */
function quarterShares(x: number[]): number[] | undefined {
  const n = x.length;
  const total = (x[n - 1] as number) - (x[0] as number);
  if (!(total > 0)) return undefined;
  const out: number[] = [];
  for (let q = 0; q < 4; q++) {
    const a = Math.floor((q * (n - 1)) / 4);
    const b = Math.floor(((q + 1) * (n - 1)) / 4);
    const d = (x[b] as number) - (x[a] as number);
    if (!(d > 0)) return undefined;
    out.push(d / total);
  }
  return out;
}

const logFactor = (s: LockstepSeries): number | undefined =>
  s.firstBytes > 0 && s.growthBytes > 0 ? Math.log((s.firstBytes + s.growthBytes) / s.firstBytes) : undefined;

type LinkOptions = Required<Omit<LockstepOptions, 'family' | 'idPrefix'>> & { topGrowth: number };

export function linkOf(s: LockstepSeries, u: LockstepSeries, o: LinkOptions): Omit<Link, 'a' | 'b'> | undefined {
  const { x, y } = common(s.v, u.v);
  if (x.length >= MIN_INCREMENT_POINTS) {
    const c = incrementCorrelation(x, y);
    if (c && c.r >= o.minCorrelation) {
      return { method: 'increments', strength: c.r, detail: `increments correlate r=${c.r.toFixed(2)} (${c.m} increments of ${c.k} samples)` };
    }
    if (c) return undefined; // the increments carry signal, and it says "not together"
    const qs = quarterShares(x);
    const qu = quarterShares(y);
    if (!qs || !qu) return undefined;
    let spread = 1;
    for (let i = 0; i < 4; i++) spread = Math.max(spread, (qs[i] as number) / (qu[i] as number), (qu[i] as number) / (qs[i] as number));
    if (spread > o.maxShareSpread) return undefined;
    return { method: 'proportional', strength: 1 / spread, detail: `smooth growth in every quarter in the same proportions (spread x${spread.toFixed(2)})` };
  }
  if (Math.min(s.growthBytes, u.growthBytes) < o.minShareOfTop * o.topGrowth) return undefined;
  const fa = logFactor(s);
  const fb = logFactor(u);
  if (fa === undefined || fb === undefined) return undefined;
  const ratio = Math.max(fa, fb) / Math.min(fa, fb);
  if (!(ratio <= o.maxFactorRatio)) return undefined;
  return {
    method: 'co-growth',
    strength: 1 / ratio,
    detail: `grew together in the same window: x${Math.exp(fa).toFixed(1)} and x${Math.exp(fb).toFixed(1)} (${x.length} common samples)`,
  };
}

const METHOD_RANK: Record<LockstepCluster['method'], number> = { increments: 0, proportional: 1, 'co-growth': 2 };

function confidenceOf(method: LockstepCluster['method'], minLink: number, points: number): Confidence {
  if (method === 'co-growth') {
    return { level: 'low', reason: `only ${points} common samples: the series grew together by similar factors, which suggests but does not show one cause` };
  }
  if (method === 'proportional') {
    return { level: 'low', reason: 'smooth growth in the same proportions; increments carry no signal to correlate, so unrelated steady leaks would look the same' };
  }
  if (minLink >= 0.9 && points >= 30) return { level: 'high', reason: `increments correlate r >= ${minLink.toFixed(2)} over ${points} samples` };
  return { level: 'medium', reason: `increments correlate r >= ${minLink.toFixed(2)} over ${points} samples` };
}

/** Clusters (two or more members) among growing series, largest total growth first. */
export function clusterLockstep(series: readonly LockstepSeries[], options: LockstepOptions = {}): LockstepCluster[] {
  const grow = series.filter((s) => s.growthBytes > 0);
  const o: LinkOptions = {
    minCorrelation: options.minCorrelation ?? 0.7,
    maxFactorRatio: options.maxFactorRatio ?? 1.3,
    minShareOfTop: options.minShareOfTop ?? 0.1,
    maxShareSpread: options.maxShareSpread ?? 1.6,
    topGrowth: Math.max(0, ...grow.map((s) => s.growthBytes)),
  };
  const parent = grow.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i] as number] as number;
    return i;
  };
  const links: Link[] = [];
  for (let a = 0; a < grow.length; a++) {
    for (let b = a + 1; b < grow.length; b++) {
      const l = linkOf(grow[a] as LockstepSeries, grow[b] as LockstepSeries, o);
      if (!l) continue;
      links.push({ a, b, ...l });
      parent[find(a)] = find(b);
    }
  }
  const groups = new Map<number, number[]>();
  grow.forEach((_, i) => {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i); else groups.set(r, [i]);
  });
  const out: LockstepCluster[] = [];
  for (const idx of groups.values()) {
    if (idx.length < 2) continue;
    const set = new Set(idx);
    const inner = links.filter((l) => set.has(l.a) && set.has(l.b));
    const method = inner.reduce<LockstepCluster['method']>((m, l) => (METHOD_RANK[l.method] > METHOD_RANK[m] ? l.method : m), 'increments');
    const minLink = Math.min(...inner.map((l) => l.strength));
    const members: LockstepMember[] = idx
      .map((i) => grow[i] as LockstepSeries)
      .sort((x, y) => y.growthBytes - x.growthBytes || x.key.localeCompare(y.key))
      .map((s) => ({ key: s.key, growthBytes: s.growthBytes, relativeGrowth: s.firstBytes > 0 ? s.growthBytes / s.firstBytes : null }));
    let points = Infinity;
    for (const i of idx) {
      let n = 0;
      const v = (grow[i] as LockstepSeries).v;
      for (let j = 0; j < v.length; j++) if (Number.isFinite(v[j] as number)) n++;
      points = Math.min(points, n);
    }
    out.push({
      id: '',
      family: options.family ?? 'other',
      members,
      totalGrowthBytes: members.reduce((n, m) => n + m.growthBytes, 0),
      rateBytesPerSec: idx.reduce((n, i) => n + (grow[i] as LockstepSeries).rateBytesPerSec, 0),
      method,
      minLink,
      confidence: confidenceOf(method, minLink, points),
      evidence: inner.map((l) => `${(grow[l.a] as LockstepSeries).key} ~ ${(grow[l.b] as LockstepSeries).key}: ${l.detail}`),
    });
  }
  out.sort((x, y) => y.totalGrowthBytes - x.totalGrowthBytes);
  out.forEach((c, i) => { c.id = `${options.idPrefix ?? options.family ?? 'cluster'}-${i + 1}`; });
  return out;
}
