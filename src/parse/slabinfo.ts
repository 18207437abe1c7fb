// src/parse/slabinfo.ts
/**
 * Parses /proc/slabinfo (Documentation/mm/slub.rst; mm/slab_common.c slabinfo_show, mm/slab.c before 6.8).
 *
 *   slabinfo - version: 2.1
 *   # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> ... : slabdata ...
 *   nvidia_p2p_page_cache      0      0    368   22    2 : tunables    0    0    0 : slabdata      0      0      0
 *   broken               128   2486    180   22    1          <- 2.0 (statistics), wrapped by a mail client:
 *   : tunables   32   16    8                                      continuation lines start with ":"
 *
 * Versions 2.1 and 2.0 (SLAB and SLUB; SLUB prints tunables 0 0 0), the "(statistics)" variant with its
 * globalstat/cpustat columns, and 1.1 (2.4 kernels: no objperslab column). Text before the version line and
 * after the table (a capture log, a mail) is skipped with info warnings, never turned into caches.
 */
import type { SlabCache, Slabinfo } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { DEFAULT_PAGE_SIZE } from '../model/units.js';

export interface SlabinfoOptions {
  /** The target's page size; pagesperslab counts these. */
  pageSize?: number;
}

const VERSION_PREFIX = 'slabinfo - version:';
const MAX_ROW_WARNINGS = 50;

type Row =
  | { kind: 'cache'; cache: SlabCache; statsMismatch?: string }
  | { kind: 'malformed'; reason: string }
  | { kind: 'junk' };

export function parseSlabinfo(text: string, options: SlabinfoOptions = {}): Parsed<Slabinfo> {
  return parseSlabinfoLines(text.split('\n'), options);
}

/**
 * parseSlabinfo() on text already cut into lines (none holding "\n"): a capture log's sectionizer has them so,
 * and joining them only to split them again costs as much as parsing on a multi-GB log.
 */
