// src/parse/smaps.ts
/**
 * Parses /proc/<pid>/smaps (Documentation/filesystems/proc.rst, "/proc/<pid>/smaps";
 * fs/proc/task_mmu.c show_smap). One header line per mapping, then its "Key: N kB" fields:
 *
 *   7f3c2a000000-7f3c2a021000 rw-p 00000000 00:00 0
 *   59f26000-5bf26000 r--s 00000000 00:01 3073                               /memfd:jit-zygote-cache (deleted)
 *   Name:           [anon:dalvik-main space (region space)]      <- Android kernels only
 *   THPeligible:           0
 *   VmFlags: rd wr mr mw me ac nh                                 <- note the trailing space
 *
 * Android apps have 3000+ mappings and the file is read per process every sample, so this is one pass with
 * indexOf and charCode scans, no regex per line.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import type { Mapping, MappingKind, ProcessMemory, Smaps } from '../model/proc_files.js';

export function parseSmaps(text: string): Parsed<Smaps> {
  const warnings: ParseWarning[] = [];
  const mappings: Mapping[] = [];
  let current: Mapping | undefined;
  // Field lines with no mapping to belong to: reported once per run, not once per line.
  let orphanRun = false;
  let lineNo = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    lineNo++;
    let stop = end;
    if (stop > pos && text.charCodeAt(stop - 1) === 13) stop--;
    const line = text.slice(pos, stop);
    pos = end + 1;
    if (isBlank(line)) continue;

    if (looksLikeHeader(line)) {
      const header = parseMapHeader(line);
      if (header) {
        current = header;
        mappings.push(header);
        orphanRun = false;
      } else {
        current = undefined;
        orphanRun = true;
        warnings.push(warning(lineNo, line, 'mapping header: expected "start-end perms offset dev inode [name]"; its fields are skipped'));
      }
      continue;
    }
    if (!current) {
      if (!orphanRun) warnings.push(warning(lineNo, line, 'field line outside any mapping (no header line before it); skipped'));
      orphanRun = true;
      continue;
    }
    const problem = addField(current, line);
    if (problem) warnings.push(warning(lineNo, line, problem.reason, problem.severity));
  }
  if (mappings.length === 0 && n > 0 && warnings.length === 0) {
    warnings.push(warning(0, '', 'no mapping header found', 'error'));
  }
  return withFiniteValues({ value: { mappings }, warnings });
}

/** procrank/smem figures for a process from its mappings. */
export function summarizeMappings(mappings: readonly Mapping[]): ProcessMemory {
  let vss = 0, rss = 0, pss = 0, uss = 0, swap = 0, swapPss = 0;
  let hasSwapPss = false;
  let anon = 0;
  let hasAnon = false;
  for (const m of mappings) {
    const b = m.bytes;
    vss += b['Size'] ?? 0;
    rss += b['Rss'] ?? 0;
    pss += b['Pss'] ?? 0;
    uss += (b['Private_Clean'] ?? 0) + (b['Private_Dirty'] ?? 0);
    swap += b['Swap'] ?? 0;
    const sp = b['SwapPss'];
    if (sp !== undefined) { swapPss += sp; hasSwapPss = true; }
    const an = b['Anonymous'];
    if (an !== undefined) { anon += an; hasAnon = true; }
  }
  const out: ProcessMemory = { vss: vss as Bytes, rss: rss as Bytes, pss: pss as Bytes, uss: uss as Bytes, swap: swap as Bytes };
  // SwapPss appeared in Linux 4.3; older kernels simply lack the line.
  if (hasSwapPss) out.swapPss = swapPss as Bytes;
  if (hasAnon) out.anon = anon as Bytes;
  return out;
}

/** Kind of a mapping by its name, as an engineer would group it. */
export function mappingKind(name: string): MappingKind {
  if (name === '') return 'anon';
  const c0 = name.charCodeAt(0);
  if (c0 === 91 /* [ */) {
    if (name === '[heap]') return 'heap';
    // "[stack:1234]" is the per-thread stack of kernels 3.4-4.4.
    if (name === '[stack]' || name.startsWith('[stack:')) return 'stack';
    if (name.startsWith('[anon:')) return 'anon';
    // Named anonymous shared memory (Linux 6.x "[anon_shmem:name]").
    if (name.startsWith('[anon_shmem:')) return 'shmem';
    return 'special';
  }
  const path = name.endsWith(' (deleted)') ? name.slice(0, -10) : name;
  if (
    path.startsWith('/dev/zero') || path.startsWith('/SYSV') || path.startsWith('/memfd:') || path.startsWith('memfd:') ||
    // POSIX shm lives on tmpfs at /dev/shm; Android's ashmem regions are its shared memory.
    path.startsWith('/dev/shm/') || path.startsWith('/dev/ashmem')
  ) return 'shmem';
  if (c0 !== 47 /* / */) return path.startsWith('anon_inode:') ? 'special' : 'file';
  return isSharedObject(path) ? 'so' : 'file';
}

