/**
 * The target's clock as a sample carries it: /proc/uptime ("5678.12 22345.67"), `date`
 * ("Thu Jan  1 00:12:34 UTC 1970") and /proc/sys/kernel/random/boot_id. One line each, read here rather than in
 * parse/ because the capture layer needs them to order and time samples before any parser runs.
 */
import { DATE_RE } from './shapes.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** First field of /proc/uptime, in seconds; undefined when the text is not uptime's. */
export function parseUptime(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s+\d+(?:\.\d+)?\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * `date`'s default output as epoch ms. A zone other than UTC/GMT is read as UTC too: the offset is unknown
 * here, and intervals between samples, which is what analysis needs, come out right either way.
 */
export function parseDate(text: string): { epochMs: number; zone: string } | undefined {
  const line = text.trim();
  if (!DATE_RE.test(line)) return undefined;
  const m = /^\w{3} (\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (?:(\S+) )?(\d{4})$/.exec(line);
  if (!m) return undefined;
  const [, mon = '', d, h, mi, s, zone = '', y] = m;
  const month = MONTHS.indexOf(mon);
  if (month < 0) return undefined;
  return { epochMs: Date.UTC(Number(y), month, Number(d), Number(h), Number(mi), Number(s)), zone };
}

export function parseBootId(text: string): string | undefined {
  const t = text.trim();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t) ? t : undefined;
}
