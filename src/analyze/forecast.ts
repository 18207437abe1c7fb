/**
 * Time to OOM: when MemAvailable, falling at the measured rate, reaches the sum of the zones' min watermarks
 * (below it allocations stall in direct reclaim and the OOM killer is next). The interval comes from the rate's
 * confidence interval: the fastest plausible fall gives the soonest time, the slowest the latest (none when the
 * interval allows no fall). Without zoneinfo the watermark is estimated the way the kernel sizes
 * min_free_kbytes (mm/page_alloc.c: 4 * sqrt(lowmem kB), clamped to 128 kB .. 256 MiB).
 * No time is given from a window shorter than `minSpanSec` (10 min): 20 s of samples show that memory rose,
 * not a rate that lasts, and an OOM time from them extrapolates the rate a hundredfold ("too-short").
 */
import type { Confidence, Forecast, RateEstimate } from '../model/analysis.js';
import type { Zone } from '../model/proc_files.js';
import { formatBytes, formatBytesPerSec } from '../model/units.js';

export interface ForecastInput {
  availableBytes: number | null;
  memTotalBytes: number | null;
  zones?: readonly Zone[] | undefined;
  /** Rate at which MemAvailable falls (bytes/s, positive = falling), with its interval. */
  fall: RateEstimate | null;
  /** Whether that fall is a leak verdict (not merely a measured slope). */
  leaking: boolean;
  /** Level of the claim behind the rate. */
  level: Confidence['level'];
  /** Where the rate comes from, for the evidence line. */
  rateSource: string;
  /** Wall-clock ms of the window's last sample, when known. */
  endMs?: number | undefined;
  /** Length of the judged window, seconds; with minSpanSec, too short a window gives no time. */
  spanSec?: number | undefined;
  /** Shortest window a time to OOM is extrapolated from. Default 600. */
  minSpanSec?: number | undefined;
}

/** Shortest window a forecast is made from (analyze/trend.ts SHORT_SPAN_SEC: persistence needs 10 minutes). */
export const MIN_FORECAST_SPAN_SEC = 600;

export function watermarkOf(zones: readonly Zone[] | undefined, memTotalBytes: number | null): { bytes: number | null; source: Forecast['watermarkSource'] } {
  if (zones && zones.length > 0) {
    let sum = 0;
    let any = false;
    for (const z of zones) if (z.min !== undefined) { sum += z.min; any = true; }
    if (any) return { bytes: sum, source: 'zoneinfo' };
  }
  if (memTotalBytes === null || !(memTotalBytes > 0)) return { bytes: null, source: null };
  const kb = Math.min(262144, Math.max(128, 4 * Math.sqrt(memTotalBytes / 1024)));
  return { bytes: kb * 1024, source: 'estimated' };
}

export function forecastOom(input: ForecastInput): Forecast {
  const wm = watermarkOf(input.zones, input.memTotalBytes);
  const base: Forecast = {
    status: 'unknown',
    availableBytes: input.availableBytes,
    watermarkBytes: wm.bytes,
    watermarkSource: wm.source,
    fallRateBytesPerSec: input.fall?.rateBytesPerSec ?? null,
    secondsToOom: null,
    interval: [null, null],
    at: null,
    confidence: { level: 'low', reason: 'no rate' },
    evidence: [],
  };
  if (wm.source === 'estimated') base.evidence.push(`min watermark estimated from MemTotal (no zoneinfo recorded): ${formatBytes(wm.bytes ?? 0)}`);
  else if (wm.source === 'zoneinfo') base.evidence.push(`min watermark: sum of the zones' min, ${formatBytes(wm.bytes ?? undefined)}`);
  if (input.availableBytes === null || wm.bytes === null || !input.fall) {
    base.evidence.push('MemAvailable or the watermark is unknown: no forecast');
    return base;
  }
  const headroom = input.availableBytes - wm.bytes;
  const rate = input.fall.rateBytesPerSec;
  if (!input.leaking || !(rate > 0)) {
    base.status = 'no-oom-trend';
    base.confidence = { level: input.level, reason: `${input.rateSource} shows no leak` };
    base.evidence.push(`${input.rateSource}: no sustained fall of available memory`);
    return base;
  }
  const minSpan = input.minSpanSec ?? MIN_FORECAST_SPAN_SEC;
  if (input.spanSec !== undefined && input.spanSec < minSpan) {
    base.status = 'too-short';
    base.confidence = { level: 'low', reason: `the recording lasted ${Math.round(input.spanSec)} s: too short to extrapolate a time to OOM (needs ${Math.round(minSpan / 60)} min)` };
    base.evidence.push(`${Math.round(input.spanSec)} s of samples show that memory rose, not that it keeps rising at ${formatBytesPerSec(rate)}: no OOM time from under ${Math.round(minSpan / 60)} min of recording`);
    return base;
  }
  base.status = 'oom-expected';
  const [lo, hi] = input.fall.ci;
  const at = (r: number | null): number | null => (r !== null && r > 0 ? Math.max(0, headroom) / r : null);
  base.secondsToOom = Math.max(0, headroom) / rate;
  base.interval = [hi !== null ? at(hi) : null, lo !== null ? at(lo) : null];
  if (input.endMs !== undefined) base.at = new Date(input.endMs + base.secondsToOom * 1000).toISOString();
  base.confidence = {
    level: input.level,
    reason: lo === null ? 'the rate has no interval (few samples): the time is a straight-line extrapolation' : `from the ${input.rateSource} rate and its interval`,
  };
  base.evidence.push(
    headroom <= 0
      ? `MemAvailable ${formatBytes(input.availableBytes)} is already at or below the min watermark ${formatBytes(wm.bytes ?? undefined)}`
      : `${formatBytes(headroom)} of MemAvailable above the min watermark, falling at ${formatBytesPerSec(rate)} (${input.rateSource})`,
  );
  return base;
}
