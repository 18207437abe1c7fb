import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parsePagetypeinfo } from './pagetypeinfo.js';
import { parseBuddyinfo } from './buddyinfo.js';

const files = [...corpus('local-6.18', /^pagetypeinfo\.txt$/), ...fixtures(/^pagetypeinfo-local\.txt$/)];

test('pagetypeinfo corpus: every real file parses, 15 free rows and 3 block rows, no warning', () => {
  assert.equal(files.length, 2);
  for (const f of files) {
    const r = parsePagetypeinfo(f.text);
    assert.deepStrictEqual(r.warnings, [], f.name);
    assert.equal(r.value.pageBlockOrder, 9);
    assert.equal(r.value.pagesPerBlock, 512);
    assert.equal(r.value.free.length, 15);
    assert.equal(r.value.blocks.length, 3);
  }
});

test('pagetypeinfo 6.18: whole rows', () => {
  const r = parsePagetypeinfo(files[0]?.text ?? '').value;
  assert.deepStrictEqual(r.free.find((x) => x.zone === 'Normal' && x.type === 'Movable'), { node: 0, zone: 'Normal', type: 'Movable', freeByOrder: [3, 93, 130, 588, 350, 364, 223, 143, 101, 90, 248] });
  assert.deepStrictEqual(r.blocks, [
    { node: 0, zone: 'DMA', counts: { Unmovable: 1, Movable: 7, Reclaimable: 0, HighAtomic: 0, Isolate: 0 } },
    { node: 0, zone: 'DMA32', counts: { Unmovable: 0, Movable: 1528, Reclaimable: 0, HighAtomic: 0, Isolate: 0 } },
    { node: 0, zone: 'Normal', counts: { Unmovable: 53, Movable: 783, Reclaimable: 60, HighAtomic: 0, Isolate: 0 } },
  ]);
});

test('pagetypeinfo and buddyinfo captured the same day agree: per-type free counts sum to the buddy counts', () => {
  // corpus local-6.18: both files from the same moment; the sum over migrate types of each order is buddyinfo's column.
  const p = parsePagetypeinfo(files[0]?.text ?? '').value;
  const b = parseBuddyinfo(corpus('local-6.18', /^buddyinfo\.txt$/)[0]?.text ?? '').value;
  for (const z of b.zones) {
    const sums = z.freeByOrder.map((_, order) => p.free.filter((f) => f.zone === z.zone).reduce((s, f) => s + (f.freeByOrder[order] ?? 0), 0));
    assert.deepStrictEqual(sums, z.freeByOrder, z.zone);
  }
});

test('pagetypeinfo: mixed-blocks table skipped with info, odd lines reported', () => {
  const r = parsePagetypeinfo([
    'Page block order: 10', 'Pages per block:  1024', '',
    'Free pages count per migrate type at order       0      1',
    'Node    0, zone   Normal, type          CMA      5      6',
    'Number of blocks type     Unmovable          CMA',
    'Node 0, zone   Normal            1            2',
    'Number of mixed blocks    Unmovable          CMA',
    'Node 0, zone   Normal            0            0',
    'hello',
  ].join('\n'));
  assert.deepStrictEqual(r.value, {
    pageBlockOrder: 10, pagesPerBlock: 1024,
    free: [{ node: 0, zone: 'Normal', type: 'CMA', freeByOrder: [5, 6] }],
    blocks: [{ node: 0, zone: 'Normal', counts: { Unmovable: 1, CMA: 2 } }],
  });
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[10, 'data-loss'], [8, 'info']]);
  for (const s of ['', 'Page block order:', 'Number of blocks type\nNode 0, zone X 1']) assert.doesNotThrow(() => parsePagetypeinfo(s));
});
