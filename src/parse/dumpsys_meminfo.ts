// src/parse/dumpsys_meminfo.ts
/**
 * Parses Android's `dumpsys meminfo <pid|package>` (frameworks/base ActivityThread.dumpMemInfoTable): per process,
 * the category table, "Dalvik Details", the App Summary and the object counts. Values are kB; stored as bytes.
 *
 *   ** MEMINFO in pid 2084 [com.android.systemui] **
 *                      Pss  Private  Private     Swap      Rss     Heap     Heap     Heap     <- two header rows,
 *                    Total    Dirty    Clean    Dirty    Total     Size    Alloc     Free        joined per column
 *     Native Heap    22219    22136        0        0    24944    32280    23879     3824
 *    Dalvik Other     4459     4216        0        0     6412                                 <- heap columns empty
 *   App Summary
 *              Java Heap:    15316                          40844                               <- Pss(KB), Rss(KB)
 *          Private Other:     5024                                                              <- Pss only
 *                Unknown:                                    8732                               <- Rss only
 *              TOTAL PSS:    96932            TOTAL RSS:   182691      TOTAL SWAP (KB):        0
 *
 * Column headers differ by Android version ("SwapPss Dirty" or "Swap Dirty", with or without "Pss Clean",
 * "Shared Dirty", "Rss Total"), so columns are named by their two header words, never by position.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

export interface DumpsysProcess {
  pid: number;
  name: string;
  /** Column names, joined from the two header rows ("Pss Total", "Private Dirty", "Heap Alloc", ...). */
  columns: string[];
  /** Category ("Native Heap", ".so mmap", "EGL mtrack", "TOTAL") -> column -> bytes. */
  categories: Record<string, Record<string, Bytes>>;
  /** "Dalvik Details" rows (".Heap", ".LOS", ...), same columns; absent on older Android. */
  dalvikDetails?: Record<string, Record<string, Bytes>>;
  /** App Summary: "Java Heap" -> { pss, rss }; "TOTAL PSS", "TOTAL RSS", "TOTAL SWAP (KB)" / "TOTAL SWAP PSS" too. */
  summary: Record<string, { pss?: Bytes; rss?: Bytes; swap?: Bytes }>;
  /** Objects: "Views", "Activities", "Local Binders", ... (counts, not bytes). */
  objects: Record<string, number>;
}

export interface DumpsysMeminfo {
  uptimeMs?: number;
  realtimeMs?: number;
  processes: DumpsysProcess[];
}

const HEAD = /^\*\* MEMINFO in pid (\d+) \[(.*)\] \*\*$/;
const kb = (s: string): Bytes => (Number(s.replace(/,/g, '')) * 1024) as Bytes;

/** Character ranges of the header words, so a row's numbers are matched to columns by where they end. */
function columnsOf(top: string, bottom: string): { name: string; end: number }[] {
  const out: { name: string; end: number }[] = [];
  const words = [...bottom.matchAll(/\S+/g)];
  for (const w of words) {
    const end = (w.index ?? 0) + w[0].length;
    // The top word ending at the same column (right-aligned headers).
    const above = [...top.matchAll(/\S+/g)].find((t) => (t.index ?? 0) + t[0].length === end);
    out.push({ name: above ? `${above[0]} ${w[0]}` : w[0], end });
  }
  return out;
}

function tableRow(line: string, cols: { name: string; end: number }[]): { label: string; values: Record<string, Bytes> } | undefined {
  const nums = [...line.matchAll(/\d[\d,]*/g)];
  const first = nums[0];
  if (first === undefined) return undefined;
  // The label is everything before the first number that sits in a column ("Native Heap", ".so mmap").
  const startOfNumbers = nums.find((n) => cols.some((c) => c.end === (n.index ?? 0) + n[0].length));
  if (startOfNumbers === undefined) return undefined;
  const label = line.slice(0, startOfNumbers.index).trim();
  if (label === '') return undefined;
  const values: Record<string, Bytes> = {};
  for (const n of nums) {
    if ((n.index ?? 0) < (startOfNumbers.index ?? 0)) continue;
    const end = (n.index ?? 0) + n[0].length;
    const col = cols.find((c) => c.end === end);
    if (col !== undefined) values[col.name] = kb(n[0]);
  }
  return { label, values };
}

