// src/parse/librank.ts
/**
 * Parses Android's `librank` (system/extras/librank/librank.c, later system/memory/libmeminfo/tools/librank.cpp):
 * one block per mapping name (library, [anon:...], /dev/... file), the block's first line its total, then one row
 * per process that maps it, with that process's VSS/RSS/PSS/USS of the mapping (and Swap when the device swaps).
 *
 *      RSStot       VSS      RSS      PSS      USS  Name/PID
 *     309423K                                       [anon:libc_malloc]
 *               188416K   86440K   84507K   84440K    com.android.systemui [1497]
 *                29184K   10120K   10120K   10120K    /vendor/bin/hw/android.hardware.camera.provider@2.4-service [654]
 *
 * The block total sits under "RSStot" but both librank.c and librank.cpp print the mapping's summed PSS there
 * (`li->total_usage.pss`, `lib.pss()`), so it is read as pssTotal. librank.c ends every block with a blank line,
 * librank.cpp does not; both are read. Names are the process's /proc/PID/cmdline up to its first NUL.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { keyPart } from '../model/series.js';

export interface LibrankProcess {
  pid: number;
  /** The process's command line as librank prints it ("system_server", "/system/bin/surfaceflinger"). */
  cmdline: string;
  /** Header name ("VSS", "RSS", "PSS", "USS", "Swap") -> bytes of this mapping in this process. */
  bytes: Record<string, Bytes>;
}

export interface LibrankMapping {
  /** The mapping's name as /proc/PID/maps gives it ("/system/lib64/libc.so", "[anon:libc_malloc]"). */
  name: string;
  /** The block's first number: the PSS of this mapping summed over every process (the column says RSStot). */
  pssTotal: Bytes;
  processes: LibrankProcess[];
}

export interface Librank {
  /** Per-process columns in header order ("VSS", "RSS", "PSS", "USS"[, "Swap"]). */
  columns: string[];
  mappings: LibrankMapping[];
}

const K = (s: string): Bytes => (Number(s.slice(0, -1)) * 1024) as Bytes;
const HEADER = /^\s*RSStot((?:\s+[A-Za-z]+)+)\s+Name\/PID\s*$/;
/** A row's leading sizes ("  188416K   86440K ..."); the name follows, then " [pid]" on process rows. */
const SIZES = /^\s*((?:\d+K\s+)+)/;
const PID_TAIL = /\s\[(\d+)\]$/;

export function parseLibrank(text: string): Parsed<Librank> {
  const warnings: ParseWarning[] = [];
  const value: Librank = { columns: [], mappings: [] };
  const lines = text.split('\n');
  let header = false;
  let cur: LibrankMapping | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    const h = line.includes('Name/PID') ? HEADER.exec(line) : null;
    if (h) {
      header = true;
      value.columns = (h[1] ?? '').trim().split(/\s+/);
      continue;
    }
    if (!header) continue;
    // Read by pieces, not one backtracking pattern: a garbled line of spaces and digits stays linear.
    const sizes = SIZES.exec(line);
    const rest = sizes ? line.slice(sizes[0].length).trimEnd() : '';
    if (sizes && rest !== '') {
      const nums = (sizes[1] ?? '').trim().split(/\s+/);
      const pid = PID_TAIL.exec(rest);
      if (nums.length === 1) {
        cur = { name: rest, pssTotal: K(nums[0] as string), processes: [] };
        value.mappings.push(cur);
        continue;
      }
      if (pid && nums.length === value.columns.length) {
        if (cur === undefined) { warnings.push(warning(i + 1, line, 'a process row before any mapping line; skipped', 'data-loss')); continue; }
        const bytes: Record<string, Bytes> = {};
        nums.forEach((n, k) => { bytes[value.columns[k] as string] = K(n); });
        cur.processes.push({ pid: Number(pid[1]), cmdline: rest.slice(0, pid.index).trim(), bytes });
        continue;
      }
      warnings.push(warning(i + 1, line, `expected ${value.columns.length} sizes (${value.columns.join(' ')}) and a [pid], got ${nums.length} sizes`, 'data-loss'));
      continue;
    }
    // librank's own notes on stderr when captured with 2>&1, a bugreport's "[librank: 3.4s elapsed]".
    warnings.push(warning(i + 1, line, 'not a librank row', 'info'));
  }
  if (!header) {
    warnings.push(warning(0, '', 'no "RSStot VSS RSS PSS USS Name/PID" header: not librank output', 'error'));
    return withFiniteValues({ value, warnings });
  }
  // librank rounds each row down to whole KiB: the rows of a whole block sum to its total less at most 1K per row.
  const pss = value.columns.find((c) => c.toUpperCase() === 'PSS');
  for (const b of value.mappings) {
    if (pss === undefined) break;
    const rows = b.processes.reduce((n, r) => n + (r.bytes[pss] ?? 0), 0);
    const slack = (b.processes.length + 1) * 1024;
    if (rows + slack < b.pssTotal) {
      warnings.push(warning(0, '', `${b.name}: its ${b.processes.length} process rows' PSS add up to ${rows / 1024}K of the ${b.pssTotal / 1024}K it totals: rows are missing from this text (cut?)`, 'info'));
    } else if (rows > b.pssTotal + slack) {
      warnings.push(warning(0, '', `${b.name}: its process rows' PSS add up to ${rows / 1024}K, more than the ${b.pssTotal / 1024}K it totals`, 'info'));
    }
  }
  return withFiniteValues({ value, warnings });
}

/**
 * librank as series: each process's share of each mapping under the key smaps gives it
 * (`proc.<name>:<pid>.map.<mapping>.<vss|rss|pss|uss|swap>`), and each mapping's total as `librank.<mapping>.pss`.
 * Names are kept whole (keyPart encodes their dots and spaces).
 */
export function librankSeries(l: Librank): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of l.mappings) {
    const map = keyPart(b.name);
    out[`librank.${map}.pss`] = (out[`librank.${map}.pss`] ?? 0) + b.pssTotal;
    for (const r of b.processes) {
      const base = `proc.${keyPart(r.cmdline)}:${r.pid}.map.${map}`;
      for (const [col, v] of Object.entries(r.bytes)) {
        const k = `${base}.${keyPart(col.toLowerCase())}`;
        out[k] = (out[k] ?? 0) + v;
      }
    }
  }
  return out;
}
