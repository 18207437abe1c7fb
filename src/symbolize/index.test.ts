import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AllocationSite, Frame } from '../model/allocation_site.js';
import { stackKey } from '../model/allocation_sites.js';
import { bytes } from '../model/units.js';
import { findTool } from './addr2line.js';
import { readBuildId } from './build_id.js';
import { formatKernelLocation, kernelSymbolAddress, parseKallsyms, resolveKernelAddress, symbolizeSites } from './index.js';
import { buildLeaky, childProcessNames, gcc, LIB_C, lineOf, MAIN_C, printedAddresses, runUntilReady, sleep, tempDir, writeSource } from './test_programs.js';

const site = (stack: Frame[], tool: AllocationSite['tool'] = 'valgrind'): AllocationSite => ({ stack, bytes: bytes(64), count: 1, kind: 'definite', tool });
const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** What a fully symbolized user stack of our program must look like, whatever the build. */
function expected(dir: string, addrs: Record<string, bigint>, libModule?: string): Frame[] {
  const main = join(dir, 'main.c');
  const lib: Frame = { address: hex(addrs['lib'] ?? 0n), symbol: 'lib_alloc', file: join(dir, 'lib.c'), line: lineOf(LIB_C, '@lib-site') };
  if (libModule !== undefined) lib.module = libModule;
  return [
    { address: '0x1234', symbol: 'kept', file: 'already.c', line: 7 },
    lib,
    { address: hex(addrs['main'] ?? 0n), symbol: 'main', file: main, line: lineOf(MAIN_C, '@main-site') },
    { inline: true, address: hex(addrs['inline'] ?? 0n), symbol: 'inlined_helper', file: main, line: lineOf(MAIN_C, '@inline-site') },
    { address: hex(addrs['inline'] ?? 0n), symbol: 'main', file: main, line: lineOf(MAIN_C, '@inline-caller') },
  ];
}

test('symbolizeSites: PIE and -no-pie programs and their .so, from a captured /proc/PID/maps, inline frames expanded', async (t) => {
  const leaky = buildLeaky();
  t.after(leaky.cleanup);
  for (const exe of [leaky.pie, leaky.nopie]) {
    const run = await runUntilReady(exe);
    t.after(run.stop);
    const a = printedAddresses(run.lines);
    // Innermost first, as tools print stacks; the printed addresses are return addresses (line looked up at -1).
    const input = site([
      { address: '0x1234', symbol: 'kept', file: 'already.c', line: 7 },
      { address: hex(a['lib'] ?? 0n) },
      { address: hex(a['main'] ?? 0n) },
      { address: hex(a['inline'] ?? 0n) },
    ]);
    const before = JSON.stringify(input);
    const r = await symbolizeSites([input], { maps: run.maps });
    await run.stop();
    assert.deepEqual(r.problems, [], exe);
    assert.deepEqual(r.sites[0]?.stack, expected(leaky.dir, a), exe);
    assert.equal(JSON.stringify(input), before, 'the input sites are not mutated');
    assert.equal(stackKey(r.sites[0]?.stack ?? []), 'kept;lib_alloc;main;main', 'inline frames do not change the merge key');
  }
  await sleep(50);
  assert.deepEqual(childProcessNames().filter((n) => n === 'addr2line' || n === 'gdb'), [], 'no tool process left behind');
});

