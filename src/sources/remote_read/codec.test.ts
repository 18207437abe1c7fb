/**
 * The remote read codecs (snappy, protobuf, CRC-32C, XOR chunks, frames) on bytes a real Prometheus sent
 * (test/fixtures/prometheus/, Debian's Prometheus 2.42; the command is in test/fixtures/SOURCES.md): both answer
 * types must give exactly the samples the HTTP API gave for the same series and range. Then every way a stream
 * can break: never a throw, always an error that says where.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { fixturesDir } from '../../../test/corpus.js';
import { crc32c } from './crc32c.js';
import { decodeChunkedFrame, decodeReadResponse, encodeReadRequest, FrameSplitter, MATCH, RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS, type SeriesSamples } from './messages.js';
import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { snappyDecode, snappyEncodeLiterals } from './snappy.js';
import { decodeXorChunk } from './xor_chunk.js';

const prefix = join(fixturesDir, 'prometheus', 'remote-read-2.42');
const bytes = (ext: string): Uint8Array => new Uint8Array(readFileSync(`${prefix}.${ext}`));
type Row = { labels: Record<string, string>; points: [number, number][] };
/** The HTTP API's answer: series sorted by labels, [seconds with ms, "value"]. */
const want: Row[] = (JSON.parse(readFileSync(`${prefix}.query.json`, 'utf8')) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } })
  .data.result.map((s) => ({ labels: s.metric, points: s.values.map(([t, v]): [number, number] => [Math.round(t * 1000), Number(v)]) }));
const START = 1796618096000, END = 1796618336000;

function collect(into: Map<string, Row>): (s: SeriesSamples) => void {
  return (s) => {
    const key = JSON.stringify(s.labels);
    const row = into.get(key) ?? { labels: s.labels, points: [] };
    into.set(key, row);
    for (let i = 0; i < s.t.length; i++) row.points.push([s.t[i] as number, s.v[i] as number]);
  };
}

function streamed(body: Uint8Array, pieceSize = body.length): { rows: Row[]; frames: number; error: string | undefined; errors: string[] } {
  const rows = new Map<string, Row>();
  const errors: string[] = [];
  const f = new FrameSplitter((d) => errors.push(...decodeChunkedFrame(d, START, END, collect(rows)).errors));
  for (let i = 0; i < body.length; i += pieceSize) f.push(body.subarray(i, i + pieceSize));
  f.end();
  return { rows: [...rows.values()], frames: f.frames, error: f.error, errors };
}

test('a real STREAMED_XOR_CHUNKS answer decodes to exactly the HTTP API samples, however its bytes arrive', () => {
  assert.equal(want.length, 7);
  assert.ok(want.every((r) => r.points.length > 120), 'every series spans more than one 120-sample chunk');
  for (const piece of [1, 7, 4096, Infinity]) {
    const got = streamed(bytes('chunks.bin'), piece);
    assert.equal(got.error, undefined);
    assert.deepEqual(got.errors, []);
    assert.equal(got.frames, 7, 'one series per frame');
    assert.deepEqual(got.rows, want, `pieces of ${piece} bytes`);
  }
});

test('a real SAMPLES answer (snappy block with copies, from Go) decodes to exactly the HTTP API samples', () => {
  const rows = new Map<string, Row>();
  const r = decodeReadResponse(bytes('samples.bin'), collect(rows));
  assert.deepEqual(r.errors, []);
  assert.equal(r.series, 7);
  assert.deepEqual([...rows.values()], want);
  const raw = snappyDecode(bytes('samples.bin'));
  assert.ok(raw.value && raw.value.length > bytes('samples.bin').length, 'the block holds copies: it decodes larger than it is');
});

