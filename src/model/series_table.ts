/**
 * A recording as analysis sees it: one timeline and every series aligned to it. Built from a database
 * (store/reader) or a capture log (sources/capture_file) by the caller; analysis never touches either.
 */
import type { Meminfo, Zone } from './proc_files.js';

export interface BootSegment { bootId?: string; fromIndex: number; toIndex: number }
export interface Gap { fromSec: number; toSec: number; reason: string }

export interface SeriesTable {
  /** Sample times in seconds since the first sample (target clock where known, else host clock or index x interval). */
  t: Float64Array;
  /** Wall-clock time of t = 0, ms since the epoch, when known. */
  startedAtMs?: number;
  /** Series key (DESIGN.md, "Series keys") -> values aligned with t; NaN where the series was not sampled. */
  series: Map<string, Float64Array>;
  boots: BootSegment[];
  gaps: Gap[];
  /** Raw first and last parsed meminfo and zoneinfo, for composition and watermarks. */
  firstMeminfo?: Meminfo;
  lastMeminfo?: Meminfo;
  lastZones?: Zone[];
  /**
   * Samples behind each point of t when the table is binned (store/binned.ts: long recordings are read as bin
   * means, see ANALYSIS_MAX_POINTS); absent when every point is one sample.
   */
  binCounts?: Int32Array;
  /** Where it came from and how it was sampled, for the methods section of a report. */
  meta: {
    source: string; intervalSec?: number; timeSource?: string; notes: string[];
    /**
     * memsleuth's own process (the recorder) and roots of what it started, with their role: their series
     * and their descendants' (proc.X.ppid) are memsleuth's own footprint, never a culprit.
     */
    own?: { pid: number; role: string }[];
    /** Roots of the program under test (`run`'s command), whose subtrees are not memsleuth's own. */
    subject?: number[];
    /** Tools memsleuth ran during the recording ("bpftrace", "valgrind", "heaptrack"): kernel memory they hold is its own. */
    tools?: string[];
  };
}

/**
 * At most this many points per series reach analysis: a longer recording is read as means of consecutive bins
 * of samples (a week at 1 s: 10,000 bins of ~60 s). Memory is then bounded whatever the length (~90 MB for
 * 1,150 series), and the trend tests see bin means. Their effect on the confidence interval: the slope of a
 * linear trend is unchanged by averaging (a bin mean sits on the line at the bin's mean time); white noise
 * averages down by sqrt(k) while the points drop by k, so Sen's interval keeps about its width; noise that is
 * autocorrelated over minutes (the usual case at 1 s) was under-corrected on raw samples, where the
 * Hamed-Rao correction examines at most ~50 lags of 1 s, and is seen for what it is on bins (50 lags of a
 * minute): the interval on bins is wider and more honest, never narrower than the data justify.
 */
export const ANALYSIS_MAX_POINTS = 10_000;
