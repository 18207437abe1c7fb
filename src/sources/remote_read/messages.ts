/**
 * Prometheus' remote read messages (prompb/remote.proto, prompb/types.proto) and the streamed answer's framing
 * (storage/remote/chunked.go), as memsleuth sends and reads them:
 *
 *   ReadRequest   { repeated Query queries = 1; repeated ResponseType accepted_response_types = 2 }
 *   Query         { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2; repeated LabelMatcher matchers = 3 }
 *   LabelMatcher  { Type type = 1 (EQ 0, NEQ 1, RE 2, NRE 3); string name = 2; string value = 3 }
 *   SAMPLES answer: snappy block of ReadResponse { repeated QueryResult results = 1 }
 *     QueryResult { repeated TimeSeries timeseries = 1 }; TimeSeries { repeated Label labels = 1; repeated Sample samples = 2 }
 *     Label { string name = 1; string value = 2 }; Sample { double value = 1; int64 timestamp = 2 }
 *   STREAMED_XOR_CHUNKS answer: frames of [uvarint length][big-endian CRC-32C of the data][data], each data a
 *     ChunkedReadResponse { repeated ChunkedSeries chunked_series = 1; int64 query_index = 2 }
 *     ChunkedSeries { repeated Label labels = 1; repeated Chunk chunks = 2 }
 *     Chunk { int64 min_time_ms = 1; int64 max_time_ms = 2; Encoding type = 3 (XOR 1); bytes data = 4 }
 *   One series per frame; a long series continues over the next frames with the same labels.
 *
 * Decoders never throw: each returns what it read and the faults it met, as strings.
 */
import { crc32c } from './crc32c.js';
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { snappyDecode, snappyEncodeLiterals } from './snappy.js';
import { decodeXorChunk } from './xor_chunk.js';

export const RESPONSE_SAMPLES = 0;
export const RESPONSE_STREAMED_XOR_CHUNKS = 1;
export const CHUNK_XOR = 1;
export const MATCH = { EQ: 0, NEQ: 1, RE: 2, NRE: 3 } as const;

export interface LabelMatcher { type: number; name: string; value: string }
export interface ReadQuery { startMs: number; endMs: number; matchers: LabelMatcher[] }
export type Labels = Record<string, string>;

/** One series' samples as read (a part of it, for a series split over frames). */
export interface SeriesSamples { labels: Labels; t: Float64Array; v: Float64Array }

/** The request body: the protobuf ReadRequest, snappy-compressed (literals only: see snappy.ts). */
export function encodeReadRequest(queries: ReadQuery[], accepted: number[]): Uint8Array<ArrayBuffer> {
  const req = new ProtoWriter();
  for (const q of queries) {
    const w = new ProtoWriter().varint(1, q.startMs).varint(2, q.endMs);
    for (const m of q.matchers) {
      const mw = new ProtoWriter();
      if (m.type !== 0) mw.varint(1, m.type);
      w.message(3, mw.string(2, m.name).string(3, m.value));
    }
    req.message(1, w);
  }
  // A packed repeated enum (proto3's default); the values are below 128, so each is a one-byte varint.
  if (accepted.length > 0) req.bytes(2, Uint8Array.from(accepted));
  return snappyEncodeLiterals(req.finish());
}

function readLabel(parent: ProtoReader, into: Labels): void {
  const r = parent.sub();
  let name = '', value = '';
  for (let f = r.tag(); f; f = r.tag()) {
    if (f.field === 1 && f.wire === WIRE_LEN) name = r.string();
    else if (f.field === 2 && f.wire === WIRE_LEN) value = r.string();
    else r.skip(f.wire);
  }
  if (r.error !== undefined) parent.error ??= r.error;
  into[name] = value;
}

/** Decodes a SAMPLES answer (the snappy-compressed ReadResponse) series by series. */
export function decodeReadResponse(body: Uint8Array, onSeries: (s: SeriesSamples, queryIndex: number) => void): { series: number; samples: number; errors: string[] } {
  const errors: string[] = [];
  let series = 0, samples = 0;
  const raw = snappyDecode(body);
  if (raw.error !== undefined) return { series, samples, errors: [raw.error] };
  const top = new ProtoReader(raw.value);
  let queryIndex = 0;
  for (let f = top.tag(); f; f = top.tag()) {
    if (f.field !== 1 || f.wire !== WIRE_LEN) { top.skip(f.wire); continue; }
    const result = top.sub();
    for (let g = result.tag(); g; g = result.tag()) {
      if (g.field !== 1 || g.wire !== WIRE_LEN) { result.skip(g.wire); continue; }
      const ts = result.sub();
      const labels: Labels = {};
      const t: number[] = [], v: number[] = [];
      for (let h = ts.tag(); h; h = ts.tag()) {
        if (h.field === 1 && h.wire === WIRE_LEN) readLabel(ts, labels);
        else if (h.field === 2 && h.wire === WIRE_LEN) {
          const s = ts.sub();
          let value = 0, time = 0;
          for (let k = s.tag(); k; k = s.tag()) {
            if (k.field === 1 && k.wire === WIRE_FIXED64) value = s.double();
            else if (k.field === 2 && k.wire === WIRE_VARINT) time = s.varint();
            else s.skip(k.wire);
          }
          if (s.error !== undefined) { ts.error ??= s.error; break; }
          t.push(time);
          v.push(value);
        } else ts.skip(h.wire);
      }
      if (ts.error !== undefined) { errors.push(`series ${series + 1}: ${ts.error}`); result.error ??= ts.error; break; }
      series++;
      samples += t.length;
      onSeries({ labels, t: Float64Array.from(t), v: Float64Array.from(v) }, queryIndex);
    }
    if (result.error !== undefined) { if (errors.length === 0) errors.push(result.error); break; }
    queryIndex++;
  }
  if (top.error !== undefined && errors.length === 0) errors.push(top.error);
  return { series, samples, errors };
}

