/**
 * The byte-scanning path of ingestSeries() (capture_file.ts) for the common capture loop: meminfo, slabinfo and
 * free dumps between "####" separators, echoed "cat ...", printk lines, CRLF. It reads reused Buffers and parses
 * the two line shapes that are nearly all of such a log (meminfo "Key:  123 kB" and the standard slabinfo row)
 * in place, making no string per line; every other line is decoded and goes through the same cleaner, shape
 * tests and parser (parseFree) as the generic path.
 *
 * It gives the generic path's answer or none: it follows the sectionizer's rules for these three kinds, and at
 * the first thing the generic path would handle differently or warn about (a line it does not know, a control
 * byte, non-ASCII text, a terminal timestamp, a date/uptime section, a duplicate key, a wrapped row...) it stops
 * and says so; ingestSeries() then runs the generic path, skipping the samples already delivered, which are the
 * same. A test holds both paths equal value for value on the real captures.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { warning } from '../model/parsed.js';
import { keyPart, type SeriesValues } from '../model/series.js';
import type { SnapshotWarning } from '../model/snapshot.js';
import type { FreeRow } from '../model/proc_files.js';
import { DEFAULT_PAGE_SIZE } from '../model/units.js';
import { CHUNK_NO_AT, CHUNK_NO_CONTROLS, LineCleaner, noControls } from '../capture/terminal_noise.js';
import { SHAPES, SHAPE_OF, isSeparator } from '../capture/shapes.js';
import { parseFree } from '../parse/free.js';
import type { SeriesMeta, SeriesOptions } from './capture_file.js';

/** True when the file's head shows nothing the fast path would stop at right away (a cheap guess; it checks every line anyway). */
export function canTakeFastPath(head: Buffer): boolean {
  if (!isAscii(head) || head.indexOf(64 /* @ */) >= 0) return false;
  const lf = head.lastIndexOf(LF);
  return lf < 0 || noControls(head, 0, lf + 1);
}

/** Thrown to leave the scan: the generic path takes over. */
class Stop extends Error {}

/** Names interned by their bytes (FNV-1a, checked byte for byte, so a collision costs time, never a wrong key). */
class Names {
  readonly names: string[] = [];
  private readonly bytes: Buffer[] = [];
  private readonly byHash = new Map<number, number>();
  private readonly byName = new Map<string, number>();

  id(buf: Buffer, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const id = this.byHash.get(h);
    if (id !== undefined) {
      if (sameBytes(this.bytes[id] as Buffer, buf, start, end)) return id;
      return this.slow(buf.toString('latin1', start, end));
    }
    const name = buf.toString('latin1', start, end);
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    const n = this.add(name);
    this.byHash.set(h, n);
    return n;
  }

  private slow(name: string): number {
    return this.byName.get(name) ?? this.add(name);
  }

  private add(name: string): number {
    const n = this.names.length;
    if (n >= MAX_NAMES) throw new Stop();
    this.names.push(name);
    this.bytes.push(Buffer.from(name, 'latin1'));
    this.byName.set(name, n);
    return n;
  }
}

/** a equals buf[start, end): names are short, a loop beats Buffer.compare's argument checks. */
function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** Past this many distinct names the log is not the loop this path is for. */
const MAX_NAMES = 100_000;
const LF = 10, CR = 13, SP = 32, TAB = 9, COLON = 58, HASH = 35;
const COMMAND_WORDS: ReadonlySet<string> = new Set([
  'cat', 'echo', 'sleep', 'while', 'for', 'if', 'then', 'fi', 'busybox', 'dmesg', 'ls', 'cd', 'export', 'sh', 'bash',
]);
const MEMTOTAL = Buffer.from('MemTotal:');
const NOT_NAMES: readonly Buffer[] = [...COMMAND_WORDS, 'tunables', 'slabdata'].map((w) => Buffer.from(w));
const TUNABLES = Buffer.from('tunables');
const SLABDATA = Buffer.from('slabdata');

