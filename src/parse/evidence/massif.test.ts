import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures } from '../../../test/corpus.js';
import { massifFrame, parseMassif } from './massif.js';

test('massif local: series of snapshots, sites from the last detailed tree', () => {
  const [f] = fixtures(/^massif-local\.out$/);
  assert.ok(f);
  const r = parseMassif(f.text, 'massif.out');
  assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
  assert.equal(r.value.cmd, '/tmp/leaky_heap 0');
  assert.equal(r.value.timeUnit, 'i');
  assert.equal(r.value.snapshots.length, 22);
  assert.equal(r.value.sitesSnapshot, 20);
  assert.deepEqual(r.value.snapshots[20], { index: 20, line: 185, time: 138131, heapBytes: 802, heapExtraBytes: 166, stacksBytes: 0, tree: 'detailed' });
  assert.deepEqual(
    r.value.sites.map((s) => `${s.bytes} ${s.stack.map((fr) => `${fr.symbol ?? ''}:${fr.line ?? ''}`).join('<')}`),
    ['576 leak_tick:29<main:40', '100 leak_once:24<main:35', '48 make_list:15<main:36', '48 main:37', '30 strdup:42<make_list:16<main:36'],
  );
  assert.deepEqual(r.value.sites[0], {
    stack: [
      { address: '0x109232', file: 'leaky_heap.c', line: 29, symbol: 'leak_tick' },
      { address: '0x1092C9', file: 'leaky_heap.c', line: 40, symbol: 'main' },
    ],
    bytes: 576,
    count: 0,
    kind: 'outstanding',
    tool: 'massif',
    origin: 'massif.out:194',
  });
  assert.equal(r.value.belowThresholdBytes, 0);
});

test('massif frames', () => {
  assert.deepEqual(massifFrame('0x4005D4: ??? (in /lib/libc.so.6)'), { address: '0x4005D4', module: '/lib/libc.so.6' });
  assert.deepEqual(massifFrame('0x48F19A9: strdup (strdup.c:42)'), { address: '0x48F19A9', file: 'strdup.c', line: 42, symbol: 'strdup' });
});

test('massif: junk never throws', () => {
  for (const t of ['', 'snapshot=', 'n1: 5 x', 'snapshot=0\nheap_tree=detailed\nn3: 10 root\n n0: x']) assert.doesNotThrow(() => parseMassif(t));
});

test('time=<garbage> and 309-digit sizes are warnings; no NaN or Infinity in any snapshot', () => {
  const f = fixtures(/^massif-local/)[0]!;
  const r = parseMassif(f.text.replace('time=135006', 'time=1.3.5x').replace(/^mem_heap_B=\d+$/m, `mem_heap_B=${'9'.repeat(309)}`));
  for (const s of r.value.snapshots) {
    for (const v of [s.time, s.heapBytes, s.heapExtraBytes, s.stacksBytes]) assert.ok(v === undefined || Number.isFinite(v), JSON.stringify(s));
  }
  assert.ok(r.warnings.some((w) => /time is not a number/.test(w.reason)));
  assert.ok(r.warnings.some((w) => /mem_heap_B is not a number|out of range/.test(w.reason)));
});
