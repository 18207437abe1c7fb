/**
 * "64744 kB" -> 64744; NaN for anything else (the text is trimmed already). By hand rather than a regular
 * expression: `ps` reads ~80 such values for each of hundreds of processes per snapshot.
 */
export function kilobytes(text: string): number {
  if (!text.endsWith('kB')) return NaN;
  let end = text.length - 2;
  while (end > 0 && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  if (end === 0) return NaN;
  for (let i = 0; i < end; i++) { const c = text.charCodeAt(i); if (c < 48 || c > 57) return NaN; }
  return Number(text.slice(0, end));
}
