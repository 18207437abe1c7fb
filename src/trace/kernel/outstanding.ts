/**
 * Objects allocated and not yet freed, keyed by pointer, in bounded memory. Keys are the low 48 bits of
 * kernel addresses (see ring_buffer.ts readKey48) so the hot path stays on plain numbers.
 * When full, the oldest object is evicted: its pointer is forgotten (a later free of it goes unmatched)
 * but it stays counted against its site as "evicted", so a long-lived leak never disappears from the report.
 */

export interface ObjectRecord { site: number; bytes: number; allocNs: number }

export interface SiteTotals { bytes: number; count: number }

export interface OutstandingCounters {
  allocs: number;
  frees: number;
  /** Frees of pointers we were tracking. */
  matchedFrees: number;
  /** A pointer allocated again while tracked: its free was missed (lost event or untraced free path). */
  replaced: number;
  /** Objects pushed out by the bound. */
  evicted: number;
  /** Allocations seen after the window closed (settle period): not tracked. */
  ignoredAfterWindow: number;
}

export class OutstandingTable {
  private readonly live = new Map<number, ObjectRecord>();
  /** Per site: outstanding tracked + evicted bytes/count, updated on every event (the periodic series). */
  private readonly totals = new Map<number, SiteTotals>();
  private readonly evictedBySite = new Map<number, { bytes: number; count: number; oldestNs: number }>();
  readonly counters: OutstandingCounters = { allocs: 0, frees: 0, matchedFrees: 0, replaced: 0, evicted: 0, ignoredAfterWindow: 0 };
  /** Allocations are taken only while open; frees always (the settle period keeps matching them). */
  open = true;

  constructor(readonly maxTracked: number) {}

  get size(): number { return this.live.size; }

  alloc(ptr: number, site: number, bytes: number, allocNs: number): void {
    if (!this.open) { this.counters.ignoredAfterWindow++; return; }
    this.counters.allocs++;
    const old = this.live.get(ptr);
    if (old !== undefined) {
      this.counters.replaced++;
      this.add(old.site, -old.bytes, -1);
      this.live.delete(ptr);
    } else if (this.live.size >= this.maxTracked) {
      this.evictOldest();
    }
    this.live.set(ptr, { site, bytes, allocNs });
    this.add(site, bytes, 1);
  }

  free(ptr: number): boolean {
    this.counters.frees++;
    const rec = this.live.get(ptr);
    if (rec === undefined) return false;
    this.live.delete(ptr);
    this.counters.matchedFrees++;
    this.add(rec.site, -rec.bytes, -1);
    return true;
  }

  siteTotals(): ReadonlyMap<number, SiteTotals> { return this.totals; }

  objects(): IterableIterator<ObjectRecord> { return this.live.values(); }

  evicted(): ReadonlyMap<number, { bytes: number; count: number; oldestNs: number }> { return this.evictedBySite; }

  private evictOldest(): void {
    // Map iteration order is insertion order: the first key is the oldest allocation still tracked.
    const first = this.live.entries().next();
    if (first.done === true) return;
    const [ptr, rec] = first.value;
    this.live.delete(ptr);
    this.counters.evicted++;
    const e = this.evictedBySite.get(rec.site);
    if (e === undefined) this.evictedBySite.set(rec.site, { bytes: rec.bytes, count: 1, oldestNs: rec.allocNs });
    else { e.bytes += rec.bytes; e.count++; e.oldestNs = Math.min(e.oldestNs, rec.allocNs); }
  }

  private add(site: number, bytes: number, count: number): void {
    const t = this.totals.get(site);
    if (t === undefined) { this.totals.set(site, { bytes, count }); return; }
    t.bytes += bytes;
    t.count += count;
    if (t.count === 0 && !this.evictedBySite.has(site)) this.totals.delete(site);
  }
}

/** One call site's outstanding objects, before symbolization. */
export interface SiteSummary {
  site: number;
  bytes: number;
  count: number;
  /** Ages in seconds at `nowNs`, of the objects counted (min-age applied). */
  ageSec: { min: number; max: number; avg: number };
  /** Objects evicted by the bound (counted in bytes/count; their frees could not be seen). */
  evicted: number;
  /** Distinct object sizes seen, smallest first (up to 4). */
  sizes: number[];
}

/**
 * Groups outstanding objects by site, keeping those at least `minAgeSec` old at `nowNs`; largest first.
 * Evicted objects count when their oldest allocation is old enough.
 */
export function summarizeBySite(
  objects: Iterable<ObjectRecord>,
  nowNs: number,
  minAgeSec: number,
  evicted: ReadonlyMap<number, { bytes: number; count: number; oldestNs: number }> = new Map(),
): SiteSummary[] {
  const by = new Map<number, { bytes: number; count: number; min: number; max: number; sum: number; evicted: number; sizes: Set<number> }>();
  const get = (site: number): NonNullable<ReturnType<typeof by.get>> => {
    let s = by.get(site);
    if (s === undefined) { s = { bytes: 0, count: 0, min: Infinity, max: 0, sum: 0, evicted: 0, sizes: new Set() }; by.set(site, s); }
    return s;
  };
  for (const o of objects) {
    const age = Math.max(0, (nowNs - o.allocNs) / 1e9);
    if (age < minAgeSec) continue;
    const s = get(o.site);
    s.bytes += o.bytes;
    s.count++;
    s.min = Math.min(s.min, age);
    s.max = Math.max(s.max, age);
    s.sum += age;
    if (s.sizes.size < 4) s.sizes.add(o.bytes);
  }
  for (const [site, e] of evicted) {
    const age = Math.max(0, (nowNs - e.oldestNs) / 1e9);
    if (age < minAgeSec) continue;
    const s = get(site);
    s.bytes += e.bytes;
    s.count += e.count;
    s.evicted += e.count;
    s.max = Math.max(s.max, age);
    s.min = Math.min(s.min, age);
    s.sum += age * e.count;
  }
  const out: SiteSummary[] = [];
  for (const [site, s] of by) {
    if (s.count === 0) continue;
    out.push({ site, bytes: s.bytes, count: s.count, ageSec: { min: s.min, max: s.max, avg: s.sum / s.count }, evicted: s.evicted, sizes: [...s.sizes].sort((a, b) => a - b) });
  }
  return out.sort((a, b) => b.bytes - a.bytes || b.count - a.count);
}
