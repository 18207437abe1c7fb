import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpus } from '../../test/corpus.js';
import { findTool } from './addr2line.js';
import type { Kallsyms } from './kallsyms.js';
import { formatKernelLocation, kernelSymbolAddress, KernelLines, parseKallsyms, parseModules, parseSymbolOffset, resolveKernelAddress } from './kallsyms.js';
import { gcc, lineOf, sleep, tempDir, writeSource } from './test_programs.js';

const live = existsSync('/proc/kallsyms') ? readFileSync('/proc/kallsyms', 'utf8') : '';
const liveKs = (): Kallsyms => parseKallsyms(live).value;

test('parseKallsyms: this machine\'s /proc/kallsyms (read as root) has real addresses and no warnings', (t) => {
  if (live === '') { t.skip('no /proc/kallsyms'); return; }
  const { value, warnings } = parseKallsyms(live);
  assert.deepEqual(warnings, []);
  assert.equal(value.zeroed, false, 'tests run as root; zeroed addresses mean kptr_restrict hides them');
  assert.ok(value.symbols.length > 10000);
  for (let i = 1; i < value.symbols.length; i++) assert.ok((value.symbols[i - 1]?.address ?? 0n) <= (value.symbols[i]?.address ?? 0n));
});

test('resolveKernelAddress: known allocator and open symbols, address -> sym+off/len -> address', (t) => {
  if (live === '') { t.skip('no /proc/kallsyms'); return; }
  const ks = liveKs();
  const names = ['__kmalloc_noprof', 'kmem_cache_alloc_noprof', 'do_sys_openat2', 'do_sys_open', '__kmalloc', 'kmem_cache_alloc']
    .filter((n) => kernelSymbolAddress(ks, n) !== undefined);
  assert.ok(names.length >= 2, `found ${names.join(', ')}`);
  for (const name of names) {
    const addr = kernelSymbolAddress(ks, name) ?? 0n;
    const loc = resolveKernelAddress(ks, addr + 0x10n);
    assert.equal(loc?.symbol, name);
    assert.equal(loc?.offset, 0x10n);
    assert.ok(loc?.length !== undefined && loc.length > 0x10n, `${name} is longer than 0x10 bytes`);
    // Back: the symbol's address plus the offset is where we started.
    assert.equal((loc?.symbolAddress ?? 0n) + (loc?.offset ?? 0n), addr + 0x10n);
    // The next symbol starts exactly at the computed length.
    const next = resolveKernelAddress(ks, addr + (loc?.length ?? 0n));
    assert.notEqual(next?.symbol, name);
    assert.equal(next?.offset, 0n);
  }
});

test('resolveKernelAddress: agrees with the kernel\'s own %pS in /proc/PID/stack of a sleeping process', async (t) => {
  if (live === '') { t.skip('no /proc/kallsyms'); return; }
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => { child.kill('SIGKILL'); });
  let stack = '';
  for (let i = 0; i < 50 && !stack.includes('+0x'); i++) {
    await sleep(20);
    try { stack = readFileSync(`/proc/${String(child.pid)}/stack`, 'utf8'); } catch { stack = ''; }
  }
  if (!stack.includes('+0x')) { t.skip('/proc/PID/stack is empty here (CONFIG_STACKTRACE off?)'); return; }
  const ks = liveKs();
  const printed = stack.split('\n').map((l) => /\] (\S+\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[\S+\])?)$/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  assert.ok(printed.length >= 2, stack);
  for (const text of printed) {
    const p = parseSymbolOffset(text);
    assert.ok(p !== undefined, text);
    if (p === undefined) continue;
    const addr = (kernelSymbolAddress(ks, p.symbol, p.module) ?? 0n) + p.offset;
    const loc = resolveKernelAddress(ks, addr);
    assert.ok(loc !== undefined, text);
    if (loc !== undefined) assert.equal(formatKernelLocation(loc), text);
  }
});

