/**
 * Fast path for big capture logs of the common loop (meminfo, slabinfo, free; "####" separators, echoed
 * "cat ...", printk, CRLF): scans reused Buffers byte by byte and parses numbers in place into typed arrays,
 * never making a string per line. The generic path (capture_file.ts) makes ~5 strings and runs ~10 regexes
 * per line and tops out near 25 MB/s; this one is for multi-GB logs.
 * It does not strip ANSI, prompts, terminal timestamps or mail quotes: canTakeFastPath() sniffs the head of
 * the file and the caller falls back to the generic path when such noise is there.
 * Keys are interned by an FNV-1a hash of their bytes (a collision between two of a few hundred names is ~1e-5).
 */
import { closeSync, openSync, readSync } from 'node:fs';

export const FREE_COLUMNS = ['total', 'used', 'free', 'shared', 'buffers', 'cache', 'buff/cache', 'available'] as const;

/** One sample's values, by interned id; NaN where a sample lacks the key. Arrays are reused: copy what you keep. */
export interface FastSample {
  index: number;
  meminfo: Float64Array;
  slabBytes: Float64Array;
  slabObjs: Float64Array;
  /** Mem row of `free`, in bytes, by FREE_COLUMNS index. */
  freeMem: Float64Array;
  has: { meminfo: boolean; slabinfo: boolean; free: boolean };
}

export class KeyTable {
  readonly names: string[] = [];
  private readonly ids = new Map<number, number>();
  id(buf: Buffer, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    let id = this.ids.get(h);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(h, id);
      this.names.push(buf.toString('latin1', start, end));
    }
    return id;
  }
}

const enum Mode { None, Meminfo, Slab, Free }
const NL = 10, CR = 13, SP = 32, TAB = 9, COLON = 58, HASH = 35, ZERO = 48, NINE = 57;
const startsWith = (buf: Buffer, s: number, e: number, lit: Buffer): boolean =>
  e - s >= lit.length && buf.compare(lit, 0, lit.length, s, s + lit.length) === 0;
const MEMTOTAL = Buffer.from('MemTotal:');
const SLABVER = Buffer.from('slabinfo - version:');
const MEMROW = Buffer.from('Mem:');

/** True when the file's head shows only what the fast path handles. */
export function canTakeFastPath(head: Buffer): boolean {
  for (let i = 0; i < head.length; i++) {
    const b = head[i] as number;
    if (b === 27 || b === 8 || (b === CR && head[i + 1] !== NL && i + 1 < head.length)) return false;
    if (b === NL && i + 1 < head.length) {
      const c = head[i + 1] as number;
      if (c === 62 /* > */) return false;
      if (c >= ZERO && c <= NINE && head[i + 3] === COLON) return false; // "10:00:01 " terminal time
      if (c === 91 /* [ */ && head.indexOf(':', i) < head.indexOf(']', i) && head.indexOf(']', i) - i < 32) return false;
      if (c === 47 /* / */ || c === 126 /* ~ */) return false; // prompts
    }
  }
  return head.indexOf('@@ms') < 0 && head.indexOf('@') < 0;
}