export function parseSlabinfoLines(lines: readonly string[], options: SlabinfoOptions = {}): Parsed<Slabinfo> {
  const warnings: ParseWarning[] = [];
  let pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!(pageSize > 0) || !Number.isFinite(pageSize)) {
    warnings.push(warning(0, String(options.pageSize), `page size is not a positive number; ${DEFAULT_PAGE_SIZE} assumed`, 'error'));
    pageSize = DEFAULT_PAGE_SIZE;
  }

  const n = lines.length;

  // Find the version line; everything before it is someone else's text.
  let i = 0;
  let version = '';
  let statistics = false;
  for (; i < n; i++) {
    const t = trimLine(lines[i] ?? '');
    if (t.startsWith(VERSION_PREFIX)) {
      const rest = t.slice(VERSION_PREFIX.length).trim();
      version = rest.split(' ', 1)[0] ?? '';
      statistics = rest.includes('(statistics)');
      break;
    }
  }
  if (i === n) {
    // No version line: a table cut out of a log by hand. Parse it anyway, by the shape of its rows.
    i = 0;
    warnings.push(warning(0, '', 'no "slabinfo - version:" line; rows parsed by their shape', 'info'));
  } else {
    const before = countNonBlank(lines, 0, i);
    if (before > 0) {
      warnings.push(warning(1, trimLine(lines[0] ?? ''), `${before} lines before the "slabinfo - version:" line (line ${i + 1}) ignored`, 'info'));
    }
    i++;
  }

  // Header: "# name ..." plus its continuations (": tunables ...", or "tunables ..." when a log split it).
  let header = '';
  for (; i < n; i++) {
    const t = trimLine(lines[i] ?? '');
    if (t === '') continue;
    if (t.charCodeAt(0) === 35 /* # */ || t.charCodeAt(0) === 58 /* : */ || t.includes('<')) {
      header += ` ${t.charCodeAt(0) === 35 ? t.slice(1) : t}`;
      continue;
    }
    break;
  }
  const statNames = headerStatNames(header);
  const v1 = version.startsWith('1.');

  const caches: SlabCache[] = [];
  // Lines that are not rows are held until we know whether rows follow (noise inside the table: reported)
  // or not (the table ended and what follows is someone else's text: one info warning).
  let pendingFrom = 0;
  let pendingCount = 0;
  const pendingMalformed: ParseWarning[] = [];
  let malformedReported = 0;
  const mismatchWarned = new Set<string>();
  const report = (w: ParseWarning): void => {
    if (malformedReported++ < MAX_ROW_WARNINGS) warnings.push(w);
  };

  for (; i < n; i++) {
    const first = trimLine(lines[i] ?? '');
    if (first === '') continue;
    const lineNo = i + 1;
    if (first.startsWith(VERSION_PREFIX)) {
      endOfTable();
      warnings.push(warning(lineNo, first, 'a second slabinfo table starts here; only the first is parsed', 'info'));
      break;
    }
    // Join continuation lines (": tunables ...", ": slabdata ...") that a wrapped capture put on lines of their own.
    let logical = first;
    for (let j = i + 1; j < n; j++) {
      const next = trimLine(lines[j] ?? '');
      if (next === '') continue;
      if (next.charCodeAt(0) !== 58 /* : */) break;
      logical += ` ${next}`;
      i = j;
    }

    const fast = parseCommonRow(logical, pageSize);
    const row = fast !== undefined ? { kind: 'cache' as const, cache: fast } : parseRow(logical, v1, pageSize, statNames);
    if (row.kind === 'cache') {
      if (pendingCount > 0) {
        for (const w of pendingMalformed) report(w);
        const junk = pendingCount - pendingMalformed.length;
        if (junk > 0) {
          warnings.push(warning(pendingFrom, trimLine(lines[pendingFrom - 1] ?? ''), `${junk} lines inside the table are not slabinfo rows; skipped`, 'info'));
        }
        pendingCount = 0;
        pendingMalformed.length = 0;
      }
      if (row.statsMismatch !== undefined && !mismatchWarned.has(row.statsMismatch)) {
        mismatchWarned.add(row.statsMismatch);
        warnings.push(warning(lineNo, logical, row.statsMismatch, 'info'));
      }
      caches.push(row.cache);
      continue;
    }
    if (pendingCount === 0) pendingFrom = lineNo;
    pendingCount++;
    if (row.kind === 'malformed' && pendingMalformed.length < MAX_ROW_WARNINGS) {
      pendingMalformed.push(warning(lineNo, logical, row.reason));
    }
  }
  endOfTable();

  if (malformedReported > MAX_ROW_WARNINGS) {
    warnings.push(warning(0, '', `${malformedReported} malformed rows; only the first ${MAX_ROW_WARNINGS} are reported`, 'data-loss'));
  }
  if (caches.length === 0) {
    warnings.push(warning(0, '', 'no slabinfo rows found', 'error'));
  }
  return withFiniteValues({ value: { version, statistics, caches }, warnings });

  // What is pending when the table stops is text after the table; except a malformed line right after
  // the last row, which is most likely the last row, cut short.
  function endOfTable(): void {
    if (pendingCount === 0) return;
    const firstBad = pendingMalformed[0];
    if (firstBad && firstBad.line === pendingFrom && caches.length > 0) {
      report({ ...firstBad, reason: `${firstBad.reason} (right after the last row: probably a row cut short)` });
    }
    warnings.push(warning(pendingFrom, trimLine(lines[pendingFrom - 1] ?? ''), `the table ends before line ${pendingFrom}; ${pendingCount} following lines are not slabinfo rows and were ignored`, 'info'));
    pendingCount = 0;
    pendingMalformed.length = 0;
  }
}

