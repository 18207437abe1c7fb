/** "5s", "10m", "24h", "7d", "1.5h", "500ms" or a bare number of seconds -> seconds: the one duration syntax of every flag. */
import { InputError } from '../model/errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 };

export function parseDuration(text: string, flag: string, options: { allowZero?: boolean } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h|d)?\s*$/.exec(text);
  const value = m ? Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1) : NaN;
  if (!(value > 0 || (options.allowZero === true && value === 0)) || !Number.isFinite(value)) {
    throw new InputError(`${flag} must be a duration like 60s, 5m, 1h or 500ms, not "${text}"`);
  }
  return value;
}