test('symbolizeSites: stripped binaries under --sysroot, debug files by build-id in <sysroot>/usr/lib/debug', async (t) => {
  const leaky = buildLeaky();
  t.after(leaky.cleanup);
  const run = await runUntilReady(leaky.pie);
  t.after(run.stop);
  const a = printedAddresses(run.lines);
  await run.stop();
  // The "board": its rootfs holds stripped copies at the paths the maps name; debug info is split off by build-id.
  const sysroot = join(leaky.dir, 'rootfs');
  for (const f of [leaky.pie, leaky.lib]) {
    const inRoot = join(sysroot, f);
    mkdirSync(dirname(inRoot), { recursive: true });
    execFileSync('objcopy', ['--strip-debug', f, inRoot]);
    const id = readBuildId(f) ?? '';
    const dbg = join(sysroot, 'usr/lib/debug/.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
    mkdirSync(dirname(dbg), { recursive: true });
    execFileSync('objcopy', ['--only-keep-debug', f, dbg]);
  }
  const input = site([{ address: '0x1234', symbol: 'kept', file: 'already.c', line: 7 }, { address: hex(a['lib'] ?? 0n) }, { address: hex(a['main'] ?? 0n) }, { address: hex(a['inline'] ?? 0n) }]);
  const r = await symbolizeSites([input], { maps: run.maps, sysroot });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.sites[0]?.stack, expected(leaky.dir, a));

  // Without the debug files: functions still named from .symtab, and the missing debug info is said, per binary.
  const bare = join(leaky.dir, 'bare');
  for (const f of [leaky.pie, leaky.lib]) {
    mkdirSync(dirname(join(bare, f)), { recursive: true });
    execFileSync('objcopy', ['--strip-debug', f, join(bare, f)]);
  }
  const r2 = await symbolizeSites([input], { maps: run.maps, sysroot: bare });
  assert.deepEqual(r2.sites[0]?.stack.map((f) => [f.symbol, f.line]), [['kept', 7], ['lib_alloc', undefined], ['main', undefined], ['main', undefined]]);
  assert.equal(r2.problems.length, 2, r2.problems.join('\n'));
  assert.ok(r2.problems.every((p) => p.startsWith('no debug info for') && p.includes('--debug-dir')), r2.problems.join('\n'));

  // A wrong sysroot says so.
  const r3 = await symbolizeSites([input], { maps: run.maps, sysroot: join(leaky.dir, 'nowhere') });
  assert.ok(r3.problems.some((p) => /is not on this host/.test(p)), r3.problems.join('\n'));
});

test('symbolizeSites: sanitizer-style module+offset and glibc-style symbol+offset frames without maps', async (t) => {
  const { dir, cleanup } = tempDir('modoff');
  t.after(cleanup);
  writeSource(dir, 'lib.c', LIB_C);
  gcc(['-g', '-O0', '-shared', '-fPIC', '-o', 'libleak.so', 'lib.c'], dir);
  const lib = join(dir, 'libleak.so');
  const nm = execFileSync('nm', [lib], { encoding: 'utf8' });
  const libAlloc = BigInt(`0x${/^([0-9a-f]+) T lib_alloc$/m.exec(nm)?.[1] ?? '0'}`);
  const r = await symbolizeSites([site([
    { module: lib, moduleOffset: hex(libAlloc) },
    { module: lib, symbol: 'lib_alloc', offset: '+0x0' },
  ], 'lsan')], {});
  assert.deepEqual(r.problems, []);
  const entry = lineOf(LIB_C, 'void *lib_alloc');
  assert.deepEqual(r.sites[0]?.stack, [
    { module: lib, moduleOffset: hex(libAlloc), symbol: 'lib_alloc', file: join(dir, 'lib.c'), line: entry },
    { module: lib, symbol: 'lib_alloc', offset: '+0x0', file: join(dir, 'lib.c'), line: entry },
  ]);
});

