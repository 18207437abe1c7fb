/**
 * The records native/memsleuth_sampler.c sends over its Unix socket (host byte order; both ends run on this
 * machine, little-endian x86-64 or arm64). Each record: a 48-byte header, then `frames` 8-byte return addresses.
 *   u32 len | u16 kind | u16 fn | u32 frames | u32 tid | u64 ptr | u64 size | u64 t_ns | u64 mean | u64 stack[frames]
 * mean (ALLOC): the mean sampling interval the sample was drawn with; the library adapts it per thread.
 * kind 1 HELLO (ptr = pid, size = mean sampling interval in bytes), 2 ALLOC, 3 FREE, 4 BYE (ptr = samples dropped
 * because the address table was full, size = failed sends), 5 MAPS (size bytes of /proc/self/maps text follow the
 * header instead of frames). t_ns is CLOCK_MONOTONIC, the clock of process.hrtime.
 * A byte stream may end in the middle of a record; the reader keeps the tail for the next chunk.
 */

export type SamplerRecordKind = 'hello' | 'alloc' | 'free' | 'bye' | 'maps';

export interface SamplerRecord {
  kind: SamplerRecordKind;
  /** The allocation function (ALLOC only): an index into ALLOC_FUNCTIONS. */
  fn: number;
  tid: number;
  /** A user-space address (< 2^53 on every 64-bit Linux we run on), or the pid in HELLO. */
  ptr: number;
  size: number;
  tNs: bigint;
  /** ALLOC: the mean interval in bytes this sample was drawn with (0: every allocation was recorded). */
  mean: number;
  /** Return addresses, innermost first (ALLOC only). */
  stack: bigint[];
  /** MAPS only: the process's /proc/self/maps. */
  text?: string;
}

/** Same order as the FN_ enum of the C source. */
export const ALLOC_FUNCTIONS = ['malloc', 'calloc', 'realloc', 'memalign', 'posix_memalign', 'aligned_alloc', 'valloc', 'mmap', 'reallocarray'] as const;

const HEADER = 48;
const KINDS: Record<number, SamplerRecordKind> = { 1: 'hello', 2: 'alloc', 3: 'free', 4: 'bye', 5: 'maps' };
const MAX_MAPS = 1 << 20;

export class SamplerRecordReader {
  private tail: Buffer = Buffer.alloc(0);
  /** Set when a header made no sense: the rest of this stream is not read (it cannot be re-synchronised). */
  broken: string | undefined;

  push(chunk: Buffer): SamplerRecord[] {
    const out: SamplerRecord[] = [];
    if (this.broken !== undefined) return out;
    const buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    let at = 0;
    while (buf.length - at >= HEADER) {
      const len = buf.readUInt32LE(at);
      const kind = KINDS[buf.readUInt16LE(at + 4)];
      const frames = buf.readUInt32LE(at + 8);
      const size = Number(buf.readBigUInt64LE(at + 24));
      const ok = kind === 'maps' ? frames === 0 && size <= MAX_MAPS && len === HEADER + size : kind !== undefined && frames <= 64 && len === HEADER + frames * 8;
      if (!ok) {
        this.broken = `record at byte ${at} of a chunk: length ${len}, kind ${buf.readUInt16LE(at + 4)}, ${frames} frames`;
        break;
      }
      if (buf.length - at < len) break;
      if (kind === 'maps') {
        out.push({ kind, fn: 0, tid: 0, ptr: 0, size, tNs: buf.readBigUInt64LE(at + 32), mean: 0, stack: [], text: buf.toString('utf8', at + HEADER, at + len) });
        at += len;
        continue;
      }
      const stack: bigint[] = [];
      for (let i = 0; i < frames; i++) stack.push(buf.readBigUInt64LE(at + HEADER + i * 8));
      out.push({
        kind: kind as SamplerRecordKind,
        fn: buf.readUInt16LE(at + 6),
        tid: buf.readUInt32LE(at + 12),
        ptr: Number(buf.readBigUInt64LE(at + 16)),
        size,
        tNs: buf.readBigUInt64LE(at + 32),
        mean: Number(buf.readBigUInt64LE(at + 40)),
        stack,
      });
      at += len;
    }
    this.tail = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    return out;
  }

  /** Bytes of an unfinished record left when the stream ended. */
  get pending(): number {
    return this.tail.length;
  }
}

/** Encodes one record as the C library does (tests, and nothing else). */
export function encodeRecord(r: SamplerRecord): Buffer {
  const kind = Object.entries(KINDS).find(([, k]) => k === r.kind)?.[0];
  const text = r.kind === 'maps' ? Buffer.from(r.text ?? '') : undefined;
  const b = Buffer.alloc(HEADER + (text?.length ?? r.stack.length * 8));
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(Number(kind), 4);
  b.writeUInt16LE(r.fn, 6);
  b.writeUInt32LE(r.stack.length, 8);
  b.writeUInt32LE(r.tid, 12);
  b.writeBigUInt64LE(BigInt(r.ptr), 16);
  b.writeBigUInt64LE(BigInt(r.size), 24);
  b.writeBigUInt64LE(r.tNs, 32);
  b.writeBigUInt64LE(BigInt(r.mean), 40);
  if (text !== undefined) text.copy(b, HEADER);
  else r.stack.forEach((a, i) => b.writeBigUInt64LE(a, HEADER + i * 8));
  return b;
}
