/**
 * Drivers for the two tools engineers use by hand to turn an address into file:line:
 *   arm-linux-gnueabihf-addr2line -e libmi_sys.so -f -C -i -a 0x1234
 *   arm-linux-gnueabihf-gdb -batch -ex 'info line *(func+0x176)' mi_sys.ko
 * addr2line runs as ONE long-lived process per binary: binutils flushes after every answer precisely so
 * it can serve a pipe ("server child process", addr2line.c). Each batch of addresses ends with a sentinel
 * address 0, whose "0x000..." header closes the last real answer. gdb is the fallback when addr2line is
 * missing, and the tool for relocatable kernel modules (it applies section relocations).
 * Processes are spawned with argv arrays, never through a shell; gdb commands are built only from
 * numbers we format and symbol names that passed a strict pattern.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface SourceFrame {
  symbol?: string;
  file?: string;
  line?: number;
  discriminator?: number;
  /** This function was inlined into the next frame of the same answer. */
  inline: boolean;
}

export type LineStatus =
  | 'ok'
  /** The binary has no DWARF: install its -dbg/-dbgsym package, or pass --debug-dir / the unstripped file. */
  | 'no-debug-info'
  /** DWARF is there but does not cover this address (wrong binary? address not in code?). */
  | 'not-found'
  /** Neither `${prefix}addr2line` nor `${prefix}gdb` is on PATH; `detail` names the package to install. */
  | 'tool-missing'
  | 'missing-file'
  | 'error';

export interface LineResult {
  status: LineStatus;
  /** The file that was asked (the debug file, when one was found). */
  file: string;
  /** What was looked up: "0x1149" or "(func+0x176)". */
  query: string;
  /** Innermost first: inlined callees, then the function that contains the address. */
  frames: SourceFrame[];
  /** Which tool answered ("addr2line", "arm-linux-gnueabihf-gdb"). */
  tool?: string;
  detail?: string;
}

/** Finds an executable on PATH (or checks an explicit path); undefined when absent. */
export function findTool(name: string, path: string = process.env['PATH'] ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).filter((d) => d !== '').map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Debian package that provides the tool: binutils-arm-linux-gnueabihf, gdb-multiarch, ... */
export function installHint(prefix: string, tool: 'addr2line' | 'gdb' | 'nm'): string {
  const triplet = prefix.replace(/-$/, '').split('/').pop() ?? '';
  if (tool === 'gdb') return triplet === '' ? 'gdb' : 'gdb-multiarch (Debian ships no per-triplet gdb; or your vendor toolchain\'s gdb)';
  return triplet === '' ? 'binutils' : `binutils-${triplet}`;
}

/** "/tmp/x.c:12", "/tmp/x.c:12 (discriminator 3)", "??:0", "??:?" */
function parseLocation(text: string): Pick<SourceFrame, 'file' | 'line' | 'discriminator'> {
  const m = /^(.*):(\d+|\?)(?: \(discriminator (\d+)\))?$/.exec(text.trim());
  if (m === null) return {};
  const out: Pick<SourceFrame, 'file' | 'line' | 'discriminator'> = {};
  const [, file, line, disc] = m;
  if (file !== undefined && file !== '??') out.file = file;
  if (line !== undefined && line !== '?' && line !== '0') out.line = Number(line);
  if (disc !== undefined) out.discriminator = Number(disc);
  return out;
}

/** Turns addr2line's function/location line pairs into frames, innermost first. */
export function parseAddr2lineAnswer(lines: string[]): SourceFrame[] {
  const frames: SourceFrame[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const fn = (lines[i] ?? '').trim();
    const frame: SourceFrame = { inline: false, ...parseLocation(lines[i + 1] ?? '') };
    if (fn !== '??' && fn !== '') frame.symbol = fn;
    frames.push(frame);
  }
  frames.forEach((f, i) => { f.inline = i < frames.length - 1; });
  return frames;
}

