/**
 * Live samples of a recording that another process (the recorder) is writing: polls the read-only store for
 * samples newer than the last one seen and hands each, with all its values, to the subscribers. One poller per
 * recording however many browsers watch; it runs only while someone listens.
 *
 * Samples are found by time (the sample_time index), with a minute of slack so a host clock stepping back a
 * little does not hide one; ids decide what is new.
 */
import type { StoreReader } from '../store/reader.js';

export interface LiveSample {
  sampleId: number;
  takenAtMs: number;
  sampleCount: number;
  values: ReadonlyMap<string, number>;
}

export type LiveListener = (s: LiveSample) => void;

const CLOCK_SLACK_MS = 60_000;

export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  private timer: NodeJS.Timeout | undefined;
  private lastId: number | null;
  private lastMs: number | null;
  private count: number;
  /** The values at lastId, once a poll has read them: the next samples' values step from them. */
  private lastValues: ReadonlyMap<string, number> | undefined;
  /** Last error of a poll (file locked for long, removed, ...); polling goes on. */
  lastError: Error | undefined;

  constructor(private readonly store: StoreReader, readonly recordingId: number, private readonly pollMs: number) {
    const last = this.latest();
    this.lastId = last?.id ?? null;
    this.lastMs = last?.takenAtMs ?? null;
    this.count = store.sampleCount(recordingId);
  }

  get lastSampleId(): number | null { return this.lastId; }

  subscribe(fn: LiveListener): () => void {
    this.listeners.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => this.poll(), this.pollMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll: new samples in id order, each delivered to every listener. Public for tests. */
  poll(): LiveSample[] {
    let fresh: LiveSample[] = [];
    try {
      const from = this.lastMs === null ? undefined : this.lastMs - CLOCK_SLACK_MS;
      const rows = this.store.readSamples(this.recordingId, from === undefined ? {} : { fromMs: from });
      const lastId = this.lastId ?? 0;
      const newer = rows.filter((r) => r.id > lastId);
      if (newer.length === 0) return [];
      this.count = this.store.sampleCount(this.recordingId);
      const base = this.count - newer.length;
      // Each new sample's values from the previous one's and its own changes (milliseconds); valuesAt looks up
      // every series per sample (tens of ms at a thousand series), kept for the first poll and old files.
      const stepped = this.lastValues !== undefined && this.lastId !== null
        ? this.store.valuesAfter(this.recordingId, this.lastId, this.lastValues, (newer[newer.length - 1] as { id: number }).id)
        : undefined;
      const byId = new Map((stepped ?? []).map((x) => [x.id, x.values]));
      fresh = newer.map((r, i) => ({ sampleId: r.id, takenAtMs: r.takenAtMs, sampleCount: base + i + 1, values: byId.get(r.id) ?? this.store.valuesAt(r.id) }));
      this.lastValues = fresh[fresh.length - 1]?.values;
      const last = newer[newer.length - 1];
      if (last) { this.lastId = last.id; this.lastMs = Math.max(this.lastMs ?? -Infinity, last.takenAtMs); }
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e as Error;
      return [];
    }
    for (const s of fresh) for (const fn of this.listeners) fn(s);
    return fresh;
  }

  private latest(): { id: number; takenAtMs: number } | undefined {
    const tl = this.store.timeline(this.recordingId);
    const n = tl.ids.length;
    return n === 0 ? undefined : { id: tl.ids[n - 1] as number, takenAtMs: tl.t[n - 1] as number };
  }
}
