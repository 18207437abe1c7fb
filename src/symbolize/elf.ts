/**
 * Just enough ELF (System V gABI, "Object File Format") to symbolize: the header, PT_LOAD program headers
 * (file offset -> virtual address), section headers (to find .note.gnu.build-id, .gnu_debuglink, .debug_info)
 * and .symtab/.dynsym (symbol -> address, for "func+0x1c" frames and vmlinux).
 * ELF32 and ELF64, little- and big-endian: a 32 MB ARM board is the case we were built for.
 * Reads through a positional `read`, so a 600 MB vmlinux is never loaded whole.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ElfSource {
  size: number;
  read(offset: number, length: number): Buffer;
}

export interface ElfSegment { type: number; offset: number; vaddr: bigint; filesz: number; memsz: bigint; flags: number; align: number }
export interface ElfSection { name: string; type: number; flags: bigint; addr: bigint; offset: number; size: number; link: number; info: number; addralign: number; entsize: number }
export interface ElfSymbol { name: string; value: bigint; size: bigint; type: number; bind: number; shndx: number }

export type ElfClass = 32 | 64;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;

export interface Elf {
  bits: ElfClass;
  littleEndian: boolean;
  /** ET_REL (.o, .ko), ET_EXEC (non-PIE executable), ET_DYN (PIE executable or shared object). */
  type: number;
  machine: number;
  segments: ElfSegment[];
  sections: ElfSection[];
  source: ElfSource;
}

export type ElfResult = { ok: true; elf: Elf } | { ok: false; reason: string };

/** An ElfSource over a Buffer already in memory. */
export function bufferSource(buf: Buffer): ElfSource {
  return { size: buf.length, read: (offset, length) => buf.subarray(offset, Math.min(buf.length, offset + length)) };
}

/** Opens `path`, runs `fn` over a positional reader, closes the descriptor on every path. */
export function withElfFile<T>(path: string, fn: (elf: ElfResult) => T): T {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const source: ElfSource = {
      size,
      read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        const out = Buffer.alloc(n);
        let done = 0;
        while (done < n) {
          const got = readSync(fd, out, done, n - done, offset + done);
          if (got === 0) break;
          done += got;
        }
        return out.subarray(0, done);
      },
    };
    return fn(parseElf(source));
  } finally {
    closeSync(fd);
  }
}

class Reader {
  constructor(readonly buf: Buffer, readonly le: boolean, readonly bits: ElfClass) {}
  u8(o: number): number { return this.buf.readUInt8(o); }
  u16(o: number): number { return this.le ? this.buf.readUInt16LE(o) : this.buf.readUInt16BE(o); }
  u32(o: number): number { return this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o); }
  u64(o: number): bigint { return this.le ? this.buf.readBigUInt64LE(o) : this.buf.readBigUInt64BE(o); }
  /** A word: 4 bytes in ELF32, 8 in ELF64. */
  addr(o: number): bigint { return this.bits === 64 ? this.u64(o) : BigInt(this.u32(o)); }
  off(o: number): number { return Number(this.addr(o)); }
}

/** Parses headers only; never throws on malformed input. */
export function parseElf(source: ElfSource): ElfResult {
  try {
    return parseElfUnsafe(source);
  } catch (err) {
    return { ok: false, reason: `truncated or malformed ELF (${err instanceof Error ? err.message : String(err)})` };
  }
}

