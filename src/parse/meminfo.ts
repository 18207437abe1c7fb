// src/parse/meminfo.ts
/**
 * Parses /proc/meminfo and /sys/devices/system/node/nodeN/meminfo
 * (Documentation/filesystems/proc.rst, "meminfo"; drivers/base/node.c node_read_meminfo).
 *
 *   MemTotal:       24588404 kB
 *   HugePages_Total:       0                 <- unitless: a count, not bytes
 *   Node 0 Active(anon):     691324 kB       <- per-node file: "Node N " prefix
 *           total:    used:    free:  shared: buffers:  cached:   <- 2.4-era summary table,
 *   Mem:  260579328 136073216 124506112        0  4915200 94064640    in bytes, before the key lines
 *
 * Every key is kept under the kernel's own name: a field a new kernel adds becomes a series with no code change.
 */
import type { Meminfo } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

const SPACE = 32;
const TAB = 9;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;

export function parseMeminfo(text: string): Parsed<Meminfo> {
  const bytes: Record<string, Bytes> = {};
  const counts: Record<string, number> = {};
  const warnings: ParseWarning[] = [];
  let node: number | undefined;
  let legacyRowsSkipped = 0;
  let legacyFirstLine = 0;

  const len = text.length;
  let start = 0;
  let lineNo = 0;
  while (start < len) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = len;
    lineNo++;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    const lineStart = start;
    start = end + 1;

    let i = skipBlanks(text, lineStart, stop);
    if (i >= stop) continue;

    // Per-node files prefix every line with "Node <n> ".
    if (text.startsWith('Node ', i)) {
      let j = i + 5;
      let n = 0;
      const digitsAt = j;
      while (j < stop && isDigit(text.charCodeAt(j))) n = n * 10 + text.charCodeAt(j++) - ZERO;
      if (j > digitsAt && j < stop && isBlank(text.charCodeAt(j))) {
        if (node === undefined) node = n;
        else if (node !== n) {
          warnings.push(warning(lineNo, text.slice(lineStart, stop), `line is for node ${n}, earlier lines for node ${node}; kept under the last value`, 'data-loss'));
        }
        i = skipBlanks(text, j, stop);
      }
    }

    const colon = text.indexOf(':', i);
    if (colon < 0 || colon >= stop) {
      warnings.push(warning(lineNo, text.slice(lineStart, stop), 'expected "Key: value [kB]"'));
      continue;
    }
    let keyEnd = colon;
    while (keyEnd > i && isBlank(text.charCodeAt(keyEnd - 1))) keyEnd--;
    const key = text.slice(i, keyEnd);

    // 2.4 kernels (and OpenVZ-era 2.6) open with "total: used: free: ..." and Mem:/Swap: rows in bytes.
    // The same figures follow as MemTotal/MemFree/... lines, so the table is skipped rather than guessed at.
    if (key === 'total') {
      legacyFirstLine ||= lineNo;
      legacyRowsSkipped++;
      continue;
    }

    let j = skipBlanks(text, colon + 1, stop);
    const negative = j < stop && text.charCodeAt(j) === MINUS;
    if (negative) j++;
    const digitsAt = j;
    let value = 0;
    while (j < stop && isDigit(text.charCodeAt(j))) value = value * 10 + text.charCodeAt(j++) - ZERO;
    if (j === digitsAt) {
      warnings.push(warning(lineNo, text.slice(lineStart, stop), `no number after "${key}:"`));
      continue;
    }
    if (negative) value = -value;
    j = skipBlanks(text, j, stop);

    if (j >= stop) {
      storeCount(counts, bytes, key, value, lineNo, text.slice(lineStart, stop), warnings);
      continue;
    }
    if (stop - j === 2 && text.charCodeAt(j) === 107 /* k */ && text.charCodeAt(j + 1) === 66 /* B */) {
      if (Object.hasOwn(bytes, key) || Object.hasOwn(counts, key)) {
        warnings.push(warning(lineNo, text.slice(lineStart, stop), `"${key}" appears twice; the later value is kept`, 'info'));
      }
      bytes[key] = (value * 1024) as Bytes;
      continue;
    }
    if (legacyFirstLine > 0 && (key === 'Mem' || key === 'Swap') && isDigit(text.charCodeAt(j))) {
      legacyRowsSkipped++;
      continue;
    }
    warnings.push(warning(lineNo, text.slice(lineStart, stop), `unexpected text after the value of "${key}"`));
  }

  if (legacyRowsSkipped > 0) {
    warnings.push(warning(legacyFirstLine, 'total: used: free: ...', `2.4-style summary table skipped (${legacyRowsSkipped} lines); the MemTotal/SwapTotal lines carry the same figures`, 'info'));
  }
  if (Object.keys(bytes).length === 0 && Object.keys(counts).length === 0) {
    warnings.push(warning(0, '', 'no "Key: value" line found: not a meminfo file', 'error'));
  }
  const value: Meminfo = node === undefined ? { bytes, counts } : { bytes, counts, node };
  return withFiniteValues({ value, warnings });
}

function storeCount(
  counts: Record<string, number>, bytes: Record<string, Bytes>, key: string, value: number,
  lineNo: number, line: string, warnings: ParseWarning[],
): void {
  if (Object.hasOwn(bytes, key) || Object.hasOwn(counts, key)) {
    warnings.push(warning(lineNo, line, `"${key}" appears twice; the later value is kept`, 'info'));
  }
  counts[key] = value;
}

function skipBlanks(text: string, i: number, stop: number): number {
  while (i < stop && isBlank(text.charCodeAt(i))) i++;
  return i;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}
