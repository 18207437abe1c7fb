/**
 * Decodes one sub-buffer read from tracefs per_cpu/cpuN/trace_pipe_raw (kernel/trace/ring_buffer.c;
 * the same walk as libtraceevent's kbuffer-parse.c). Pure, no allocation per record.
 *   page:  u64 timestamp | local_t commit (size | RB_MISSED_EVENTS 1<<31 | RB_MISSED_STORED 1<<30) | data
 *   event: u32 { type_len:5, time_delta:27 } then
 *          type_len 1..28: data of type_len*4 bytes;  0: u32 length (+4 for itself), then data;
 *          29 padding (array[0] = length; time_delta 0 = rest of page unused);
 *          30 time extend (array[0] << 27 | time_delta);  31 absolute time stamp.
 * Little-endian hosts only (x86_64, arm64): the buffer is in the kernel's byte order.
 */
import type { EventHeaderLayout, PageHeader } from './event_format.js';

const RB_MISSED_EVENTS = 0x80000000;
const RB_MISSED_STORED = 0x40000000;
const SIZE_MASK = 0x3fffffff;

export interface PageStats {
  records: number;
  /** The page says events were lost before it (RB_MISSED_EVENTS). */
  missed: boolean;
  /** How many, when the kernel stored the count (RB_MISSED_STORED). */
  missedCount?: number;
  /** Bytes that did not decode (a corrupt or truncated page). */
  garbage: number;
}

/** Called per data record: `ts` in trace-clock ns, record bytes at [offset, offset+length) of `buf`. */
export type RecordSink = (buf: Buffer, offset: number, length: number, ts: number) => void;

function u64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off + 4) * 0x100000000 + buf.readUInt32LE(off);
}

export function decodePage(buf: Buffer, pageLen: number, page: PageHeader, hdr: EventHeaderLayout, sink: RecordSink): PageStats {
  const stats: PageStats = { records: 0, missed: false, garbage: 0 };
  if (pageLen < page.dataOffset) { stats.garbage = pageLen; return stats; }
  let ts = u64(buf, page.timestampOffset);
  const commit = buf.readUInt32LE(page.commitOffset);
  const size = commit & SIZE_MASK;
  stats.missed = (commit & RB_MISSED_EVENTS) !== 0;
  const end = Math.min(page.dataOffset + size, pageLen);
  if ((commit & RB_MISSED_STORED) !== 0 && end + 8 <= pageLen) stats.missedCount = u64(buf, end);
  const typeMask = (1 << hdr.typeLenBits) - 1;
  const TS_SHIFT = hdr.timeDeltaBits;
  let off = page.dataOffset;
  while (off + 4 <= end) {
    const word = buf.readUInt32LE(off);
    const typeLen = word & typeMask;
    const delta = word >>> hdr.typeLenBits;
    if (typeLen === hdr.padding) {
      if (delta === 0) break; // null event: the rest of the page is empty
      if (off + 8 > end) break;
      off += 4 + buf.readUInt32LE(off + 4);
      ts += delta;
      continue;
    }
    if (typeLen === hdr.timeExtend) {
      if (off + 8 > end) break;
      ts += buf.readUInt32LE(off + 4) * 2 ** TS_SHIFT + delta;
      off += 8;
      continue;
    }
    if (typeLen === hdr.timeStamp) {
      if (off + 8 > end) break;
      // Absolute: the upper bits come from the page's own timestamp (ring_buffer.c rb_fix_abs_ts).
      const abs = buf.readUInt32LE(off + 4) * 2 ** TS_SHIFT + delta;
      const top = Math.floor(ts / 2 ** 59) * 2 ** 59;
      ts = top + abs;
      off += 8;
      continue;
    }
    ts += delta;
    let dataOff: number;
    let len: number;
    if (typeLen === 0) {
      if (off + 8 > end) break;
      len = buf.readUInt32LE(off + 4) - 4;
      dataOff = off + 8;
      off = dataOff + ((len + 3) & ~3);
    } else {
      len = typeLen * 4;
      dataOff = off + 4;
      off = dataOff + len;
    }
    if (len < 0 || dataOff + len > end) { stats.garbage += end - dataOff; break; }
    stats.records++;
    sink(buf, dataOff, len, ts);
  }
  return stats;
}

/** A field read as a JS number key: the low 48 bits of a 64-bit value (kernel pointers all share the top 16). */
export function readKey48(buf: Buffer, off: number): number {
  return (buf.readUInt32LE(off + 4) & 0xffff) * 0x100000000 + buf.readUInt32LE(off);
}

/** Back from a 48-bit key to a canonical kernel address (upper half: top 16 bits set). */
export function kernelAddressFromKey(key: number): bigint {
  return 0xffff000000000000n | BigInt(key);
}

export function keyFromKernelAddress(addr: bigint): number {
  return Number(addr & 0xffffffffffffn);
}

/** __data_loc string: u32 (length << 16 | offset from record start); the string is NUL-terminated. */
export function readDataLocString(buf: Buffer, recordOff: number, fieldOff: number): string {
  const loc = buf.readUInt32LE(recordOff + fieldOff);
  const start = recordOff + (loc & 0xffff);
  let len = loc >>> 16;
  while (len > 0 && buf[start + len - 1] === 0) len--;
  return buf.toString('latin1', start, start + len);
}
