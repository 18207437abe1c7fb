// src/parse/procrank.ts
/**
 * Parses Android's `procrank` (system/extras/procrank, later system/memory/libmeminfo/tools/procrank.cpp): one row
 * per process with its VSS/RSS/PSS/USS in kB ("K" suffix), the swap columns when the tool prints them, a TOTAL row
 * under the dashes and a RAM line. Columns are named from the header row, so the swap (Swap PSwap USwap ZSwap) and
 * working-set (WRss WPss WUss) variants need no code.
 *
 *     PID       Vss      Rss      Pss      Uss  cmdline
 *     752  1759396K  161936K   97986K   89876K  system_server
 *                              ------   ------  ------
 *                             924832K  802352K  TOTAL          <- right-aligned under Pss and Uss
 *    RAM: 1554240K total, 446084K free, 41988K buffers, 496428K cached, 56588K shmem, 30296K slab
 *
 * The TOTAL row counts every process procrank read, so rows adding up to less means rows were left out of the text.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { keyPart } from '../model/series.js';

export interface ProcrankRow {
  pid: number;
  /** The process's command line as procrank prints it ("system_server", "/system/bin/mediaserver"). */
  cmdline: string;
  /** Header name ("Vss", "Rss", "Pss", "Uss", "Swap", ...) -> bytes. */
  bytes: Record<string, Bytes>;
}

export interface Procrank {
  /** Numeric columns in header order (cmdline excluded). */
  columns: string[];
  rows: ProcrankRow[];
  /** The TOTAL row: header name -> bytes, for the columns it sums (Pss and Uss, and the swap ones when present). */
  total?: Record<string, Bytes>;
  /** "RAM: 1554240K total, 446084K free, ..." -> { total, free, buffers, cached, shmem, slab }. */
  ram?: Record<string, Bytes>;
}

const K = (s: string): Bytes => (Number(s.slice(0, -1)) * 1024) as Bytes;
const HEADER = /^\s*PID(?:\s+[A-Za-z_]+)+\s+cmdline\s*$/;
const DASHES = /^\s*-+(\s+-+)*\s*$/;

interface Col { name: string; end: number }

export function parseProcrank(text: string): Parsed<Procrank> {
  const warnings: ParseWarning[] = [];
  const value: Procrank = { columns: [], rows: [] };
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  let cols: Col[] | undefined;
  let afterDashes = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const t = line.trim();
    if (t === '') continue;
    if (HEADER.test(line)) {
      // Every header word but PID and cmdline is a column; values end where the word ends (right-aligned).
      cols = [...line.matchAll(/\S+/g)].slice(1, -1).map((m) => ({ name: m[0], end: (m.index ?? 0) + m[0].length }));
      value.columns = cols.map((c) => c.name);
      continue;
    }
    if (cols === undefined) continue;
    if (DASHES.test(line)) { afterDashes = true; continue; }
    const ram = /^RAM:\s+(.*)$/.exec(t);
    if (ram) {
      value.ram = {};
      for (const m of (ram[1] ?? '').matchAll(/(\d+)K\s+([a-z]+)/g)) value.ram[m[2] ?? ''] = K(`${m[1]}K`);
      continue;
    }
    if (afterDashes && /\bTOTAL$/.test(t)) {
      const total: Record<string, Bytes> = {};
      for (const m of line.matchAll(/\d+K/g)) {
        const end = (m.index ?? 0) + m[0].length;
        const col = nearest(cols, end);
        if (col === undefined) { warnings.push(warning(i + 1, line, `total ${m[0]} sits under no column`)); continue; }
        total[col.name] = K(m[0]);
      }
      value.total = total;
      continue;
    }
    const row = /^\s*(\d+)((?:\s+\d+K)+)\s+(\S.*?)\s*$/.exec(line);
    if (row && !afterDashes) {
      const nums = [...(row[2] ?? '').matchAll(/\d+K/g)];
      if (nums.length !== cols.length) {
        warnings.push(warning(i + 1, line, `expected ${cols.length} sizes (${value.columns.join(' ')}), got ${nums.length}`));
        continue;
      }
      const bytes: Record<string, Bytes> = {};
      nums.forEach((n, k) => { bytes[cols![k]!.name] = K(n[0]); });
      value.rows.push({ pid: Number(row[1]), cmdline: row[3] ?? '', bytes });
      continue;
    }
    // procrank's own notes ("warning: could not create process interface for 26521") and ZRAM lines.
    warnings.push(warning(i + 1, line, 'not a procrank row', 'info'));
  }
  if (cols === undefined) {
    warnings.push(warning(0, '', 'no "PID Vss Rss Pss Uss cmdline" header: not procrank output', 'error'));
  } else if (value.total !== undefined) {
    for (const [name, sum] of Object.entries(value.total)) {
      const rows = value.rows.reduce((n, r) => n + (r.bytes[name] ?? 0), 0);
      if (rows !== sum) {
        warnings.push(warning(0, '', `the rows' ${name} add up to ${rows / 1024}K, the TOTAL row says ${sum / 1024}K: ${rows < sum ? 'rows are missing from this text (cut?)' : 'the TOTAL row does not cover every row'}`, 'info'));
      }
    }
  }
  return withFiniteValues({ value, warnings });
}

/** The column whose right edge is closest to `end` (within a few characters: totals line up with their column). */
function nearest(cols: readonly Col[], end: number): Col | undefined {
  let best: Col | undefined;
  for (const c of cols) if (Math.abs(c.end - end) <= 3 && (best === undefined || Math.abs(c.end - end) < Math.abs(best.end - end))) best = c;
  return best;
}

/**
 * procrank as series: each process under the key every other process source uses (`proc.<name>:<pid>`), with its
 * columns in lower case (`.pss`, `.uss`, `.rss`, `.vss`, `.swap` when printed), and the RAM line as `procrank.ram.*`.
 * The name is procrank's cmdline, kept whole (keyPart encodes its dots and spaces).
 */
export function procrankSeries(p: Procrank): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of p.rows) {
    const base = `proc.${keyPart(r.cmdline)}:${r.pid}`;
    for (const [col, v] of Object.entries(r.bytes)) out[`${base}.${keyPart(col.toLowerCase())}`] = v;
  }
  for (const [k, v] of Object.entries(p.ram ?? {})) out[`procrank.ram.${keyPart(k)}`] = v;
  return out;
}
