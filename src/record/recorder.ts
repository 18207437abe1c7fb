/**
 * The recording loop: one sample per interval from a Target, planned on a budget, flattened to series and
 * committed to the store one transaction per sample, so a crash or kill -9 loses at most the sample in flight.
 * Link drops become gaps (the target reports them); reboots become boot segments (the store detects them).
 */
import type { Target } from '../sources/target.js';
import type { SamplePlanner } from '../sources/sample_planner.js';
import { checkFirstWatched } from '../sources/watch_file.js';
import type { RecordingWriter, SampleWarning } from '../store/writer.js';
import type { Snapshot } from '../model/snapshot.js';
import { flattenSnapshot, RECLAIM_PROBE_KEY, type SeriesValues } from '../model/series.js';

export interface SampleEvent {
  index: number;
  sampleId: number;
  snapshot: Snapshot;
  values: SeriesValues;
  durationMs: number;
  newBootSegment: boolean;
  skipped: string[];
  lost: string[];
}

export interface RecorderOptions {
  target: Target;
  planner: SamplePlanner;
  writer: RecordingWriter;
  intervalSec: number;
  /** Stop after this long (seconds); undefined: until the signal aborts. */
  durationSec?: number;
  signal?: AbortSignal;
  onSample?: (e: SampleEvent) => void;
  onError?: (err: Error) => void;
  now?: () => number;
  /**
   * Reclaim by experiment (record --probe-reclaim): at the end of the recording (duration or Ctrl-C), and every
   * `everySec` when given, two extra samples are taken right after `echo 2` and then `echo 3` to drop_caches
   * (and cgroup v2 memory.reclaim for `cgroups`). Each carries the series `probe.reclaim` = 2 or 3, so the
   * analysis knows what fell (cache) and what stayed (pinned). drop_caches and memory.reclaim keep no state:
   * there is nothing to restore; a probe cut short by a second Ctrl-C leaves committed samples only.
   */
  probeReclaim?: { everySec?: number; cgroups?: readonly string[] };
  onProbe?: (level: 2 | 3) => void;
}

export { RECLAIM_PROBE_KEY } from '../model/series.js';

export interface RecordSummary { samples: number; errors: number; startedAtMs: number; endedAtMs: number; stoppedBy: 'duration' | 'signal' }

/** Sleeps until `ms` or the signal aborts, whichever comes first. */
function sleepUntil(atMs: number, now: () => number, signal?: AbortSignal): Promise<void> {
  const ms = Math.max(0, atMs - now());
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** "/proc/1/smaps_rollup: Permission denied": the target's words, prefixed with the file when they lack it. */
function describeUnreadable(u: { name: string; pid?: number; error: string }): string {
  const file = `${u.pid !== undefined ? `/proc/${u.pid}/` : ''}${u.name}`;
  return u.error.includes(u.name) ? u.error : `${file}: ${u.error}`;
}

export async function record(o: RecorderOptions): Promise<RecordSummary> {
  const now = o.now ?? Date.now;
  const startedAtMs = now();
  const endAtMs = o.durationSec !== undefined ? startedAtMs + o.durationSec * 1000 : Infinity;
  let samples = 0, errors = 0;
  let nextProbeMs = o.probeReclaim?.everySec !== undefined ? startedAtMs + o.probeReclaim.everySec * 1000 : Infinity;
  const takeOne = async (reclaim?: 2 | 3): Promise<void> => {
    const planned = o.planner.plan();
    const plan = reclaim !== undefined ? { ...planned, reclaim: { level: reclaim, ...(o.probeReclaim?.cgroups ? { cgroups: o.probeReclaim.cgroups } : {}) } } : planned;
    let result;
    try {
      result = await o.target.sample(plan);
    } catch (err) {
      // The target gave up waiting for its link: nothing was sampled; the next sample will carry the gap.
      errors++;
      o.onError?.(err as Error);
      return;
    }
    // A watched file that gives nothing is said at once, not found empty after a day of recording.
    if (samples === 0 && plan.watch.length > 0) checkFirstWatched(plan.watch, result.snapshot.watched, result.unreadable.filter((u) => u.pid === undefined));
    if (result.gap) o.writer.recordGap({ fromMs: result.gap.downAtMs, toMs: result.gap.upAtMs, reason: result.gap.reason });
    const snap = result.snapshot;
    const values = flattenSnapshot(snap);
    if (reclaim !== undefined) values.set(RECLAIM_PROBE_KEY, reclaim);
    const warnings: SampleWarning[] = snap.warnings.map((w) => ({ source: w.source, line: w.line, text: w.text, reason: w.reason, severity: w.severity }));
    const clock = { takenAtMs: snap.takenAtMs, ...(snap.target.uptimeSec !== undefined ? { uptimeSec: snap.target.uptimeSec } : {}), ...(snap.target.bootId !== undefined ? { bootId: snap.target.bootId } : {}) };
    const raw = o.writer.wantsRaw(clock, warnings.some((w) => w.severity !== 'info'))
      ? result.raw.map((r) => ({ kind: r.pid !== undefined ? `/proc/${r.pid}/${r.name}` : r.name, text: r.text }))
      : undefined;
    const appended = o.writer.appendSample({
      ...clock, values, warnings,
      skipped: [...result.skipped, ...result.unreadable.map(describeUnreadable)],
      ...(raw ? { raw } : {}),
    });
    o.planner.observe(plan, { snapshot: snap, durationMs: result.durationMs });
    samples++;
    o.onSample?.({
      index: plan.index, sampleId: appended.sampleId, snapshot: snap, values, durationMs: result.durationMs,
      newBootSegment: appended.newBootSegment && samples > 1, skipped: result.skipped, lost: result.lost,
    });
  };
  const probe = async (): Promise<void> => {
    for (const level of [2, 3] as const) {
      o.onProbe?.(level);
      await takeOne(level);
    }
  };
  // Ticks are scheduled from the start time, not from the end of the last sample, so the interval does not drift.
  for (let tick = 0; !o.signal?.aborted && now() < endAtMs; tick++) {
    const dueMs = startedAtMs + tick * o.intervalSec * 1000;
    if (now() > dueMs + o.intervalSec * 1000) continue; // a slow sample overran: skip the missed ticks
    await sleepUntil(dueMs, now, o.signal);
    if (o.signal?.aborted || now() >= endAtMs) break;
    if (now() >= nextProbeMs) {
      await probe();
      nextProbeMs += (o.probeReclaim?.everySec ?? Infinity) * 1000;
      continue;
    }
    await takeOne();
  }
  // At the end, whether the duration ran out or Ctrl-C stopped the recording.
  if (o.probeReclaim && samples > 0) await probe();
  return { samples, errors, startedAtMs, endedAtMs: now(), stoppedBy: o.signal?.aborted ? 'signal' : 'duration' };
}
