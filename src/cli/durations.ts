/** "5s", "10m", "24h", "7d", "1.5h" or a bare number of seconds -> seconds. */
import { InputError } from '../model/errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600, d: 86400 };

export function parseDuration(text: string, flag: string, options: { allowZero?: boolean } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$/.exec(text);
  const value = m ? Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1) : NaN;
  if (!(value > 0 || (options.allowZero === true && value === 0)) || !Number.isFinite(value)) {
    throw new InputError(`${flag} "${text}" is not a duration (examples: 30, 5s, 10m, 24h, 7d)`);
  }
  return value;
}