test('parseKallsyms: zeroed addresses (non-root read, generated here by zeroing this machine\'s kallsyms) are detected and said', (t) => {
  // Generated in code: we run as root, so the kernel shows us real addresses; a non-root read prints zeros.
  const text = live !== '' ? live.split('\n').slice(0, 2000).map((l) => l.replace(/^[0-9a-f]+/, '0000000000000000')).join('\n')
    : '0000000000000000 T _stext\n0000000000000000 T __kmalloc_noprof\n';
  if (live === '') t.diagnostic('no /proc/kallsyms: using two hand-written zeroed lines');
  const { value, warnings } = parseKallsyms(text);
  assert.equal(value.zeroed, true);
  assert.deepEqual(value.symbols, []);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.severity, 'error');
  assert.match(warnings[0]?.reason ?? '', /CAP_SYSLOG.*kptr_restrict/);
  assert.equal(resolveKernelAddress(value, 0xffffffff81000000n), undefined);
});

test('module symbols: lengths stay inside the module, /proc/modules bounds the last symbol, ARM $a/$d are ignored', () => {
  // Hand-written in the seed's shape (ARM 32-bit, module mi_sys at 0xbfb00000): no module is loaded on this machine.
  const ks = parseKallsyms([
    'c0008000 T stext',
    'c007e015 T kmem_cache_alloc',
    'c007e0b9 T kmem_cache_free',
    'bfb02000 t $a\t[mi_sys]',
    'bfb03b31 T mi_sys_RingPool_AppendTailContentTailRecord\t[mi_sys]',
    'bfb252b5 t mi_sys_ringpool_AppendTailContentTailRecord\t[mi_sys]',
    'bfb25400 t $d\t[mi_sys]',
  ].join('\n')).value;
  const mods = parseModules('mi_sys 2400256 12 mi_common, Live 0xbfb00000 (PO)\nmi_common 40960 1 - Live 0xbfa00000 (O)\n');
  assert.deepEqual(mods.warnings, []);
  assert.deepEqual(mods.value.modules[0], { name: 'mi_sys', size: 2400256, refcount: 12, deps: ['mi_common'], state: 'Live', address: 0xbfb00000n, taint: 'PO' });
  const m = mods.value.modules;
  assert.equal(formatKernelLocation(resolveKernelAddress(ks, 0xbfb2542bn, m) ?? { symbol: '?', offset: 0n }),
    `mi_sys_ringpool_AppendTailContentTailRecord+0x176/0x${(0xbfb00000 + 2400256 - 0xbfb252b5).toString(16)} [mi_sys]`);
  assert.equal(formatKernelLocation(resolveKernelAddress(ks, 0xbfb03b37n, m) ?? { symbol: '?', offset: 0n }),
    'mi_sys_RingPool_AppendTailContentTailRecord+0x6/0x21784 [mi_sys]');
  assert.equal(formatKernelLocation(resolveKernelAddress(ks, 0xc007e066n, m) ?? { symbol: '?', offset: 0n }), 'kmem_cache_alloc+0x51/0xa4');
  const zeroed = parseModules('mi_sys 2400256 12 - Live 0x00000000 (PO)\n');
  assert.equal(zeroed.value.zeroed, true);
  assert.equal(zeroed.value.modules[0]?.address, undefined);
  assert.equal(zeroed.warnings[0]?.severity, 'error');
});

test('parseSymbolOffset: every kernel frame in the kmemleak, OOM and SLUB corpora round-trips', () => {
  const files = [...corpus('kmemleak'), ...corpus('oom'), ...corpus('slub_alloc_calls')];
  assert.ok(files.length > 0);
  let n = 0;
  for (const f of files) {
    for (const m of f.text.matchAll(/[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[A-Za-z0-9_]+\])?/g)) {
      const p = parseSymbolOffset(m[0]);
      assert.ok(p !== undefined, `${f.name}: ${m[0]}`);
      if (p !== undefined) assert.equal(formatKernelLocation(p), m[0], f.name);
      n++;
    }
  }
  assert.ok(n > 100, `${n} frames`);
  assert.deepEqual(parseSymbolOffset('mi_sys_ringpool_AppendTailContentTailRecord+0x176/0x2cc [mi_sys]'),
    { symbol: 'mi_sys_ringpool_AppendTailContentTailRecord', offset: 0x176n, length: 0x2ccn, module: 'mi_sys' });
  assert.equal(parseSymbolOffset('not a frame'), undefined);
});

