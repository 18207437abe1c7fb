/** The only place units are formatted (IEC units for memory). */

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

export function formatFactor(f: number): string {
  if (!Number.isFinite(f)) return 'new';
  return `x${f >= 10 ? f.toFixed(0) : f.toFixed(2)}`;
}
