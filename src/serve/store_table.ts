/**
 * What the dashboard reads from a recording file: a SeriesTable for analysis, and downsampled columns for
 * charts. Works on a read-only Store the caller owns (the recorder writes the same file from another process).
 */
import type { SeriesTable, BootSegment } from '../model/series_table.js';
import type { RecordingInfo, StoreReader } from '../store/reader.js';
import type { BinnedTable } from '../store/binned.js';
import type { GrowingBins } from '../store/growing_bins.js';
import type { SeriesColumn } from './api_types.js';

/** One recording, every series on its timeline (the same table `memsleuth analyze FILE` builds). */
export function tableFromRecording(store: StoreReader, recordingId: number, source: string): { table: SeriesTable; lastSampleId: number } | undefined {
  const rec = store.listRecordings().find((r) => r.id === recordingId);
  if (!rec) return undefined;
  const tl = store.timeline(recordingId);
  const n = tl.t.length;
  if (n === 0) return undefined;
  const t0 = tl.t[0] as number;
  const t = Float64Array.from(tl.t, (ms) => (ms - t0) / 1000);
  const lastId = tl.ids[n - 1] as number;
  const series = new Map<string, Float64Array>();
  for (const s of store.listSeries(recordingId)) {
    // Samples may land between the timeline read and this one: cut every series to the same last sample.
    const d = store.readSeries(recordingId, s.key, { toMs: tl.t[n - 1] as number });
    const v = new Float64Array(n).fill(NaN);
    let j = 0;
    for (let i = 0; i < d.sampleIds.length && j < n; i++) {
      const id = d.sampleIds[i] as number;
      if (id > lastId) break;
      while (j < n && (tl.ids[j] as number) < id) j++;
      if (j < n && tl.ids[j] === id) v[j] = d.v[i] as number;
    }
    series.set(s.key, v);
  }
  const boots: BootSegment[] = [];
  const segs = store.bootSegments(recordingId);
  segs.forEach((b, i) => {
    const from = indexOfId(tl.ids, b.firstSampleId ?? Infinity);
    const nextFirst = segs[i + 1]?.firstSampleId;
    const to = nextFirst === undefined ? n - 1 : indexOfId(tl.ids, nextFirst) - 1;
    if (from < n && to >= from) boots.push({ ...(b.bootId !== undefined ? { bootId: b.bootId } : {}), fromIndex: from, toIndex: to });
  });
  const table: SeriesTable = {
    t, series, startedAtMs: t0, boots,
    gaps: store.gaps(recordingId).map((g) => ({ fromSec: (g.fromMs - t0) / 1000, toSec: (g.toMs - t0) / 1000, reason: g.reason })),
    meta: { source, intervalSec: rec.intervalSec, timeSource: 'host', notes: [] },
  };
  return { table, lastSampleId: lastId };
}

/**
 * The table analysis reads (what `memsleuth analyze FILE` builds): every series binned to at most `maxPoints`
 * points in one streamed pass (store/binned.ts), in memory bounded whatever the recording's length.
 */
export function binnedTableFromRecording(store: StoreReader, recordingId: number, source: string, maxPoints: number): { table: SeriesTable; lastSampleId: number } | undefined {
  const rec = store.listRecordings().find((r) => r.id === recordingId);
  if (!rec || rec.sampleCount === 0) return undefined;
  return tableOfBins(store, rec, store.readBinned(recordingId, { maxBins: maxPoints }), source);
}

/**
 * The same table from bins kept up to date across calls (store/growing_bins.ts): reads only what was committed
 * since the last call. Bins hold 2^k samples each (between maxBins/2 and maxBins of them), not n/maxBins.
 */
export function growingTableFromRecording(store: StoreReader, bins: GrowingBins, source: string): { table: SeriesTable; lastSampleId: number } | undefined {
  const rec = store.listRecordings().find((r) => r.id === bins.recordingId);
  if (!rec || rec.sampleCount === 0) return undefined;
  bins.update();
  return tableOfBins(store, rec, bins.table(), source);
}