test('symbolizeSites: kernel frames get sym+off/len from live kallsyms; no vmlinux with DWARF is said, not hidden', async (t) => {
  const live = existsSync('/proc/kallsyms') ? readFileSync('/proc/kallsyms', 'utf8') : '';
  if (live === '') { t.skip('no /proc/kallsyms'); return; }
  const ks = parseKallsyms(live).value;
  const name = ['__kmalloc_noprof', '__kmalloc'].find((n) => kernelSymbolAddress(ks, n) !== undefined) ?? '';
  const addr = (kernelSymbolAddress(ks, name) ?? 0n) + 0x10n;
  const loc = resolveKernelAddress(ks, addr);
  assert.ok(loc !== undefined);
  const input = site([{ address: hex(addr) }, { symbol: 'do_sys_openat2', offset: '+0x20', length: '/0x100' }], 'kmemleak');
  const r = await symbolizeSites([input], { kallsyms: live });
  assert.deepEqual(r.sites[0]?.stack[0], { address: hex(addr), symbol: name, offset: '+0x10', length: `/${hex(loc?.length ?? 0n)}` });
  assert.equal(formatKernelLocation(loc ?? { symbol: '', offset: 0n }), `${name}+0x10/${hex(loc?.length ?? 0n)}`);
  assert.deepEqual(r.problems, ['vmlinux: missing-file: no vmlinux given: pass --vmlinux (the unstripped vmlinux of this exact build, CONFIG_DEBUG_INFO=y)']);

  // This machine has no vmlinux with debug info: an ELF without DWARF stands in for a stripped one.
  const { dir, cleanup } = tempDir('kvm');
  t.after(cleanup);
  writeSource(dir, 'k.c', 'int main(void) { return 0; }\n');
  gcc(['-O0', '-o', 'vmlinux', 'k.c'], dir);
  const r2 = await symbolizeSites([input], { kallsyms: live, vmlinux: join(dir, 'vmlinux') });
  assert.equal(r2.problems.length, 1);
  assert.match(r2.problems[0] ?? '', /vmlinux: no-debug-info: .* has no \.debug_info/);

  const zeroed = live.split('\n').slice(0, 500).map((l) => l.replace(/^[0-9a-f]+/, '0000000000000000')).join('\n');
  const r3 = await symbolizeSites([site([{ address: hex(addr) }], 'kmemleak')], { kallsyms: zeroed });
  assert.ok(r3.problems.some((p) => p.startsWith('kallsyms addresses are all 0')), r3.problems.join('\n'));
  assert.deepEqual(r3.sites[0]?.stack, [{ address: hex(addr) }]);
});

test('symbolizeSites: a cross toolchain prefix that is not installed names the package to install', async (t) => {
  const prefix = 'arm-linux-gnueabihf-';
  if (findTool(`${prefix}addr2line`) !== undefined || findTool(`${prefix}gdb`) !== undefined || findTool('gdb-multiarch') !== undefined) {
    t.skip(`${prefix} tools are installed here`);
    return;
  }
  const leaky = buildLeaky();
  t.after(leaky.cleanup);
  const run = await runUntilReady(leaky.pie);
  t.after(run.stop);
  const a = printedAddresses(run.lines);
  await run.stop();
  const r = await symbolizeSites([site([{ address: hex(a['main'] ?? 0n) }])], { maps: run.maps, toolchainPrefix: prefix });
  assert.equal(r.problems.length, 1);
  assert.match(r.problems[0] ?? '', /tool-missing: neither "arm-linux-gnueabihf-addr2line" nor "arm-linux-gnueabihf-gdb" is installed: install binutils-arm-linux-gnueabihf/);
  assert.deepEqual(r.sites[0]?.stack, [{ address: hex(a['main'] ?? 0n) }]);
});

test('symbolizeSites: a frame without line information (crt1\'s _start) is a problem only where its site has no file:line at all', async (t) => {
  const leaky = buildLeaky();
  t.after(leaky.cleanup);
  const run = await runUntilReady(leaky.nopie);
  t.after(run.stop);
  const a = printedAddresses(run.lines);
  // -no-pie: the symbol table's addresses are the run-time ones.
  const start = /^([0-9a-f]+) T _start$/m.exec(execFileSync('nm', [leaky.nopie], { encoding: 'utf8' }))?.[1];
  assert.ok(start !== undefined, 'nm lists _start');
  const inStart = hex(BigInt(`0x${start}`) + 4n);
  const placed = await symbolizeSites([site([{ address: hex(a['main'] ?? 0n) }, { address: inStart }])], { maps: run.maps });
  assert.equal(placed.sites[0]?.stack[0]?.line, lineOf(MAIN_C, '@main-site'));
  assert.deepEqual(placed.problems, []);
  const unplaced = await symbolizeSites([site([{ address: inStart }])], { maps: run.maps });
  await run.stop();
  assert.equal(unplaced.problems.length, 1, unplaced.problems.join('\n'));
  assert.match(unplaced.problems[0] ?? '', /no line information/);
});
