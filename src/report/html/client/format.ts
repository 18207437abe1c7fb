/** Units for the browser (the client bundles nothing from Node-side report/: same rules as report/units.ts). */

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < IEC.length - 1) { v /= 1024; i++; }
  const digits = i === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${sign}${v.toFixed(digits)} ${IEC[i] ?? ''}`;
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '-';
  const neg = sec < 0 ? '-' : '';
  const s = Math.round(Math.abs(sec));
  if (s < 120) return `${neg}${s} s`;
  if (s < 7200) return `${neg}${Math.round(s / 60)} min`;
  if (s < 172800) return `${neg}${(s / 3600).toFixed(1)} h`;
  return `${neg}${(s / 86400).toFixed(1)} d`;
}
