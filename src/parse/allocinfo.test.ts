import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures } from '../../test/corpus.js';
import { parseAllocinfo } from './allocinfo.js';

test('allocinfo: the documented example (sizes through numfmt, shell prompt first), whole value', () => {
  const f = fixtures(/^allocinfo-documented-format\.txt$/)[0];
  assert.ok(f, 'test/fixtures/allocinfo-documented-format.txt');
  const r = parseAllocinfo(f.text);
  assert.equal(r.value.sites.length, 11);
  assert.equal(r.value.version, undefined, 'sort moved the header away and tail cut it');
  assert.deepStrictEqual(r.value.sites[2], {
    bytes: Math.round(4.0 * 2 ** 20), calls: 1010, file: 'drivers/staging/ctagmod/ctagmod.c', line: 20, module: 'ctagmod', func: 'ctagmod_start',
  });
  assert.deepStrictEqual(r.value.sites[10], { bytes: 122 * 2 ** 20, calls: 31168, file: 'mm/page_ext.c', line: 270, func: 'alloc_page_ext' });
  // Explained: line 1 is the shell prompt of the example, and the sizes are rounded by numfmt.
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[1, 'info'], [2, 'info']]);
});

test('allocinfo: the kernel format (raw bytes, header, module, 2.0 "accurate:no"), whole value', () => {
  const text = [
    'allocinfo - version: 1.0',
    '#     <size>  <calls> <tag info>',
    '           0        0 init/main.c:1314 func:do_initcalls ',
    '         512        1 arch/x86/events/rapl.c:681 func:init_rapl_pmus ',
    '          16        1 fs/xfs/xfs_mount.c:87 [xfs] func:xfs_uuid_mount ',
    '        -4096        3 mm/slub.c:2442 func:alloc_slab_page accurate:no ',
    '       1234*       5* lib/foo.c:1 func:foo ',
  ].join('\n');
  assert.deepStrictEqual(parseAllocinfo(text), {
    value: {
      version: '1.0',
      sites: [
        { bytes: 0, calls: 0, file: 'init/main.c', line: 1314, func: 'do_initcalls' },
        { bytes: 512, calls: 1, file: 'arch/x86/events/rapl.c', line: 681, func: 'init_rapl_pmus' },
        { bytes: 16, calls: 1, file: 'fs/xfs/xfs_mount.c', line: 87, module: 'xfs', func: 'xfs_uuid_mount' },
        { bytes: -4096, calls: 3, file: 'mm/slub.c', line: 2442, func: 'alloc_slab_page', context: 'accurate:no' },
        { bytes: 1234, calls: 5, file: 'lib/foo.c', line: 1, func: 'foo', context: 'accurate:no' },
      ],
    },
    warnings: [],
  });
});

test('allocinfo: malformed lines are reported with their line numbers', () => {
  const r = parseAllocinfo('allocinfo - version: 2.0\n1 2 nofile func:x\n1 2 a.c:3 nofunc\n1 x a.c:3 func:y\n');
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[2, 'data-loss'], [3, 'data-loss'], [4, 'data-loss'], [0, 'error']]);
  for (const s of ['', '1', '1 2', '1 2 :', '1 2 a:1 [', '1 2 a:1 [] func:', '\u0000']) assert.doesNotThrow(() => parseAllocinfo(s));
});
