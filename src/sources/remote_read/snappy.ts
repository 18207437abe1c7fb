/**
 * Snappy block format (github.com/google/snappy, format_description.txt), as Prometheus' remote read uses it
 * (`Content-Encoding: snappy` on the request and on a SAMPLES answer: one block, no framing format).
 *
 *   preamble: uncompressed length, little-endian varint (at most 2^32 - 1)
 *   elements, tag byte low two bits: 00 literal, 01 copy (len 4..11, 11-bit offset), 10 copy (len 1..64, 16-bit
 *   offset), 11 copy (len 1..64, 32-bit offset); a literal of up to 60 bytes keeps len-1 in the tag's upper six
 *   bits, a longer one keeps it in the 1..4 little-endian bytes after the tag (upper six bits 60..63).
 *
 * Decompression is complete (every element). Compression writes literals only: valid snappy that any decoder
 * reads, a few bytes larger than its input; what memsleuth compresses is a request of a few hundred bytes.
 * Never throws: a malformed block is an error string.
 */

export type Decoded = { value: Uint8Array; error?: undefined } | { value?: undefined; error: string };

/** Refuses to allocate more than this for one block (Prometheus' own read limit is 32 MiB of request). */
export const SNAPPY_MAX_DECODED = 1 << 30;

export function snappyDecode(src: Uint8Array, maxDecoded = SNAPPY_MAX_DECODED): Decoded {
  let pos = 0;
  let len = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length) return { error: 'snappy: truncated length preamble' };
    if (shift > 28) return { error: 'snappy: length preamble longer than 5 bytes' };
    const b = src[pos++] as number;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (len > 0xffffffff) return { error: `snappy: uncompressed length ${len} exceeds 2^32 - 1` };
  if (len > maxDecoded) return { error: `snappy: uncompressed length ${len} exceeds the limit of ${maxDecoded} bytes` };
  const out = new Uint8Array(len);
  let o = 0;
  while (pos < src.length) {
    const tag = src[pos++] as number;
    const type = tag & 3;
    if (type === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (pos + bytes > src.length) return { error: `snappy: truncated literal length at byte ${pos - 1}` };
        n = 0;
        for (let i = 0; i < bytes; i++) n += (src[pos + i] as number) * 2 ** (8 * i);
        pos += bytes;
      }
      n += 1;
      if (pos + n > src.length) return { error: `snappy: literal of ${n} bytes at byte ${pos} runs past the end of the input` };
      if (o + n > len) return { error: `snappy: literal at byte ${pos} writes past the stated length ${len}` };
      out.set(src.subarray(pos, pos + n), o);
      pos += n;
      o += n;
      continue;
    }
    let n: number, offset: number;
    if (type === 1) {
      if (pos + 1 > src.length) return { error: `snappy: truncated copy at byte ${pos - 1}` };
      n = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | (src[pos] as number);
      pos += 1;
    } else if (type === 2) {
      if (pos + 2 > src.length) return { error: `snappy: truncated copy at byte ${pos - 1}` };
      n = (tag >>> 2) + 1;
      offset = (src[pos] as number) | ((src[pos + 1] as number) << 8);
      pos += 2;
    } else {
      if (pos + 4 > src.length) return { error: `snappy: truncated copy at byte ${pos - 1}` };
      n = (tag >>> 2) + 1;
      offset = ((src[pos] as number) | ((src[pos + 1] as number) << 8) | ((src[pos + 2] as number) << 16)) + (src[pos + 3] as number) * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > o) return { error: `snappy: copy offset ${offset} at output byte ${o} points outside the data decoded so far` };
    if (o + n > len) return { error: `snappy: copy at output byte ${o} writes past the stated length ${len}` };
    // Byte by byte: a copy longer than its offset repeats what it is writing (run-length encoding).
    for (let i = 0; i < n; i++, o++) out[o] = out[o - offset] as number;
  }
  if (o !== len) return { error: `snappy: block decodes to ${o} bytes, its preamble says ${len}` };
  return { value: out };
}

/** A valid snappy block holding `src` as literals (no back-references). */
export function snappyEncodeLiterals(src: Uint8Array): Uint8Array<ArrayBuffer> {
  const parts: number[] = [];
  for (let n = src.length; ; ) {
    parts.push(n >= 0x80 ? (n & 0x7f) | 0x80 : n);
    n = Math.floor(n / 128);
    if (n === 0) break;
  }
  // At most 2^32 bytes per literal (4-byte length); memsleuth's requests are far smaller, but the format allows it.
  const MAX = 0xffffffff + 1;
  const chunks: Uint8Array[] = [Uint8Array.from(parts)];
  let size = parts.length;
  for (let pos = 0; pos < src.length; pos += MAX) {
    const n = Math.min(MAX, src.length - pos);
    const m = n - 1;
    let head: number[];
    if (m < 60) head = [m << 2];
    else if (m < 0x100) head = [60 << 2, m];
    else if (m < 0x10000) head = [61 << 2, m & 0xff, m >>> 8];
    else if (m < 0x1000000) head = [62 << 2, m & 0xff, (m >>> 8) & 0xff, m >>> 16];
    else head = [63 << 2, m & 0xff, (m >>> 8) & 0xff, (m >>> 16) & 0xff, Math.floor(m / 2 ** 24) & 0xff];
    chunks.push(Uint8Array.from(head), src.subarray(pos, pos + n));
    size += head.length + n;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}