function tableOfBins(store: StoreReader, rec: RecordingInfo, b: BinnedTable, source: string): { table: SeriesTable; lastSampleId: number } | undefined {
  const recordingId = rec.id;
  if (b.lastSampleId === null || b.tMs.length === 0) return undefined;
  const t0 = rec.firstSampleMs ?? (b.tMs[0] as number);
  const t = Float64Array.from(b.tMs, (ms) => (ms - t0) / 1000);
  const binned = b.samples > b.tMs.length;
  const notes = binned ? [`${b.samples} samples read as ${b.tMs.length} bin means of ~${(b.samples / b.tMs.length).toFixed(0)} consecutive samples: trend tests and their intervals are computed on the bin means`] : [];
  const table: SeriesTable = {
    t, series: b.series, startedAtMs: t0,
    boots: store.bootSegments(recordingId).map((s) => ({ ...(s.bootId !== undefined ? { bootId: s.bootId } : {}), fromIndex: 0, toIndex: t.length - 1 })),
    gaps: store.gaps(recordingId).map((g) => ({ fromSec: (g.fromMs - t0) / 1000, toSec: (g.toMs - t0) / 1000, reason: g.reason })),
    meta: { source, intervalSec: rec.intervalSec, timeSource: 'host', notes },
    ...(binned ? { binCounts: b.counts } : {}),
  };
  return { table, lastSampleId: b.lastSampleId };
}

/** First index whose id is >= `id` (ids ascend). */
function indexOfId(ids: Float64Array, id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ids[mid] as number) < id) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Bucket bounds over n samples: at most `points` runs of consecutive samples, the same for every key of
 * a request, so the columns share one time axis.
 */
export function bucketBounds(n: number, points: number): number[] {
  const b = Math.max(1, Math.min(n, Math.floor(points)));
  const bounds: number[] = [];
  for (let i = 0; i <= b; i++) bounds.push(Math.floor((i * n) / b));
  return bounds;
}

/** Min and max of each bucket, ignoring NaN (absent); null when the whole bucket is absent. */
export function downsampleMinMax(v: ArrayLike<number>, bounds: readonly number[]): { min: (number | null)[]; max: (number | null)[] } {
  const min: (number | null)[] = [];
  const max: (number | null)[] = [];
  for (let b = 0; b + 1 < bounds.length; b++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = bounds[b] as number; i < (bounds[b + 1] as number); i++) {
      const x = v[i] as number;
      if (Number.isNaN(x)) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const any = lo <= hi;
    min.push(any ? lo : null);
    max.push(any ? hi : null);
  }
  return { min, max };
}

export interface SeriesRead {
  samples: number;
  downsampled: boolean;
  lastSampleId: number | null;
  t: number[];
  series: SeriesColumn[];
  missing: string[];
}

export function readColumns(store: StoreReader, recordingId: number, keys: readonly string[], range: { fromMs?: number; toMs?: number }, points: number): SeriesRead {
  const tl = store.timelineView(recordingId, range);
  const n = tl.t.length;
  const bounds = bucketBounds(n, points);
  const t: number[] = [];
  for (let b = 0; b + 1 < bounds.length; b++) t.push(tl.t[(bounds[b + 1] as number) - 1] as number);
  const series: SeriesColumn[] = [];
  const missing: string[] = [];
  const lastId = n > 0 ? (tl.ids[n - 1] as number) : null;
  for (const key of keys) {
    if (!store.hasSeries(recordingId, key)) { missing.push(key); continue; }
    // From the change points over our timeline slice: no dense array, and samples appended meanwhile are not ours.
    series.push({ key, ...store.minMaxBuckets(recordingId, key, tl.ids, bounds) });
  }
  return { samples: n, downsampled: n > bounds.length - 1, lastSampleId: lastId, t, series, missing };
}
