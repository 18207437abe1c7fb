import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures } from '../../../test/corpus.js';
import { heaptrackSize, parseHeaptrackPrint } from './heaptrack.js';

const files = fixtures(/^heaptrack_print-(?!default).*\.txt$/);
test('heaptrack fixtures are present', () => assert.equal(files.length, 2));

test('heaptrack_print without -l (local fixture): no sites, and an error that quotes the leak total and the command to re-run', () => {
  const [f] = fixtures(/^heaptrack_print-default-local\.txt$/);
  assert.ok(f);
  const r = parseHeaptrackPrint(f.text);
  assert.deepEqual(r.value.sites, []);
  assert.equal(r.value.totals.leakedBytes, 866);
  assert.deepEqual(r.warnings.filter((w) => w.severity === 'error').map((w) => w.reason), [
    'the report says "total memory leaked: 866B" but lists no leak sites (heaptrack_print was run without -l): run heaptrack_print -l -f ht.zst',
  ]);
});

const SRC = '/work/main/test/fixtures/leaky_heap.c';
for (const f of files) {
  test(`heaptrack ${f.name}: leak sites name the leaking lines of leaky_heap.c`, () => {
    const r = parseHeaptrackPrint(f.text);
    assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
    assert.deepEqual(
      r.value.sites.map((s) => `${s.bytes}/${s.count} ${s.stack.map((fr) => `${fr.symbol ?? fr.address ?? ''}:${fr.line ?? ''}`).join('<')}`),
      ['640/10 leak_tick:29<main:40', '100/1 leak_once:24<main:35', '48/3 make_list:15<main:36', '48/1 main:37', '30/3 __GI___strdup:42<make_list:16<main:36'],
    );
    assert.equal(r.value.totals.leakedBytes, 866);
    assert.equal(r.value.sites.reduce((a, s) => a + s.bytes, 0), 866);
    assert.deepEqual(Object.keys(r.value.sections), ['MOST CALLS TO ALLOCATION FUNCTIONS', 'PEAK MEMORY CONSUMERS', 'MEMORY LEAKS', 'MOST TEMPORARY ALLOCATIONS']);
  });
}

test('heaptrack merged output: a site whole, totals', () => {
  const [f] = fixtures(/^heaptrack_print-local\.txt$/);
  assert.ok(f);
  const r = parseHeaptrackPrint(f.text, 'ht.txt');
  assert.deepEqual(r.value.sites[0], {
    stack: [
      { symbol: 'leak_tick', file: SRC, line: 29, module: '/tmp/leaky_heap' },
      { symbol: 'main', file: SRC, line: 40, module: '/tmp/leaky_heap' },
    ],
    bytes: 640,
    count: 10,
    kind: 'outstanding',
    tool: 'heaptrack',
    origin: 'ht.txt:142',
  });
  assert.deepEqual(r.value.totals, { runtimeSec: 0, allocationCalls: 20, temporaryAllocations: 1, peakHeapBytes: 73570, peakRssBytes: 3990000, leakedBytes: 866 });
  assert.equal(r.value.command, '/tmp/leaky_heap 0');
  // the unsymbolized libstdc++ frame of the peak section
  assert.deepEqual(r.value.sections['PEAK MEMORY CONSUMERS']?.[0]?.stack[0], { address: '0x7fb807ca57b9', module: '/lib/x86_64-linux-gnu/libstdc++.so.6' });
  assert.equal(r.value.sections['PEAK MEMORY CONSUMERS']?.[0]?.bytes, 72700);
});

test('heaptrack sizes are decimal', () => {
  assert.deepEqual(['640B', '72.70K', '3.99M', '1.5G', 'x'].map(heaptrackSize), [640, 72700, 3990000, 1500000000, undefined]);
});

test('heaptrack: junk never throws, and text with no leak total is an error, not "no leaks"', () => {
  assert.equal(parseHeaptrackPrint('MOST CALLS TO ALLOCATION FUNCTIONS\n').warnings.filter((w) => w.severity === 'error').length, 1);
  for (const t of ['', 'MEMORY LEAKS', 'MEMORY LEAKS\n1B leaked over 1 calls from:\n  at x']) assert.doesNotThrow(() => parseHeaptrackPrint(t));
});

test('a garbled total runtime ("0.0.00.00s.") is a warning and no runtime, never NaN', () => {
  const f = fixtures(/^heaptrack_print-local/)[0]!;
  const r = parseHeaptrackPrint(f.text.replace('total runtime: 0.00s.', 'total runtime: 0.0.00.00s.'));
  assert.equal(r.value.totals.runtimeSec, undefined);
  assert.ok(r.warnings.some((w) => /total runtime is not a number/.test(w.reason)));
  assert.equal(parseHeaptrackPrint(f.text).value.totals.runtimeSec, 0);
});
