/**
 * Kernel addresses -> `symbol+0xoff/0xlen [module]` -> file:line.
 * Parses /proc/kallsyms (live or captured) and /proc/modules; pure parsers, I/O only in KernelLines.
 *   ffffffff81000000 T _stext
 *   ffffffff8162d990 T __kmalloc_noprof
 *   ffffffffc0201000 t ftrace_trampoline	[__builtin__ftrace]
 *   0000000000000000 T _stext                         <- read without CAP_SYSLOG (kernel.kptr_restrict)
 * /proc/modules: `nf_tables 241664 0 - Live 0xffffffffc0a2c000 (E)`
 * Lengths follow the kernel's own %pS (kernel/kallsyms.c get_symbol_pos, kernel/module/kallsyms.c):
 * the distance to the next higher symbol of the same owner (core kernel or one module); the first of
 * several aliases at one address wins; ARM mapping symbols ($a, $t, $d, $x) are ignored.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import { bytes } from '../model/units.js';
import type { DriverOptions, LineResult } from './addr2line.js';
import { Addr2Line, GdbBatch, hex, symbolExpression } from './addr2line.js';
import { hasDebugInfo, readSymbols, withElfFile } from './elf.js';

export interface KernelSymbol {
  address: bigint;
  /** nm-style type letter: T/t text, D/d data, W weak, ... */
  type: string;
  name: string;
  /** Module name for `[mod]` symbols (also `bpf`, `__builtin__ftrace`). */
  module?: string;
}

export interface Kallsyms {
  /** Symbols usable for lookup, sorted by address (stable: file order among aliases). */
  symbols: KernelSymbol[];
  /** Every address was 0: the file was read without CAP_SYSLOG. Names are still listed; lookups are impossible. */
  zeroed: boolean;
}

const KALLSYMS_LINE = /^([0-9a-fA-F]+)\s+(\S)\s+(\S+)(?:\s+\[([^\]]+)\])?\s*$/;

function isMappingSymbol(name: string): boolean {
  return name.startsWith('$') || name.startsWith('.L');
}

export function parseKallsyms(text: string): Parsed<Kallsyms> {
  const warnings: ParseWarning[] = [];
  const symbols: KernelSymbol[] = [];
  let total = 0;
  let nonZero = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const m = KALLSYMS_LINE.exec(raw.trim());
    if (m === null) {
      warnings.push(warning(i + 1, raw, 'not a kallsyms line (expected "address type name [module]")'));
      continue;
    }
    const [, addr, type, name, module] = m;
    total++;
    const address = BigInt(`0x${addr ?? '0'}`);
    if (address !== 0n) nonZero++;
    // Absolute and undefined symbols are not places in memory; mapping symbols only mark ARM/Thumb code.
    if (type === 'a' || type === 'A' || type === 'U' || isMappingSymbol(name ?? '')) continue;
    const sym: KernelSymbol = { address, type: type ?? '?', name: name ?? '' };
    if (module !== undefined) sym.module = module;
    symbols.push(sym);
  }
  const zeroed = total > 0 && nonZero === 0;
  if (zeroed) {
    warnings.push(warning(0, '', 'every address is 0: kallsyms was read without CAP_SYSLOG (kernel.kptr_restrict); read it as root to resolve kernel addresses', 'error'));
  }
  symbols.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { value: { symbols: zeroed ? [] : symbols, zeroed }, warnings };
}

export interface KernelLocation {
  symbol: string;
  /** Address of the symbol itself. */
  symbolAddress: bigint;
  offset: bigint;
  /** Undefined for the last symbol of an owner (the kernel would use _etext or the module's end). */
  length?: bigint;
  module?: string;
}

