import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { allocatorLibraryOf, freeProbeOffset, libcFlavor, parseObjdump, findLibc, systemLoader } from './libc.js';
import { gcc, tempDir, writeSource } from '../../symbolize/test_programs.js';
import { parseBpftraceMaps } from './bpftrace_run.js';
import { parseRingPage } from './tracefs.js';
import { followsCall } from './faults_engine.js';
import { parseProcMaps } from '../../symbolize/proc_maps.js';

// objdump -d of Debian 12 glibc 2.36 free (x86-64), as printed here.
const GLIBC_FREE = `
0000000000098ef0 <__libc_free@@GLIBC_2.2.5>:
   98ef0:\t48 85 ff             \ttest   %rdi,%rdi
   98ef3:\t0f 84 bf 00 00 00    \tje     98fb8 <__libc_free@@GLIBC_2.2.5+0xc8>
   98ef9:\t55                   \tpush   %rbp
   98efa:\t48 8d 77 f0          \tlea    -0x10(%rdi),%rsi
   98efe:\t53                   \tpush   %rbx
`;

test('free is probed at its first push, past the single-stepped test of %rdi', () => {
  const r = freeProbeOffset(parseObjdump(GLIBC_FREE));
  assert.equal(r.offset, 9);
});

test('free is probed at its start when that instruction is emulated already, or when %rdi is overwritten first', () => {
  assert.equal(freeProbeOffset(parseObjdump('   10:\t55 \tpush   %rbp\n   11:\t48 89 e5 \tmov    %rsp,%rbp\n')).offset, 0);
  assert.equal(freeProbeOffset(parseObjdump('   10:\t48 8b 3f \tmov    (%rdi),%rdi\n   13:\t55 \tpush   %rbp\n')).offset, 0);
});

test('C libraries are recognised by the path they are mapped from', () => {
  assert.deepEqual(['/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib/ld-musl-x86_64.so.1', '/lib/libuClibc-1.0.42.so', '/usr/lib/libjemalloc.so.2'].map(libcFlavor), ['glibc', 'musl', 'uclibc', undefined]);
  const maps = parseProcMaps('55d5c6a00000-55d5c6a01000 r-xp 00001000 08:01 1 /usr/bin/sleep\n7f1c2a400000-7f1c2a428000 r--p 00000000 fe:01 2365 /usr/lib/x86_64-linux-gnu/libc.so.6\n').value;
  assert.deepEqual(findLibc(maps), { path: '/usr/lib/x86_64-linux-gnu/libc.so.6', flavor: 'glibc' });
});

test('bpftrace maps with a stack inside a tuple parse to addresses and numbers', () => {
  const out = parseBpftraceMaps(['', '@o[94255114306208]: (', '\t55b968470182 0x55b968470182 ([unknown])', '\t7f19c073724a 0x7f19c073724a ([unknown])', ', 100, 1230574886639)', '@pg[23013451]: (1230574886639, 94255114306208, 0)']);
  assert.deepEqual(out, [
    { map: 'o', key: '94255114306208', stack: [0x55b968470182n, 0x7f19c073724an], values: [100, 1230574886639] },
    { map: 'pg', key: '23013451', stack: [], values: [1230574886639, 94255114306208, 0] },
  ]);
});

test('a ring-buffer page yields its events with accumulated time stamps, time extends included', () => {
  const page = Buffer.alloc(4096);
  page.writeBigUInt64LE(1000n, 0);
  let o = 16;
  const event = (delta: number, type: number, ptr: number): void => {
    page.writeUInt32LE((delta << 5) | 6, o); // type_len 6: 24 bytes of data
    page.writeUInt16LE(type, o + 4);
    page.writeUInt32LE(ptr, o + 4 + 16);
    o += 28;
  };
  event(5, 77, 0xabc);
  page.writeUInt32LE((3 << 5) | 30, o); // time extend: 3 + 1 * 2^27
  page.writeUInt32LE(1, o + 4);
  o += 8;
  event(0, 77, 0xdef);
  page.writeUInt32LE(o - 16, 8);
  const seen: Array<[number, number, number]> = [];
  const r = parseRingPage(page, (type, ts, p, at) => { seen.push([type, ts, p.readUInt32LE(at + 16)]); });
  assert.deepEqual(seen, [[77, 1005, 0xabc], [77, 1005 + 3 + 2 ** 27, 0xdef]]);
  assert.equal(r.missed, false);
});

test('return addresses are those that follow a call instruction', () => {
  assert.equal(followsCall(Buffer.from([0x90, 0x90, 0x90, 0xe8, 1, 2, 3, 4])), true);
  assert.equal(followsCall(Buffer.from([0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xd0])), true);
  assert.equal(followsCall(Buffer.from([0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90])), false);
});

test('finding the C library of a program to launch never runs it, even when its loader is its own', (t) => {
  if (spawnSync('gcc', ['--version']).status !== 0) return t.skip('gcc is not installed');
  if (process.arch !== 'x64') return t.skip('the hand-made loader below is x86-64 code');
  const { dir, cleanup } = tempDir('libc-interp');
  t.after(cleanup);
  const marker = join(dir, 'ran');
  // A "loader" that only leaves a mark (raw syscalls: open(O_CREAT|O_WRONLY), exit). The old way, exec of the
  // program with LD_TRACE_LOADED_OBJECTS set, ran it and the mark appeared.
  writeSource(dir, 'evil_ld.c', 'static long sys(long n, long a, long b, long c) { long r; __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory"); return r; }\n' +
    `void _start(void) { sys(2, (long)"${marker}", 0101, 0644); sys(60, 0, 0, 0); }\n`);
  gcc(['-static', '-nostdlib', '-fno-stack-protector', '-O1', '-o', 'evil-ld.so', 'evil_ld.c'], dir);
  writeSource(dir, 'prog.c', 'int main(void) { return 0; }\n');
  gcc([`-Wl,--dynamic-linker=${join(dir, 'evil-ld.so')}`, '-o', 'prog', 'prog.c'], dir);
  assert.throws(() => allocatorLibraryOf(join(dir, 'prog')), /not a system one \(give --lib PATH\)/);
  assert.equal(existsSync(marker), false, 'the program (its loader) was run');
  // A normal program is listed by the system loader, not run: its own main would leave the mark.
  writeSource(dir, 'normal.c', `#include <stdio.h>\nint main(void) { FILE *f = fopen("${marker}", "w"); if (f) fclose(f); return 0; }\n`);
  gcc(['-o', 'normal', 'normal.c'], dir);
  assert.equal(allocatorLibraryOf(join(dir, 'normal')).flavor, 'glibc');
  assert.equal(existsSync(marker), false, 'the program was run');
  assert.equal(systemLoader(join(dir, 'evil-ld.so')), undefined);
  assert.equal(systemLoader('/tmp/ld-linux-x86-64.so.2'), undefined);
});
