/**
 * Aligns flattened samples (model/series.ts flattenSnapshot) into the SeriesTable analysis reads: one time
 * axis, every series on it, NaN where a sample lacked the series (a process not yet started, a file read only
 * in some samples). A new boot id, a reboot the clock saw (uptime fell), or a clock that goes back starts a new
 * boot segment; the axis keeps increasing across it so analysis never sees time run backwards.
 *
 * TableBuilder takes samples one at a time as rows of numbered keys (capture_file.ts SeriesRow), writing each
 * value straight into its series' column: no Map or object per sample, so reading a log for analysis costs what
 * `ingest` costs plus the columns themselves.
 */
import type { Snapshot } from '../model/snapshot.js';
import type { SeriesTable, BootSegment, Gap } from '../model/series_table.js';
import type { Zone } from '../model/proc_files.js';

export interface TableSample {
  /** Seconds on the recording's axis (any origin; the builder makes the first sample t = 0). */
  tSec: number;
  takenAtMs?: number;
  bootId?: string;
  /** The clock saw a reboot here (uptime fell) even without a boot id. */
  reboot?: boolean;
  values: Map<string, number>;
  snapshot?: Snapshot;
}

export interface TableMeta { source: string; intervalSec?: number; timeSource?: string; notes?: string[] }

/** A sample's values as numbered keys: names[ids[i]] has value values[ids[i]] (capture_fast.ts SeriesRow). */
export interface NumberedRow { readonly keys: { readonly names: readonly string[] }; ids: Int32Array; count: number; values: Float64Array }

export interface SampleTime { tSec: number; takenAtMs?: number; bootId?: string; reboot?: boolean }

export class TableBuilder {
  private n = 0;
  private cap = 256;
  private t = new Float64Array(this.cap);
  private cols: (Float64Array | undefined)[] = [];
  private names: readonly string[] = [];
  private readonly byName = new Map<string, number>();
  private readonly boots: BootSegment[] = [];
  private readonly gaps: Gap[] = [];
  private offset = 0;
  private prevRaw = NaN;
  private prevBoot: string | undefined;
  private segStart = 0;
  private segBoot: string | undefined;
  private startedAtMs: number | undefined;
  private lastZones: Zone[] | undefined;
  private firstMeminfo: Snapshot['meminfo'];
  private lastMeminfo: Snapshot['meminfo'];

  constructor(private readonly step = 1) {}

  get size(): number {
    return this.n;
  }

  /** One sample, its values given as a row of numbered keys (read during the call, not kept). */
  addRow(time: SampleTime, row: NumberedRow): void {
    const i = this.place(time);
    this.names = row.keys.names;
    const { ids, values } = row;
    for (let k = 0; k < row.count; k++) {
      const id = ids[k] as number;
      this.col(id)[i] = values[id] as number;
    }
  }

  /** One sample, its values as a Map (keys numbered here). */
  addMap(time: SampleTime, values: ReadonlyMap<string, number>, snapshot?: Snapshot): void {
    const i = this.place(time);
    const names = this.names as string[];
    for (const [k, v] of values) {
      let id = this.byName.get(k);
      if (id === undefined) {
        id = names.length;
        names.push(k);
        this.byName.set(k, id);
      }
      this.col(id)[i] = v;
    }
    if (snapshot?.meminfo) {
      this.firstMeminfo ??= snapshot.meminfo;
      this.lastMeminfo = snapshot.meminfo;
    }
    if (snapshot?.zoneinfo) this.lastZones = snapshot.zoneinfo.zones;
  }

  /** The last zoneinfo seen (for OOM watermarks). */
  zones(z: Zone[]): void {
    this.lastZones = z;
  }

  finish(meta: TableMeta): SeriesTable {
    const n = this.n;
    if (n > 0) this.boots.push(seg(this.segBoot, this.segStart, n - 1));
    const notes = [...(meta.notes ?? [])];
    if (this.boots.length > 1) notes.push(`${this.boots.length} boot segments`);
    const series = new Map<string, Float64Array>();
    this.cols.forEach((c, id) => {
      if (c) series.set(this.names[id] as string, c.length === n ? c : c.slice(0, n));
    });
    const table: SeriesTable = { t: this.t.slice(0, n), series, boots: this.boots, gaps: this.gaps, meta: { source: meta.source, notes } };
    if (meta.intervalSec !== undefined) table.meta.intervalSec = meta.intervalSec;
    if (meta.timeSource !== undefined) table.meta.timeSource = meta.timeSource;
    if (this.startedAtMs !== undefined) table.startedAtMs = this.startedAtMs;
    if (this.firstMeminfo) table.firstMeminfo = this.firstMeminfo;
    if (this.lastMeminfo) table.lastMeminfo = this.lastMeminfo;
    if (this.lastZones) table.lastZones = this.lastZones;
    return table;
  }

  /** Puts the sample on the axis (a new boot segment when it starts one) and returns its index. */
  private place(s: SampleTime): number {
    const i = this.n;
    if (i === this.cap) this.grow();
    const raw = s.tSec;
    const newBoot = i > 0 && ((s.bootId !== undefined && this.prevBoot !== undefined && s.bootId !== this.prevBoot) || raw < this.prevRaw || s.reboot === true);
    if (i === 0) {
      this.offset = -raw;
      this.segBoot = s.bootId;
      if (s.takenAtMs !== undefined) this.startedAtMs = s.takenAtMs;
    } else if (newBoot) {
      // Keep the axis increasing: the new segment starts one interval after the last sample of the previous one.
      const last = this.t[i - 1] as number;
      this.offset = last + this.step - raw;
      this.boots.push(seg(this.segBoot, this.segStart, i - 1));
      this.segStart = i;
      this.segBoot = s.bootId;
      const reason = s.bootId !== undefined && this.prevBoot !== undefined && s.bootId !== this.prevBoot ? 'reboot (new boot id)'
        : s.reboot ? 'reboot (uptime fell)' : 'clock went back (reboot or a reset clock)';
      this.gaps.push({ fromSec: last, toSec: last + this.step, reason });
    }
    this.t[i] = raw + this.offset;
    this.prevRaw = raw;
    if (s.bootId !== undefined) this.prevBoot = s.bootId;
    this.n = i + 1;
    return i;
  }

  private col(id: number): Float64Array {
    let c = this.cols[id];
    if (!c) {
      c = new Float64Array(this.cap).fill(NaN);
      this.cols[id] = c;
    }
    return c;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const t = new Float64Array(cap);
    t.set(this.t);
    this.t = t;
    this.cols = this.cols.map((c) => {
      if (!c) return c;
      const g = new Float64Array(cap).fill(NaN, c.length);
      g.set(c);
      return g;
    });
    this.cap = cap;
  }
}

export function buildSeriesTable(samples: readonly TableSample[], meta: TableMeta): SeriesTable {
  const b = new TableBuilder(meta.intervalSec ?? 1);
  for (const s of samples) {
    const time: SampleTime = { tSec: s.tSec };
    if (s.takenAtMs !== undefined) time.takenAtMs = s.takenAtMs;
    if (s.bootId !== undefined) time.bootId = s.bootId;
    if (s.reboot) time.reboot = true;
    b.addMap(time, s.values, s.snapshot);
  }
  return b.finish(meta);
}

function seg(bootId: string | undefined, fromIndex: number, toIndex: number): BootSegment {
  return bootId !== undefined ? { bootId, fromIndex, toIndex } : { fromIndex, toIndex };
}
