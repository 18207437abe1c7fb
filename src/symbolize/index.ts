/**
 * Fills Frame.symbol/file/line of allocation sites, for user space (maps + ELF + addr2line) and the kernel
 * (kallsyms + vmlinux/.ko), host or cross toolchain. Frames that already carry file:line are kept as they are.
 * Everything that could not be resolved is named in `problems`, once per cause, with the fix.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { AllocationSite, EvidenceTool, Frame } from '../model/allocation_site.js';
import type { DriverOptions, LineResult, SourceFrame } from './addr2line.js';
import { Addr2Line, hex } from './addr2line.js';
import type { DebugFileLookup } from './build_id.js';
import { findDebugFile, hostPathOf } from './build_id.js';
import { ET_EXEC, fileOffsetToVaddr, readSymbols, symbolAddress, withElfFile } from './elf.js';
import type { ElfSymbol } from './elf.js';
import type { Kallsyms, KernelModule, SymbolOffset } from './kallsyms.js';
import { KernelLines, parseKallsyms, parseModules, resolveKernelAddress } from './kallsyms.js';
import type { MapEntry } from './proc_maps.js';
import { parseAddress, parseProcMaps, resolveAddress } from './proc_maps.js';

export interface SymbolizeOptions {
  /** Captured /proc/PID/maps text of the process the user-space addresses come from. */
  maps?: string;
  /** Root filesystem of the target on the host ("/srv/board-rootfs"); target paths are looked up under it. */
  sysroot?: string;
  debugDirs?: string[];
  /** "arm-linux-gnueabihf-": used for addr2line and gdb. */
  toolchainPrefix?: string;
  /** Captured /proc/kallsyms text. */
  kallsyms?: string;
  /** Captured /proc/modules text. */
  modules?: string;
  vmlinux?: string;
  moduleDirs?: string[];
  /** Insert inlined callees as extra `inline: true` frames (default true); stackKey() ignores them. */
  expandInline?: boolean;
  /**
   * Frames after the innermost are return addresses, which point at the instruction after the call; their line
   * is looked up at address - 1, as gdb, valgrind and the kernel's %pB do (the printed address is unchanged).
   * Default true; false looks every address up as given.
   */
  returnAddresses?: boolean;
  /**
   * Directories a program named by a relative path is looked for in (mtrace logs "./app:[0x11e3]" as the program
   * was started): the first that holds the file wins, and the report says which one was taken.
   */
  relativeTo?: string[];
  /** PATH used to find the tools (tests). */
  searchPath?: string;
}

export interface SymbolizeResult {
  sites: AllocationSite[];
  problems: string[];
}

export { parseProcMaps, resolveAddress } from './proc_maps.js';
export type { MapEntry, ResolvedAddress } from './proc_maps.js';
export { parseKallsyms, parseModules, resolveKernelAddress, kernelSymbolAddress, formatKernelLocation, parseSymbolOffset, moduleAt, KernelLines } from './kallsyms.js';
export type { Kallsyms, KernelLocation, KernelModule, KernelSymbol, SymbolOffset } from './kallsyms.js';
export { Addr2Line, GdbBatch, findTool, installHint } from './addr2line.js';
export type { LineResult, LineStatus, SourceFrame } from './addr2line.js';
export { findDebugFile, readBuildId, buildIdOf } from './build_id.js';
export type { DebugFileLookup } from './build_id.js';

const KERNEL_TOOLS: ReadonlySet<EvidenceTool> = new Set<EvidenceTool>(['kmemleak', 'slub', 'page_owner', 'allocinfo', 'oom']);

/** Where one frame's answer goes. */
interface Job { site: number; frame: number }

interface UserBinary {
  lookup: DebugFileLookup;
  /** Segments/type/symbols of the binary as loaded (the host copy under sysroot). */
  type?: number;
  toVaddr?: (fileOffset: bigint) => bigint | undefined;
  symbols?: ElfSymbol[];
  error?: string;
}

const stripSign = (s: string): string => s.replace(/^[+/]/, '');

