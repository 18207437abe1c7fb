/**
 * Which C library a process really allocates through, and where its allocation functions are.
 * Reads /proc/PID/maps (parsed by symbolize/proc_maps) and the library's ELF symbol table (.dynsym of a
 * stripped libc.so.6, .symtab when present); returns file offsets, which is what uprobes take.
 *   7f1c2a400000-7f1c2a428000 r--p 00000000 fe:01 2365   /usr/lib/x86_64-linux-gnu/libc.so.6     <- glibc
 *   7f3b9e2a1000-7f3b9e2b5000 r--p 00000000 08:01 1208   /lib/ld-musl-x86_64.so.1                 <- musl: loader and libc in one
 *   b6f1d000-b6f62000 r-xp 00000000 1f:02 311            /lib/libuClibc-1.0.42.so                 <- uClibc-ng
 * A static binary, or one that brings its own allocator (jemalloc, tcmalloc) under --lib, is taken as given.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import type { MapEntry } from '../../symbolize/proc_maps.js';
import type { Elf, ElfSymbol } from '../../symbolize/elf.js';
import { PT_LOAD, readSymbols, symbolAddress, withElfFile } from '../../symbolize/elf.js';
import { findTool } from '../../symbolize/addr2line.js';
import { InputError, TargetError } from '../../model/errors.js';

export type LibcFlavor = 'glibc' | 'musl' | 'uclibc' | 'other';

/** The allocation entry points we probe; `free` is probed separately (see freeProbeOffset). */
export const ALLOC_FUNCTIONS = ['malloc', 'calloc', 'realloc', 'memalign', 'aligned_alloc', 'valloc', 'posix_memalign', 'free'] as const;
export type AllocFunction = (typeof ALLOC_FUNCTIONS)[number];

export interface AllocSymbol {
  name: AllocFunction;
  /** Symbol name in the file ("je_malloc" with --symbols-prefix je_). */
  symbol: string;
  vaddr: bigint;
  /** Offset in the file: what uprobe_events and bpftrace's uprobe:PATH:0xOFF want. */
  fileOffset: bigint;
  size: bigint;
}

export interface AllocatorLibrary {
  path: string;
  flavor: LibcFlavor;
  symbols: Map<AllocFunction, AllocSymbol>;
}

const FLAVORS: Array<[RegExp, LibcFlavor]> = [
  [/\/libc(-[\d.]+)?\.so(\.\d+)*$/, 'glibc'],
  [/\/(ld-)?musl[^/]*\.so(\.\d+)*$|\/libc\.musl[^/]*$/, 'musl'],
  [/\/libuClibc[^/]*\.so(\.\d+)*$|\/libc\.so\.0$/, 'uclibc'],
];

export function libcFlavor(path: string): LibcFlavor | undefined {
  for (const [re, flavor] of FLAVORS) if (re.test(path)) return flavor;
  return undefined;
}

/** The C library mapped by the process (maps of /proc/PID/maps), or undefined for a static binary. */
export function findLibc(maps: MapEntry[]): { path: string; flavor: LibcFlavor } | undefined {
  for (const m of maps) {
    if (m.path === undefined || !m.path.startsWith('/')) continue;
    const flavor = libcFlavor(m.path);
    // uClibc's libc.so.0 would match glibc's pattern too; the order of FLAVORS keeps "libc.so.6" glibc.
    if (flavor !== undefined) return { path: m.path, flavor: /libc\.so\.0$/.test(m.path) ? 'uclibc' : flavor };
  }
  return undefined;
}

/** The executable of the process: the first file mapping (the kernel maps it first). */
export function mainExecutable(maps: MapEntry[]): string | undefined {
  return maps.find((m) => m.path?.startsWith('/') === true)?.path;
}

/** ELF vaddr -> file offset through the PT_LOAD that holds it (uprobes count from the file's start). */
export function vaddrToFileOffset(elf: Elf, vaddr: bigint): bigint | undefined {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD) continue;
    if (vaddr >= s.vaddr && vaddr < s.vaddr + BigInt(s.filesz)) return BigInt(s.offset) + (vaddr - s.vaddr);
  }
  return undefined;
}

