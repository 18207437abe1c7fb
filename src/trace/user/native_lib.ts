/**
 * Builds and finds native/memsleuth_sampler.c as a shared library (and native/memsleuth_inject.c, its ptrace loader), with the gcc that better-sqlite3 already
 * needs (or a cross compiler: `--toolchain arm-linux-gnueabihf-`). `npm run build` builds the host's copy;
 * otherwise it is built on first use. Copies live in the build output, one directory per toolchain:
 *   dist/native/host/libmemsleuth_sampler.so, dist/native/aarch64-linux-gnu-/libmemsleuth_sampler.so
 * A copy older than the source is rebuilt; the build writes a temporary file and renames it, so two memsleuths
 * starting at once never load a half-written library.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { InputError, TargetError } from '../../model/errors.js';
import { findTool } from '../../symbolize/addr2line.js';

const run = promisify(execFile);

export const SAMPLER_LIB = 'libmemsleuth_sampler.so';
export const INJECTOR = 'memsleuth_inject';
/** -fno-plt: the hooks call the C library through its GOT slot directly (measured: 1.3x -> 1.15x with sampling off). */
export const SAMPLER_CFLAGS = ['-O2', '-fno-plt', '-g', '-fPIC', '-shared', '-fvisibility=hidden', '-Wall'];
export const SAMPLER_LIBS = ['-ldl', '-lm', '-lpthread'];

/** The repository (or installed package) root: dist/src/trace/user/ is four levels below it. */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../../../', import.meta.url));
}

export function nativeSource(name: string, root = packageRoot()): string {
  return join(root, 'native', name);
}

/** "host" for the system gcc; the prefix itself (made safe for a file name) for a cross toolchain. */
export function toolchainKey(prefix: string | undefined): string {
  return prefix === undefined || prefix === '' ? 'host' : prefix.replace(/[^\w.+-]/g, '_');
}

export function samplerPath(prefix?: string, root = packageRoot()): string {
  return join(root, 'dist', 'native', toolchainKey(prefix), SAMPLER_LIB);
}

export function injectorPath(prefix?: string, root = packageRoot()): string {
  return join(root, 'dist', 'native', toolchainKey(prefix), INJECTOR);
}

/** The sampler library for this toolchain, built now when missing or older than its source. */
export function ensureSampler(prefix?: string, root = packageRoot()): Promise<string> {
  return ensureBuilt(nativeSource('memsleuth_sampler.c', root), samplerPath(prefix, root), prefix, [...SAMPLER_CFLAGS], SAMPLER_LIBS);
}

/** The ptrace injector (x86-64): calls dlopen and memsleuth_attach inside a running process. */
export function ensureInjector(prefix?: string, root = packageRoot()): Promise<string> {
  return ensureBuilt(nativeSource('memsleuth_inject.c', root), injectorPath(prefix, root), prefix, ['-O2', '-g', '-Wall'], ['-ldl']);
}

async function ensureBuilt(src: string, out: string, prefix: string | undefined, cflags: string[], libs: string[]): Promise<string> {
  if (!existsSync(src)) throw new TargetError(`The source "${src}" is missing from this installation`, 'no-native-source');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  const cc = `${prefix ?? ''}gcc`;
  if (findTool(cc) === undefined) {
    throw prefix === undefined
      ? new TargetError('The sampler is built with gcc, which is not installed (apt-get install gcc; better-sqlite3 needs it too)', 'no-gcc')
      : new InputError(`--toolchain "${prefix}": "${cc}" is not on PATH`, 'toolchain');
  }
  mkdirSync(join(out, '..'), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await run(cc, [...cflags, '-o', tmp, src, ...libs], { timeout: 120_000 });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    const text = (err as { stderr?: string }).stderr ?? (err instanceof Error ? err.message : String(err));
    throw new TargetError(`Cannot build "${src}" with "${cc}": ${text.trim().split('\n').slice(0, 3).join(' | ')}`, 'native-build');
  }
  return out;
}