export async function symbolizeSites(sites: AllocationSite[], options: SymbolizeOptions): Promise<SymbolizeResult> {
  const problems = new Set<string>();
  const maps: MapEntry[] = options.maps !== undefined ? parseProcMaps(options.maps).value : [];
  const ks: Kallsyms | undefined = options.kallsyms !== undefined ? parseKallsyms(options.kallsyms).value : undefined;
  const modules: KernelModule[] = options.modules !== undefined ? parseModules(options.modules).value.modules : [];
  if (ks?.zeroed === true) problems.add('kallsyms addresses are all 0 (read without CAP_SYSLOG / kernel.kptr_restrict): raw kernel addresses cannot be resolved; capture /proc/kallsyms as root');
  const kernelStart = ks?.symbols[0]?.address;

  const out: AllocationSite[] = sites.map((s) => ({ ...s, stack: s.stack.map((f) => ({ ...f })) }));
  const driverOpts: DriverOptions = {};
  if (options.toolchainPrefix !== undefined) driverOpts.toolchainPrefix = options.toolchainPrefix;
  if (options.searchPath !== undefined) driverOpts.searchPath = options.searchPath;

  const binaries = new Map<string, UserBinary>();
  const drivers = new Map<string, Addr2Line>();
  const userJobs = new Map<string, Array<Job & { vaddr: bigint }>>();
  const kernelJobs: Array<Job & { request: SymbolOffset }> = [];
  const kernelLines = new KernelLines(kernelOptions(options));

  const binary = (targetPath: string): UserBinary => {
    let b = binaries.get(targetPath);
    if (b !== undefined) return b;
    const q: Parameters<typeof findDebugFile>[0] = { path: targetPath };
    if (options.sysroot !== undefined) q.sysroot = options.sysroot;
    if (options.debugDirs !== undefined) q.debugDirs = options.debugDirs;
    b = { lookup: findDebugFile(q) };
    if (b.lookup.status !== 'missing') {
      const host = b.lookup.hostPath;
      try {
        // Everything that reads the file happens inside withElfFile; segments stay usable after it closes.
        const info = withElfFile(host, (r) => (r.ok ? { elf: r.elf, symbols: readSymbols(r.elf) } : r.reason));
        if (typeof info === 'string') b.error = info;
        else {
          b.type = info.elf.type;
          b.toVaddr = (off) => fileOffsetToVaddr(info.elf, off);
          b.symbols = info.symbols;
        }
      } catch (err) {
        b.error = err instanceof Error ? err.message : String(err);
      }
    }
    binaries.set(targetPath, b);
    return b;
  };

  const isKernelFrame = (site: AllocationSite, f: Frame): boolean => {
    if (KERNEL_TOOLS.has(site.tool)) return true;
    const addr = f.address !== undefined ? parseAddress(f.address) : undefined;
    if (addr !== undefined && maps.some((m) => addr >= m.start && addr < m.end)) return false;
    if (f.module !== undefined && (f.module.includes('/') || /\.so(\.|$)/.test(f.module))) return false;
    if (addr !== undefined && kernelStart !== undefined && addr >= kernelStart) return true;
    return addr !== undefined && addr >= 0xffff000000000000n;
  };

  // 1. Plan: decide for every frame what to ask, grouped per binary.
  out.forEach((site, si) => site.stack.forEach((f, fi) => {
    if (f.file !== undefined && f.line !== undefined) return;
    const back = options.returnAddresses !== false && fi > 0 ? 1n : 0n;
    if (isKernelFrame(site, f)) {
      planKernel(f, { site: si, frame: fi }, back);
      return;
    }
    planUser(f, { site: si, frame: fi }, back);
  }));

  function planKernel(f: Frame, job: Job, back: bigint): void {
    const addr = f.address !== undefined ? parseAddress(f.address) : undefined;
    if ((f.symbol === undefined || f.offset === undefined) && addr !== undefined && ks !== undefined && !ks.zeroed) {
      const loc = resolveKernelAddress(ks, addr, modules);
      if (loc === undefined) {
        problems.add(`kernel address ${hex(addr)} is not covered by the kallsyms given (another boot? KASLR moves addresses every boot)`);
        return;
      }
      f.symbol ??= loc.symbol;
      f.offset ??= `+${hex(loc.offset)}`;
      if (loc.length !== undefined) f.length ??= `/${hex(loc.length)}`;
      if (loc.module !== undefined) f.module ??= loc.module;
    }
    if (f.symbol === undefined || f.offset === undefined) {
      if (addr !== undefined) problems.add(ks === undefined ? `kernel addresses without symbols (${hex(addr)}, ...): pass the target's /proc/kallsyms, captured as root` : `kernel address ${hex(addr)} could not be resolved`);
      return;
    }
    const offset = parseAddress(stripSign(f.offset));
    if (offset === undefined) return;
    const request: SymbolOffset = { symbol: f.symbol, offset: offset > 0n ? offset - back : offset };
    if (f.module !== undefined && f.module !== 'vmlinux' && f.module !== 'kernel') request.module = f.module;
    kernelJobs.push({ ...job, request });
  }

  function planUser(f: Frame, job: Job, back: bigint): void {
    const addr = f.address !== undefined ? parseAddress(f.address) : undefined;
    const resolved = addr !== undefined ? resolveAddress(maps, addr) : undefined;
    let path = resolved?.path;
    if (path === undefined && f.module !== undefined) path = pathForModule(f.module, maps);
    if (path !== undefined && !path.startsWith('/') && path.includes('/')) {
      const rel = path;
      const dirs = options.relativeTo ?? [];
      const dir = dirs.find((d) => existsSync(resolvePath(d, rel)));
      if (dir === undefined) {
        problems.add(`program "${rel}" was started by a relative path and the report does not say from which directory${dirs.length > 0 ? ` (not found under ${dirs.map((d) => `"${d}"`).join(', ')})` : ''}: its frames stay unsymbolized; pass --program-dir with the directory it was started in`);
        return;
      }
      path = resolvePath(dir, rel);
      problems.add(`program "${rel}" (started by a relative path) taken as "${path}": pass --program-dir if it was started elsewhere`);
    }
    if (path === undefined) {
      if (addr !== undefined && maps.length === 0 && f.module === undefined) problems.add(`user address ${hex(addr)} has no module: pass the process's /proc/PID/maps`);
      else if (addr !== undefined && maps.length > 0 && resolved === undefined) problems.add(`user address ${hex(addr)} is not in a file mapping of the maps given (anonymous or JIT memory, or maps of another process)`);
      return;
    }
    const b = binary(path);
    if (b.lookup.status === 'missing') {
      problems.add(`binary "${path}" is not on this host (looked for "${b.lookup.hostPath}")${options.sysroot === undefined ? ': pass --sysroot with the target\'s root filesystem' : ''}`);
      return;
    }
    if (b.error !== undefined) {
      problems.add(`cannot read "${b.lookup.hostPath}" as ELF: ${b.error}`);
      return;
    }
    let vaddr: bigint | undefined;
    let adjust = back;
    if (resolved !== undefined) vaddr = b.toVaddr?.(resolved.offsetInFile);
    else if (f.moduleOffset !== undefined) vaddr = parseAddress(f.moduleOffset); // sanitizer/glibc "+0x..": relative to the load bias, so an ELF vaddr
    else if (f.symbol !== undefined && f.offset !== undefined && b.symbols !== undefined) {
      const sym = symbolAddress(b.symbols, f.symbol);
      const off = parseAddress(stripSign(f.offset));
      if (sym !== undefined && off !== undefined) vaddr = sym.value + off;
      if (off === 0n) adjust = 0n; // a function's first byte is never a return address
    } else if (addr !== undefined && b.type === ET_EXEC) vaddr = addr; // non-PIE: runtime address is the link address
    if (vaddr === undefined) {
      problems.add(`cannot place ${f.address ?? f.symbol ?? '?'} inside "${path}": give the process's /proc/PID/maps`);
      return;
    }
    if (b.lookup.status === 'no-debug-info') {
      problems.add(`no debug info for "${b.lookup.hostPath}"${b.lookup.buildId !== undefined ? ` (build-id ${b.lookup.buildId})` : ''}: looked in ${b.lookup.tried.map((t) => `"${t}"`).join(', ')}; install its -dbg/-dbgsym package or pass --debug-dir`);
      // addr2line still names the function from .symtab/.dynsym.
    }
    const file = b.lookup.status === 'found' ? b.lookup.debugPath : b.lookup.hostPath;
    if (!drivers.has(file)) drivers.set(file, new Addr2Line(file, { ...driverOpts, hasDebugInfo: b.lookup.status === 'found' }));
    const list = userJobs.get(file) ?? [];
    list.push({ ...job, vaddr: vaddr > 0n ? vaddr - adjust : vaddr });
    userJobs.set(file, list);
  }

  // 2. Ask: one batch per binary, all binaries and the kernel side in parallel.
  const answers: Array<{ job: Job; result: LineResult }> = [];
  try {
    await Promise.all([
      ...[...userJobs].map(async ([file, jobs]) => {
        const driver = drivers.get(file);
        if (driver === undefined) return;
        const results = await driver.lookup(jobs.map((j) => j.vaddr));
        jobs.forEach((job, i) => { const r = results[i]; if (r !== undefined) answers.push({ job, result: r }); });
      }),
      (async () => {
        if (kernelJobs.length === 0) return;
        const results = await kernelLines.lookup(kernelJobs.map((j) => j.request));
        kernelJobs.forEach((job, i) => { const r = results[i]; if (r !== undefined) answers.push({ job, result: r }); });
      })(),
    ]);
  } finally {
    for (const d of drivers.values()) d.close();
    kernelLines.close();
  }

  // 3. Fill, then splice inlined callees in front of their frames (from the back, so indexes hold).
  const inserts: Array<{ site: number; frame: number; frames: Frame[] }> = [];
  const lineless: Array<{ site: number; problem: string }> = [];
  for (const { job, result } of answers) {
    const f = out[job.site]?.stack[job.frame];
    if (f === undefined) continue;
    // User-space no-debug-info was said once per binary while planning; everything else is said here.
    if (result.status === 'not-found') lineless.push({ site: job.site, problem: `${result.file}: not-found: no line information for ${result.query}${result.detail !== undefined ? ` (${result.detail})` : ''}` });
    else if (result.status !== 'ok' && (result.status !== 'no-debug-info' || result.detail !== undefined)) {
      problems.add(`${result.file}: ${result.status}${result.detail !== undefined ? `: ${result.detail}` : ''}`);
    }
    const outer = result.frames[result.frames.length - 1];
    if (outer === undefined) continue;
    fill(f, outer);
    if (options.expandInline !== false && result.frames.length > 1) {
      const extra = result.frames.slice(0, -1).map((s) => inlineFrame(f, s));
      inserts.push({ site: job.site, frame: job.frame, frames: extra });
    }
  }
  // A frame without line information matters only where it leaves its site unplaced: in a stack that has a
  // file:line elsewhere (crt1's _start under every main, a libc stub) it is no problem worth a line per trace.
  for (const { site, problem } of lineless) {
    if (!(out[site]?.stack.some((fr) => fr.file !== undefined && fr.line !== undefined) ?? false)) problems.add(problem);
  }
  inserts.sort((a, b) => (a.site - b.site) || (b.frame - a.frame));
  for (const ins of inserts) out[ins.site]?.stack.splice(ins.frame, 0, ...ins.frames);
  return { sites: out, problems: [...problems] };
}