function statusOf(frames: SourceFrame[], hasDebugInfo: boolean | undefined): LineStatus {
  if (frames.some((f) => f.file !== undefined && f.line !== undefined)) return 'ok';
  return hasDebugInfo === false ? 'no-debug-info' : 'not-found';
}

export const hex = (n: bigint): string => `0x${n.toString(16)}`;

interface Pending {
  query: string;
  sentinel: boolean;
  lines: string[];
  done: (lines: string[] | Error) => void;
}

const HEADER = /^0x[0-9a-fA-F]+$/;

export interface DriverOptions {
  /** "arm-linux-gnueabihf-": prefixes addr2line and gdb alike. */
  toolchainPrefix?: string;
  /** Known from the ELF: turns "??" answers into 'no-debug-info' instead of 'not-found'. */
  hasDebugInfo?: boolean;
  /** PATH to search for the tools (tests). */
  searchPath?: string;
}

/**
 * One long-lived `${prefix}addr2line -e FILE -f -C -i -a` per binary, with a cache. Falls back to
 * `${prefix}gdb -batch` (one process per batch) when addr2line is not installed. Call close().
 */
export class Addr2Line {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private readonly cache = new Map<string, Promise<LineResult>>();
  private stderrTail = '';
  private dead: Error | undefined;
  private readonly prefix: string;
  readonly tool: string | undefined;
  private readonly gdb: GdbBatch | undefined;

  constructor(readonly file: string, private readonly options: DriverOptions = {}) {
    this.prefix = options.toolchainPrefix ?? '';
    this.tool = findTool(`${this.prefix}addr2line`, options.searchPath);
    if (this.tool === undefined) this.gdb = new GdbBatch(file, options);
  }

  /** Resolves addresses (ELF virtual addresses of `file`), in order; never rejects. */
  async lookup(addresses: bigint[]): Promise<LineResult[]> {
    if (this.gdb !== undefined) {
      const missing = addresses.filter((a) => !this.cache.has(hex(a)));
      if (missing.length > 0) {
        const answers = this.gdb.lookup(missing.map((a) => `*${hex(a)}`));
        missing.forEach((a, i) => this.cache.set(hex(a), answers.then((r) => ({ ...(r[i] ?? errorResult(this.file, hex(a), 'no answer')), query: hex(a) }))));
      }
      return Promise.all(addresses.map((a) => this.cache.get(hex(a)) ?? Promise.resolve(errorResult(this.file, hex(a), 'no answer'))));
    }
    const fresh: bigint[] = [];
    for (const a of addresses) {
      const key = hex(a);
      if (this.cache.has(key)) continue;
      if (a === 0n) {
        this.cache.set(key, Promise.resolve({ status: 'not-found', file: this.file, query: key, frames: [], detail: 'address 0' }));
        continue;
      }
      fresh.push(a);
      this.cache.set(key, this.ask(key));
    }
    if (fresh.length > 0) this.write(`${fresh.map(hex).join('\n')}\n0\n`);
    return Promise.all(addresses.map((a) => this.cache.get(hex(a)) ?? Promise.resolve(errorResult(this.file, hex(a), 'no answer'))));
  }