function parseElfUnsafe(source: ElfSource): ElfResult {
  const ident = source.read(0, 64);
  if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return { ok: false, reason: 'not an ELF file (no \\x7fELF magic)' };
  const cls = ident[4];
  const data = ident[5];
  if (cls !== 1 && cls !== 2) return { ok: false, reason: `unknown ELF class ${String(cls)}` };
  if (data !== 1 && data !== 2) return { ok: false, reason: `unknown ELF data encoding ${String(data)}` };
  const bits: ElfClass = cls === 2 ? 64 : 32;
  const h = new Reader(ident, data === 1, bits);
  const is64 = bits === 64;
  const type = h.u16(16);
  const machine = h.u16(18);
  const phoff = h.off(is64 ? 32 : 28);
  const shoff = h.off(is64 ? 40 : 32);
  const phentsize = h.u16(is64 ? 54 : 42);
  let phnum = h.u16(is64 ? 56 : 44);
  const shentsize = h.u16(is64 ? 58 : 46);
  let shnum = h.u16(is64 ? 60 : 48);
  let shstrndx = h.u16(is64 ? 62 : 50);

  const sectionHeader = (i: number): Reader => new Reader(source.read(shoff + i * shentsize, shentsize), h.le, bits);
  if (shoff !== 0 && shentsize >= (is64 ? 64 : 40)) {
    // Extended numbering (gABI): counts that do not fit live in section header 0.
    const s0 = sectionHeader(0);
    if (shnum === 0) shnum = Number(s0.addr(is64 ? 32 : 20));
    if (shstrndx === 0xffff) shstrndx = s0.u32(is64 ? 40 : 24);
    if (phnum === 0xffff) phnum = s0.u32(is64 ? 44 : 28);
  }

  const segments: ElfSegment[] = [];
  if (phoff !== 0 && phentsize >= (is64 ? 56 : 32)) {
    const table = new Reader(source.read(phoff, phnum * phentsize), h.le, bits);
    for (let i = 0; i < phnum && (i + 1) * phentsize <= table.buf.length; i++) {
      const o = i * phentsize;
      segments.push(is64
        ? { type: table.u32(o), flags: table.u32(o + 4), offset: table.off(o + 8), vaddr: table.u64(o + 16), filesz: table.off(o + 32), memsz: table.u64(o + 40), align: table.off(o + 48) }
        : { type: table.u32(o), offset: table.u32(o + 4), vaddr: BigInt(table.u32(o + 8)), filesz: table.u32(o + 16), memsz: BigInt(table.u32(o + 20)), flags: table.u32(o + 24), align: table.u32(o + 28) });
    }
  }

  const raw: Array<Omit<ElfSection, 'name'> & { nameOff: number }> = [];
  if (shoff !== 0 && shentsize >= (is64 ? 64 : 40) && shnum > 0) {
    const table = new Reader(source.read(shoff, shnum * shentsize), h.le, bits);
    for (let i = 0; i < shnum && (i + 1) * shentsize <= table.buf.length; i++) {
      const o = i * shentsize;
      raw.push(is64
        ? { nameOff: table.u32(o), type: table.u32(o + 4), flags: table.u64(o + 8), addr: table.u64(o + 16), offset: table.off(o + 24), size: table.off(o + 32), link: table.u32(o + 40), info: table.u32(o + 44), addralign: table.off(o + 48), entsize: table.off(o + 56) }
        : { nameOff: table.u32(o), type: table.u32(o + 4), flags: BigInt(table.u32(o + 8)), addr: BigInt(table.u32(o + 12)), offset: table.u32(o + 16), size: table.u32(o + 20), link: table.u32(o + 24), info: table.u32(o + 28), addralign: table.u32(o + 32), entsize: table.u32(o + 36) });
    }
  }
  const strtab = raw[shstrndx];
  const names = strtab !== undefined ? source.read(strtab.offset, strtab.size) : Buffer.alloc(0);
  const sections: ElfSection[] = raw.map(({ nameOff, ...s }) => ({ ...s, name: cString(names, nameOff) }));
  return { ok: true, elf: { bits, littleEndian: h.le, type, machine, segments, sections, source } };
}

function cString(buf: Buffer, at: number): string {
  if (at >= buf.length) return '';
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
}

/**
 * Maps a file offset to the ELF virtual address addr2line expects, through the PT_LOAD that holds it.
 * For a non-PIE executable this yields the absolute runtime address; for PIE and shared objects the
 * link-time address (load bias removed). Undefined when no loadable segment covers the offset.
 */
