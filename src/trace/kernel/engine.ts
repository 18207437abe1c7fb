/**
 * What both kernel engines take and give back: everything before symbolization.
 */
import type { LostEvents, KernelTraceCounters } from './options.js';
import type { SiteSummary } from './outstanding.js';
import type { UndoStack } from './tracefs_state.js';

export interface EngineSettings {
  windowSec: number;
  settleSec: number;
  intervalSec: number;
  minAgeSec: number;
  maxTracked: number;
  cache?: string;
  callSiteRange?: [bigint, bigint];
  minBytes?: number;
  stacks: boolean;
  /** Track one object in this many (by address); 1: all. */
  sampleEvery: number;
}

export interface EngineContext {
  settings: EngineSettings;
  undo: UndoStack;
  tracefsRoot: string;
  signal: AbortSignal;
  progress: (message: string) => void;
}

/** One sample of outstanding totals per site, seconds since the window opened. */
export interface EngineSample { t: number; sites: Map<number, { bytes: number; count: number }> }

export interface EngineOutcome {
  summaries: SiteSummary[];
  caches: Map<number, string>;
  stacks?: Map<number, string>;
  samples: EngineSample[];
  lost: LostEvents;
  counters: KernelTraceCounters;
  interrupted: boolean;
  warnings: string[];
}

/** Sleeps `ms` unless the signal fires first; resolves true when it fired. */
export function sleepOrAbort(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean): void => { clearTimeout(timer); signal.removeEventListener('abort', onAbort); resolve(aborted); };
    const onAbort = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal.addEventListener('abort', onAbort);
  });
}
