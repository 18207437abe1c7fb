/**
 * The target's clock as a log carries it. The framed protocol reads /proc/uptime ("5678.12 22345.67"), `date -u`
 * ("Thu Jan  1 00:12:34 UTC 1970") and /proc/sys/kernel/random/boot_id; a hand-written loop prints whatever its
 * author liked, anywhere in a pass. readClockLine() recognises the usual forms on one line:
 *
 *   Mon Dec  7 09:23:27 CST 2026          date (any zone name of ZONES, or a numeric one)
 *   Mon 07 Dec 2026 01:23:27 AM UTC       date in a glibc locale with AM/PM
 *   2026-12-07T01:23:27+00:00             date -Iseconds; ISO 8601 with or without T, fractions, offset
 *   2026-12-07 01:23:27                   date '+%F %T' (no zone: read as UTC)
 *   1796606607  1796606607123  epoch=...  epoch seconds or milliseconds, with or without a label
 *   uptime=5678.12   t: 12.5              labelled numbers (a number below 1e9 is seconds since some start)
 *    01:23:27 up 3 days,  4:05,  1 user,  load average: 0.00, 0.01, 0.05     the `uptime` command
 *   -- 0:sh -- time-stamp -- Dec/07/26  1:23:27 --                            GNU screen's logtstamp
 *
 * Zones: a zone name is looked up in ZONES, a small table of common abbreviations; an ambiguous name is read as
 * the table says (CST as China Standard Time, +08:00: the boards these logs come from), an unknown one as UTC.
 * Intervals between samples, which is what analysis needs, come out right whatever the zone, as long as it does
 * not change inside a log. Date.parse reads the ISO forms (normalised to "YYYY-MM-DDTHH:MM:SS.sss+HH:MM" first:
 * its reading of other forms depends on the host's zone).
 */
import { DATE_RE } from './shapes.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Hours east of UTC. CST/IST are ambiguous: China (+8) and India (+5:30) are taken. */
const ZONES: Readonly<Record<string, number>> = {
  UTC: 0, GMT: 0, UT: 0, Z: 0, WET: 0, WEST: 1, BST: 1, IST: 5.5, CET: 1, CEST: 2, MET: 1, MEST: 2, EET: 2, EEST: 3, MSK: 3,
  CST: 8, HKT: 8, SGT: 8, AWST: 8, PHT: 8, WIB: 7, ICT: 7, JST: 9, KST: 9, ACST: 9.5, AEST: 10, AEDT: 11, NZST: 12, NZDT: 13,
  EST: -5, EDT: -4, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7, AKST: -9, AKDT: -8, HST: -10, BRT: -3, ART: -3,
};

/** Which kind of clock a reading is: a wall clock, a time of day (no date), or seconds since some start. */
export type ClockKind = 'wall' | 'tod' | 'uptime';

/** One clock reading found in a log. */
export interface ClockReading {
  kind: ClockKind;
  /** What printed it: 'date', 'iso', 'epoch', 'uptime', 'uptime-cmd', 'label', 'screen', 'printk', 'terminal'... */
  form: string;
  /** wall: ms since the epoch; tod: seconds since midnight; uptime: seconds. */
  value: number;
  /** A zone name read as UTC because it is not in the table. */
  unknownZone?: string;
}

/** First field of /proc/uptime, in seconds; undefined when the text is not uptime's. */
export function parseUptime(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s+\d+(?:\.\d+)?\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Offset in minutes of "+0800", "-05:30", "+08"; undefined when not numeric. */
function numericOffset(z: string): number | undefined {
  const m = /^(?:GMT|UTC)?([+-])(\d{1,2}):?(\d\d)?$/.exec(z);
  if (!m) return undefined;
  const min = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -min : min;
}

/** Minutes east of UTC for a zone token; undefined for a name the table lacks (read as UTC). */
function zoneMinutes(zone: string): number | undefined {
  if (zone === '') return 0;
  const n = numericOffset(zone);
  if (n !== undefined) return n;
  const h = ZONES[zone.toUpperCase()];
  return h === undefined ? undefined : h * 60;
}

const DATE_LOCALE_RE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}),? (\d{1,2}):(\d\d):(\d\d)(?: ([AP]M))?(?: ([A-Za-z]{1,6}|[+-]\d{2,4}))?$/;
const DATE_DEFAULT_RE = /^\w{3} (\w{3}) +(\d{1,2}) (\d{1,2}):(\d\d):(\d\d)(?: ([AP]M))? (?:(\S+) )?(\d{4})$/;

function wallOf(y: number, month: number, d: number, h: number, mi: number, s: number, ampm: string | undefined, zone: string): ClockReading | undefined {
  if (month < 0) return undefined;
  let hour = h;
  if (ampm === 'PM' && hour < 12) hour += 12;
  else if (ampm === 'AM' && hour === 12) hour = 0;
  const z = zoneMinutes(zone);
  const ms = Date.UTC(y, month, d, hour, mi, s) - (z ?? 0) * 60_000;
  const r: ClockReading = { kind: 'wall', form: 'date', value: ms };
  if (z === undefined) r.unknownZone = zone;
  return r;
}

/**
 * `date`'s default output as epoch ms, in the zone it names (ZONES; an unknown name is read as UTC: intervals
 * between samples, which is what analysis needs, come out right either way).
 */
export function parseDate(text: string): { epochMs: number; zone: string } | undefined {
  const r = readDate(text.trim());
  return r ? { epochMs: r.value, zone: r.unknownZone ?? '' } : undefined;
}