/** Resolves a raw kernel address as the kernel's %pS would; undefined below the first symbol or when zeroed. */
export function resolveKernelAddress(ks: Kallsyms, address: bigint, modules?: KernelModule[]): KernelLocation | undefined {
  const syms = ks.symbols;
  let lo = 0;
  let hi = syms.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = syms[mid];
    if (s !== undefined && s.address <= address) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  let best = syms[found];
  if (best === undefined) return undefined;
  // Prefer a symbol of the owner (module) that contains the address; then the first alias.
  const owner = modules !== undefined ? moduleAt(modules, address)?.name : undefined;
  let idx = found;
  if (owner !== undefined && best.module !== owner) {
    while (idx >= 0 && syms[idx]?.module !== owner) idx--;
    const s = syms[idx];
    if (s === undefined) return undefined;
    best = s;
  }
  while (idx > 0 && syms[idx - 1]?.address === best.address && syms[idx - 1]?.module === best.module) idx--;
  best = syms[idx] ?? best;
  let length: bigint | undefined;
  for (let j = idx + 1; j < syms.length; j++) {
    const s = syms[j];
    if (s === undefined) break;
    if (s.module !== best.module || s.address <= best.address) continue;
    length = s.address - best.address;
    break;
  }
  if (length === undefined && best.module !== undefined && modules !== undefined) {
    const mod = modules.find((m) => m.name === best.module);
    if (mod?.address !== undefined && mod.address + BigInt(mod.size) > best.address) length = mod.address + BigInt(mod.size) - best.address;
  }
  if (length !== undefined && address - best.address >= length) return undefined; // past the owner's end
  const loc: KernelLocation = { symbol: best.name, symbolAddress: best.address, offset: address - best.address };
  if (length !== undefined) loc.length = length;
  if (best.module !== undefined) loc.module = best.module;
  return loc;
}

/** Address of a symbol by name (optionally in one module); undefined when absent or zeroed. */
export function kernelSymbolAddress(ks: Kallsyms, name: string, module?: string): bigint | undefined {
  return ks.symbols.find((s) => s.name === name && (module === undefined || s.module === module))?.address;
}

/** "sym+0x1c/0x60 [mod]" as the kernel prints it. */
export function formatKernelLocation(loc: Pick<KernelLocation, 'symbol' | 'offset' | 'length' | 'module'>): string {
  return `${loc.symbol}+${hex(loc.offset)}${loc.length !== undefined ? `/${hex(loc.length)}` : ''}${loc.module !== undefined ? ` [${loc.module}]` : ''}`;
}

export interface SymbolOffset { symbol: string; offset: bigint; length?: bigint; module?: string }

/** Parses "mi_sys_ringpool_AppendTailContentTailRecord+0x176/0x2cc [mi_sys]", "kthread+0x99/0xa8", "f+0x10". */
export function parseSymbolOffset(text: string): SymbolOffset | undefined {
  const m = /^\s*([^\s+]+)\+(0x[0-9a-fA-F]+|\d+)(?:\/(0x[0-9a-fA-F]+|\d+))?(?:\s+\[([^\]\s]+)\])?\s*$/.exec(text);
  if (m === null) return undefined;
  const [, symbol, off, len, module] = m;
  const out: SymbolOffset = { symbol: symbol ?? '', offset: BigInt(off ?? '0') };
  if (len !== undefined) out.length = BigInt(len);
  if (module !== undefined) out.module = module;
  return out;
}

export interface KernelModule {
  name: string;
  size: Bytes;
  refcount: number;
  deps: string[];
  /** Live, Loading, Unloading. */
  state: string;
  /** Load address of the module's core; absent when printed as 0 (not root) or missing. */
  address?: bigint;
  /** Taint flags: "(O)", "(E)", "(OE)". */
  taint?: string;
}

const MODULE_LINE = /^(\S+)\s+(\d+)\s+(-?\d+)\s+(\S+)\s+(\S+)(?:\s+(0x[0-9a-fA-F]+))?(?:\s+\(([A-Z]+)\))?\s*$/;

/** Parses /proc/modules (Documentation/filesystems/proc.rst, "/proc/modules"). */
export function parseModules(text: string): Parsed<{ modules: KernelModule[]; zeroed: boolean }> {
  const warnings: ParseWarning[] = [];
  const modules: KernelModule[] = [];
  let withZero = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const m = MODULE_LINE.exec(raw.trim());
    if (m === null) {
      warnings.push(warning(i + 1, raw, 'not a /proc/modules line (expected "name size refcount deps state address")'));
      continue;
    }
    const [, name, size, refcount, deps, state, address, taint] = m;
    const mod: KernelModule = {
      name: name ?? '',
      size: bytes(Number(size)),
      refcount: Number(refcount),
      deps: deps === '-' || deps === undefined ? [] : deps.split(',').filter((d) => d !== ''),
      state: state ?? '',
    };
    if (address !== undefined) {
      const a = BigInt(address);
      if (a === 0n) withZero++;
      else mod.address = a;
    }
    if (taint !== undefined) mod.taint = taint;
    modules.push(mod);
  }
  const zeroed = modules.length > 0 && withZero === modules.length;
  if (zeroed) warnings.push(warning(0, '', 'every module address is 0: /proc/modules was read without CAP_SYSLOG; read it as root', 'error'));
  return { value: { modules, zeroed }, warnings };
}