/** Parses one (joined) row. */
function parseRow(line: string, v1: boolean, pageSize: number, statNames: Map<string, string[]>): Row {
  const tok = tokens(line);
  const name = tok[0] ?? '';
  const last = name.charCodeAt(name.length - 1);
  if (name === '' || name.charCodeAt(0) === 35 /* # */ || last === 58 /* : */) return { kind: 'junk' };

  const main: number[] = [];
  let k = 1;
  for (; k < tok.length && tok[k] !== ':'; k++) {
    const v = uint(tok[k] ?? '');
    if (v < 0) return hasMarkers(tok) ? { kind: 'malformed', reason: `"${tok[k]}" is not a number` } : { kind: 'junk' };
    main.push(v);
  }
  if (main.length === 0) return { kind: 'junk' };

  const sections = new Map<string, number[]>();
  let unnamed = 0;
  while (k < tok.length) {
    // tok[k] is ":"; the section name follows unless the section is unnamed (1.1 "(SMP)": ": limit batchcount").
    k++;
    let sec = tok[k] ?? '';
    if (sec !== '' && uint(sec) < 0) k++;
    else sec = `#${unnamed++}`;
    const values: number[] = [];
    for (; k < tok.length && tok[k] !== ':'; k++) {
      const v = uint(tok[k] ?? '');
      if (v < 0) return { kind: 'malformed', reason: `"${tok[k]}" in the ${sec} section is not a number` };
      values.push(v);
    }
    sections.set(sec, values);
  }

  let cache: SlabCache;
  const tunables = sections.get('tunables');
  const slabdata = sections.get('slabdata');
  if (main.length === 5 && tunables?.length === 3 && slabdata?.length === 3) {
    const [activeObjs = 0, numObjs = 0, objSize = 0, objPerSlab = 0, pagesPerSlab = 0] = main;
    const [limit = 0, batchCount = 0, sharedFactor = 0] = tunables;
    const [activeSlabs = 0, numSlabs = 0, sharedAvail = 0] = slabdata;
    // 2.0 headers say "<batchcount> <limit>", but the kernel printed limit first all along (mm/slab.c s_show);
    // 2.1 only fixed the header. Values are taken by position.
    cache = {
      name, activeObjs, numObjs, objSize: objSize as Bytes, objPerSlab, pagesPerSlab, activeSlabs, numSlabs,
      sharedAvail, limit, batchCount, sharedFactor,
      slabBytes: (numSlabs * pagesPerSlab * pageSize) as Bytes,
      activeBytes: (activeObjs * objSize) as Bytes,
    };
  } else if (v1 && main.length === 6) {
    // 1.1 (2.4): name active_objs num_objs objsize active_slabs num_slabs pagesperslab; no objperslab column.
    const [activeObjs = 0, numObjs = 0, objSize = 0, activeSlabs = 0, numSlabs = 0, pagesPerSlab = 0] = main;
    cache = {
      name, activeObjs, numObjs, objSize: objSize as Bytes,
      objPerSlab: numSlabs > 0 ? Math.round(numObjs / numSlabs) : 0,
      pagesPerSlab, activeSlabs, numSlabs,
      slabBytes: (numSlabs * pagesPerSlab * pageSize) as Bytes,
      activeBytes: (activeObjs * objSize) as Bytes,
    };
    const smp = [...sections.values()].find((v) => v.length === 2);
    if (smp) {
      cache.limit = smp[0] ?? 0;
      cache.batchCount = smp[1] ?? 0;
    }
    return { kind: 'cache', cache };
  } else {
    if (main.length !== 5) return { kind: 'malformed', reason: `expected 5 numbers after the cache name, got ${main.length}` };
    return { kind: 'malformed', reason: 'expected ": tunables" with 3 numbers and ": slabdata" with 3 numbers' };
  }

  let statsMismatch: string | undefined;
  for (const [sec, values] of sections) {
    if (sec === 'tunables' || sec === 'slabdata') continue;
    const names = statNames.get(sec);
    const stats = (cache.statistics ??= {});
    if (names && names.length === values.length) {
      for (let x = 0; x < values.length; x++) stats[names[x] ?? `${sec}.${x}`] = values[x] ?? 0;
    } else {
      for (let x = 0; x < values.length; x++) stats[`${sec}.${x}`] = values[x] ?? 0;
      statsMismatch = names
        ? `${sec}: ${values.length} values but the header names ${names.length}; kept by position as ${sec}.0..${values.length - 1}`
        : `${sec}: no column names in the header; kept by position as ${sec}.0..${values.length - 1}`;
    }
  }
  return statsMismatch === undefined ? { kind: 'cache', cache } : { kind: 'cache', cache, statsMismatch };
}

/**
 * The row every kernel since 2.6 prints, "name  5 numbers : tunables 3 numbers : slabdata 3 numbers", read in
 * one pass without making tokens; anything else (statistics columns, 1.1, junk, malformed rows) is left to
 * parseRow(), so the result is parseRow()'s whenever this returns one.
 */
