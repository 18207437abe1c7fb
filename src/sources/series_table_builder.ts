/**
 * Aligns flattened samples (model/series.ts flattenSnapshot) into the SeriesTable analysis reads: one time
 * axis, every series on it, NaN where a sample lacked the series (a process not yet started, a file read only
 * in some samples). A new boot id, or a clock that goes back, starts a new boot segment; the axis keeps
 * increasing across it so analysis never sees time run backwards.
 */
import type { Snapshot } from '../model/snapshot.js';
import type { SeriesTable, BootSegment, Gap } from '../model/series_table.js';

export interface TableSample {
  /** Seconds on the recording's axis (any origin; the builder makes the first sample t = 0). */
  tSec: number;
  takenAtMs?: number;
  bootId?: string;
  values: Map<string, number>;
  snapshot?: Snapshot;
}

export interface TableMeta { source: string; intervalSec?: number; timeSource?: string; notes?: string[] }

export function buildSeriesTable(samples: readonly TableSample[], meta: TableMeta): SeriesTable {
  const n = samples.length;
  const t = new Float64Array(n);
  const boots: BootSegment[] = [];
  const gaps: Gap[] = [];
  const notes = [...(meta.notes ?? [])];
  const step = meta.intervalSec ?? 1;
  let offset = 0;
  let prevRaw = NaN;
  let prevBoot: string | undefined;
  let segStart = 0;
  for (let i = 0; i < n; i++) {
    const s = samples[i] as TableSample;
    const raw = s.tSec;
    const newBoot = i > 0 && ((s.bootId !== undefined && prevBoot !== undefined && s.bootId !== prevBoot) || raw < prevRaw);
    if (i === 0) offset = -raw;
    else if (newBoot) {
      // Keep the axis increasing: the new segment starts one interval after the last sample of the previous one.
      const last = t[i - 1] as number;
      offset = last + step - raw;
      boots.push(seg(samples[segStart]?.bootId, segStart, i - 1));
      segStart = i;
      gaps.push({ fromSec: last, toSec: last + step, reason: s.bootId !== prevBoot ? 'reboot (new boot id)' : 'clock went back (reboot or a reset clock)' });
    }
    t[i] = raw + offset;
    prevRaw = raw;
    if (s.bootId !== undefined) prevBoot = s.bootId;
  }
  if (n > 0) boots.push(seg(samples[segStart]?.bootId, segStart, n - 1));
  if (boots.length > 1) notes.push(`${boots.length} boot segments`);

  const series = new Map<string, Float64Array>();
  for (let i = 0; i < n; i++) {
    for (const [k, v] of (samples[i] as TableSample).values) {
      let a = series.get(k);
      if (!a) { a = new Float64Array(n).fill(NaN); series.set(k, a); }
      a[i] = v;
    }
  }
  const table: SeriesTable = { t, series, boots, gaps, meta: { source: meta.source, notes } };
  if (meta.intervalSec !== undefined) table.meta.intervalSec = meta.intervalSec;
  if (meta.timeSource !== undefined) table.meta.timeSource = meta.timeSource;
  const firstMs = samples[0]?.takenAtMs;
  if (firstMs !== undefined) table.startedAtMs = firstMs;
  for (const s of samples) if (s.snapshot?.meminfo) { table.firstMeminfo = s.snapshot.meminfo; break; }
  for (let i = n - 1; i >= 0; i--) {
    const snap = samples[i]?.snapshot;
    if (snap?.meminfo && !table.lastMeminfo) table.lastMeminfo = snap.meminfo;
    if (snap?.zoneinfo && !table.lastZones) table.lastZones = snap.zoneinfo.zones;
    if (table.lastMeminfo && table.lastZones) break;
  }
  return table;
}

function seg(bootId: string | undefined, fromIndex: number, toIndex: number): BootSegment {
  return bootId !== undefined ? { bootId, fromIndex, toIndex } : { fromIndex, toIndex };
}
