import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures, seed } from '../../test/corpus.js';
import { parseSlabinfo } from './slabinfo.js';
import { parseMeminfo } from './meminfo.js';
import type { ParseWarning } from '../model/parsed.js';
import type { SlabCache } from '../model/proc_files.js';

const serious = (ws: ParseWarning[]): ParseWarning[] => ws.filter((w) => w.severity !== 'info');

const files = [...corpus('slabinfo'), ...corpus('local-6.18', /^slabinfo\.txt$/), ...fixtures(/^slabinfo-local\.txt$/)];

test('slabinfo corpus: every real file parses with no data-loss or error warning', () => {
  assert.ok(files.length >= 6);
  for (const f of files) {
    const r = parseSlabinfo(f.text);
    assert.ok(r.value.caches.length > 0, `${f.name}: no cache`);
    assert.deepStrictEqual(serious(r.warnings), [], `${f.name}: unexpected warnings`);
    // Every ": slabdata" in the text is one cache: nothing lost, nothing invented.
    const rows = f.text.split('\n').filter((l) => /: slabdata\s+\d/.test(l)).length;
    assert.equal(r.value.caches.length, rows, f.name);
  }
});

test('slabinfo 2.1 SLUB: a row, whole value, with the derived byte figures', () => {
  const f = corpus('slabinfo', /node_exporter/)[0];
  assert.ok(f);
  const r = parseSlabinfo(f.text);
  assert.equal(r.value.version, '2.1');
  assert.equal(r.value.statistics, false);
  assert.deepStrictEqual(r.value.caches[0], {
    name: 'tw_sock_TCP', activeObjs: 704, numObjs: 864, objSize: 256, objPerSlab: 32, pagesPerSlab: 2,
    activeSlabs: 27, numSlabs: 27, sharedAvail: 0, limit: 0, batchCount: 0, sharedFactor: 0,
    slabBytes: 27 * 2 * 4096, activeBytes: 704 * 256,
  });
  assert.deepStrictEqual(r.value.caches.map((c) => c.name), ['tw_sock_TCP', 'dmaengine-unmap-128', 'kmalloc-8192', 'kmem_cache']);
  assert.equal(parseSlabinfo(f.text, { pageSize: 16384 }).value.caches[0]?.slabBytes, 27 * 2 * 16384, 'page size option');
});

test('slabinfo: long names that break column alignment', () => {
  const r = parseSlabinfo(corpus('slabinfo', /prometheus-procfs/)[0]?.text ?? '');
  const byName = new Map(r.value.caches.map((c) => [c.name, c]));
  assert.equal(r.value.caches.length, 300);
  assert.equal(byName.get('nvidia_p2p_page_cache')?.objSize, 368);
  assert.equal(byName.get('nvidia_p2p_page_cache')?.numObjs, 0);
  assert.equal(byName.get('nvidia_stack_cache')?.objSize, 12624);
  assert.equal(byName.get('nvidia_stack_cache')?.numSlabs, 163);
  assert.equal(byName.get('nvidia_stack_cache')?.slabBytes, 163 * 8 * 4096);
});

test('slabinfo 2.0 (statistics), wrapped by a mail client: one cache, named statistics', () => {
  const f = corpus('slabinfo', /lkml-2003/)[0];
  assert.ok(f);
  const r = parseSlabinfo(f.text);
  assert.equal(r.value.version, '2.0');
  assert.equal(r.value.statistics, true);
  assert.deepStrictEqual(r.value.caches, [{
    name: 'broken', activeObjs: 128, numObjs: 2486, objSize: 180, objPerSlab: 22, pagesPerSlab: 1,
    // 2.0 printed limit before batchcount whatever its header said: 32 16 8 is limit 32, batch 16 (SLAB's (limit+1)/2).
    limit: 32, batchCount: 16, sharedFactor: 8,
    activeSlabs: 113, numSlabs: 113, sharedAvail: 128,
    slabBytes: 113 * 4096, activeBytes: 128 * 180,
    statistics: {
      listallocs: 664846, maxobjs: 590238, grown: 26829, reaped: 0, error: 0, maxfreeable: 1, freelimit: 70,
      // The header names 4 cpustat columns, the row has 5 (as mailed): kept by position, not mislabelled.
      'cpustat.0': 1, 'cpustat.1': 974008, 'cpustat.2': 78670, 'cpustat.3': 1990714, 'cpustat.4': 61964,
    },
  }]);
  // Explained info warnings: the mail's prose before the table, and the cpustat column mismatch.
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[1, 'info'], [10, 'info']]);
});