function parseCommonRow(line: string, pageSize: number): SlabCache | undefined {
  const len = line.length;
  let i = 0;
  while (i < len && isSpace(line.charCodeAt(i))) i++;
  const nameAt = i;
  while (i < len && !isSpace(line.charCodeAt(i))) i++;
  const nameEnd = i;
  if (i === nameAt || line.charCodeAt(nameAt) === 35 /* # */ || line.charCodeAt(i - 1) === 58 /* : */) return undefined;
  const v = ROW_VALUES;
  let k = 0;
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      i = skipSpace(line, i);
      if (line.charCodeAt(i) !== 58 /* : */ || !endsToken(line, i + 1)) return undefined;
      i = skipSpace(line, i + 1);
      const word = part === 1 ? 'tunables' : 'slabdata';
      if (!line.startsWith(word, i) || !endsToken(line, i + word.length)) return undefined;
      i += word.length;
    }
    const count = part === 0 ? 5 : 3;
    for (let c = 0; c < count; c++) {
      i = skipSpace(line, i);
      const from = i;
      let x = 0;
      for (let d = line.charCodeAt(i) - 48; i < len && d >= 0 && d <= 9; d = line.charCodeAt(++i) - 48) x = x * 10 + d;
      if (i === from || i - from > 16 || !endsToken(line, i)) return undefined;
      v[k++] = x;
    }
  }
  if (skipSpace(line, i) !== len) return undefined;
  const activeObjs = v[0] as number, objSize = v[2] as number, pagesPerSlab = v[4] as number, numSlabs = v[9] as number;
  return {
    name: line.slice(nameAt, nameEnd),
    activeObjs, numObjs: v[1] as number, objSize: objSize as Bytes, objPerSlab: v[3] as number, pagesPerSlab,
    activeSlabs: v[8] as number, numSlabs, sharedAvail: v[10] as number, limit: v[5] as number, batchCount: v[6] as number,
    sharedFactor: v[7] as number,
    slabBytes: (numSlabs * pagesPerSlab * pageSize) as Bytes,
    activeBytes: (activeObjs * objSize) as Bytes,
  };
}

const ROW_VALUES = new Float64Array(11);

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** True when position i is the end of the line or a separator: the token before it ends there. */
function endsToken(s: string, i: number): boolean {
  return i >= s.length || isSpace(s.charCodeAt(i));
}

/** Column names of the statistics sections, from the header ("<allochit> <allocmiss> ..."; mail may eat a ">"). */
function headerStatNames(header: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const tok = tokens(header);
  let sec = '';
  for (let k = 0; k < tok.length; k++) {
    const t = tok[k] ?? '';
    if (t === ':') {
      sec = tok[++k] ?? '';
      if (sec !== 'tunables' && sec !== 'slabdata') out.set(sec, []);
      continue;
    }
    const names = out.get(sec);
    if (names && t.startsWith('<')) names.push(t.replace(/[<>]/g, ''));
  }
  // A log that split the header may have dropped the ":" before "tunables"; nothing to name there.
  out.delete('');
  return out;
}

function hasMarkers(tok: string[]): boolean {
  return tok.includes('tunables') || tok.includes('slabdata');
}

/** Whitespace-separated tokens, scanning char codes (slabinfo is parsed on every sample of long recordings). */
function tokens(s: string): string[] {
  const out: string[] = [];
  const len = s.length;
  let i = 0;
  while (i < len) {
    while (i < len && isSpace(s.charCodeAt(i))) i++;
    if (i >= len) break;
    const from = i;
    while (i < len && !isSpace(s.charCodeAt(i))) i++;
    out.push(s.slice(from, i));
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** A non-negative decimal integer, or -1. */
function uint(t: string): number {
  if (t.length === 0 || t.length > 16) return -1;
  let v = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function trimLine(s: string): string {
  return s.trim();
}

function countNonBlank(lines: readonly string[], from: number, to: number): number {
  let c = 0;
  for (let i = from; i < to; i++) if (trimLine(lines[i] ?? '') !== '') c++;
  return c;
}
