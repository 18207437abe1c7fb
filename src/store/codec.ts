/**
 * Byte encoding of (sampleId, value) points, used for series chunks, the sample timeline and the
 * per-sample change log (schema.ts says why the store keeps points this way).
 *
 * A chunk is `varint scale` followed by points. Each point is `varint dSample` (distance in sample ids
 * from the previous point, or from the chunk's first sample id for the first point) and `varint h`:
 *   h % 4 == 0  integer: value = base + unzigzag(h / 4) * scale, where base is the previous integer value
 *   h % 4 == 1  a float64 follows (8 bytes, little endian): fractions, -0, huge numbers, Infinity
 *   h % 4 == 2  absent (NaN): the series was not in this sample
 * `scale` is the GCD of the integer steps in the chunk: sizes move in kB or pages, so MemFree stepping
 * by 4096 * k costs one or two bytes instead of three or four. Every value reads back bit-exact (-0 and
 * non-integers go the float64 way). Varints stay below 2^53, so plain JS numbers are exact throughout.
 */

const TAG_INT = 0;
const TAG_FLOAT = 1;
const TAG_ABSENT = 2;
/** Integer steps (after scaling) at most this large take the varint path: zigzag * 4 + tag stays < 2^53. */
const MAX_STEP = 2 ** 49;

class ByteWriter {
  buf: Uint8Array;
  len = 0;
  private readonly view8 = new DataView(new ArrayBuffer(8));

  constructor(capacity: number) { this.buf = new Uint8Array(Math.max(16, capacity)); }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(n: number): void {
    this.ensure(8);
    const b = this.buf;
    while (n >= 0x80) {
      b[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.len++] = n;
  }

  float64(v: number): void {
    this.ensure(8);
    this.view8.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.buf[this.len++] = this.view8.getUint8(i);
  }

  bytes(): Uint8Array { return this.buf.slice(0, this.len); }
}

class ByteReader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get done(): boolean { return this.pos >= this.buf.length; }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new RangeError('varint runs past the end of the chunk');
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
  }
  float64(): number {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
}

const isIntegral = (v: number): boolean => Number.isSafeInteger(v) && !Object.is(v, -0);
const zigzag = (d: number): number => (d >= 0 ? d * 2 : -d * 2 - 1);
const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

function gcd(a: number, b: number): number {
  while (b !== 0) { const t = a % b; a = b; b = t; }
  return a;
}

/** GCD of the integer steps between successive integral values (1 when there are none). */
function stepScale(values: ArrayLike<number>, count: number): number {
  let base = 0;
  let g = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i] as number;
    if (!isIntegral(v)) continue;
    const d = Math.abs(v - base);
    if (d !== 0 && Number.isSafeInteger(d)) g = gcd(g, d);
    base = v;
  }
  return g === 0 ? 1 : g;
}

/**
 * Encodes points with strictly increasing sample ids. `firstSample` is stored by the caller (in the chunk row);
 * the first point's dSample is counted from it.
 */
export function encodePoints(
  firstSample: number, samples: ArrayLike<number>, values: ArrayLike<number>, count: number = samples.length,
): Uint8Array {
  const scale = stepScale(values, count);
  const w = new ByteWriter(count * 3 + 8);
  w.varint(scale);
  let prevSample = firstSample;
  let base = 0;
  for (let i = 0; i < count; i++) {
    const s = samples[i] as number;
    const v = values[i] as number;
    w.varint(s - prevSample);
    prevSample = s;
    if (Number.isNaN(v)) { w.varint(TAG_ABSENT); continue; }
    if (isIntegral(v)) {
      const step = (v - base) / scale;
      if (Number.isSafeInteger(step) && Math.abs(step) <= MAX_STEP) {
        w.varint(zigzag(step) * 4 + TAG_INT);
        base = v;
        continue;
      }
    }
    w.varint(TAG_FLOAT);
    w.float64(v);
  }
  return w.bytes();
}

export interface DecodedPoints { samples: number[]; values: number[] }

/** Decodes a chunk written by encodePoints, appending to `into` when given. */
export function decodePoints(firstSample: number, data: Uint8Array, into?: DecodedPoints): DecodedPoints {
  const out = into ?? { samples: [], values: [] };
  const r = new ByteReader(data);
  const scale = r.varint();
  let sample = firstSample;
  let base = 0;
  while (!r.done) {
    sample += r.varint();
    const h = r.varint();
    const tag = h % 4;
    let v: number;
    if (tag === TAG_INT) { v = base + unzigzag((h - tag) / 4) * scale; base = v; }
    else if (tag === TAG_FLOAT) v = r.float64();
    else v = NaN;
    out.samples.push(sample);
    out.values.push(v);
  }
  return out;
}

/**
 * Decodes a chunk into typed arrays from index `at` (they must have room); returns the index after the last
 * point. The fast path of the timeline: no per-point allocation.
 */