/** Reads the allocation functions of `path` from its symbol table. Throws InputError when malloc/free are absent. */
export function allocatorSymbols(path: string, prefix = ''): Map<AllocFunction, AllocSymbol> {
  const out = new Map<AllocFunction, AllocSymbol>();
  const failure = withElfFile(path, (r) => {
    if (!r.ok) return r.reason;
    const symbols: ElfSymbol[] = readSymbols(r.elf);
    for (const name of ALLOC_FUNCTIONS) {
      const sym = symbolAddress(symbols, `${prefix}${name}`);
      if (sym === undefined || sym.value === 0n) continue;
      const fileOffset = vaddrToFileOffset(r.elf, sym.value);
      if (fileOffset === undefined) continue;
      out.set(name, { name, symbol: sym.name, vaddr: sym.value, fileOffset, size: sym.size });
    }
    return undefined;
  });
  if (failure !== undefined) throw new InputError(`Cannot read "${path}" as ELF: ${failure}`, 'elf');
  if (!out.has('malloc') || !out.has('free')) {
    throw new InputError(`"${path}" has no "${prefix}malloc"/"${prefix}free" in its symbol table: pass --lib with the library that holds the allocator (and --symbols-prefix if its names are prefixed, e.g. je_)`, 'no-allocator');
  }
  return out;
}

/** Resolves the allocator library of a running process: --lib, else the C library it maps, else its executable (static). */
export function allocatorLibrary(maps: MapEntry[], options: { lib?: string; symbolsPrefix?: string } = {}): AllocatorLibrary {
  const found = findLibc(maps);
  let path = options.lib;
  if (path !== undefined) {
    // The process maps it under the name it was opened by; accept a basename given on the command line.
    const mapped = maps.find((m) => m.path !== undefined && (m.path === path || m.path.endsWith(`/${path}`)))?.path;
    if (mapped !== undefined) path = mapped;
  } else path = found?.path ?? mainExecutable(maps);
  if (path === undefined) throw new TargetError('The process maps no file (a kernel thread, or it exited): nothing to probe', 'no-maps');
  return { path, flavor: libcFlavor(path) ?? 'other', symbols: allocatorSymbols(path, options.symbolsPrefix ?? '') };
}

/**
 * The allocator library of a program that is not running yet: PT_INTERP names musl's; glibc and uClibc's loaders
 * answer LD_TRACE_LOADED_OBJECTS without running the program. A static executable is its own allocator.
 */
