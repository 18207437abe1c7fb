/**
 * Units for people: IEC bytes, signed deltas, rates per hour, durations (model/units.ts, shared with the analysis
 * evidence text) and factors.
 */
export { formatBytes, formatDelta, formatDuration, formatRate } from '../model/units.js';

export function formatFactor(f: number): string {
  if (!Number.isFinite(f)) return 'new';
  return `x${f >= 10 ? f.toFixed(0) : f.toFixed(2)}`;
}