export function parseDumpsysMeminfo(text: string): Parsed<DumpsysMeminfo> {
  const warnings: ParseWarning[] = [];
  const value: DumpsysMeminfo = { processes: [] };
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  let proc: DumpsysProcess | undefined;
  let cols: { name: string; end: number }[] = [];
  let section: 'table' | 'dalvik' | 'summary' | 'objects' | 'other' = 'other';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const t = line.trim();
    const up = /^Uptime: (\d+) Realtime: (\d+)$/.exec(t);
    if (up) { value.uptimeMs = Number(up[1]); value.realtimeMs = Number(up[2]); continue; }
    const h = HEAD.exec(t);
    if (h) {
      proc = { pid: Number(h[1]), name: h[2] ?? '', columns: [], categories: {}, summary: {}, objects: {} };
      value.processes.push(proc);
      section = 'other';
      // Two header rows, then a row of dashes.
      const top = lines[i + 1] ?? '';
      const bottom = lines[i + 2] ?? '';
      if (/^\s*-+(\s+-+)*\s*$/.test(lines[i + 3] ?? '')) {
        cols = columnsOf(top, bottom);
        proc.columns = cols.map((c) => c.name);
        section = 'table';
        i += 3;
      } else {
        warnings.push(warning(i + 2, bottom, 'no two-row column header after the MEMINFO line'));
      }
      continue;
    }
    if (proc === undefined || t === '') continue;
    if (t === 'Dalvik Details') { section = 'dalvik'; proc.dalvikDetails = {}; continue; }
    if (t === 'App Summary') { section = 'summary'; continue; }
    if (t === 'Objects') { section = 'objects'; continue; }
    if (t === 'SQL' || t === 'DATABASES' || t === 'Asset Allocations') { section = 'other'; continue; }
    if (section === 'table' || section === 'dalvik') {
      const r = tableRow(line, cols);
      if (!r) { warnings.push(warning(i + 1, line, 'not a row of the category table', 'info')); continue; }
      (section === 'table' ? proc.categories : (proc.dalvikDetails ??= {}))[r.label] = r.values;
      continue;
    }
    if (section === 'summary') {
      if (/^Pss\(KB\)/.test(t) || /^-+(\s+-+)*$/.test(t)) continue;
      // "TOTAL PSS:   96932            TOTAL RSS:   182691      TOTAL SWAP (KB):        0"
      const totals = [...t.matchAll(/(TOTAL [A-Z ()]+?):\s+(\d+)/g)];
      if (totals.length > 0) {
        for (const m of totals) {
          const k = m[1] ?? '';
          proc.summary[k] = /RSS/.test(k) ? { rss: kb(m[2] ?? '0') } : /SWAP/.test(k) ? { swap: kb(m[2] ?? '0') } : { pss: kb(m[2] ?? '0') };
        }
        continue;
      }
      const m = /^(.+?):(\s+)(\d+)?(?:(\s+)(\d+))?$/.exec(line.trim());
      if (!m) { warnings.push(warning(i + 1, line, 'not an App Summary row', 'info')); continue; }
      const label = m[1] ?? '';
      // One number: Pss or Rss, told apart by how far right it ends (Rss sits under "Rss(KB)").
      const rssCol = (lines.slice(0, i).reverse().find((l) => /Pss\(KB\).*Rss\(KB\)/.test(l)) ?? '').indexOf('Rss(KB)') + 'Rss(KB)'.length;
      const entry: { pss?: Bytes; rss?: Bytes } = {};
      if (m[3] !== undefined && m[5] !== undefined) { entry.pss = kb(m[3]); entry.rss = kb(m[5]); }
      else if (m[3] !== undefined) {
        const end = line.length;
        if (rssCol > 'Rss(KB)'.length - 1 && Math.abs(end - rssCol) <= 2) entry.rss = kb(m[3]);
        else entry.pss = kb(m[3]);
      }
      proc.summary[label] = entry;
      continue;
    }
    if (section === 'objects') {
      for (const m of t.matchAll(/([A-Za-z][A-Za-z ]*?):\s+(\d+)/g)) proc.objects[(m[1] ?? '').trim()] = Number(m[2]);
    }
  }
  if (value.processes.length === 0) warnings.push(warning(0, '', 'no "** MEMINFO in pid N [name] **" section: not per-process dumpsys meminfo output', 'error'));
  return withFiniteValues({ value, warnings });
}
