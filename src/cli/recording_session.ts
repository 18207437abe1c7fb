/**
 * What `record` and `watch` share: open the target, the planner and the database, run the recorder until the
 * duration ends or Ctrl-C/SIGTERM, and close everything on every exit path (a committed sample is never lost).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../model/errors.js';
import type { SampleEvent } from '../record/recorder.js';
import type { LinkEvent } from '../sources/target.js';
import { openTarget, makePlanner, type TargetFlags } from './target_options.js';
import { checkOutputPath } from './output_files.js';

export interface SessionFlags extends TargetFlags {
  /** Seconds (option_types.duration). */
  interval: number;
  duration?: number;
  db?: string;
  /** record --probe-reclaim: true (at the end only) or seconds (also every so often; option_types.duration). */
  probeReclaim?: boolean | number;
  /** record --probe-cgroup: cgroup v2 directories whose memory.reclaim the probe writes. */
  probeCgroup?: string[];
  /** Samples of this many seconds are committed together (store/writer.ts); 0 when a live dashboard reads the file. */
  commitEverySec?: number;
}

export interface SessionHooks {
  /** Awaited before the first sample: a dashboard that cannot start stops the session, with the database closed. */
  onStart?: (info: { dbPath: string; targetName: string; intervalSec: number; durationSec?: number; recordingId: number }) => void | Promise<void>;
  onSample?: (e: SampleEvent) => void;
  onLink?: (e: LinkEvent) => void;
  onError?: (err: Error) => void;
  onProbe?: (level: 2 | 3) => void;
}

export async function runRecordingSession(f: SessionFlags, hooks: SessionHooks): Promise<{ samples: number; dbPath: string; stoppedBy: string }> {
  const intervalSec = f.interval;
  const durationSec = f.duration;
  const local = f.via === undefined && f.serial === undefined;
  if (f.dropCaches && local && process.getuid?.() !== 0) {
    throw new InputError('--drop-caches writes /proc/sys/vm/drop_caches, which needs root');
  }
  // A remote target's processes are known only once it answers; there a missing pid shows as an unreadable smaps.
  const missing = local ? f.pid.filter((p) => !existsSync(join(f.proc, String(p)))) : [];
  if (missing.length > 0) throw new InputError(`--pid ${missing.join(', ')}: no such process on this machine`);
  if (f.db !== undefined) checkOutputPath(f.db, '--db');
  const probeEverySec = typeof f.probeReclaim === 'number' ? f.probeReclaim : undefined;
  if ((f.probeCgroup ?? []).length > 0 && f.probeReclaim === undefined) throw new InputError('--probe-cgroup needs --probe-reclaim');
  if (f.probeReclaim !== undefined && local && process.getuid?.() !== 0) {
    throw new InputError('--probe-reclaim writes /proc/sys/vm/drop_caches, which needs root');
  }
  const probeReclaim = f.probeReclaim !== undefined
    ? { ...(probeEverySec !== undefined ? { everySec: probeEverySec } : {}), ...((f.probeCgroup ?? []).length > 0 ? { cgroups: f.probeCgroup as string[] } : {}) }
    : undefined;
  const planner = await makePlanner(f);
  const { target, via } = await openTarget(f);
  const { openStore, newRecordingPath } = await import('../store/store.js');
  const { record } = await import('../record/recorder.js');
  const startedAtMs = Date.now();
  const dbPath = resolve(newRecordingPath(f.db, target.name, startedAtMs));
  const store = openStore(dbPath);
  const writer = store.beginRecording({
    target: { name: target.name, ...(via !== undefined ? { via } : {}) },
    startedAtMs, intervalSec,
    ...(f.commitEverySec !== undefined ? { commitEverySec: f.commitEverySec } : {}),
    options: {
      via: via ?? null, pids: f.pid, comms: f.comm, watchFiles: f.watchFile, dropCaches: f.dropCaches === true,
      ...(probeReclaim ? { probeReclaim } : {}),
      // On a local target the recorder is one of the processes it records: its footprint is set apart (analyze/own.ts).
      ...(via === undefined ? { ownPid: process.pid } : {}),
    },
  });
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const unsubscribe = target.onLink((e) => hooks.onLink?.(e));
  try {
    await hooks.onStart?.({ dbPath, targetName: target.name, intervalSec, ...(durationSec !== undefined ? { durationSec } : {}), recordingId: writer.recordingId });
    const summary = await record({
      target, planner, writer, intervalSec, signal: abort.signal,
      ...(durationSec !== undefined ? { durationSec } : {}),
      ...(hooks.onSample ? { onSample: hooks.onSample } : {}),
      ...(hooks.onError ? { onError: hooks.onError } : {}),
      ...(probeReclaim ? { probeReclaim } : {}),
      ...(hooks.onProbe ? { onProbe: hooks.onProbe } : {}),
    });
    return { samples: summary.samples, dbPath, stoppedBy: summary.stoppedBy };
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    unsubscribe();
    writer.close();
    store.close();
    await target.close();
  }
}

/** MemAvailable's slope so far, for progress lines: a bounded window of the latest points. */
export class TrendSoFar {
  private readonly t: number[] = [];
  private readonly v: number[] = [];
  constructor(private readonly maxPoints = 1800) {}
  push(tSec: number, value: number | undefined): void {
    if (value === undefined) return;
    this.t.push(tSec);
    this.v.push(value);
    if (this.t.length > this.maxPoints) { this.t.shift(); this.v.shift(); }
  }
  /** Bytes per second, by Theil-Sen (robust to the odd spike); undefined until there are 5 points. */
  async slope(): Promise<number | undefined> {
    if (this.t.length < 5) return undefined;
    const { theilSen } = await import('../analyze/stats/theil_sen.js');
    return theilSen(Float64Array.from(this.t), Float64Array.from(this.v), { maxPairs: 20_000 }).slope;
  }
}