test('the request memsleuth sent is what it encodes, and Prometheus understood it (the answers above)', () => {
  const sent = bytes('request.bin');
  const again = encodeReadRequest([{ startMs: START, endMs: END, matchers: [{ type: MATCH.RE, name: '__name__', value: 'node_memory_(MemFree|MemAvailable|Cached)_bytes|go_memstats_heap_inuse_bytes|scrape_duration_seconds' }] }], [RESPONSE_STREAMED_XOR_CHUNKS]);
  assert.deepEqual(again, sent);
  // Read back with the generic reader: ReadRequest { queries = 1 { start = 1, end = 2, matchers = 3 { type = 1, name = 2, value = 3 } }, accepted = 2 }.
  const pb = snappyDecode(sent).value as Uint8Array;
  const r = new ProtoReader(pb);
  const q = r.tag();
  assert.deepEqual(q, { field: 1, wire: WIRE_LEN });
  const qr = r.sub();
  assert.deepEqual([qr.tag(), qr.varint(), qr.tag(), qr.varint()], [{ field: 1, wire: WIRE_VARINT }, START, { field: 2, wire: WIRE_VARINT }, END]);
  assert.deepEqual(r.tag(), { field: 2, wire: WIRE_LEN });
  assert.deepEqual([...pb.subarray(r.bytes()[0], r.pos)], [RESPONSE_STREAMED_XOR_CHUNKS]);
  assert.equal(r.tag(), undefined);
  assert.equal(r.error, undefined);
});

test('snappy: the format description\'s example, literal lengths of every size class, and a literal-only round trip', () => {
  // "xababab" = <literal "xab"> <copy offset 2 length 4> (format_description.txt, section 2.2).
  assert.deepEqual(snappyDecode(Uint8Array.from([7, 2 << 2, 0x78, 0x61, 0x62, 0x01, 2])).value, new TextEncoder().encode('xababab'));
  // Copy with a 2-byte offset, then a 4-byte one, run-length style.
  assert.deepEqual(snappyDecode(Uint8Array.from([6, 0, 0x61, (3 << 2) | 2, 1, 0, (0 << 2) | 3, 1, 0, 0, 0])).value, new TextEncoder().encode('aaaaaa'));
  for (const n of [0, 1, 60, 61, 256, 257, 65536, 65537, 300_000]) {
    const src = Uint8Array.from({ length: n }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
    const enc = snappyEncodeLiterals(src);
    assert.deepEqual(snappyDecode(enc).value, src, `${n} bytes`);
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (src) => {
    assert.deepEqual(snappyDecode(snappyEncodeLiterals(src)).value, src);
  }));
});

test('snappy: malformed blocks are errors that say why, never throws', () => {
  const bad: [number[], RegExp][] = [
    [[], /truncated length/],
    [[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /longer than 5 bytes/],
    [[5, 0x10, 0x61], /runs past the end/],
    [[4, 0x01, 0x00], /offset 0/],
    [[8, 0x08, 0x61, 0x62, 0x63, 0x01, 0x09], /outside the data decoded so far/],
    [[2, 0x08, 0x61, 0x62, 0x63], /writes past the stated length/],
    [[9, 0x08, 0x61, 0x62, 0x63], /decodes to 3 bytes, its preamble says 9/],
    [[3, 0xf0], /truncated literal length/],
    [[3, 0x02, 0x01], /truncated copy/],
  ];
  for (const [b, re] of bad) assert.match(snappyDecode(Uint8Array.from(b)).error ?? '', re, JSON.stringify(b));
  assert.match(snappyDecode(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1 << 20).error ?? '', /exceeds the limit/);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => { snappyDecode(b, 1 << 16); }));
});

test('protobuf: varints of every size, negative int64, strings and nested messages round-trip; unknown fields are skipped', () => {
  const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Date.UTC(2026, 11, 7), 2 ** 53 - 1, -1, -1_000];
  const w = new ProtoWriter();
  values.forEach((v) => w.varint(1, v));
  w.string(2, 'kmalloc-64 "é"').message(3, new ProtoWriter().varint(9, 42)).bytes(4, Uint8Array.from([1, 2, 3]));
  const r = new ProtoReader(w.finish());
  const got: number[] = [];
  let text = '', nested = 0;
  for (let f = r.tag(); f; f = r.tag()) {
    if (f.field === 1) got.push(r.varint());
    else if (f.field === 2) text = r.string();
    else if (f.field === 3) { const s = r.sub(); s.tag(); nested = s.varint(); }
    else r.skip(f.wire);
  }
  assert.equal(r.error, undefined);
  assert.deepEqual(got, values);
  assert.equal(text, 'kmalloc-64 "é"');
  assert.equal(nested, 42);
  // Truncations: each an error, never a throw.
  const whole = w.finish();
  for (let n = 0; n < whole.length; n++) {
    const t = new ProtoReader(whole.subarray(0, n));
    for (let f = t.tag(); f; f = t.tag()) t.skip(f.wire);
    if (n > 0 && t.error === undefined) assert.ok(t.pos === n, `prefix of ${n} bytes ends on a field boundary`);
  }
});