  close(): void {
    this.gdb?.close();
    const child = this.child;
    this.child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      child.kill('SIGTERM');
    }
    this.fail(new Error('closed'));
  }

  private ask(query: string): Promise<LineResult> {
    return new Promise<LineResult>((resolve) => {
      const tool = `${this.prefix}addr2line`;
      const done = (lines: string[] | Error): void => {
        if (lines instanceof Error) {
          resolve({ ...errorResult(this.file, query, `${tool}: ${lines.message}${this.stderrTail !== '' ? ` (${this.stderrTail.trim()})` : ''}`), tool });
          return;
        }
        const frames = parseAddr2lineAnswer(lines);
        resolve({ status: statusOf(frames, this.options.hasDebugInfo), file: this.file, query, frames, tool });
      };
      if (this.dead !== undefined) {
        done(this.dead);
        return;
      }
      this.start();
      this.queue.push({ query, sentinel: false, lines: [], done });
    });
  }

  private write(text: string): void {
    if (this.child === undefined) return;
    this.queue.push({ query: '0', sentinel: true, lines: [], done: () => undefined });
    this.child.stdin.write(text);
  }

  private start(): void {
    if (this.child !== undefined || this.tool === undefined) return;
    const child = spawn(this.tool, ['-e', this.file, '-f', '-C', '-i', '-a'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdin.on('error', () => undefined); // EPIPE after an early exit is reported through 'exit'
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { this.stderrTail = (this.stderrTail + d).slice(-400); });
    child.on('error', (err) => this.fail(err));
    child.on('close', (code, signal) => this.fail(new Error(`exited (${signal ?? `code ${String(code)}`})`)));
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => this.onLine(line));
  }

  private onLine(line: string): void {
    // A header begins the next answer only at a function-name position (even count of pair lines).
    if (HEADER.test(line.trim()) && (this.current === undefined || this.current.lines.length % 2 === 0)) {
      this.current?.done(this.current.lines);
      this.current = this.queue.shift();
      return;
    }
    this.current?.lines.push(line);
  }

  private fail(err: Error): void {
    this.dead ??= err;
    const pending = [...(this.current !== undefined ? [this.current] : []), ...this.queue.splice(0)];
    this.current = undefined;
    for (const p of pending) if (!p.sentinel) p.done(err);
  }
}

function errorResult(file: string, query: string, detail: string): LineResult {
  return { status: 'error', file, query, frames: [], detail };
}

/** Symbol names that may be pasted into a gdb command: C/C++ identifiers, dots of .constprop.3/.isra.0. */
export const SAFE_SYMBOL = /^[A-Za-z_.$][A-Za-z0-9_.$]*$/;

/** A gdb location expression for `func+0x176`, or undefined when the name is not a plain identifier. */
export function symbolExpression(symbol: string, offset: bigint): string | undefined {
  if (!SAFE_SYMBOL.test(symbol)) return undefined;
  // A name with dots (foo.constprop.3) must be quoted for gdb's expression parser.
  const name = symbol.includes('.') ? `'${symbol}'` : symbol;
  return `*(${name}+${hex(offset)})`;
}

/** "Line 12 of "x.c" starts at address 0x1149 <f+4> and ends at 0x1150 <f+11>." */
const GDB_LINE = /^Line (\d+) of "(.*)" (?:starts at|is at) address (0x[0-9a-fA-F]+)(?: <([^>+]+)(?:\+\d+)?>)?/;
const GDB_NOLINE = /^No line number information available for address (0x[0-9a-fA-F]+)(?: <([^>+]+)(?:\+\d+)?>)?/;

/** Parses the stdout of one `info line` command. */
export function parseGdbInfoLine(text: string): { frames: SourceFrame[]; found: boolean } {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = GDB_LINE.exec(line);
    if (m !== null) {
      const frame: SourceFrame = { inline: false, file: m[2] ?? '', line: Number(m[1]) };
      if (m[4] !== undefined) frame.symbol = m[4];
      return { frames: [frame], found: true };
    }
    const n = GDB_NOLINE.exec(line);
    if (n !== null) return { frames: n[2] !== undefined ? [{ inline: false, symbol: n[2] }] : [], found: false };
  }
  return { frames: [], found: false };
}

/**
 * DWARF names files relative to the compilation directory; gdb's `info source` says where it is:
 *   Current source file is e.c / Compilation directory is /tmp / Located in /tmp/e.c
 */
export function gdbFullPath(file: string, text: string): string {
  if (file.startsWith('/')) return file;
  const current = /^Current source file is (.*)$/m.exec(text)?.[1];
  if (current !== file) return file;
  const located = /^Located in (.*)$/m.exec(text)?.[1];
  if (located !== undefined) return located;
  const dir = /^Compilation directory is (.*)$/m.exec(text)?.[1];
  return dir !== undefined ? join(dir, file) : file;
}

