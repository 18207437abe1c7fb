import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../../test/corpus.js';
import { parsePageOwner } from './page_owner.js';

const files = corpus('page_owner');

test('page_owner corpus: every file parses, no data-loss', () => {
  assert.ok(files.length >= 1);
  for (const f of files) {
    const r = parsePageOwner(f.text);
    assert.ok(r.value.records.length > 0, f.name);
    assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), [], f.name);
  }
});

test('4.5 record: order, mask with flags, PFN/migratetypes, stack; one site of 4 KiB', () => {
  const f = files.find((x) => x.name.startsWith('lkml-2016-01'));
  assert.ok(f);
  const v = parsePageOwner(f.text).value;
  const r = v.records[0];
  assert.ok(r);
  assert.deepEqual({ ...r, stack: r.stack.slice(0, 2) }, {
    order: 0, gfpMask: '0x24213ca', gfpFlags: ['GFP_HIGHUSER_MOVABLE', '__GFP_COLD', '__GFP_NOWARN', '__GFP_NORETRY'],
    pfn: 520, pageType: 'Movable', block: 1, blockType: 'Movable', flags: '0xfffff8001006c',
    stack: [
      { address: '0xffffffff811682c4', symbol: '__alloc_pages_nodemask', offset: '+0x134', length: '/0x230' },
      { address: '0xffffffff811b4058', symbol: 'alloc_pages_current', offset: '+0x88', length: '/0x120' },
    ],
    bytes: 4096, line: 1,
  });
  assert.equal(r.stack.length, 8);
  assert.deepEqual(v.sites.map((s) => [s.bytes, s.count, s.kind, s.tool, s.stack.length]), [[4096, 1, 'outstanding', 'page_owner', 8]]);
});

test('the same record twice merges into one site of two; higher order counts 4096 << order', () => {
  const f = files.find((x) => x.name.startsWith('lkml-2016-01'));
  assert.ok(f);
  const order2 = f.text.replace('order 0,', 'order 2,');
  const v = parsePageOwner(`${f.text}\n${order2}`).value;
  assert.equal(v.records.length, 2);
  assert.deepEqual(v.sites.map((s) => [s.bytes, s.count]), [[4096 + 16384, 2]]);
});

test('never throws on junk', () => {
  for (const t of ['', 'Page allocated via order x', '3 times, 5 pages:', 'PFN 0x10 type', '\u0000']) {
    assert.doesNotThrow(() => parsePageOwner(t));
  }
});
