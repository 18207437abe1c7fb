import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { corpus } from '../../test/corpus.js';
import { fileOffsetToVaddr, withElfFile } from './elf.js';
import { loadBase, parseProcMaps, resolveAddress } from './proc_maps.js';
import { buildLeaky, printedAddresses, runUntilReady } from './test_programs.js';

test('parseProcMaps: anonymous, pseudo, spaces in path, (deleted), whole records', () => {
  const text = [
    '55d5c6a00000-55d5c6a01000 r-xp 00001000 08:01 1311077                    /usr/bin/sleep',
    '7ffd5e9f3000-7ffd5ea14000 rw-p 00000000 00:00 0                          [stack]',
    '7f1c2a000000-7f1c2a001000 r-xp 00002000 00:19 42  /tmp/my lib.so (deleted)',
    '7f1c29000000-7f1c29100000 rw-p 00000000 00:00 0 ',
    'garbage line',
  ].join('\n');
  const { value, warnings } = parseProcMaps(text);
  assert.deepEqual(value, [
    { start: 0x55d5c6a00000n, end: 0x55d5c6a01000n, perms: 'r-xp', offset: 0x1000n, dev: '08:01', inode: 1311077, path: '/usr/bin/sleep' },
    { start: 0x7ffd5e9f3000n, end: 0x7ffd5ea14000n, perms: 'rw-p', offset: 0n, dev: '00:00', inode: 0, path: '[stack]' },
    { start: 0x7f1c2a000000n, end: 0x7f1c2a001000n, perms: 'r-xp', offset: 0x2000n, dev: '00:19', inode: 42, path: '/tmp/my lib.so', deleted: true },
    { start: 0x7f1c29000000n, end: 0x7f1c29100000n, perms: 'rw-p', offset: 0n, dev: '00:00', inode: 0 },
  ]);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.line, 5);
  assert.deepEqual(resolveAddress(value, '0x7f1c2a000123'), { path: '/tmp/my lib.so', offsetInFile: 0x2123n, mappingStart: 0x7f1c2a000000n, entry: value[2] });
  assert.equal(resolveAddress(value, 0x7ffd5e9f3010n), undefined, '[stack] has no file');
  assert.equal(resolveAddress(value, 0x7f1c29000010n), undefined, 'anonymous memory has no file');
  assert.equal(resolveAddress(value, 0x10n), undefined, 'unmapped');
});

test('parseProcMaps: the mapping lines of every real smaps sample parse with no warnings', () => {
  const files = [...corpus('smaps'), ...corpus('local-6.18', /^smaps-/)];
  assert.ok(files.length > 0);
  for (const f of files) {
    const headers = f.text.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][ps] /.test(l));
    const { value, warnings } = parseProcMaps(headers.join('\n'));
    assert.deepEqual(warnings, [], f.name);
    assert.equal(value.length, headers.length, f.name);
  }
});

test('parseProcMaps: this process\'s live /proc/self/maps', () => {
  const text = readFileSync('/proc/self/maps', 'utf8');
  const { value, warnings } = parseProcMaps(text);
  assert.deepEqual(warnings, []);
  assert.equal(value.length, text.trim().split('\n').length);
  assert.ok(value.some((m) => m.path === process.execPath || m.path?.endsWith('/node') === true));
});

test('resolveAddress + PT_LOAD: PIE, non-PIE and shared-object call sites land on the ELF vaddr (runtime address minus load base)', async (t) => {
  const leaky = buildLeaky();
  t.after(leaky.cleanup);
  for (const exe of [leaky.pie, leaky.nopie]) {
    const run = await runUntilReady(exe);
    try {
      const printed = printedAddresses(run.lines);
      const maps = parseProcMaps(run.maps).value;
      for (const [name, file] of [['main', exe], ['lib', leaky.lib]] as const) {
        const addr = printed[name];
        assert.ok(addr !== undefined, `${exe} printed ${name}`);
        const r = resolveAddress(maps, addr);
        assert.equal(r?.path, file, `${name} address ${addr.toString(16)} maps to ${file}`);
        if (r === undefined) continue;
        const vaddr = withElfFile(file, (e) => (e.ok ? fileOffsetToVaddr(e.elf, r.offsetInFile) : undefined));
        // Independent check: the runtime address minus the load base is the vaddr (first PT_LOAD is at vaddr 0
        // for PIE and .so); for -no-pie the vaddr is the runtime address itself.
        const base = loadBase(maps, file);
        assert.ok(base !== undefined);
        const expected = exe === leaky.nopie && name === 'main' ? addr : addr - base;
        assert.equal(vaddr, expected, `${exe} ${name}`);
      }
    } finally {
      await run.stop();
    }
  }
});
