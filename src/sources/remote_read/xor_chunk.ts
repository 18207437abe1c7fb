/**
 * Prometheus' XOR chunk (tsdb/chunkenc/xor.go, after Facebook's Gorilla paper), as a streamed remote read answer
 * carries it: a 2-byte big-endian sample count, then a bit stream:
 *
 *   sample 0: timestamp (ms) as a signed zigzag varint, value as 64 raw bits
 *   sample 1: timestamp delta as an unsigned varint, value XOR-encoded against sample 0
 *   sample n: delta of the timestamp delta in a prefix code: 0 (unchanged), 10 + 14 bits, 110 + 17 bits,
 *             1110 + 20 bits, 1111 + 64 bits (two's complement); then the value XOR-encoded:
 *             0 (same value), 10 + the meaningful bits within the previous leading/trailing zeros,
 *             11 + 5 bits leading zeros + 6 bits meaningful length (0 means 64) + the meaningful bits.
 *
 * 64-bit quantities are kept as two 32-bit halves (no BigInt on the per-sample path). Never throws: a chunk that
 * ends early or is inconsistent gives the samples decoded before the fault and an error.
 */

export interface XorDecoded { samples: number; error?: string }

/** Bit reader, most significant bit first. */
class Bits {
  pos: number;
  readonly endBit: number;
  constructor(readonly buf: Uint8Array, startByte: number) {
    this.pos = startByte * 8;
    this.endBit = buf.length * 8;
  }
  /** n <= 32 bits as an unsigned number; -1 when the stream ends first. */
  read(n: number): number {
    if (this.pos + n > this.endBit) return -1;
    let v = 0;
    while (n > 0) {
      const byte = this.buf[this.pos >>> 3] as number;
      const avail = 8 - (this.pos & 7);
      const take = avail < n ? avail : n;
      v = v * (1 << take) + ((byte >>> (avail - take)) & ((1 << take) - 1));
      this.pos += take;
      n -= take;
    }
    return v;
  }
  bit(): number {
    if (this.pos >= this.endBit) return -1;
    const b = ((this.buf[this.pos >>> 3] as number) >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  /** A varint read byte by byte from the bit stream (Go's binary.ReadUvarint over a ByteReader); NaN at the end. */
  uvarint(): number {
    let result = 0;
    for (let shift = 0, i = 0; i < 10; i++, shift += 7) {
      const b = this.read(8);
      if (b < 0) return NaN;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
    }
    return NaN;
  }
}

const f64 = new DataView(new ArrayBuffer(8));

/**
 * Decodes one XOR chunk, calling `emit` for each sample whose time is within [fromMs, toMs] (a chunk may reach
 * outside the range asked: the server sends whole chunks).
 */
export function decodeXorChunk(data: Uint8Array, fromMs: number, toMs: number, emit: (tMs: number, v: number) => void): XorDecoded {
  if (data.length < 2) return { samples: 0, error: `XOR chunk of ${data.length} bytes: shorter than its 2-byte header` };
  const total = ((data[0] as number) << 8) | (data[1] as number);
  const br = new Bits(data, 2);
  let t = 0, tDelta = 0, hi = 0, lo = 0, leading = 0, trailing = 0;
  const truncated = (i: number): XorDecoded => ({ samples: i, error: `XOR chunk ends after ${i} of its ${total} samples` });
  const value = (): number => {
    f64.setUint32(0, hi);
    f64.setUint32(4, lo);
    return f64.getFloat64(0);
  };
  for (let i = 0; i < total; i++) {
    if (i === 0) {
      const z = br.uvarint();
      const h = br.read(32), l = br.read(32);
      if (Number.isNaN(z) || h < 0 || l < 0) return truncated(i);
      // Zigzag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
      t = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      hi = h; lo = l;
    } else {
      if (i === 1) {
        const d = br.uvarint();
        if (Number.isNaN(d)) return truncated(i);
        tDelta = d;
      } else {
        let prefix = 0, len = 0;
        for (; len < 4; len++) {
          const b = br.bit();
          if (b < 0) return truncated(i);
          if (b === 0) break;
          prefix++;
        }
        let dod = 0;
        const sz = prefix === 0 ? 0 : prefix === 1 ? 14 : prefix === 2 ? 17 : prefix === 3 ? 20 : 64;
        if (sz === 64) {
          const h = br.read(32), l = br.read(32);
          if (h < 0 || l < 0) return truncated(i);
          dod = (h | 0) * 2 ** 32 + l;
        } else if (sz > 0) {
          let b = br.read(sz);
          if (b < 0) return truncated(i);
          // Negative numbers come back as large unsigned ones (docs/bstream.md).
          if (b > 2 ** (sz - 1)) b -= 2 ** sz;
          dod = b;
        }
        tDelta += dod;
      }
      t += tDelta;
      // The value: 0 unchanged; 10 within the previous window; 11 new window.
      const changed = br.bit();
      if (changed < 0) return truncated(i);
      if (changed === 1) {
        const fresh = br.bit();
        if (fresh < 0) return truncated(i);
        if (fresh === 1) {
          const l = br.read(5), s = br.read(6);
          if (l < 0 || s < 0) return truncated(i);
          leading = l;
          const sig = s === 0 ? 64 : s;
          trailing = 64 - leading - sig;
          if (trailing < 0) return { samples: i, error: `XOR chunk: sample ${i} has ${leading} leading zeros and ${sig} meaningful bits (more than 64)` };
        }
        // (Prometheus' encoder opens a window before it reuses one; its reader starts from 0 and 0, as here.)
        const sig = 64 - leading - trailing;
        let dh = 0, dl: number;
        if (sig > 32) { dh = br.read(sig - 32); dl = br.read(32); } else dl = br.read(sig);
        if (dh < 0 || dl < 0) return truncated(i);
        // (dh:dl) << trailing, as two 32-bit halves.
        let xh: number, xl: number;
        if (trailing >= 32) { xh = (dl << (trailing - 32)) >>> 0; xl = 0; }
        else if (trailing === 0) { xh = dh; xl = dl; }
        else { xh = ((dh << trailing) | (dl >>> (32 - trailing))) >>> 0; xl = (dl << trailing) >>> 0; }
        hi = (hi ^ xh) >>> 0;
        lo = (lo ^ xl) >>> 0;
      }
    }
    if (t >= fromMs && t <= toMs) emit(t, value());
  }
  return { samples: total };
}
