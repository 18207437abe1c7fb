// src/parse/evidence/mtrace.ts
/**
 * Parses glibc mtrace evidence, both shapes (glibc manual, "Allocation Debugging"; malloc/mtrace-impl.c tr_where
 * for the raw lines, malloc/mtrace.pl for the report):
 *
 * the raw MALLOC_TRACE file the program writes,
 *   = Start
 *   @ ./leaky-mtrace:[0x11fa] + 0x55d12c4bc4a0 0x64          <- [offset in the object] since glibc 2.x; older: @ [0x4005d4]
 *   @ /lib/x86_64-linux-gnu/libc.so.6:(_IO_file_doallocate+8c)[0x758cc] + 0x55d12c4bc6c0 0x1000
 *   @ ./prog:[0x1289] - 0x55d12c4bc6a0      < 0xold / > 0xnew 0xsize  for realloc
 * from which we compute what was never freed, grouped by caller; and the `mtrace` perl script's report,
 *   Memory not freed:
 *              Address     Size     Caller
 *   0x000055d12c4bc2a0     0x10  at /home/dev/gen/leaky.c:16 (discriminator 3)    <- "at 0x119f" without the binary
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

export interface Mtrace {
  format: 'raw' | 'report' | 'unknown';
  sites: AllocationSite[];
  /** Raw trace: counts of what was read. */
  stats?: { allocs: number; frees: number; reallocs: number; outstanding: number; outstandingBytes: Bytes };
  /** Report: "No memory leaks." was printed. */
  noLeaks?: boolean;
}

const RAW = /^(?:@ (.*?)\[(0x[0-9a-fA-F]+)\] )?([-+<>!]) (0x[0-9a-fA-F]+|\(nil\))(?: (0x[0-9a-fA-F]+))?\s*$/;
const REPORT_ROW = /^(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+at (.+?)\s*$/;

/** "./prog:" + "[0x11fa]", "/lib/libc.so.6:(_IO_file_doallocate+8c)" + "[0x758cc]", "" + "[0x4005d4]". */
export function mtraceCaller(where: string, bracket: string): Frame {
  const w = where.trim();
  if (w === '') return { address: bracket };
  const m = /^(.*?):(?:\(([^()+-]*)([+-])([0-9a-fA-F]+)\))?$/.exec(w);
  if (!m) return { symbol: w, address: bracket };
  const f: Frame = {};
  if (m[1] !== undefined && m[1] !== '') f.module = m[1];
  f.moduleOffset = bracket;
  if (m[2] !== undefined && m[2] !== '') {
    f.symbol = m[2];
    f.offset = `${m[3] ?? '+'}0x${m[4] ?? '0'}`; // glibc prints the hex offset without "0x"
  }
  return f;
}

/** Caller column of the perl report: "/path/file.c:12 (discriminator 3)", "0x119f", "./prog:[0x11fa]", "??:0". */
export function mtraceReportCaller(caller: string): Frame[] {
  const c = caller.replace(/\s+\(discriminator \d+\)$/, '');
  const loc = /^(.+):(\d+)$/.exec(c);
  if (loc && loc[1] !== undefined && loc[1] !== '??') return [{ file: loc[1], line: Number(loc[2]) }];
  if (/^0x[0-9a-fA-F]+$/.test(c)) return [{ address: c }];
  const raw = /^(.*?)\[(0x[0-9a-fA-F]+)\]$/.exec(c);
  if (raw) return [mtraceCaller(raw[1] ?? '', raw[2] ?? '')];
  if (c.startsWith('??')) return [];
  return [{ symbol: c }];
}

function keyOf(stack: Frame[]): string {
  return JSON.stringify(stack);
}

export function parseMtrace(text: string, source = 'mtrace'): Parsed<Mtrace> {
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  const isReport = /^Memory not freed:\s*$/m.test(text) || /^No memory leaks\.\s*$/m.test(text);
  if (isReport) return parseReport(lines, source, warnings);

  // Raw trace: replay the log, keeping each live block with the caller that allocated it.
  const live = new Map<string, { stack: Frame[]; size: number; line: number }>();
  let allocs = 0;
  let frees = 0;
  let reallocs = 0;
  let seen = false;
  let unmatchedFrees = 0;
  let firstUnmatched = 0;
  let pendingRealloc: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.trim();
    if (line === '' || line === '= Start' || line === '= End') continue;
    const m = RAW.exec(line);
    if (!m) {
      if (seen) warnings.push(warning(lineNo, raw, 'not an mtrace line'));
      continue;
    }
    seen = true;
    const op = m[3];
    const addr = (m[4] ?? '').toLowerCase();
    const stack = m[2] !== undefined ? [mtraceCaller(m[1] ?? '', m[2])] : [];
    if (op === '+' || op === '>') {
      if (m[5] === undefined) {
        warnings.push(warning(lineNo, raw, 'allocation without a size'));
        continue;
      }
      if (live.has(addr)) warnings.push(warning(lineNo, raw, 'address allocated twice without a free in between (lost free line?)', 'info'));
      live.set(addr, { stack, size: parseInt(m[5], 16), line: lineNo });
      if (op === '+') allocs++;
      else {
        reallocs++;
        pendingRealloc = undefined;
      }
    } else if (op === '-' || op === '<') {
      if (op === '<') pendingRealloc = addr;
      else frees++;
      if (!live.delete(addr) && addr !== '(nil)' && addr !== '0x0') {
        if (unmatchedFrees++ === 0) firstUnmatched = lineNo;
      }
    }
    // '!' is a failed realloc: the old block stays allocated.
  }
  if (pendingRealloc !== undefined) warnings.push(warning(lines.length, '', 'trace ends after "<" without its ">" (cut during a realloc)', 'info'));
  if (unmatchedFrees > 0) {
    warnings.push(
      warning(firstUnmatched, lines[firstUnmatched - 1] ?? '', `${unmatchedFrees} free(s) of blocks not allocated in this trace (allocated before mtrace() was called?)`, 'info'),
    );
  }
  const bySite = new Map<string, AllocationSite>();
  let outstandingBytes = 0;
  for (const b of live.values()) {
    outstandingBytes += b.size;
    const k = keyOf(b.stack);
    const site = bySite.get(k);
    if (site) {
      site.bytes = bytes(site.bytes + b.size);
      site.count++;
    } else {
      bySite.set(k, { stack: b.stack, bytes: bytes(b.size), count: 1, kind: 'outstanding', tool: 'mtrace', origin: `${source}:${b.line}` });
    }
  }
  if (!seen) warnings.push(warning(0, '', 'no mtrace lines found', 'error'));
  const sites = [...bySite.values()].sort((a, b) => b.bytes - a.bytes);
  return withFiniteValues({
    value: { format: seen ? 'raw' : 'unknown', sites, stats: { allocs, frees, reallocs, outstanding: live.size, outstandingBytes: bytes(outstandingBytes) } },
    warnings,
  });
}