export function allocatorLibraryOf(executable: string, options: { lib?: string; symbolsPrefix?: string } = {}): AllocatorLibrary {
  const prefix = options.symbolsPrefix ?? '';
  const make = (path: string): AllocatorLibrary => ({ path, flavor: libcFlavor(path) ?? 'other', symbols: allocatorSymbols(path, prefix) });
  if (options.lib !== undefined) return make(options.lib);
  const interp = withElfFile(executable, (r) => {
    if (!r.ok) return undefined;
    const seg = r.elf.segments.find((s) => s.type === 3); // PT_INTERP
    if (seg === undefined) return undefined;
    return r.elf.source.read(seg.offset, seg.filesz).toString('latin1').replace(/\0.*$/s, '');
  });
  if (interp === undefined) return make(executable);
  if (libcFlavor(interp) === 'musl') return make(interp);
  // The program itself is never run for this (with LD_TRACE_LOADED_OBJECTS it is, when its PT_INTERP is not a
  // loader that honours it): only a system loader, asked to list (`ld.so --list`, what ldd does), never to start.
  const loader = systemLoader(interp);
  if (loader === undefined) {
    throw new TargetError(`Cannot tell which C library "${executable}" loads without running it: its loader "${interp}" is not a system one (give --lib PATH)`, 'no-libc');
  }
  const text = execFileSync(loader, ['--list', executable], { env: {}, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  for (const line of text.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    const p = m?.[1];
    if (p !== undefined && libcFlavor(p) !== undefined) return make(p);
  }
  return make(executable);
}

/**
 * The glibc or uClibc loader a PT_INTERP names, when it is a system file: a regular file owned by root, not
 * writable by others, under /lib, /lib64 or /usr/lib* (resolved through symlinks). Anything else (a loader in
 * /tmp, in the program's own folder) could run code of its own when asked to list.
 */
export function systemLoader(interp: string): string | undefined {
  if (!/\/ld(?:-linux[-\w.]*|64|-uClibc[-\w.]*)?\.so(?:\.\d+)*$/.test(interp)) return undefined;
  let real: string;
  try {
    real = realpathSync(interp);
    const st = statSync(real);
    if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return /^\/(?:lib|lib64|usr\/lib(?:64|32|x32)?)\//.test(real) ? real : undefined;
}

/** One instruction as objdump prints it: "   98ef9:\t55                   \tpush   %rbp". */
export interface Instruction { offset: bigint; bytes: number[]; text: string }

export function parseObjdump(text: string): Instruction[] {
  const out: Instruction[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(line);
    if (m === null || m[1] === undefined || m[2] === undefined) continue;
    const bytes = m[2].trim().split(' ').map((b) => parseInt(b, 16));
    const text = (m[3] ?? '').trim();
    // objdump continues long encodings on a second line without text: glue the bytes on.
    const last = out[out.length - 1];
    if (text === '' && last !== undefined) { last.bytes.push(...bytes); continue; }
    out.push({ offset: BigInt(`0x${m[1]}`), bytes, text });
  }
  return out;
}

/**
 * Where to probe `free` past its first instruction, so the kernel emulates the probed instruction instead of
 * single-stepping it (x86 uprobes emulate push, jmp, jcc and call; `test %rdi,%rdi` is single-stepped: 16.6 us
 * against 0.5 us per hit here). Only on x86-64, only when every instruction skipped leaves %rdi (the pointer)
 * intact, and a conditional jump skipped may only be free(NULL)'s early return. Returns 0 when unsure.
 */
export function freeProbeOffset(instructions: Instruction[]): { offset: number; reason: string } {
  const first = instructions[0];
  if (first === undefined) return { offset: 0, reason: 'no disassembly of free' };
  const emulated = (t: string): boolean => /^(push|jmp|call|j[a-z]{1,3}\b|nop)/.test(t) && !/^(jmp|call)\s+\*/.test(t);
  const harmless = (t: string, prev: string | undefined): boolean => {
    if (/^(endbr64|nop|push\s|sub\s+\$0x[0-9a-f]+,%rsp)/.test(t)) return true;
    if (/^(test|cmp)[bwlq]?\s/.test(t)) return true;
    if (/^j[a-z]{1,3}\s/.test(t)) return prev !== undefined && /^test[q]?\s+%rdi,%rdi$/.test(prev); // free(NULL) returns early
    if (/^(mov|lea)[a-z]*\s/.test(t)) return !/,%(rdi|edi|di|dil)$/.test(t); // must not overwrite the pointer
    return false;
  };
  if (emulated(first.text)) return { offset: 0, reason: `the first instruction ("${first.text}") is emulated already` };
  // Measured here (5.1e5 frees): +0 test 12.5 us, +3 je 1.8 us, +9 push 1.2 us, +10 lea 14 us per hit: prefer a push.
  let prev: string | undefined;
  let best: Instruction | undefined;
  for (let i = 0; i < Math.min(instructions.length, 8); i++) {
    const ins = instructions[i];
    if (ins === undefined) break;
    if (i > 0 && emulated(ins.text)) {
      if (/^push/.test(ins.text)) { best = ins; break; }
      best ??= ins;
    }
    if (!harmless(ins.text, prev)) break;
    prev = ins.text;
  }
  if (best !== undefined) {
    const at = Number(best.offset - first.offset);
    const skipped = instructions.filter((x) => x.offset < best.offset).map((x) => x.text.replace(/\s+/g, ' '));
    return { offset: at, reason: `probe "${best.text.replace(/\s+/g, ' ')}" at +${at} (emulated), skipping "${skipped.join('; ')}"` };
  }
  return { offset: 0, reason: 'no emulated instruction among the first ones of free that keeps %rdi: probing its first byte' };
}

/** Disassembles the first bytes of `sym` in `path` with the host objdump (x86-64 only). */
export function disassemble(path: string, sym: AllocSymbol, length = 32): Instruction[] {
  if (process.arch !== 'x64') return [];
  const objdump = findTool('objdump');
  if (objdump === undefined) return [];
  try {
    const text = execFileSync(objdump, ['-d', `--start-address=0x${sym.vaddr.toString(16)}`, `--stop-address=0x${(sym.vaddr + BigInt(length)).toString(16)}`, path], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return parseObjdump(text);
  } catch {
    return [];
  }
}