export function moduleAt(modules: KernelModule[], address: bigint): KernelModule | undefined {
  return modules.find((m) => m.address !== undefined && address >= m.address && address < m.address + BigInt(m.size));
}

export interface KernelLinesOptions {
  /** vmlinux with DWARF (CONFIG_DEBUG_INFO), from the same build as the running kernel. */
  vmlinux?: string;
  /** Searched recursively for `<module>.ko` (dashes and underscores are the same in module names). */
  moduleDirs?: string[];
  toolchainPrefix?: string;
  searchPath?: string;
}

/**
 * `symbol+0xoff [module]` -> file:line. vmlinux: symbol address from vmlinux's own .symtab (so KASLR and
 * the runtime layout do not matter) + offset, through addr2line. Modules are relocatable: gdb resolves
 * `info line *(func+0xoff)` against the .ko with its section relocations, as engineers do by hand.
 */
export class KernelLines {
  private vmlinuxDriver: Addr2Line | undefined;
  private vmlinuxSymbols: Map<string, bigint> | undefined;
  private vmlinuxState: { status: 'ok' } | { status: 'missing-file' | 'no-debug-info' | 'error'; detail: string } | undefined;
  private readonly gdbs = new Map<string, GdbBatch>();
  private readonly koCache = new Map<string, string | undefined>();
  private readonly koDebug = new Map<string, boolean>();

  constructor(private readonly options: KernelLinesOptions) {}

  /** Answers in request order; never rejects. */
  async lookup(requests: SymbolOffset[]): Promise<LineResult[]> {
    const results = new Array<LineResult>(requests.length);
    const groups = new Map<string | undefined, number[]>();
    requests.forEach((r, i) => groups.set(r.module, [...(groups.get(r.module) ?? []), i]));
    await Promise.all([...groups].map(async ([module, idxs]) => {
      const asked = idxs.map((i) => requests[i]).filter((r): r is SymbolOffset => r !== undefined);
      const answers = module === undefined ? await this.lookupVmlinux(asked) : await this.lookupModule(module, asked);
      idxs.forEach((i, k) => { const a = answers[k]; if (a !== undefined) results[i] = a; });
    }));
    return results;
  }

  close(): void {
    this.vmlinuxDriver?.close();
    for (const g of this.gdbs.values()) g.close();
  }

  private async lookupVmlinux(requests: SymbolOffset[]): Promise<LineResult[]> {
    if (requests.length === 0) return [];
    const vmlinux = this.options.vmlinux;
    const label = (r: SymbolOffset): string => `${r.symbol}+${hex(r.offset)}`;
    const state = this.vmlinuxReady();
    if (state.status !== 'ok') {
      return requests.map((r) => ({ status: state.status, file: vmlinux ?? 'vmlinux', query: label(r), frames: [], detail: state.detail }));
    }
    const driver = this.vmlinuxDriver;
    const symbols = this.vmlinuxSymbols;
    if (driver === undefined || symbols === undefined || vmlinux === undefined) return [];
    const addrs = requests.map((r) => { const a = symbols.get(r.symbol); return a === undefined ? undefined : a + r.offset; });
    const known = addrs.filter((a): a is bigint => a !== undefined);
    const answers = await driver.lookup(known);
    let k = 0;
    return requests.map((r, i): LineResult => {
      if (addrs[i] === undefined) return { status: 'not-found', file: vmlinux, query: label(r), frames: [], detail: `"${r.symbol}" is not in the .symtab of "${vmlinux}" (another kernel build?)` };
      const a = answers[k++];
      return a === undefined ? { status: 'error', file: vmlinux, query: label(r), frames: [] } : { ...a, query: label(r) };
    });
  }

