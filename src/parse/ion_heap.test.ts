import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseIonHeap } from './ion_heap.js';

test('ION system heap (Qualcomm device, AOSP IonMemoryUtilTest): clients, totals, page pools; the removed lines are said', () => {
  const [f] = corpus('ion', /qcom-system-heap/);
  assert.ok(f);
  const r = parseIonHeap(f.text);
  assert.deepEqual(r.value, {
    clients: [
      { name: 'audio@2.0-servi', pid: 765, bytes: 4096 },
      { name: 'audio@2.0-servi', pid: 765, bytes: 61440 },
      { name: 'audio@2.0-servi', pid: 765, bytes: 4096 },
      { name: 'voip_client', pid: 96, bytes: 8192 },
      { name: 'voip_client', pid: 96, bytes: 4096 },
      { name: 'system_server', pid: 1232, bytes: 16728064 },
      { name: 'surfaceflinger', pid: 611, bytes: 50642944 },
    ],
    orphaned: [],
    totalOrphaned: 0,
    total: 55193600,
    deferredFree: 0,
    poolLines: { uncached: 0, cached: 81985536, secure: 0 },
    poolSummary: { uncached: 4096, cached: 83566592, secure: 0 },
    poolTotal: 83570688,
  });
  // "Repeated lines have been removed" by the test's authors: the pool lines left add up to less than the pool total.
  assert.deepEqual(r.warnings.map((w) => w.reason), ['pool lines add up to 81985536 bytes, "pool total" says 83570688 (pool lines missing from this text?)']);
});

test('ION heap: orphaned rows (plain and titled layouts) are summed against "total orphaned"; junk never throws', () => {
  // Shapes of ion_debug_heap_show's orphan rows ("%16s %16u %16zu %d %d") and of a vendor's titled variant.
  const plain = ['          client              pid             size', '----', 'orphaned allocations (info is from last known client):',
    '        Homescreen            24100           294912 0 1', '  total orphaned           294912', '          total           294912'].join('\n');
  const p = parseIonHeap(plain);
  assert.deepEqual([p.value.orphaned, p.warnings], [[{ name: 'Homescreen', pid: 24100, bytes: 294912 }], []]);
  const titled = ['          client              pid             size', 'orphaned allocations (info is from last known client):',
    '          client      pid             user user_pid             size  mcnt  rcnt',
    ' allocator@2.0-s      257  composer@2.1-se      258          7372800     0     1', '  total orphaned          7372801'].join('\n');
  const t = parseIonHeap(titled);
  assert.deepEqual(t.value.orphaned, [{ name: 'allocator@2.0-s', pid: 257, bytes: 7372800 }]);
  assert.deepEqual(t.warnings.map((w) => w.severity), ['info']);
  for (const x of ['', 'total', 'client pid size\n x 1', 'total 99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999']) {
    assert.doesNotThrow(() => parseIonHeap(x));
  }
  assert.ok(parseIonHeap('hello').warnings.some((w) => w.severity === 'error'));
});
