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
 *
 * `dumpsys meminfo` with no process (and after the per-process blocks with -a) prints the system summary
 * (ActivityManagerService.dumpApplicationMemoryUsage): "Total PSS by process/OOM adjustment/category" lists and the
 * RAM lines. Older Android prints "76739 kB: name (pid 1037)", newer "76,739K: name (pid 1037 / activities)".
 *
 *   Total PSS by OOM adjustment:
 *       59705 kB: Native                                   <- a group
 *                  21648 kB: mediaserver (pid 242)         <- its processes, indented deeper
 *   Total RAM: 1945628 kB
 *    Free RAM: 1182598 kB (59686 cached pss + 326668 cached + 796244 free)
 *    Used RAM: 570943 kB (538151 used pss + 3440 buffers + 464 shmem + 28888 slab)
 *    Lost RAM: 192087 kB
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { keyPart } from '../model/series.js';

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

/** One line of a "Total PSS by ..." list: "com.android.systemui (pid 1037)", "Native", "Dalvik Other". */
export interface DumpsysPssEntry {
  name: string;
  pid?: number;
  /** What follows the pid inside the parentheses ("activities"), when anything does. */
  note?: string;
  pss: Bytes;
}

export interface DumpsysSystemSummary {
  byProcess: DumpsysPssEntry[];
  /** OOM adjustment groups ("Native", "Persistent", "Cached", ...), each with its processes as listed under it. */
  byOom: (DumpsysPssEntry & { processes: DumpsysPssEntry[] })[];
  byCategory: DumpsysPssEntry[];
  /** "Total RAM", "Free RAM", "Used RAM", "Lost RAM" -> bytes. */
  ram: Record<string, Bytes>;
  /** The parts in parentheses: "Free RAM" -> { "cached pss": ..., "cached": ..., "free": ... }. */
  ramParts: Record<string, Record<string, Bytes>>;
  /** "ZRAM: 4 kB physical used for 0 kB in swap (524284 kB total swap)". */
  zram?: { physical: Bytes; inSwap: Bytes; totalSwap: Bytes };
  /** Lines "..." that stand for rows someone left out of the text (the lists then add up to less than their totals). */
  elidedAt: number[];
}

export interface DumpsysMeminfo {
  uptimeMs?: number;
  realtimeMs?: number;
  processes: DumpsysProcess[];
  system?: DumpsysSystemSummary;
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
  let summarySection: SummarySection = 'none';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const t = line.trim();
    const up = /^Uptime: (\d+) Realtime: (\d+)$/.exec(t);
    if (up) { value.uptimeMs = Number(up[1]); value.realtimeMs = Number(up[2]); continue; }
    const sys = summaryLine(line, i, value, warnings, summarySection);
    if (sys !== undefined) { summarySection = sys; proc = undefined; continue; }
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
  for (const g of value.system?.byOom ?? []) {
    const listed = g.processes.reduce((n, p) => n + p.pss, 0);
    if (g.processes.length > 0 && listed !== g.pss) {
      warnings.push(warning(0, '', `the processes listed under OOM group "${g.name}" add up to ${listed / 1024} kB of its ${g.pss / 1024} kB: rows are missing from this text`, 'info'));
    }
  }
  if (value.processes.length === 0 && value.system === undefined) {
    warnings.push(warning(0, '', 'no "** MEMINFO in pid N [name] **" section and no "Total PSS by ..." summary: not dumpsys meminfo output', 'error'));
  }
  return withFiniteValues({ value, warnings });
}

type SummarySection = 'none' | 'process' | 'oom' | 'category' | 'skip';

const LIST_HEAD = /^Total (PSS|RSS|Pss) by (process|OOM adjustment|category):$/;
const ENTRY = /^(\s*)(\d[\d,]*)\s*(?:kB|K): (.+?)\s*$/;
const RAM = /^(Total|Free|Used|Lost) RAM:\s+(-?\d[\d,]*)\s*(?:kB|K)\b(?:\s*\((.*)\))?/;
const ZRAM = /^ZRAM:\s+(\d[\d,]*)\s*(?:kB|K) physical used for (\d[\d,]*)\s*(?:kB|K) in swap \((\d[\d,]*)\s*(?:kB|K) total swap\)/;

function systemOf(value: DumpsysMeminfo): DumpsysSystemSummary {
  return (value.system ??= { byProcess: [], byOom: [], byCategory: [], ram: {}, ramParts: {}, elidedAt: [] });
}