/** The slabinfo dumps of seed 002, each cut from its version line to the line where the table stops. */
function seedDumps(): string[] {
  const lines = seed('002').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!(lines[i] ?? '').startsWith('slabinfo - version:')) continue;
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').startsWith('####')) j++;
    out.push(lines.slice(i, j).join('\n'));
    i = j;
  }
  return out;
}

test('seed 002: both dumps (blank line between lines, header split in two) keep the leaking mi_sys caches', () => {
  const dumps = seedDumps();
  assert.equal(dumps.length, 2);
  const want: Array<Record<string, [number, number, number, number, number, number, number]>> = [
    // name: active_objs num_objs objsize objperslab pagesperslab active_slabs num_slabs
    {
      mi_sys_bufhandle_cachep: [23, 24, 16384, 2, 8, 12, 12],
      g_mi_sys_chunk_cachep: [27, 28, 16384, 2, 8, 14, 14],
      mi_sys_mma_allocation_cachep: [26, 26, 16384, 2, 8, 13, 13],
    },
    {
      mi_sys_bufhandle_cachep: [327, 330, 16384, 2, 8, 173, 173],
      g_mi_sys_chunk_cachep: [334, 338, 16384, 2, 8, 193, 193],
      mi_sys_mma_allocation_cachep: [330, 337, 16384, 2, 8, 188, 188],
    },
  ];
  dumps.forEach((text, d) => {
    const r = parseSlabinfo(text);
    assert.deepStrictEqual(r.warnings, [], `dump ${d}`);
    assert.equal(r.value.caches.length, d === 0 ? 128 : 130);
    for (const [name, [activeObjs, numObjs, objSize, objPerSlab, pagesPerSlab, activeSlabs, numSlabs]] of Object.entries(want[d] ?? {})) {
      const c = r.value.caches.find((x) => x.name === name);
      const expected: SlabCache = {
        name, activeObjs, numObjs, objSize: objSize as SlabCache['objSize'], objPerSlab, pagesPerSlab, activeSlabs, numSlabs,
        sharedAvail: 0, limit: 0, batchCount: 0, sharedFactor: 0,
        slabBytes: (numSlabs * pagesPerSlab * 4096) as SlabCache['slabBytes'],
        activeBytes: (activeObjs * objSize) as SlabCache['activeBytes'],
      };
      assert.deepStrictEqual(c, expected, `dump ${d} ${name}`);
    }
  });
});

test('seed 002: the whole document gives the first table only, the rest skipped with info warnings', () => {
  const r = parseSlabinfo(seed('002'));
  assert.equal(r.value.caches.length, 128);
  assert.deepStrictEqual(serious(r.warnings), []);
  assert.ok(!r.value.caches.some((c) => c.name === 'Mem' || c.name === 'Mem:' || c.name.startsWith('#')));
  assert.deepStrictEqual(r.warnings.map((w) => w.line), [1, 511, 597]);
});

test('seed 002: sum of slab pages is close to meminfo Slab printed just before it', () => {
  // The first meminfo of the capture says Slab: 14508 kB; the slabinfo printed a second later should agree.
  const dumps = seedDumps();
  const total = parseSlabinfo(dumps[0] ?? '').value.caches.reduce((s, c) => s + c.slabBytes, 0);
  const ratio = total / (14508 * 1024);
  assert.ok(ratio > 0.85 && ratio < 1.05, `slab sum / meminfo Slab = ${ratio}`);
});