  private vmlinuxReady(): NonNullable<KernelLines['vmlinuxState']> {
    if (this.vmlinuxState !== undefined) return this.vmlinuxState;
    const vmlinux = this.options.vmlinux;
    if (vmlinux === undefined || !existsSync(vmlinux)) {
      this.vmlinuxState = { status: 'missing-file', detail: vmlinux === undefined
        ? 'no vmlinux given: pass --vmlinux (the unstripped vmlinux of this exact build, CONFIG_DEBUG_INFO=y)'
        : `"${vmlinux}" does not exist` };
      return this.vmlinuxState;
    }
    try {
      const facts = withElfFile(vmlinux, (r) => (r.ok ? { debug: hasDebugInfo(r.elf), symbols: readSymbols(r.elf) } : { error: r.reason }));
      if ('error' in facts) {
        this.vmlinuxState = { status: 'error', detail: `"${vmlinux}": ${facts.error}` };
      } else if (!facts.debug) {
        this.vmlinuxState = { status: 'no-debug-info', detail: `"${vmlinux}" has no .debug_info: rebuild with CONFIG_DEBUG_INFO=y or pass the unstripped vmlinux` };
      } else {
        this.vmlinuxSymbols = new Map();
        for (const s of facts.symbols) if (!this.vmlinuxSymbols.has(s.name)) this.vmlinuxSymbols.set(s.name, s.value);
        const opts: DriverOptions = { hasDebugInfo: true };
        if (this.options.toolchainPrefix !== undefined) opts.toolchainPrefix = this.options.toolchainPrefix;
        if (this.options.searchPath !== undefined) opts.searchPath = this.options.searchPath;
        this.vmlinuxDriver = new Addr2Line(vmlinux, opts);
        this.vmlinuxState = { status: 'ok' };
      }
    } catch (err) {
      this.vmlinuxState = { status: 'error', detail: `cannot read "${vmlinux}": ${err instanceof Error ? err.message : String(err)}` };
    }
    return this.vmlinuxState;
  }

  private async lookupModule(module: string, requests: SymbolOffset[]): Promise<LineResult[]> {
    const label = (r: SymbolOffset): string => `${r.symbol}+${hex(r.offset)} [${module}]`;
    const ko = this.findKo(module);
    if (ko === undefined) {
      const dirs = this.options.moduleDirs ?? [];
      const detail = dirs.length === 0 ? `no module directory given for "${module}.ko": pass --module-dir` : `"${module}.ko" not found under ${dirs.map((d) => `"${d}"`).join(', ')}`;
      return requests.map((r) => ({ status: 'missing-file', file: `${module}.ko`, query: label(r), frames: [], detail }));
    }
    let debug = this.koDebug.get(ko);
    if (debug === undefined) {
      try { debug = withElfFile(ko, (r) => r.ok && hasDebugInfo(r.elf)); } catch { debug = false; }
      this.koDebug.set(ko, debug);
    }
    if (!debug) return requests.map((r) => ({ status: 'no-debug-info', file: ko, query: label(r), frames: [], detail: `"${ko}" has no .debug_info (stripped module?)` }));
    let gdb = this.gdbs.get(ko);
    if (gdb === undefined) {
      const opts: DriverOptions = { hasDebugInfo: true };
      if (this.options.toolchainPrefix !== undefined) opts.toolchainPrefix = this.options.toolchainPrefix;
      if (this.options.searchPath !== undefined) opts.searchPath = this.options.searchPath;
      gdb = new GdbBatch(ko, opts);
      this.gdbs.set(ko, gdb);
    }
    const exprs = requests.map((r) => symbolExpression(r.symbol, r.offset));
    const safe = exprs.filter((e): e is string => e !== undefined);
    const answers = await gdb.lookup(safe);
    let k = 0;
    return requests.map((r, i): LineResult => {
      if (exprs[i] === undefined) return { status: 'error', file: ko, query: label(r), frames: [], detail: `symbol name ${JSON.stringify(r.symbol)} is not a plain identifier; not passed to gdb` };
      const a = answers[k++];
      return a === undefined ? { status: 'error', file: ko, query: label(r), frames: [] } : { ...a, query: label(r) };
    });
  }

  /** Finds `<module>.ko` under moduleDirs; module names treat "-" and "_" alike (kernel/module/main.c). */
  findKo(module: string): string | undefined {
    if (this.koCache.has(module)) return this.koCache.get(module);
    const want = `${module.replace(/-/g, '_')}.ko`;
    let found: string | undefined;
    const walk = (dir: string, depth: number): void => {
      if (found !== undefined || depth > 8) return;
      let names: string[];
      try { names = readdirSync(dir); } catch { return; }
      for (const n of names) {
        const p = join(dir, n);
        if (n.replace(/-/g, '_') === want) { found = p; return; }
        try { if (statSync(p).isDirectory()) walk(p, depth + 1); } catch { /* unreadable: skip */ }
        if (found !== undefined) return;
      }
    };
    for (const d of this.options.moduleDirs ?? []) walk(d, 0);
    this.koCache.set(module, found);
    return found;
  }
}
