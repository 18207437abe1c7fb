/**
 * Units live in types: bytes inside, formatted only by the functions at the end of this file (report/ shows
 * them; analysis evidence text uses them too, so no raw byte count or e-notation reaches a person).
 * kB and pages become bytes in the parser that reads them.
 */

export type Bytes = number & { readonly __unit: 'bytes' };
export type Seconds = number & { readonly __unit: 'seconds' };

export const bytes = (n: number): Bytes => n as Bytes;
export const kib = (n: number): Bytes => (n * 1024) as Bytes;
export const mib = (n: number): Bytes => (n * 1024 * 1024) as Bytes;
export const seconds = (n: number): Seconds => n as Seconds;

/** The page size assumed when a file counts pages and the target did not tell us its own. */
export const DEFAULT_PAGE_SIZE = 4096;
export const pages = (n: number, pageSize: number = DEFAULT_PAGE_SIZE): Bytes => (n * pageSize) as Bytes;

// ---------------------------------------------------------------------------------------------
// Formatting for people (IEC units for memory)

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < IEC.length - 1) { v /= 1024; i++; }
  const digits = i === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${IEC[i]}`;
}

export function formatDelta(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n > 0 ? `+${formatBytes(n)}` : formatBytes(n);
}

export function formatRate(bytesPerSec: number): string {
  const perHour = bytesPerSec * 3600;
  return `${formatDelta(perHour)}/h`;
}

export function formatDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec)) return '-';
  const s = Math.round(sec);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A rate in bytes per second, as people read a leak: "+1.20 MiB/s", "+512 B/s". */
export function formatBytesPerSec(bytesPerSec: number): string {
  return `${formatDelta(bytesPerSec)}/s`;
}