test('KernelLines: no vmlinux, or one without DWARF, is reported as missing-file / no-debug-info', async (t) => {
  const { dir, cleanup } = tempDir('vmlinux');
  t.after(cleanup);
  const none = new KernelLines({});
  const [a] = await none.lookup([{ symbol: '__kmalloc_noprof', offset: 0x10n }]);
  assert.equal(a?.status, 'missing-file');
  assert.match(a?.detail ?? '', /pass --vmlinux/);
  const absent = new KernelLines({ vmlinux: join(dir, 'vmlinux') });
  assert.equal((await absent.lookup([{ symbol: 'x', offset: 0n }]))[0]?.status, 'missing-file');
  // No vmlinux with debug info exists on this machine; an ELF without .debug_info stands in for a stripped one.
  writeSource(dir, 'k.c', 'int __kmalloc_noprof(int n) { return n; }\nint main(void) { return 0; }\n');
  gcc(['-O0', '-o', 'vmlinux', 'k.c'], dir);
  const stripped = new KernelLines({ vmlinux: join(dir, 'vmlinux') });
  t.after(() => stripped.close());
  const [b] = await stripped.lookup([{ symbol: '__kmalloc_noprof', offset: 0x4n }]);
  assert.equal(b?.status, 'no-debug-info');
  assert.match(b?.detail ?? '', /CONFIG_DEBUG_INFO/);
});

test('KernelLines: a vmlinux-like ELF with DWARF resolves sym+off through its own .symtab', async (t) => {
  const { dir, cleanup } = tempDir('vmlinux-dbg');
  t.after(cleanup);
  const src = 'int helper(int n) {\n  return n * 7; /* @body */\n}\nint main(void) { return helper(1); }\n';
  writeSource(dir, 'k.c', src);
  gcc(['-g', '-O0', '-o', 'vmlinux', 'k.c'], dir);
  const kl = new KernelLines({ vmlinux: join(dir, 'vmlinux') });
  t.after(() => kl.close());
  const [r, unknown] = await kl.lookup([{ symbol: 'helper', offset: 0n }, { symbol: 'no_such_fn', offset: 4n }]);
  assert.equal(r?.status, 'ok');
  assert.deepEqual(r?.frames, [{ inline: false, symbol: 'helper', file: join(dir, 'k.c'), line: 1 }]);
  assert.equal(r?.query, 'helper+0x0');
  assert.equal(unknown?.status, 'not-found');
  assert.match(unknown?.detail ?? '', /not in the \.symtab/);
});

test('KernelLines: a relocatable module (.ko, -ffunction-sections) resolves func+off with gdb, "-" and "_" alike', async (t) => {
  if (findTool('gdb') === undefined) { t.skip('gdb is not installed here'); return; }
  const { dir, cleanup } = tempDir('ko');
  t.after(cleanup);
  // A kernel module is an ET_REL object; our own object file built the same way stands in for one.
  const src = [
    'static int counter;',
    'int mod_first(int n) {',
    '  return n + 1; /* @first-body */',
    '}',
    'int mod_alloc(int n) { /* @alloc-entry */',
    '  counter += n;',
    '  return counter;',
    '}',
  ].join('\n');
  writeSource(dir, 'm.c', src);
  gcc(['-g', '-O0', '-ffunction-sections', '-c', '-o', 'my_mod.ko', 'm.c'], dir);
  const kl = new KernelLines({ moduleDirs: [dir] });
  t.after(() => kl.close());
  const [first, alloc, missing] = await kl.lookup([
    { symbol: 'mod_first', offset: 0n, module: 'my-mod' },
    { symbol: 'mod_alloc', offset: 0n, module: 'my_mod' },
    { symbol: 'x', offset: 0n, module: 'not_there' },
  ]);
  assert.equal(first?.status, 'ok');
  assert.deepEqual(first?.frames, [{ inline: false, symbol: 'mod_first', file: join(dir, 'm.c'), line: lineOf(src, 'int mod_first') }]);
  assert.deepEqual(alloc?.frames, [{ inline: false, symbol: 'mod_alloc', file: join(dir, 'm.c'), line: lineOf(src, '@alloc-entry') }]);
  assert.equal(missing?.status, 'missing-file');
  assert.match(missing?.detail ?? '', /"not_there\.ko" not found/);
});