/**
 * `${prefix}gdb -batch -nx -ex 'info line EXPR' ... FILE`, one process per batch, answers split by
 * echoed markers. Expressions must come from hex() or symbolExpression().
 */
export class GdbBatch {
  readonly tool: string | undefined;
  readonly toolName: string;
  private readonly running = new Set<ChildProcessWithoutNullStreams>();

  constructor(readonly file: string, private readonly options: DriverOptions = {}) {
    const prefix = options.toolchainPrefix ?? '';
    this.toolName = `${prefix}gdb`;
    let tool = findTool(this.toolName, options.searchPath);
    if (tool === undefined && prefix !== '') {
      tool = findTool('gdb-multiarch', options.searchPath);
      if (tool !== undefined) this.toolName = 'gdb-multiarch';
    }
    this.tool = tool;
  }

  async lookup(expressions: string[]): Promise<LineResult[]> {
    if (this.tool === undefined) {
      const prefix = this.options.toolchainPrefix ?? '';
      const detail = `neither "${prefix}addr2line" nor "${prefix}gdb" is installed: install ${installHint(prefix, 'addr2line')}` +
        ` (or ${installHint(prefix, 'gdb')})`;
      return expressions.map((query) => ({ status: 'tool-missing', file: this.file, query, frames: [], tool: `${prefix}addr2line`, detail }));
    }
    const args = ['-batch', '-nx', '-ex', 'set width 0', '-ex', 'set height 0', '-ex', 'set pagination off'];
    // `list` makes the line's file current, so `info source` can turn DWARF's relative name into a path.
    args.push('-ex', 'set listsize 1');
    expressions.forEach((e, i) => args.push('-ex', `echo @@ms ${i}\\n`, '-ex', `info line ${e}`, '-ex', `list ${e}`, '-ex', 'info source'));
    args.push('-ex', `echo @@ms ${expressions.length}\\n`, this.file);
    const { stdout, stderr, error } = await this.run(args);
    if (error !== undefined) return expressions.map((query) => ({ ...errorResult(this.file, query, `${this.toolName}: ${error}`), tool: this.toolName }));
    const parts = new Map<number, string>();
    const re = /^@@ms (\d+)$/gm;
    const marks = [...stdout.matchAll(re)];
    marks.forEach((m, i) => parts.set(Number(m[1]), stdout.slice((m.index ?? 0) + m[0].length, marks[i + 1]?.index ?? stdout.length)));
    const errs = stderr.trim();
    return expressions.map((query, i): LineResult => {
      const part = parts.get(i) ?? '';
      const { frames, found } = parseGdbInfoLine(part);
      const first = frames[0];
      if (first?.file !== undefined) first.file = gdbFullPath(first.file, part);
      const status: LineStatus = found ? 'ok' : this.options.hasDebugInfo === false ? 'no-debug-info' : 'not-found';
      const r: LineResult = { status, file: this.file, query, frames, tool: this.toolName };
      if (!found && errs !== '') r.detail = errs.split('\n').slice(0, 3).join('; ');
      return r;
    });
  }

  close(): void {
    for (const c of this.running) c.kill('SIGKILL');
    this.running.clear();
  }

  private run(args: string[]): Promise<{ stdout: string; stderr: string; error?: string }> {
    return new Promise((resolve) => {
      const child = spawn(this.tool ?? 'gdb', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      this.running.add(child);
      child.stdin.end();
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d: string) => { stdout += d; });
      child.stderr.on('data', (d: string) => { stderr += d; });
      child.on('error', (err) => { this.running.delete(child); resolve({ stdout, stderr, error: err.message }); });
      child.on('close', () => { this.running.delete(child); resolve({ stdout, stderr }); });
    });
  }
}