export function decodePointsInto(firstSample: number, data: Uint8Array, samples: Float64Array, values: Float64Array, at: number): number {
  // Hand-inlined one-byte varints: this loop decodes every sample of a week for each series read.
  const r = new ByteReader(data);
  const scale = r.varint();
  const end = data.length;
  let sample = firstSample;
  let base = 0;
  let i = at;
  while (r.pos < end) {
    const b0 = data[r.pos] as number;
    if (b0 < 0x80) { r.pos++; sample += b0; } else sample += r.varint();
    const b1 = data[r.pos] as number;
    let h: number;
    if (b1 < 0x80) { r.pos++; h = b1; } else h = r.varint();
    const tag = h % 4;
    let v: number;
    if (tag === TAG_INT) { v = base + unzigzag((h - tag) / 4) * scale; base = v; }
    else if (tag === TAG_FLOAT) v = r.float64();
    else v = NaN;
    samples[i] = sample;
    values[i] = v;
    i++;
  }
  return i;
}

/**
 * The change log of one sample: (seriesId, value) pairs, ids ascending, each `varint dId` then `varint h`.
 * Format 1 (a leading varint 1; schema version 1's pending rows): the point format above with absolute values
 * (scale 1). Format 2 (leading varint 2): a change is usually a small step from the series' previous value, so
 *   h % 8 == 0  absolute integer unzigzag(h / 8)          h % 8 == 3  previous + unzigzag(h / 8)
 *   h % 8 == 1  a float64 follows                          h % 8 == 4  previous + unzigzag(h / 8) * 1024
 *   h % 8 == 2  absent (NaN)
 * so a change costs ~3 bytes instead of ~7 (sizes step in kB and pages). `previous` is the series' value
 * before this sample (NaN when absent: then an integer goes absolute); a reader decodes a sample's log after
 * the state before it, as the writer encoded it.
 */
export function encodeChanges(seriesIds: number[], values: number[], previous?: (seriesId: number) => number): Uint8Array {
  const order = seriesIds.map((_, i) => i).sort((a, b) => (seriesIds[a] as number) - (seriesIds[b] as number));
  const w = new ByteWriter(seriesIds.length * 5 + 4);
  w.varint(previous ? 2 : 1);
  let prevId = 0;
  for (const i of order) {
    const id = seriesIds[i] as number;
    const v = values[i] as number;
    w.varint(id - prevId);
    prevId = id;
    if (!previous) {
      if (Number.isNaN(v)) w.varint(TAG_ABSENT);
      else if (isIntegral(v) && Math.abs(v) <= MAX_STEP) w.varint(zigzag(v) * 4 + TAG_INT);
      else { w.varint(TAG_FLOAT); w.float64(v); }
      continue;
    }
    if (Number.isNaN(v)) { w.varint(TAG_ABSENT); continue; }
    if (isIntegral(v) && Math.abs(v) <= MAX_CHANGE) {
      const p = previous(id);
      const d = isIntegral(p) && Math.abs(p) <= MAX_CHANGE ? v - p : NaN;
      if (Number.isNaN(d)) w.varint(zigzag(v) * 8 + TAG_INT);
      else if (d % 1024 === 0) w.varint(zigzag(d / 1024) * 8 + TAG_STEP_K);
      else w.varint(zigzag(d) * 8 + TAG_STEP);
      continue;
    }
    w.varint(TAG_FLOAT);
    w.float64(v);
  }
  return w.bytes();
}

const TAG_STEP = 3;
const TAG_STEP_K = 4;
/** Format 2 integers and steps at most this large: zigzag (<= 2^48) * 8 + tag stays < 2^53. */
const MAX_CHANGE = 2 ** 46;

/**
 * Calls `each(seriesId, value)` for every change of one sample. A format-2 log needs `previous(seriesId)`, the
 * series' value before this sample (NaN when absent or unknown), for the changes stored as steps: a reader
 * that tracks only some series may pass NaN for the others and ignore their values.
 */
export function decodeChanges(data: Uint8Array, each: (seriesId: number, value: number) => void, previous?: (seriesId: number) => number): void {
  const r = new ByteReader(data);
  const format = r.varint();
  let id = 0;
  while (!r.done) {
    id += r.varint();
    const h = r.varint();
    if (format === 1) {
      const tag = h % 4;
      if (tag === TAG_INT) each(id, unzigzag((h - tag) / 4));
      else if (tag === TAG_FLOAT) each(id, r.float64());
      else each(id, NaN);
      continue;
    }
    const tag = h % 8;
    const z = (h - tag) / 8;
    if (tag === TAG_INT) each(id, unzigzag(z));
    else if (tag === TAG_FLOAT) each(id, r.float64());
    else if (tag === TAG_ABSENT) each(id, NaN);
    else if (tag === TAG_STEP) each(id, (previous ? previous(id) : NaN) + unzigzag(z));
    else if (tag === TAG_STEP_K) each(id, (previous ? previous(id) : NaN) + unzigzag(z) * 1024);
    else each(id, NaN);
  }
}
