/** One instance of a fleet judged (analyze/fleet.ts makes it; report/ prints it; JSON schema memsleuth.fleet/1). */
import type { Analysis, LeakKind, SystemVerdict } from './analysis.js';

export const FLEET_SCHEMA = 'memsleuth.fleet/1';

export interface FleetLeak {
  kind: LeakKind;
  subject: string;
  /** The culprit named first (slab cache, process, caller key), when the instance exports per-culprit series. */
  culprit: string | null;
  rateBytesPerSec: number;
  since: string | null;
  confidence: Analysis['confidence'];
}

export interface FleetRow {
  instance: string;
  verdict: SystemVerdict | 'error';
  confidence: Analysis['confidence'] | null;
  /** Sum of the leak rates, bytes per second (0 without a leak): the ranking key. */
  leakRateBytesPerSec: number;
  leaks: FleetLeak[];
  forecast: { status: Analysis['forecast']['status']; secondsToOom: number | null; at: string | null };
  memTotalBytes: number | null;
  samples: number;
  fromIso: string | null;
  /** MemTotal - MemAvailable (or MemTotal - MemFree), 60 points over the window, for a sparkline. */
  spark: number[];
  /** Why the instance could not be judged (verdict "error"). */
  error: string | null;
  /** How its history was read: "remote-read" (raw samples) or "query_range" (one value per step). */
  read?: string;
  /** What the reader noted (how it read, binning, boots). */
  notes?: string[];
}

