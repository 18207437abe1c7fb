/**
 * Parses /proc/PID/maps (Documentation/filesystems/proc.rst, "/proc/PID/maps") and resolves a runtime
 * address to the file and file offset that hold it. Pure: no I/O. Real lines, odd ones included:
 *   55d5c6a00000-55d5c6a01000 r-xp 00001000 08:01 1311077                    /usr/bin/sleep
 *   7f1c2a400000-7f1c2a428000 r--p 00000000 fe:01 2365                       /usr/lib/x86_64-linux-gnu/libc.so.6
 *   7ffd5e9f3000-7ffd5ea14000 rw-p 00000000 00:00 0                          [stack]
 *   7f1c2a000000-7f1c2a001000 r-xp 00000000 00:19 42  /tmp/my lib.so (deleted)
 * Offsets and addresses are bigint: kernel-side and 64-bit user addresses exceed 2^53.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning } from '../model/parsed.js';

export interface MapEntry {
  start: bigint;
  end: bigint;
  /** "r-xp": read, write, exec, private/shared. */
  perms: string;
  /** pgoff: where in the file this mapping starts. */
  offset: bigint;
  dev: string;
  inode: number;
  /** File path, "[heap]", "[stack]", "[vdso]", ...; absent for anonymous memory. */
  path?: string;
  /** The kernel appended " (deleted)": the file was replaced or removed after mapping. */
  deleted?: boolean;
}

export interface ResolvedAddress {
  path: string;
  /** addr - start + pgoff: where the byte lives in the file. Convert to an ELF vaddr with elf.fileOffsetToVaddr. */
  offsetInFile: bigint;
  mappingStart: bigint;
  entry: MapEntry;
}

const LINE = /^([0-9a-fA-F]+)-([0-9a-fA-F]+)\s+([-rwxsp]{4})\s+([0-9a-fA-F]+)\s+(\S+)\s+(\d+)(?:\s+(.*))?$/;
const DELETED = ' (deleted)';

export function parseProcMaps(text: string): Parsed<MapEntry[]> {
  const value: MapEntry[] = [];
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const m = LINE.exec(raw.trim());
    if (m === null) {
      warnings.push(warning(i + 1, raw, 'not a maps line (expected "start-end perms offset dev inode [path]")'));
      continue;
    }
    const [, start, end, perms, offset, dev, inode, rest] = m;
    const entry: MapEntry = {
      start: BigInt(`0x${start ?? '0'}`),
      end: BigInt(`0x${end ?? '0'}`),
      perms: perms ?? '----',
      offset: BigInt(`0x${offset ?? '0'}`),
      dev: dev ?? '',
      inode: Number(inode),
    };
    let path = rest?.trim();
    if (path !== undefined && path.endsWith(DELETED)) {
      path = path.slice(0, -DELETED.length);
      entry.deleted = true;
    }
    if (path !== undefined && path !== '') entry.path = path;
    if (entry.end <= entry.start) warnings.push(warning(i + 1, raw, 'mapping end is not above its start', 'info'));
    value.push(entry);
  }
  return { value, warnings };
}

/** Parses "0x7f12ab", "7f12ab" (hex, as every tool prints addresses); undefined when not hex. */
export function parseAddress(text: string): bigint | undefined {
  const t = text.trim().replace(/^0x/i, '');
  return /^[0-9a-fA-F]+$/.test(t) ? BigInt(`0x${t}`) : undefined;
}

export function findMapping(maps: MapEntry[], address: bigint): MapEntry | undefined {
  return maps.find((m) => address >= m.start && address < m.end);
}

/**
 * The file and file offset behind a runtime address; undefined for anonymous memory, [heap], [stack]
 * and pseudo-files ([vdso] has no file on the host).
 */
export function resolveAddress(maps: MapEntry[], address: bigint | string): ResolvedAddress | undefined {
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (addr === undefined) return undefined;
  const entry = findMapping(maps, addr);
  if (entry?.path === undefined || !entry.path.startsWith('/')) return undefined;
  return { path: entry.path, offsetInFile: addr - entry.start + entry.offset, mappingStart: entry.start, entry };
}

/**
 * Load address of an object: the start of its mapping with file offset 0 (glibc's l_addr plus the first
 * PT_LOAD's vaddr). Used for "libfoo.so+0x1234" frames, which count from there.
 */
export function loadBase(maps: MapEntry[], path: string): bigint | undefined {
  let best: bigint | undefined;
  for (const m of maps) {
    if (m.path !== path) continue;
    if (m.offset === 0n && (best === undefined || m.start < best)) best = m.start;
  }
  return best;
}