/** "libc.so.6", "libbz2.so.1.0.4", "_bz2.cpython-311-x86_64-linux-gnu.so": ".so" then only ".N" parts. */
function isSharedObject(path: string): boolean {
  const slash = path.lastIndexOf('/');
  let i = path.indexOf('.so', slash + 1);
  while (i >= 0) {
    let j = i + 3;
    for (;;) {
      if (j === path.length) return true;
      if (path.charCodeAt(j) !== 46 /* . */) break;
      let k = j + 1;
      while (k < path.length && isDigit(path.charCodeAt(k))) k++;
      if (k === j + 1) break;
      j = k;
    }
    i = path.indexOf('.so', i + 3);
  }
  return false;
}

/** The header test: "hex-hex " at the start of the line. Field keys never start that way. */
export function looksLikeHeader(line: string): boolean {
  let i = 0;
  const len = line.length;
  while (i < len && isHex(line.charCodeAt(i))) i++;
  if (i === 0 || i >= len || line.charCodeAt(i) !== 45 /* - */) return false;
  const j = ++i;
  while (i < len && isHex(line.charCodeAt(i))) i++;
  return i > j && (i === len || line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9);
}

/** Splits a header line into its mapping, with empty field maps. Undefined when the line lacks a field. */
export function parseMapHeader(line: string): Mapping | undefined {
  const tokens: string[] = [];
  let i = 0;
  const len = line.length;
  while (tokens.length < 5) {
    while (i < len && isSpace(line.charCodeAt(i))) i++;
    if (i >= len) return undefined;
    const s = i;
    while (i < len && !isSpace(line.charCodeAt(i))) i++;
    tokens.push(line.slice(s, i));
  }
  const [range = '', perms = '', offset = '', dev = '', inodeText = ''] = tokens;
  const dash = range.indexOf('-');
  const inode = toInt(inodeText);
  if (inode === undefined || perms.length < 4) return undefined;
  while (i < len && isSpace(line.charCodeAt(i))) i++;
  let e = len;
  while (e > i && isSpace(line.charCodeAt(e - 1))) e--;
  const name = line.slice(i, e);
  return {
    start: range.slice(0, dash), end: range.slice(dash + 1), perms, offset, dev, inode, name,
    kind: mappingKind(name), bytes: {}, counts: {},
  };
}

interface Problem { reason: string; severity: 'info' | 'data-loss' }

/** Adds one "Key: value" line to a mapping; says what went wrong, if anything. */
function addField(m: Mapping, line: string): Problem | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return { reason: 'expected "Key: value"', severity: 'data-loss' };
  const key = line.slice(0, colon);
  const len = line.length;
  let i = colon + 1;
  while (i < len && isSpace(line.charCodeAt(i))) i++;
  if (key === 'VmFlags') {
    const flags: string[] = [];
    while (i < len) {
      const s = i;
      while (i < len && !isSpace(line.charCodeAt(i))) i++;
      flags.push(line.slice(s, i));
      while (i < len && isSpace(line.charCodeAt(i))) i++;
    }
    m.vmFlags = flags;
    return undefined;
  }
  if (key === 'Name') {
    // Android kernels repeat a named anonymous region's name on its own line; the header already carries it
    // on most, but where the header has none the Name line is the only one.
    let e = len;
    while (e > i && isSpace(line.charCodeAt(e - 1))) e--;
    if (m.name === '' && e > i) { m.name = line.slice(i, e); m.kind = mappingKind(m.name); }
    return undefined;
  }
  const s = i;
  let v = 0;
  while (i < len) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
  }
  if (i === s) return { reason: `"${key}" has no number; value dropped`, severity: 'data-loss' };
  if (!Number.isSafeInteger(v)) return { reason: `"${key}" is too large to hold exactly; value dropped`, severity: 'data-loss' };
  while (i < len && isSpace(line.charCodeAt(i))) i++;
  if (i === len) { m.counts[key] = v; return undefined; }
  if (line.charCodeAt(i) === 107 /* k */ && line.charCodeAt(i + 1) === 66 /* B */) {
    let j = i + 2;
    while (j < len && isSpace(line.charCodeAt(j))) j++;
    if (j === len) { m.bytes[key] = (v * 1024) as Bytes; return undefined; }
  }
  return { reason: `"${key}": unexpected text after the number; value dropped`, severity: 'data-loss' };
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isSpace(line.charCodeAt(i))) return false;
  return true;
}
function isSpace(c: number): boolean { return c === 32 || c === 9 || c === 13; }
function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isHex(c: number): boolean { return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70); }
function toInt(s: string): number | undefined {
  if (s.length === 0) return undefined;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return undefined;
    v = v * 10 + (c - 48);
  }
  return Number.isSafeInteger(v) ? v : undefined;
}