/**
 * Splits a streamed answer into frames as its bytes arrive: push() each piece, then end(). A frame whose CRC-32C
 * does not match, or bytes that end inside a frame, are errors; the frames before them stand.
 */
export class FrameSplitter {
  private buf = new Uint8Array(0);
  private len = 0;
  error: string | undefined;
  frames = 0;
  constructor(private readonly onFrame: (data: Uint8Array) => void, private readonly maxFrame = 64 << 20) {}

  push(piece: Uint8Array): void {
    if (this.error !== undefined) return;
    if (this.len + piece.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.len + piece.length, this.buf.length * 2, 1 << 16));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(piece, this.len);
    this.len += piece.length;
    let pos = 0;
    for (;;) {
      // [uvarint size][4 bytes CRC][size bytes]
      let size = 0, p = pos, ok = false;
      for (let shift = 0; p < this.len && shift < 64; shift += 7) {
        const b = this.buf[p++] as number;
        size += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) { ok = true; break; }
      }
      if (!ok) {
        if (p - pos >= 10) this.error = `frame ${this.frames + 1}: length is not a varint`;
        break;
      }
      if (size > this.maxFrame) { this.error = `frame ${this.frames + 1}: ${size} bytes, more than the ${this.maxFrame} a frame may have (not a remote read stream?)`; break; }
      if (p + 4 + size > this.len) break;
      const crc = (((this.buf[p] as number) << 24) | ((this.buf[p + 1] as number) << 16) | ((this.buf[p + 2] as number) << 8) | (this.buf[p + 3] as number)) >>> 0;
      const data = this.buf.subarray(p + 4, p + 4 + size);
      if (crc32c(data) !== crc) { this.error = `frame ${this.frames + 1}: checksum mismatch (CRC-32C ${crc32c(data).toString(16)}, frame says ${crc.toString(16)})`; break; }
      this.frames++;
      this.onFrame(data);
      pos = p + 4 + size;
    }
    if (pos > 0) {
      this.buf.copyWithin(0, pos, this.len);
      this.len -= pos;
    }
  }

  /** After the last piece: bytes left over are a truncated frame. */
  end(): void {
    if (this.error === undefined && this.len > 0) this.error = `the stream ends inside frame ${this.frames + 1} (${this.len} bytes of it arrived)`;
  }
}

/**
 * Decodes one frame (a ChunkedReadResponse): each XOR chunk's samples within [fromMs, toMs] for its series.
 * Chunks of other encodings (native histograms) are counted as skipped.
 */
export function decodeChunkedFrame(data: Uint8Array, fromMs: number, toMs: number, onSeries: (s: SeriesSamples, queryIndex: number) => void):
  { series: number; samples: number; skippedChunks: number; errors: string[] } {
  const errors: string[] = [];
  let series = 0, samples = 0, skippedChunks = 0, queryIndex = 0;
  const r = new ProtoReader(data);
  const found: SeriesSamples[] = [];
  for (let f = r.tag(); f; f = r.tag()) {
    if (f.field === 2 && f.wire === WIRE_VARINT) { queryIndex = r.varint(); continue; }
    if (f.field !== 1 || f.wire !== WIRE_LEN) { r.skip(f.wire); continue; }
    const cs = r.sub();
    const labels: Labels = {};
    // Chunks first located, then decoded into arrays sized by their headers' sample counts (no growing).
    const xor: [number, number][] = [];
    let capacity = 0;
    for (let g = cs.tag(); g; g = cs.tag()) {
      if (g.field === 1 && g.wire === WIRE_LEN) { readLabel(cs, labels); continue; }
      if (g.field !== 2 || g.wire !== WIRE_LEN) { cs.skip(g.wire); continue; }
      const c = cs.sub();
      let type = 0, a = 0, b = 0;
      for (let h = c.tag(); h; h = c.tag()) {
        if (h.field === 3 && h.wire === WIRE_VARINT) type = c.varint();
        else if (h.field === 4 && h.wire === WIRE_LEN) [a, b] = c.bytes();
        else c.skip(h.wire);
      }
      if (c.error !== undefined) { cs.error ??= c.error; break; }
      if (type !== CHUNK_XOR) { skippedChunks++; continue; }
      xor.push([a, b]);
      if (b - a >= 2) capacity += ((data[a] as number) << 8) | (data[a + 1] as number);
    }
    if (cs.error !== undefined) { errors.push(cs.error); break; }
    const t = new Float64Array(capacity), v = new Float64Array(capacity);
    let n = 0;
    const emit = (tm: number, x: number): void => { t[n] = tm; v[n++] = x; };
    for (const [a, b] of xor) {
      const d = decodeXorChunk(data.subarray(a, b), fromMs, toMs, emit);
      if (d.error !== undefined) errors.push(`${labels['__name__'] ?? 'series'}: ${d.error}`);
    }
    series++;
    samples += n;
    found.push({ labels, t: t.subarray(0, n), v: v.subarray(0, n) });
  }
  if (r.error !== undefined) errors.push(r.error);
  for (const s of found) onSeries(s, queryIndex);
  return { series, samples, skippedChunks, errors };
}