export function fileOffsetToVaddr(elf: Elf, offset: bigint): bigint | undefined {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD) continue;
    const start = BigInt(s.offset);
    if (offset >= start && offset < start + BigInt(s.filesz)) return s.vaddr + (offset - start);
  }
  return undefined;
}

export function findSection(elf: Elf, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/** True when the file carries DWARF line/debug info (plain, SHF_COMPRESSED or old .zdebug_*). */
export function hasDebugInfo(elf: Elf): boolean {
  return elf.sections.some((s) => (s.name === '.debug_info' || s.name === '.zdebug_info') && s.type !== SHT_NOBITS && s.size > 0);
}

export interface ElfNote { name: string; type: number; desc: Buffer }

/** Notes from SHT_NOTE sections, or from PT_NOTE segments when the section table is stripped. */
export function readNotes(elf: Elf): ElfNote[] {
  const areas: Array<{ offset: number; size: number; align: number }> = elf.sections.length > 0
    ? elf.sections.filter((s) => s.type === SHT_NOTE).map((s) => ({ offset: s.offset, size: s.size, align: s.addralign }))
    : elf.segments.filter((s) => s.type === PT_NOTE).map((s) => ({ offset: s.offset, size: s.filesz, align: s.align }));
  const out: ElfNote[] = [];
  for (const area of areas) {
    const buf = elf.source.read(area.offset, area.size);
    const r = new Reader(buf, elf.littleEndian, elf.bits);
    // Notes are 4-aligned, except in 8-aligned areas (e.g. .note.gnu.property on ELF64).
    const align = area.align === 8 ? 8 : 4;
    const pad = (n: number): number => Math.ceil(n / align) * align;
    let o = 0;
    while (o + 12 <= buf.length) {
      const namesz = r.u32(o);
      const descsz = r.u32(o + 4);
      const type = r.u32(o + 8);
      const nameAt = o + 12;
      const descAt = nameAt + pad(namesz);
      if (descAt + descsz > buf.length) break;
      out.push({ name: cString(buf.subarray(nameAt, nameAt + namesz), 0), type, desc: Buffer.from(buf.subarray(descAt, descAt + descsz)) });
      o = descAt + pad(descsz);
    }
  }
  return out;
}

/** .symtab, else .dynsym: defined symbols with a name. For ET_REL, values are section-relative. */
export function readSymbols(elf: Elf): ElfSymbol[] {
  const table = elf.sections.find((s) => s.type === SHT_SYMTAB) ?? elf.sections.find((s) => s.type === SHT_DYNSYM);
  if (table === undefined || table.entsize === 0) return [];
  const strs = elf.sections[table.link];
  if (strs === undefined) return [];
  const names = elf.source.read(strs.offset, strs.size);
  const r = new Reader(elf.source.read(table.offset, table.size), elf.littleEndian, elf.bits);
  const out: ElfSymbol[] = [];
  for (let o = 0; o + table.entsize <= r.buf.length; o += table.entsize) {
    const sym: ElfSymbol = elf.bits === 64
      ? { name: cString(names, r.u32(o)), type: r.u8(o + 4) & 0xf, bind: r.u8(o + 4) >> 4, shndx: r.u16(o + 6), value: r.u64(o + 8), size: r.u64(o + 16) }
      : { name: cString(names, r.u32(o)), value: BigInt(r.u32(o + 4)), size: BigInt(r.u32(o + 8)), type: r.u8(o + 12) & 0xf, bind: r.u8(o + 12) >> 4, shndx: r.u16(o + 14) };
    if (sym.name !== '' && sym.shndx !== 0) out.push(sym);
  }
  return out;
}

/** The address of a named symbol, preferring functions (a name can also be a same-named object). */
export function symbolAddress(symbols: ElfSymbol[], name: string): ElfSymbol | undefined {
  let best: ElfSymbol | undefined;
  for (const s of symbols) {
    if (s.name !== name) continue;
    if (s.type === STT_FUNC) return s;
    best ??= s;
  }
  return best;
}