const enum Mode { None, Meminfo, Slab, Free }
const KIND_BIT = { meminfo: 1, slabinfo: 2, free: 4 } as const;
type FastKind = keyof typeof KIND_BIT;
const MODE_OF: Record<FastKind, Mode> = { meminfo: Mode.Meminfo, slabinfo: Mode.Slab, free: Mode.Free };

const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWord = (c: number): boolean => isAlpha(c) || (c >= 48 && c <= 57) || c === 95 || c === 40 || c === 41;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isBlank = (c: number): boolean => c === SP || c === TAB;

/**
 * Scans the log; returns complete: false when it stopped early (samples delivered so far are the generic path's
 * first ones).
 */
export function scanSeriesFast(
  path: string, options: SeriesOptions,
  onSample: (tSec: number, values: SeriesValues, meta: SeriesMeta) => void,
  chunkBytes = 4 << 20,
): { complete: boolean } {
  const interval = options.intervalSec ?? 1;
  const memNames = new Names();
  const slabNames = new Names();
  const memKeys: string[] = [];
  const slabKeys: string[] = [];
  const cleaner = new LineCleaner();
  const values: SeriesValues = new Map();

  // Sample state; per-name values are stamped with the sample number so nothing is cleared per sample.
  let stamp = 1;
  let open = false;
  let index = 0;
  let firstLine = 0;
  let kinds = 0;
  let sections: string[] = [];
  let warnings: SnapshotWarning[] = [];
  let memValue = new Float64Array(256);
  let memStamp = new Int32Array(256);
  const memBytesIds: number[] = [];
  const memCountIds: number[] = [];
  let slabBytes = new Float64Array(1024);
  let slabActive = new Float64Array(1024);
  let slabObjs = new Float64Array(1024);
  let slabStamp = new Int32Array(1024);
  const slabIds: number[] = [];
  let freeMem: FreeRow | undefined;
  let freeSwap: FreeRow | undefined;
  let lastMem: number[] = [];
  let lastSlab: number[] = [];
  const freeKeys = new Map<string, string>();
  const freeStamp = new Map<string, number>();

  // Open section state (the sectionizer's, for these three kinds).
  let mode = Mode.None;
  let secName: FastKind = 'meminfo';
  let secLines = 0;
  let secFirst = 0;
  let secFirstText = '';
  let slabRows = 0;
  let freeLines: string[] = [];
  const lineCounts = new Map<string, number>();
  let lineNo = 0;

  const growMem = (id: number): void => {
    if (id < memValue.length) return;
    const v = new Float64Array(memValue.length * 2); v.set(memValue); memValue = v;
    const s = new Int32Array(memStamp.length * 2); s.set(memStamp); memStamp = s;
  };
  const growSlab = (id: number): void => {
    if (id < slabStamp.length) return;
    const n = slabStamp.length * 2;
    const a = new Float64Array(n); a.set(slabBytes); slabBytes = a;
    const b = new Float64Array(n); b.set(slabActive); slabActive = b;
    const c = new Float64Array(n); c.set(slabObjs); slabObjs = c;
    const s = new Int32Array(n); s.set(slabStamp); slabStamp = s;
  };

  const emit = (): void => {
    if (!open) return;
    open = false;
    if (sections.length === 0) return;
    // The Map is updated in place (most keys come back every sample) and loses the keys this sample lacks.
    for (const id of memBytesIds) values.set(memKeys[id] as string, memValue[id] as number);
    for (const id of memCountIds) values.set(memKeys[id] as string, memValue[id] as number);
    for (const id of lastMem) if (memStamp[id] !== stamp) values.delete(memKeys[id] as string);
    freeRow('free.mem.', freeMem);
    freeRow('free.swap.', freeSwap);
    for (const [k, st] of freeStamp) {
      if (st === stamp) continue;
      values.delete(k);
      freeStamp.delete(k);
    }
    for (const id of slabIds) {
      const base = id * 3;
      values.set(slabKeys[base] as string, slabBytes[id] as number);
      values.set(slabKeys[base + 1] as string, slabActive[id] as number);
      values.set(slabKeys[base + 2] as string, slabObjs[id] as number);
    }
    for (const id of lastSlab) {
      if (slabStamp[id] === stamp) continue;
      for (let k = id * 3; k < id * 3 + 3; k++) values.delete(slabKeys[k] as string);
    }
    lastMem = [...memBytesIds, ...memCountIds];
    lastSlab = slabIds.slice();
    const sec = index * interval;
    const meta: SeriesMeta = { index, firstLine, sections, kinds: sections.slice(), timestamp: { sec, source: 'index' }, warnings };
    index++;
    onSample(sec, values, meta);
  };
  const freeRow = (prefix: string, row: FreeRow | undefined): void => {
    if (!row) return;
    for (const k in row) {
      const v = row[k as keyof FreeRow];
      if (v === undefined) continue;
      const id = prefix + k;
      let key = freeKeys.get(id);
      if (key === undefined) {
        key = prefix + keyPart(k);
        freeKeys.set(id, key);
      }
      values.set(key, v);
      freeStamp.set(key, stamp);
    }
  };
  const startSample = (line: number): void => {
    open = true;
    stamp++;
    firstLine = line;
    kinds = 0;
    sections = [];
    warnings = [];
    memBytesIds.length = 0;
    memCountIds.length = 0;
    slabIds.length = 0;
    freeMem = undefined;
    freeSwap = undefined;
  };

  const closeSection = (): void => {
    if (mode === Mode.None) return;
    if (mode === Mode.Slab && slabRows === 0) throw new Stop();
    if (mode === Mode.Free) {
      const r = parseFree(`${freeLines.join('\n')}\n`);
      if (r.warnings.length > 0) throw new Stop();
      freeMem = r.value.mem;
      freeSwap = r.value.swap;
    }
    mode = Mode.None;
    kinds |= KIND_BIT[secName];
    sections.push(secName);
    lineCounts.set(secName, secLines);
  };

  const openSection = (kind: FastKind, t: string): void => {
    if (open && (kinds & KIND_BIT[kind]) !== 0) emit();
    if (!open) startSample(lineNo);
    mode = MODE_OF[kind];
    secName = kind;
    secLines = 1;
    secFirst = lineNo;
    secFirstText = t;
    if (mode === Mode.Meminfo) memString(t);
    else if (mode === Mode.Slab) slabRows = 0;
    else freeLines = [t];
  };

  /** A meminfo line that came as a string (MemTotal, which opens the section). */
  const memString = (t: string): void => {
    const b = Buffer.from(t, 'latin1');
    if (!memBytes(b, 0, b.length)) throw new Stop();
  };

  /** A "Key:  123 [kB]" line of an open meminfo section; false when the line is not one. */
  const memBytes = (buf: Buffer, st: number, e: number): boolean => {
    let i = st + 1;
    while (i < e && isWord(buf[i] as number)) i++;
    if (buf[i] !== COLON || i >= e) return false;
    const keyEnd = i++;
    const ws = i;
    while (i < e && isBlank(buf[i] as number)) i++;
    if (i === ws) return false;
    const digits = i;
    let v = 0;
    while (i < e && isDigit(buf[i] as number)) v = v * 10 + (buf[i++] as number) - 48;
    if (i === digits) return false;
    let kb = false;
    if (i < e) {
      if (e - i !== 3 || buf[i] !== SP || buf[i + 1] !== 107 /* k */ || buf[i + 2] !== 66 /* B */) return false;
      kb = true;
    }
    // The 2.4 summary table's "total:" is skipped by the parser with a warning: the generic path's business.
    if (keyEnd - st === 5 && buf.toString('latin1', st, keyEnd) === 'total') throw new Stop();
    const id = memNames.id(buf, st, keyEnd);
    if (id >= memKeys.length) memKeys.push(`meminfo.${keyPart(memNames.names[id] as string)}`);
    growMem(id);
    if (memStamp[id] === stamp) throw new Stop(); // a key twice: the parser warns
    memStamp[id] = stamp;
    memValue[id] = kb ? v * 1024 : v;
    (kb ? memBytesIds : memCountIds).push(id);
    secLines++;
    return true;
  };

  const nums = new Float64Array(11);
  /** The standard slabinfo row of an open slabinfo section; false when the line is not one. */
  const slabRow = (buf: Buffer, st: number, e: number): boolean => {
    let i = st;
    while (i < e && buf[i] !== SP && buf[i] !== TAB) {
      const c = buf[i] as number;
      if (c === 60 /* < */) return false;
      i++;
    }
    const nameEnd = i;
    if (buf[nameEnd - 1] === COLON) return false;
    let k = 0;
    for (let part = 0; part < 3; part++) {
      if (part > 0) {
        const from = i;
        while (i < e && isBlank(buf[i] as number)) i++;
        if (i === from || buf[i] !== COLON) return false;
        i++;
        const ws = i;
        while (i < e && isBlank(buf[i] as number)) i++;
        if (i === ws) return false;
        const word = part === 1 ? TUNABLES : SLABDATA;
        if (e - i < 8 || !sameBytes(word, buf, i, i + 8)) return false;
        i += 8;
      }
      const count = part === 0 ? 5 : 3;
      for (let c = 0; c < count; c++) {
        const ws = i;
        while (i < e && isBlank(buf[i] as number)) i++;
        if (i === ws) return false;
        const from = i;
        let v = 0;
        while (i < e && isDigit(buf[i] as number)) v = v * 10 + (buf[i++] as number) - 48;
        if (i === from || i - from > 16) return false;
        nums[k++] = v;
      }
      if (i < e && !isBlank(buf[i] as number)) return false;
    }
    if (i !== e) return false;
    // A command word is an echoed command to the cleaner; "tunables"/"slabdata" start a wrapped row's tail.
    if (nameEnd - st <= 8) for (const w of NOT_NAMES) if (sameBytes(w, buf, st, nameEnd)) return false;
    const id = slabNames.id(buf, st, nameEnd);
    if (id * 3 >= slabKeys.length) {
      const base = `slab.${keyPart(slabNames.names[id] as string)}`;
      slabKeys.push(`${base}.bytes`, `${base}.active_bytes`, `${base}.objs`);
    }
    growSlab(id);
    const activeObjs = nums[0] as number;
    const bytes = (nums[9] as number) * (nums[4] as number) * DEFAULT_PAGE_SIZE;
    const active = activeObjs * (nums[2] as number);
    if (slabStamp[id] !== stamp) {
      slabStamp[id] = stamp;
      slabIds.push(id);
      slabBytes[id] = bytes;
      slabActive[id] = active;
      slabObjs[id] = activeObjs;
    } else {
      // Same-named caches (per-memcg copies before 5.9) add up, as flattenSnapshot adds them.
      slabBytes[id] = (slabBytes[id] as number) + bytes;
      slabActive[id] = (slabActive[id] as number) + active;
      slabObjs[id] = (slabObjs[id] as number) + activeObjs;
    }
    slabRows++;
    secLines++;
    return true;
  };

  /** A line that is not a hot one: cleaned and placed exactly as the sectionizer would, or Stop. */
  const slowLine = (raw: string): void => {
    const t = cleaner.clean(raw, CHUNK_NO_CONTROLS | CHUNK_NO_AT);
    if (t === undefined) return;
    if (cleaner.time) throw new Stop();
    if (isSeparator(t)) return closeSection();
    if (mode !== Mode.None) {
      const shape = SHAPE_OF.get(secName);
      if (!shape) throw new Stop();
      if (shape.opens(t)) {
        closeSection();
        return openSection(secName, t);
      }
      const fit = shape.fits(t);
      if (fit === 'join') throw new Stop();
      if (fit === 'append') {
        if (mode === Mode.Meminfo) return memString(t);
        if (mode === Mode.Slab) {
          // The "# name ..." header before any row, or a row whose first letters needed a closer look ("RAW  14 ...").
          if (slabRows === 0 && t.startsWith('# name')) {
            secLines++;
            return;
          }
          const b = Buffer.from(t, 'latin1');
          if (!slabRow(b, 0, b.length)) throw new Stop();
          return;
        }
        if (t.startsWith('Mem:') && freeLines.some((l) => l.startsWith('Mem:'))) throw new Stop();
        freeLines.push(t);
        secLines++;
        return;
      }
      closeSection();
    }
    for (const shape of SHAPES) {
      if (shape.opens(t)) {
        if (shape.kind !== 'meminfo' && shape.kind !== 'slabinfo' && shape.kind !== 'free') throw new Stop();
        return openSection(shape.kind, t);
      }
    }
    // An unrecognised line (counted and warned about by the generic path), or a free row without a header.
    throw new Stop();
  };

  const line = (buf: Buffer, st: number, end: number): void => {
    lineNo++;
    let e = end;
    if (e > st && buf[e - 1] === CR) e--;
    const rawEnd = e;
    while (e > st && isBlank(buf[e - 1] as number)) e--;
    if (e === st) return; // blank: dropped by the cleaner
    const c = buf[st] as number;
    if (mode === Mode.Slab && isAlpha(c) && (c > 83 || buf[st + 3] !== SP) && slabRow(buf, st, e)) return;
    if (mode === Mode.Meminfo && isAlpha(c) && !(c === 77 && e - st >= 9 && sameBytes(MEMTOTAL, buf, st, st + 9)) &&
      memBytes(buf, st, e)) return;
    if (c === HASH && buf[st + 1] === HASH && buf[st + 2] === HASH) return closeSection();
    if (c >= 97 && c <= 122) {
      const sp = buf.indexOf(SP, st);
      if (sp > st && sp < e && sp - st <= 7 && COMMAND_WORDS.has(buf.toString('latin1', st, sp))) return; // echoed command
    }
    slowLine(buf.toString('latin1', st, rawEnd));
  };

  const chunk = (buf: Buffer, start: number, end: number): void => {
    const region = buf.subarray(start, end);
    if (!isAscii(region) || !noControls(buf, start, end)) throw new Stop();
    const at = buf.indexOf(64 /* @ */, start);
    if (at >= 0 && at < end) throw new Stop();
    let st = start;
    for (let nl = buf.indexOf(LF, st); nl >= 0 && nl < end; nl = buf.indexOf(LF, st)) {
      line(buf, st, nl);
      st = nl + 1;
    }
    if (st < end) line(buf, st, end);
  };

  const fd = openSync(path, 'r');
  const buf = Buffer.from(new ArrayBuffer(chunkBytes));
  let keep = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, keep, chunkBytes - keep, null);
      const end = keep + n;
      if (n === 0) {
        if (end > 0) chunk(buf, 0, end);
        break;
      }
      const last = buf.lastIndexOf(LF, end - 1);
      if (last < 0) {
        if (end === chunkBytes) throw new Stop(); // a line longer than the buffer: the generic path cuts it
        keep = end;
        continue;
      }
      chunk(buf, 0, last + 1);
      keep = end - last - 1;
      if (keep > 0) buf.copy(buf, 0, last + 1, end);
    }
    // End of input, as Sectionizer.end() sees it.
    if (mode !== Mode.None) {
      const before = lineCounts.get(secName);
      if (before !== undefined && secLines < before && mode !== Mode.Free) {
        const w = warning(secFirst, secFirstText, `${secName}: the capture ended inside this section (${secLines} lines, the previous one had ${before}); kept as is`, 'data-loss');
        warnings.push({ ...w, source: 'capture' });
      }
    }
    closeSection();
    emit();
    return { complete: true };
  } catch (e) {
    if (e instanceof Stop) return { complete: false };
    throw e;
  } finally {
    closeSync(fd);
  }
}
