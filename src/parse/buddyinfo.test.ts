import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseBuddyinfo } from './buddyinfo.js';

const files = [...corpus('buddyinfo'), ...corpus('local-6.18', /^buddyinfo\.txt$/), ...fixtures(/^buddyinfo-local\.txt$/)];

test('buddyinfo corpus: every real file parses, 3 zones of 11 orders, no warning', () => {
  assert.equal(files.length, 3);
  for (const f of files) {
    const r = parseBuddyinfo(f.text);
    assert.deepStrictEqual(r.warnings, [], f.name);
    assert.deepStrictEqual(r.value.zones.map((z) => [z.node, z.zone, z.freeByOrder.length]), [[0, 'DMA', 11], [0, 'DMA32', 11], [0, 'Normal', 11]], f.name);
  }
});

test('buddyinfo: whole values', () => {
  assert.deepStrictEqual(parseBuddyinfo(corpus('buddyinfo')[0]?.text ?? '').value, {
    zones: [
      { node: 0, zone: 'DMA', freeByOrder: [1, 0, 1, 0, 2, 1, 1, 0, 1, 1, 3] },
      { node: 0, zone: 'DMA32', freeByOrder: [759, 572, 791, 475, 194, 45, 12, 0, 0, 0, 0] },
      { node: 0, zone: 'Normal', freeByOrder: [4381, 1093, 185, 1530, 567, 102, 4, 0, 0, 0, 0] },
    ],
  });
  // local-6.18: trailing space at line end
  assert.deepStrictEqual(parseBuddyinfo(corpus('local-6.18', /^buddyinfo\.txt$/)[0]?.text ?? '').value.zones[2], { node: 0, zone: 'Normal', freeByOrder: [1632, 732, 601, 866, 489, 432, 251, 152, 105, 90, 248] });
});

test('buddyinfo: odd input', () => {
  const r = parseBuddyinfo('Node 1, zone   Normal 1 2 3\nNode x, zone DMA 1\nNode 0, zone DMA 1 two\n');
  assert.deepStrictEqual(r.value.zones, [{ node: 1, zone: 'Normal', freeByOrder: [1, 2, 3] }]);
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[2, 'data-loss'], [3, 'data-loss']]);
  assert.equal(parseBuddyinfo('').warnings[0]?.severity, 'error');
  for (const s of ['Node', 'Node 0,', 'Node 0, zone', ',,,']) assert.doesNotThrow(() => parseBuddyinfo(s));
});