test('this machine: sum of slabBytes is close to meminfo Slab captured in the same shell command', () => {
  const f = fixtures(/^slabinfo-meminfo-same-moment-local\.txt$/)[0];
  assert.ok(f);
  const [slab = '', mem = ''] = f.text.split('\n@@\n');
  const r = parseSlabinfo(slab);
  assert.deepStrictEqual(serious(r.warnings), []);
  const sum = r.value.caches.reduce((s, c) => s + c.slabBytes, 0);
  const meminfoSlab = parseMeminfo(mem).value.bytes['Slab'] ?? 0;
  // meminfo Slab also counts kmalloc_large() pages (> 8 KiB, straight from the page allocator, in no cache),
  // so slabinfo falls a little short of it; it may never be far above.
  const ratio = sum / meminfoSlab;
  assert.ok(ratio > 0.8 && ratio < 1.02, `slab sum ${sum} / meminfo Slab ${meminfoSlab} = ${ratio}`);
});

test('slabinfo: odd input, named cases', () => {
  const head = 'slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n';
  const row = (name: string): string => `${name} 10 20 64 64 1 : tunables 0 0 0 : slabdata 1 1 0`;

  const cut = parseSlabinfo(`${head}${row('a')}\nb 10 20 64\n`);
  assert.equal(cut.value.caches.length, 1);
  assert.deepStrictEqual(cut.warnings.map((w) => [w.line, w.severity]), [[4, 'data-loss'], [4, 'info']], 'last row cut short');

  const noise = parseSlabinfo(`${head}${row('a')}\n[ 12.345] usb 1-1: new device\n${row('b')}\n`);
  assert.equal(noise.value.caches.length, 2);
  assert.deepStrictEqual(noise.warnings.map((w) => [w.line, w.severity]), [[4, 'info']], 'printk noise inside the table');

  const broken = parseSlabinfo(`${head}${row('a')}\nc 1 2 3 4 5 : tunables 0 0 : slabdata 1 1 0\n${row('b')}\n`);
  assert.deepStrictEqual(broken.warnings.map((w) => [w.line, w.severity]), [[4, 'data-loss']], 'malformed row between rows');

  const crlf = parseSlabinfo(`${head}${row('a')}\r\n`.replace(/\n/g, '\r\n'));
  assert.equal(crlf.value.caches[0]?.name, 'a');

  const noVersion = parseSlabinfo(`${row('a')}\n`);
  assert.equal(noVersion.value.caches.length, 1);
  assert.equal(noVersion.value.version, '');

  const v11 = parseSlabinfo('slabinfo - version: 1.1 (SMP)\nkmem_cache            80     80    244    5    5    1 :  252  126\n');
  assert.deepStrictEqual(v11.value.caches[0], {
    name: 'kmem_cache', activeObjs: 80, numObjs: 80, objSize: 244, objPerSlab: 16, pagesPerSlab: 1,
    activeSlabs: 5, numSlabs: 5, limit: 252, batchCount: 126, slabBytes: 5 * 4096, activeBytes: 80 * 244,
  });
  assert.ok(parseSlabinfo('').warnings.some((w) => w.severity === 'error'), 'empty text');
  const zeroPage = parseSlabinfo(`${head}${row('a')}`, { pageSize: 0 });
  assert.equal(zeroPage.warnings[0]?.severity, 'error', 'page size 0 is refused');
  assert.equal(zeroPage.value.caches[0]?.slabBytes, 4096, 'and the default used');
});

test('slabinfo: never throws on arbitrary text', () => {
  const inputs = ['slabinfo - version:', 'slabinfo - version: 2.1\n:\n: :\n', 'a : b', ': tunables', 'x 1 2 3 4 5 :', '#', '<', '\u0000'];
  for (const s of inputs) assert.doesNotThrow(() => parseSlabinfo(s));
});
