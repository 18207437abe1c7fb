/**
 * The few pieces of the protobuf wire format (protobuf.dev/programming-guides/encoding) that Prometheus' remote
 * read messages use: varint (int64, enum, bool), fixed64 (double) and length-delimited (string, bytes, nested
 * message, packed repeated) fields. A reader walks one message's fields; unknown fields are skipped, as protobuf
 * requires, so a newer server's additions do not break it. Never throws: a malformed message sets `error`.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder('utf-8');

export class ProtoReader {
  pos: number;
  error: string | undefined;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean { return this.error !== undefined || this.pos >= this.end; }

  fail(reason: string): void { if (this.error === undefined) this.error = `protobuf: ${reason} at byte ${this.pos}`; }

  /**
   * An unsigned varint as a number. Values above 2^53 lose precision (timestamps in ms and lengths never get
   * there); a 10-byte varint is a negative int64 in two's complement and comes back negative.
   */
  varint(): number {
    let result = 0;
    const start = this.pos;
    for (let shift = 0, i = 0; i < 10; i++, shift += 7) {
      if (this.pos >= this.end) { this.fail('truncated varint'); return 0; }
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if (b >= 0x80) continue;
      if (i < 9) return result;
      // Ten bytes: a negative int64; exact through BigInt (doubles cannot hold 2^64 - n).
      let big = 0n;
      for (let k = 9; k >= 0; k--) big = (big << 7n) | BigInt((this.buf[start + k] as number) & 0x7f);
      return Number(BigInt.asIntN(64, big));
    }
    this.fail('varint longer than 10 bytes');
    return 0;
  }

  /** Field number and wire type of the next field, or undefined at the end (or on error). */
  tag(): { field: number; wire: number } | undefined {
    if (this.done) return undefined;
    const t = this.varint();
    if (this.error !== undefined) return undefined;
    const field = Math.floor(t / 8);
    if (field === 0) { this.fail('field number 0'); return undefined; }
    return { field, wire: t % 8 };
  }

  double(): number {
    if (this.pos + 8 > this.end) { this.fail('truncated fixed64'); return NaN; }
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The bounds [start, end) of a length-delimited field's payload, the reader placed after it. */
  bytes(): [number, number] {
    const n = this.varint();
    if (this.error !== undefined) return [this.pos, this.pos];
    if (n < 0 || this.pos + n > this.end) { this.fail(`length ${n} runs past the end of the message`); return [this.pos, this.pos]; }
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }

  string(): string {
    const [a, b] = this.bytes();
    return utf8.decode(this.buf.subarray(a, b));
  }

  /** A reader over a nested message (length-delimited field). */
  sub(): ProtoReader {
    const [a, b] = this.bytes();
    const r = new ProtoReader(this.buf, a, b);
    if (this.error !== undefined) r.error = this.error;
    return r;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_FIXED64: if (this.pos + 8 > this.end) this.fail('truncated fixed64'); else this.pos += 8; return;
      case WIRE_LEN: this.bytes(); return;
      case WIRE_FIXED32: if (this.pos + 4 > this.end) this.fail('truncated fixed32'); else this.pos += 4; return;
      default: this.fail(`unsupported wire type ${wire}`);
    }
  }
}

/** Builds one message; nested messages are built by their own writer and added as bytes. */
export class ProtoWriter {
  private readonly parts: number[] = [];
  private readonly chunks: Uint8Array[] = [];

  private flushParts(): void {
    if (this.parts.length > 0) { this.chunks.push(Uint8Array.from(this.parts)); this.parts.length = 0; }
  }

  private rawVarint(n: number): void {
    if (n < 0) {
      // A negative int64: ten bytes of two's complement.
      let v = BigInt.asUintN(64, BigInt(Math.trunc(n)));
      for (let i = 0; i < 9; i++) { this.parts.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
      this.parts.push(Number(v));
      return;
    }
    let v = Math.trunc(n);
    while (v >= 0x80) { this.parts.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
    this.parts.push(v);
  }

  varint(field: number, n: number): this {
    this.rawVarint(field * 8 + WIRE_VARINT);
    this.rawVarint(n);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.rawVarint(field * 8 + WIRE_LEN);
    this.rawVarint(b.length);
    this.flushParts();
    this.chunks.push(b);
    return this;
  }

  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }

  message(field: number, w: ProtoWriter): this { return this.bytes(field, w.finish()); }

  finish(): Uint8Array {
    this.flushParts();
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}