/** "com.android.launcher3 (pid 2800 / activities)" -> name, pid, note; "Native" -> name. */
function entryOf(rest: string, pss: Bytes): DumpsysPssEntry {
  const m = /^(.*?) \(pid (\d+)(?:\s*\/?\s*([^)]*?))?\)/.exec(rest);
  if (!m) return { name: rest, pss };
  const e: DumpsysPssEntry = { name: m[1] ?? '', pid: Number(m[2]), pss };
  if (m[3] !== undefined && m[3] !== '') e.note = m[3];
  return e;
}

/**
 * One line of the system summary, when it is one: returns the list section it opens or continues, or undefined
 * for a line that belongs to the per-process blocks (or to nothing known).
 */
function summaryLine(line: string, i: number, value: DumpsysMeminfo, warnings: ParseWarning[], section: SummarySection): SummarySection | undefined {
  const t = line.trim();
  const head = LIST_HEAD.exec(t);
  if (head) {
    systemOf(value);
    // The RSS lists (Android 14+) repeat the PSS ones by another measure; the PSS lists are what is kept.
    if (head[1] === 'RSS') return 'skip';
    return head[2] === 'process' ? 'process' : head[2] === 'category' ? 'category' : 'oom';
  }
  const ram = RAM.exec(t);
  if (ram) {
    const sys = systemOf(value);
    const key = `${ram[1] ?? ''} RAM`;
    sys.ram[key] = kb(ram[2] ?? '0');
    const parts: Record<string, Bytes> = {};
    for (const p of (ram[3] ?? '').split('+')) {
      const m = /^\s*(\d[\d,]*)\s*(?:kB|K)?\s+(.+?)\s*$/.exec(p);
      if (m) parts[m[2] ?? ''] = kb(m[1] ?? '0');
    }
    if (Object.keys(parts).length > 0) sys.ramParts[key] = parts;
    return 'none';
  }
  const z = ZRAM.exec(t);
  if (z) { systemOf(value).zram = { physical: kb(z[1] ?? '0'), inSwap: kb(z[2] ?? '0'), totalSwap: kb(z[3] ?? '0') }; return 'none'; }
  if (/^Tuning: /.test(t)) return 'none';
  if (section === 'none') return undefined;
  if (t === '') return 'none';
  if (section === 'skip') return 'skip';
  const sys = systemOf(value);
  if (/^\.\.\.$/.test(t)) {
    sys.elidedAt.push(i + 1);
    warnings.push(warning(i + 1, line, '"..." stands for rows left out of this text: the list adds up to less than its total', 'info'));
    return section;
  }
  const e = ENTRY.exec(line);
  if (!e) { warnings.push(warning(i + 1, line, 'not a "N kB: name" row of the summary', 'info')); return section; }
  const entry = entryOf(e[3] ?? '', kb(e[2] ?? '0'));
  if (section === 'process') sys.byProcess.push(entry);
  else if (section === 'category') sys.byCategory.push(entry);
  else if (entry.pid !== undefined && sys.byOom.length > 0) sys.byOom[sys.byOom.length - 1]?.processes.push(entry);
  else sys.byOom.push({ ...entry, processes: [] });
  return section;
}

/**
 * The system summary as series: RAM lines as `dumpsys.ram.<total|free|used|lost>`, each OOM group and category as
 * `dumpsys.pss.oom.<label>` / `dumpsys.pss.category.<label>`, and each process's PSS under the key every other
 * process source uses, `proc.<name>:<pid>.pss`. Names are kept whole (keyPart encodes dots and spaces).
 */
export function dumpsysSeries(d: DumpsysMeminfo): Record<string, number> {
  const out: Record<string, number> = {};
  const sys = d.system;
  if (sys === undefined) return out;
  for (const [k, v] of Object.entries(sys.ram)) out[`dumpsys.ram.${k.replace(/ RAM$/, '').toLowerCase()}`] = v;
  for (const g of sys.byOom) out[`dumpsys.pss.oom.${keyPart(g.name)}`] = g.pss;
  for (const c of sys.byCategory) out[`dumpsys.pss.category.${keyPart(c.name)}`] = c.pss;
  for (const p of sys.byProcess) if (p.pid !== undefined) out[`proc.${keyPart(p.name)}:${p.pid}.pss`] = p.pss;
  return out;
}