function parseReport(lines: string[], source: string, warnings: ParseWarning[]): Parsed<Mtrace> {
  const bySite = new Map<string, AllocationSite>();
  let inTable = false;
  let noLeaks = false;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.trim();
    if (line === 'No memory leaks.') noLeaks = true;
    if (line === 'Memory not freed:') {
      inTable = true;
      continue;
    }
    if (!inTable || line === '' || /^-+$/.test(line) || /^Address\s+Size\s+Caller$/.test(line)) continue;
    const row = REPORT_ROW.exec(line);
    if (!row) {
      warnings.push(warning(lineNo, raw, 'not a "Memory not freed" row'));
      continue;
    }
    const size = parseInt(row[2] ?? '0', 16);
    const stack = mtraceReportCaller(row[3] ?? '');
    const k = keyOf(stack);
    const site = bySite.get(k);
    if (site) {
      site.bytes = bytes(site.bytes + size);
      site.count++;
    } else {
      bySite.set(k, { stack, bytes: bytes(size), count: 1, kind: 'outstanding', tool: 'mtrace', origin: `${source}:${lineNo}` });
    }
  }
  // The script's own complaints ("- 0x... Free 3 was never alloc'd", "+ 0x... Alloc 4 duplicate") are lines
  // before the table; they come back above as "not a row" only if they sit inside it.
  const sites = [...bySite.values()].sort((a, b) => b.bytes - a.bytes);
  const value: Mtrace = { format: 'report', sites };
  if (noLeaks) value.noLeaks = true;
  return withFiniteValues({ value, warnings });
}
