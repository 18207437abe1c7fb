/**
 * The one contract between the dashboard server (server.ts) and the browser client (client/). JSON only:
 * no NaN or Infinity (an absent value is null), times are host wall-clock ms since the epoch, sizes in bytes.
 * Strings that come from the target (process names, cache names, paths) arrive raw: the client shows them as
 * text (textContent), never as markup.
 */
import type { Analysis } from '../model/analysis.js';

export const API_VERSION = 1;

/** GET /api/recordings */
export interface RecordingSummary {
  id: number;
  target: { name: string; via: string | null };
  startedAtMs: number;
  intervalSec: number;
  /** Null while recording (or after the recorder was killed). */
  endedAtMs: number | null;
  sampleCount: number;
  firstSampleMs: number | null;
  lastSampleMs: number | null;
}

export interface RecordingsResponse {
  apiVersion: typeof API_VERSION;
  recordings: RecordingSummary[];
  /** The recording the dashboard shows by default (the one asked for, else the last). */
  current: number | null;
}

/**
 * GET /api/series?recording=ID&key=K[&key=K2...]&from=MS&to=MS&points=N
 * Several keys share one time axis: the samples in [from, to] are cut into at most `points` buckets of
 * consecutive samples, and each key gets the min and max of its values in each bucket (null: absent in the
 * whole bucket). `t` is the time of each bucket's last sample, so a live point appended later sorts after it.
 */
export interface SeriesColumn { key: string; min: (number | null)[]; max: (number | null)[] }

export interface SeriesResponse {
  recordingId: number;
  fromMs: number | null;
  toMs: number | null;
  /** Samples in the range before downsampling. */
  samples: number;
  /** True when buckets hold more than one sample. */
  downsampled: boolean;
  /** Id of the last sample in the range; live updates continue after it. */
  lastSampleId: number | null;
  t: number[];
  series: SeriesColumn[];
  /** Requested keys that the recording does not have. */
  missing: string[];
}

/** GET /api/analysis?recording=ID: analyzeRecording's result (summary filled in) and how fresh it is. */
export interface AnalysisResponse {
  recordingId: number;
  computedAtMs: number;
  /** Last sample the analysis saw. */
  lastSampleId: number | null;
  /** Null when the recording has no sample yet (analysis is then null too) or analysis failed. */
  analysis: Analysis | null;
  error: string | null;
  /** The server recomputes at most this often. */
  refreshSec: number;
  /** Series the dashboard charts: system memory first, then the leaks and culprits found. */
  charts: ChartSpec[];
}

export interface ChartSpec {
  id: string;
  title: string;
  keys: string[];
}

/** SSE `event: sample` on GET /events?recording=ID&key=K...: one per new sample, values of the keys asked for. */
export interface SampleEvent {
  recordingId: number;
  sampleId: number;
  takenAtMs: number;
  /** Samples of the recording so far. */
  sampleCount: number;
  /** key -> value; null when the series is absent at this sample. */
  values: Record<string, number | null>;
}

/** SSE `event: analysis`: a fresh analysis is ready at /api/analysis. */
export interface AnalysisEvent {
  recordingId: number;
  computedAtMs: number;
  verdict: Analysis['verdict'] | null;
}

/** SSE `event: hello`: sent once on connect. */
export interface HelloEvent {
  recordingId: number;
  lastSampleId: number | null;
  pollMs: number;
}

export const MAX_KEYS_PER_REQUEST = 64;
export const MAX_POINTS = 5000;