function readDate(line: string): ClockReading | undefined {
  let m = DATE_DEFAULT_RE.exec(line);
  if (m && DATE_RE.test(line)) {
    const [, mon = '', d, h, mi, s, ampm, zone = '', y] = m;
    return wallOf(Number(y), MONTHS.indexOf(mon), Number(d), Number(h), Number(mi), Number(s), ampm, zone);
  }
  m = DATE_LOCALE_RE.exec(line);
  if (m) {
    const [, d, mon = '', y, h, mi, s, ampm, zone = ''] = m;
    return wallOf(Number(y), MONTHS.indexOf(mon), Number(d), Number(h), Number(mi), Number(s), ampm, zone);
  }
  return undefined;
}

const ISO_RE = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?(?: ?(Z|[+-]\d\d(?::?\d\d)?))?(?: ([A-Za-z]{1,6}))?$/;

/** ISO 8601 with or without "T", fractions, offset or a zone name after it. */
export function readIso(line: string): ClockReading | undefined {
  const m = ISO_RE.exec(line);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '00', frac = '', off, name] = m;
  let offset = '+00:00';
  let unknownZone: string | undefined;
  if (off !== undefined && off !== 'Z') {
    const min = numericOffset(off) ?? 0;
    const a = Math.abs(min);
    offset = `${min < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  } else if (off === undefined && name !== undefined) {
    const z = zoneMinutes(name);
    if (z === undefined) unknownZone = name;
    else offset = `${z < 0 ? '-' : '+'}${String(Math.floor(Math.abs(z) / 60)).padStart(2, '0')}:${String(Math.abs(z) % 60).padStart(2, '0')}`;
  }
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(3, '0').slice(0, 3)}${offset}`);
  if (!Number.isFinite(ms)) return undefined;
  const r: ClockReading = { kind: 'wall', form: 'iso', value: ms };
  if (unknownZone !== undefined) r.unknownZone = unknownZone;
  return r;
}

const EPOCH_MIN_S = 946_684_800; // 2000-01-01: a bare number this large is a wall clock, not an uptime
const EPOCH_MAX_S = 4_102_444_800; // 2100-01-01
const LABEL_RE = /^([A-Za-z][\w .-]{0,23}?)\s*[:=]\s*(.+)$/;
const NUMBER_RE = /^(\d+(?:\.\d+)?)(?:\s*s(?:ec(?:onds)?)?)?$/;
/** Labels whose number is seconds since boot (or since the loop started) when it is below EPOCH_MIN_S. */
const TIME_LABELS = /^(?:up|uptime|t|time|ts|timestamp|epoch|epoch_s|epoch_ms|ms|now|clock|sec|secs|seconds|elapsed|date|when|at|sample time|time stamp)$/i;

/** An epoch number (seconds with optional fraction, or 13-digit milliseconds) on its own. */
function readEpoch(text: string): ClockReading | undefined {
  if (/^\d{13}$/.test(text)) {
    const ms = Number(text);
    return ms >= EPOCH_MIN_S * 1000 && ms < EPOCH_MAX_S * 1000 ? { kind: 'wall', form: 'epoch', value: ms } : undefined;
  }
  const m = /^(\d{10})(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return undefined;
  const s = Number(m[1]);
  if (s < EPOCH_MIN_S || s >= EPOCH_MAX_S) return undefined;
  return { kind: 'wall', form: 'epoch', value: Math.round(Number(`${m[1]}.${m[2] ?? '0'}`) * 1000) };
}

const UPTIME_CMD_RE = /^(\d{1,2}):(\d\d):(\d\d) up .*load averages?:/;
const SCREEN_RE = /^-- .* -- time-stamp -- (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/(\d\d)\/(\d\d) +(\d{1,2}):(\d\d):(\d\d) --$/;

/**
 * A clock on a line of its own (after the terminal's noise is stripped), or undefined. Cheap to call on every
 * line the sectionizer does not recognise: each form is guarded by its first characters.
 */
export function readClockLine(raw: string): ClockReading | undefined {
  const line = raw.trim();
  const c = line.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    if (line.length >= 10 && line.charCodeAt(4) === 45 /* - */) return readIso(line);
    const up = UPTIME_CMD_RE.exec(line);
    if (up) return { kind: 'tod', form: 'uptime-cmd', value: Number(up[1]) * 3600 + Number(up[2]) * 60 + Number(up[3]) };
    const u = parseUptime(line);
    if (u !== undefined) return { kind: 'uptime', form: 'uptime', value: u };
    return readEpoch(line);
  }
  if (c >= 65 && c <= 90) {
    const d = readDate(line);
    if (d) return d;
  }
  if (c === 45 /* - */ && line.startsWith('-- ')) {
    const m = SCREEN_RE.exec(line);
    if (m) return wallOf(2000 + Number(m[3]), MONTHS.indexOf(m[1] ?? ''), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]), undefined, '');
  }
  const lab = LABEL_RE.exec(line);
  if (lab) {
    const label = (lab[1] ?? '').trim();
    const value = (lab[2] ?? '').trim();
    if (!TIME_LABELS.test(label)) return undefined;
    const inner = readEpoch(value) ?? readIso(value) ?? readDate(value);
    if (inner) return { ...inner, form: `label:${label}` };
    const n = NUMBER_RE.exec(value) ?? /^(\d+(?:\.\d+)?)\s+\d+(?:\.\d+)?$/.exec(value);
    if (n) return { kind: 'uptime', form: `label:${label}`, value: Number(n[1]) };
  }
  return undefined;
}

export function parseBootId(text: string): string | undefined {
  const t = text.trim();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t) ? t : undefined;
}