function fill(f: Frame, s: SourceFrame): void {
  if (f.symbol === undefined && s.symbol !== undefined) f.symbol = s.symbol;
  if (s.file !== undefined && s.line !== undefined && (f.file === undefined || f.line === undefined)) {
    f.file = s.file;
    f.line = s.line;
  }
}

function inlineFrame(of: Frame, s: SourceFrame): Frame {
  const f: Frame = { inline: true };
  if (of.address !== undefined) f.address = of.address;
  if (of.module !== undefined) f.module = of.module;
  if (s.symbol !== undefined) f.symbol = s.symbol;
  if (s.file !== undefined) f.file = s.file;
  if (s.line !== undefined) f.line = s.line;
  return f;
}

/** "libc.so.6" or "/lib/libc.so.6" -> the path the maps use, or the module itself when it is a path. */
function pathForModule(module: string, maps: MapEntry[]): string | undefined {
  if (module.startsWith('/')) return module;
  const mapped = maps.find((m) => m.path !== undefined && (m.path === module || m.path.endsWith(`/${module.replace(/^\.\//, '')}`)))?.path;
  if (mapped !== undefined) return mapped;
  if (module.includes('/')) return module; // "./app": relative to where the program was started (see relativeTo)
  return maps.find((m) => m.path !== undefined && (m.path === module || m.path.endsWith(`/${module}`)))?.path;
}

function kernelOptions(o: SymbolizeOptions): ConstructorParameters<typeof KernelLines>[0] {
  const k: ConstructorParameters<typeof KernelLines>[0] = {};
  if (o.vmlinux !== undefined) k.vmlinux = hostPathOf(o.vmlinux);
  if (o.moduleDirs !== undefined) k.moduleDirs = o.moduleDirs;
  if (o.toolchainPrefix !== undefined) k.toolchainPrefix = o.toolchainPrefix;
  if (o.searchPath !== undefined) k.searchPath = o.searchPath;
  return k;
}

