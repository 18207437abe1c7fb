// src/parse/showmap.ts
/**
 * Parses Android's `showmap PID` (system/memory/libmeminfo/tools/showmap.cpp): one row per mapped object with
 * its sizes in kB, then the same header again and a TOTAL row. Columns differ by Android version (swapPSS,
 * HugePages, Hugetlb, Locked came later), so they are named from the two header rows, by where each ends.
 *
 *    virtual                     shared   shared  private  private                   Anon      Shmem ...
 *       size      RSS      PSS    clean    dirty    clean    dirty     swap  swapPSS HugePages PmdMapped ...  # object
 *   -------- -------- -------- -------- -------- -------- -------- -------- -------- --------- --------- ... ---- ------
 *        288       76        5       72        0        0        4        4        0         0         0 ...    1 /apex/.../libadbconnection_client.so
 *   34495976   366032   282367    81748    26836    18924   238524    24660      162  ...                       1109 TOTAL
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

export interface ShowmapRow {
  object: string;
  /** kB columns as bytes, by header name ("virtual size", "RSS", "PSS", "private dirty", "swapPSS", ...). */
  bytes: Record<string, Bytes>;
  /** "#" column: how many mappings of the object were summed. */
  mappings?: number;
}

export interface Showmap {
  columns: string[];
  rows: ShowmapRow[];
  total?: ShowmapRow;
}

interface Col { name: string; start: number; end: number }

/** Columns are the dash groups of the rule under the header; each is named by the header words above it. */
function columnsOf(top: string, bottom: string, dashes: string): Col[] {
  const words = (l: string): { w: string; start: number; end: number }[] => [...l.matchAll(/\S+/g)].map((m) => ({ w: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }));
  const over = (ws: ReturnType<typeof words>, c: { start: number; end: number }): string[] => ws.filter((x) => x.start < c.end && x.end > c.start).map((x) => x.w);
  const t = words(top);
  const b = words(bottom);
  return words(dashes).map((d) => ({ name: [...over(t, d), ...over(b, d)].join(' '), start: d.start, end: d.end }));
}

export function parseShowmap(text: string): Parsed<Showmap> {
  const warnings: ParseWarning[] = [];
  const value: Showmap = { columns: [], rows: [] };
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  let cols: Col[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    // A dashes row closes a two-row header (the header repeats before TOTAL).
    if (/^-+(\s+-+)+\s*$/.test(line)) {
      if (cols === undefined && i >= 2) {
        cols = columnsOf(lines[i - 2] ?? '', lines[i - 1] ?? '', line);
        value.columns = cols.map((c) => c.name).filter((n) => n !== 'object' && n !== '# object');
      }
      continue;
    }
    if (cols === undefined) continue;
    const m = /^\s*(\d+(?:\s+\d+)*)\s+(\S.*?)\s*$/.exec(line);
    if (!m) {
      if (!/\bsize\b|\bRSS\b|virtual/.test(line)) warnings.push(warning(i + 1, line, 'not a showmap row', 'info'));
      continue;
    }
    const nums = [...line.matchAll(/\d+/g)].filter((n) => (n.index ?? 0) < line.length - (m[2] ?? '').length);
    const row: ShowmapRow = { object: m[2] ?? '', bytes: {} };
    for (const n of nums) {
      const at = n.index ?? 0;
      const col = cols.find((c) => at >= c.start && at < c.end);
      if (col === undefined) continue;
      if (col.name === '#') row.mappings = Number(n[0]);
      else row.bytes[col.name] = (Number(n[0]) * 1024) as Bytes;
    }
    if (row.object === 'TOTAL') value.total = row;
    else value.rows.push(row);
  }
  value.columns = value.columns.filter((n) => n !== '#');
  if (cols === undefined) warnings.push(warning(0, '', 'no showmap header (two header rows over a row of dashes)', 'error'));
  return withFiniteValues({ value, warnings });
}