export function scanCaptureFast(path: string, onSample: (s: FastSample, keys: { meminfo: KeyTable; slab: KeyTable }) => void, chunkBytes = 4 << 20): number {
  const keys = { meminfo: new KeyTable(), slab: new KeyTable() };
  let cap = 1024;
  const s: FastSample = {
    index: 0, meminfo: new Float64Array(cap).fill(NaN), slabBytes: new Float64Array(cap).fill(NaN),
    slabObjs: new Float64Array(cap).fill(NaN), freeMem: new Float64Array(FREE_COLUMNS.length).fill(NaN),
    has: { meminfo: false, slabinfo: false, free: false },
  };
  let freeCols: number[] = [1, 2, 3, 4, 7, 8].map((i) => i - 1); // procps-ng order when no header was seen
  let mode = Mode.None;
  let samples = 0;
  const emit = (): void => {
    if (!s.has.meminfo && !s.has.slabinfo && !s.has.free) return;
    onSample(s, keys);
    samples++;
    s.index++;
    s.meminfo.fill(NaN); s.slabBytes.fill(NaN); s.slabObjs.fill(NaN); s.freeMem.fill(NaN);
    s.has = { meminfo: false, slabinfo: false, free: false };
  };
  const grow = (id: number): void => {
    if (id < cap) return;
    while (cap <= id) cap *= 2;
    for (const k of ['meminfo', 'slabBytes', 'slabObjs'] as const) {
      const a = new Float64Array(cap).fill(NaN);
      a.set(s[k]);
      s[k] = a;
    }
  };
  const nums = new Float64Array(16);
  /** Parses up to 16 unsigned integers from [i, e) into nums; returns how many. */
  const numbers = (buf: Buffer, i: number, e: number): number => {
    let n = 0;
    while (i < e && n < 16) {
      let c = buf[i] as number;
      if (c < ZERO || c > NINE) { i++; continue; }
      let v = 0;
      while (i < e && c >= ZERO && c <= NINE) { v = v * 10 + (c - ZERO); c = buf[++i] as number; }
      nums[n++] = v;
    }
    return n;
  };

  const line = (buf: Buffer, st: number, e: number): void => {
    if (e > st && buf[e - 1] === CR) e--;
    if (e <= st) return;
    const c = buf[st] as number;
    if (c === HASH) {
      if (buf[st + 1] === HASH) mode = Mode.None;
      return;
    }
    if (c === 91 /* [ */ || c === 60 /* < */) return; // printk
    if (mode === Mode.Meminfo) {
      const colon = buf.indexOf(COLON, st);
      if (colon > st && colon < e && numbers(buf, colon + 1, e) === 1) {
        const id = keys.meminfo.id(buf, st, colon);
        grow(id);
        const kb = buf[e - 1] === 66 /* B */ && buf[e - 2] === 107 /* k */;
        s.meminfo[id] = kb ? (nums[0] as number) * 1024 : (nums[0] as number);
        return;
      }
      mode = Mode.None;
    } else if (mode === Mode.Slab) {
      let sp = st;
      while (sp < e && buf[sp] !== SP && buf[sp] !== TAB) sp++;
      if (numbers(buf, sp, e) >= 11) {
        const id = keys.slab.id(buf, st, sp);
        grow(id);
        // <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables l b s : slabdata <active> <num> <shared>
        const bytes = (nums[9] as number) * (nums[4] as number) * 4096;
        s.slabBytes[id] = (Number.isNaN(s.slabBytes[id] as number) ? 0 : (s.slabBytes[id] as number)) + bytes;
        s.slabObjs[id] = (Number.isNaN(s.slabObjs[id] as number) ? 0 : (s.slabObjs[id] as number)) + (nums[0] as number);
        return;
      }
      mode = Mode.None;
    } else if (mode === Mode.Free) {
      if (startsWith(buf, st, e, MEMROW)) {
        const n = numbers(buf, st + 4, e);
        for (let k = 0; k < n && k < freeCols.length; k++) s.freeMem[freeCols[k] as number] = (nums[k] as number) * 1024;
        s.has.free = true;
        return;
      }
      if (buf[st] === 83 /* Swap: */ || buf[st] === 45 /* -/+ */ || buf[st] === 84 /* Total: */) return;
      mode = Mode.None;
    }
    if (c === 77 && startsWith(buf, st, e, MEMTOTAL)) {
      if (s.has.meminfo) emit();
      s.has.meminfo = true;
      mode = Mode.Meminfo;
      line(buf, st, e);
    } else if (c === 115 && startsWith(buf, st, e, SLABVER)) {
      if (s.has.slabinfo) emit();
      s.has.slabinfo = true;
      mode = Mode.Slab;
    } else if (c === SP || c === 116 /* t */) {
      const text = buf.toString('latin1', st, e).trim();
      if (/^total\s+used\s+free/.test(text)) {
        if (s.has.free) emit();
        freeCols = text.split(/\s+/).map((h) => FREE_COLUMNS.indexOf(h as (typeof FREE_COLUMNS)[number]));
        mode = Mode.Free;
      }
    }
  };

  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(chunkBytes);
  let keep = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, keep, chunkBytes - keep, null);
      const end = keep + n;
      let st = 0;
      let nl = buf.indexOf(NL, 0);
      while (nl >= 0 && nl < end) {
        line(buf, st, nl);
        st = nl + 1;
        nl = buf.indexOf(NL, st);
      }
      if (n === 0) {
        if (st < end) line(buf, st, end);
        break;
      }
      // Carry the unfinished line to the front of the same buffer; a line as long as the buffer is cut.
      keep = end - st;
      if (keep >= chunkBytes) keep = 0;
      else buf.copy(buf, 0, st, end);
    }
  } finally {
    closeSync(fd);
  }
  emit();
  return samples;
}