test('CRC-32C: the standard check value and Prometheus\' frames', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('XOR chunks: every encoding branch, from a real stream, and a short chunk gives what it holds and an error', () => {
  // The real frames exercise timestamps with jitter (delta-of-delta codes) and values with new and reused windows.
  const body = bytes('chunks.bin');
  const chunks: Uint8Array[] = [];
  const f = new FrameSplitter((d) => {
    const r = new ProtoReader(d);
    for (let t = r.tag(); t; t = r.tag()) {
      if (t.field !== 1) { r.skip(t.wire); continue; }
      const cs = r.sub();
      for (let g = cs.tag(); g; g = cs.tag()) {
        if (g.field !== 2) { cs.skip(g.wire); continue; }
        const c = cs.sub();
        for (let h = c.tag(); h; h = c.tag()) { if (h.field === 4) { const [a, b] = c.bytes(); chunks.push(d.slice(a, b)); } else c.skip(h.wire); }
      }
    }
  });
  f.push(body);
  assert.ok(chunks.length >= 14, `${chunks.length} chunks`);
  const chunk = chunks[0] as Uint8Array;
  const all: number[] = [];
  const whole = decodeXorChunk(chunk, -Infinity, Infinity, (t) => all.push(t));
  assert.equal(whole.error, undefined);
  assert.equal(whole.samples, (chunk[0] as number) * 256 + (chunk[1] as number));
  for (let n = 0; n < chunk.length; n++) {
    const part: number[] = [];
    const d = decodeXorChunk(chunk.subarray(0, n), -Infinity, Infinity, (t) => part.push(t));
    assert.ok(d.error !== undefined || n === chunk.length, `prefix ${n}`);
    assert.deepEqual(part, all.slice(0, part.length), 'what a short chunk gives is right');
  }
  const inRange: number[] = [];
  decodeXorChunk(chunk, all[10] as number, all[20] as number, (t) => inRange.push(t));
  assert.deepEqual(inRange, all.slice(10, 21), 'samples outside the range asked are left out');
});

test('broken streams: cut anywhere, a flipped byte, garbage: an error naming the frame, never a throw', () => {
  const body = bytes('chunks.bin');
  const good = streamed(body).rows;
  for (let n = 1; n < body.length; n += 97) {
    const cut = streamed(body.subarray(0, n));
    assert.match(cut.error ?? '', /the stream ends inside frame \d+/, `cut at ${n}`);
    for (const row of cut.rows) assert.ok(good.some((g) => JSON.stringify(g.labels) === JSON.stringify(row.labels)));
  }
  for (const at of [0, 5, 500, 3000, body.length - 1]) {
    const flipped = Uint8Array.from(body);
    flipped[at] = (flipped[at] as number) ^ 0x40;
    const r = streamed(flipped);
    assert.ok(r.error !== undefined || r.errors.length > 0, `flip at ${at}`);
  }
  const html = new TextEncoder().encode('<html><body>404 page not found</body></html>\n');
  assert.match(streamed(html).error ?? '', /frame 1: (checksum mismatch|\d+ bytes, more than)|ends inside frame 1/);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
    streamed(b);
    decodeReadResponse(b, () => undefined);
    decodeChunkedFrame(b, 0, Infinity, () => undefined);
    decodeXorChunk(b, -Infinity, Infinity, () => undefined);
  }), { numRuns: 2000 });
  // A valid frame around garbage protobuf: the frame is fine, its message is not.
  const junk = Uint8Array.from([0x0a, 0x05, 0x0a, 0x10, 1, 2]);
  const framed = Uint8Array.from([junk.length, ...[24, 16, 8, 0].map((s) => (crc32c(junk) >>> s) & 0xff), ...junk]);
  const r = streamed(framed);
  assert.equal(r.error, undefined);
  assert.match(r.errors[0] ?? '', /protobuf: length \d+ runs past the end of the message/);
});

test('SAMPLES answers that are cut or corrupt are errors', () => {
  const body = bytes('samples.bin');
  for (const n of [0, 1, 10, 1000, body.length - 1]) {
    const r = decodeReadResponse(body.subarray(0, n), () => undefined);
    assert.ok(r.errors.length > 0, `cut at ${n}`);
  }
  void RESPONSE_SAMPLES;
});
