/**
 * Finds the file that holds a binary's debug info, the way gdb does ("Separate Debug Files" in the gdb
 * manual): by GNU build-id (`<debug-dir>/.build-id/ab/cdef....debug`), by path (`<debug-dir>/<path>.debug`),
 * by .gnu_debuglink, else the binary itself when it was not stripped. Target paths ("/lib/libmi_sys.so")
 * are looked up under --sysroot, the unpacked root filesystem of the board.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Elf } from './elf.js';
import { findSection, hasDebugInfo, readNotes, withElfFile } from './elf.js';

const NT_GNU_BUILD_ID = 3;

/** Lower-case hex of the NT_GNU_BUILD_ID note, as `file` and `readelf -n` print it. */
export function buildIdOf(elf: Elf): string | undefined {
  const note = readNotes(elf).find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID);
  return note !== undefined && note.desc.length > 0 ? note.desc.toString('hex') : undefined;
}

/** The file name recorded by `objcopy --add-gnu-debuglink` (its CRC is not checked: the build-id is). */
export function debugLinkOf(elf: Elf): string | undefined {
  const s = findSection(elf, '.gnu_debuglink');
  if (s === undefined) return undefined;
  const buf = elf.source.read(s.offset, s.size);
  const end = buf.indexOf(0);
  const name = buf.toString('utf8', 0, end < 0 ? buf.length : end);
  return name === '' ? undefined : name;
}

export interface ElfFacts {
  buildId?: string;
  debugLink?: string;
  debugInfo: boolean;
}

/** Reads build-id, debuglink and whether DWARF is present; undefined when the file is not a readable ELF. */
export function elfFacts(path: string): ElfFacts | undefined {
  if (!isFile(path)) return undefined;
  try {
    return withElfFile(path, (r) => {
      if (!r.ok) return undefined;
      const facts: ElfFacts = { debugInfo: hasDebugInfo(r.elf) };
      const id = buildIdOf(r.elf);
      if (id !== undefined) facts.buildId = id;
      const link = debugLinkOf(r.elf);
      if (link !== undefined) facts.debugLink = link;
      return facts;
    });
  } catch {
    return undefined;
  }
}

export function readBuildId(path: string): string | undefined {
  return elfFacts(path)?.buildId;
}

export interface DebugFileQuery {
  /** The path as the target sees it ("/lib/libmi_sys.so"), or a host path when there is no sysroot. */
  path: string;
  sysroot?: string;
  /** Extra debug roots (--debug-dir); `<sysroot>/usr/lib/debug` (or /usr/lib/debug without a sysroot) is always tried last. */
  debugDirs?: string[];
}

export type DebugFileVia = 'build-id' | 'debug-path' | 'debuglink' | 'self';

export type DebugFileLookup =
  | { status: 'found'; hostPath: string; debugPath: string; via: DebugFileVia; buildId?: string }
  /** The binary is here but neither it nor any debug file has DWARF: `tried` lists every place looked at. */
  | { status: 'no-debug-info'; hostPath: string; buildId?: string; tried: string[] }
  /** The binary itself is not on the host (wrong or missing --sysroot). */
  | { status: 'missing'; hostPath: string; tried: string[] };

export function hostPathOf(path: string, sysroot?: string): string {
  return sysroot === undefined || sysroot === '' || path.startsWith(`${sysroot}/`) ? path : join(sysroot, path);
}

export function debugDirsFor(query: { sysroot?: string; debugDirs?: string[] }): string[] {
  const dflt = query.sysroot !== undefined && query.sysroot !== '' ? join(query.sysroot, 'usr/lib/debug') : '/usr/lib/debug';
  const dirs = [...(query.debugDirs ?? [])];
  if (!dirs.includes(dflt)) dirs.push(dflt);
  return dirs;
}

export function findDebugFile(query: DebugFileQuery): DebugFileLookup {
  const hostPath = hostPathOf(query.path, query.sysroot);
  const tried: string[] = [hostPath];
  const facts = elfFacts(hostPath);
  if (facts === undefined) return { status: 'missing', hostPath, tried };
  const withId = <T extends object>(o: T): T & { buildId?: string } => (facts.buildId !== undefined ? { ...o, buildId: facts.buildId } : o);
  const dirs = debugDirsFor(query);

  // A candidate is accepted only if it has DWARF and, when both sides carry one, the same build-id:
  // a stale .debug file gives confident, wrong lines.
  const accept = (candidate: string): boolean => {
    if (candidate === hostPath) return false;
    tried.push(candidate);
    const f = elfFacts(candidate);
    if (f === undefined || !f.debugInfo) return false;
    return facts.buildId === undefined || f.buildId === undefined || f.buildId === facts.buildId;
  };

  if (facts.buildId !== undefined && facts.buildId.length > 2) {
    for (const dir of dirs) {
      const p = join(dir, '.build-id', facts.buildId.slice(0, 2), `${facts.buildId.slice(2)}.debug`);
      if (accept(p)) return withId({ status: 'found', hostPath, debugPath: p, via: 'build-id' as const });
    }
  }
  for (const dir of dirs) {
    for (const p of [join(dir, `${query.path}.debug`), join(dir, query.path)]) {
      if (accept(p)) return withId({ status: 'found', hostPath, debugPath: p, via: 'debug-path' as const });
    }
  }
  if (facts.debugLink !== undefined) {
    const candidates = [join(dirname(hostPath), facts.debugLink), join(dirname(hostPath), '.debug', facts.debugLink),
      ...dirs.map((d) => join(d, dirname(query.path), facts.debugLink ?? ''))];
    for (const p of candidates) {
      if (accept(p)) return withId({ status: 'found', hostPath, debugPath: p, via: 'debuglink' as const });
    }
  }
  if (facts.debugInfo) return withId({ status: 'found', hostPath, debugPath: hostPath, via: 'self' as const });
  return withId({ status: 'no-debug-info', hostPath, tried });
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}
