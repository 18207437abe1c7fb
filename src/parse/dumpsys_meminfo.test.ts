import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseDumpsysMeminfo } from './dumpsys_meminfo.js';

const KiB = 1024;

test('dumpsys meminfo com.android.systemui (Pixel 3, Android 12): category table, App Summary, objects', () => {
  const [f] = corpus('dumpsys_meminfo', /pixel3-systemui/);
  assert.ok(f);
  const r = parseDumpsysMeminfo(f.text);
  assert.deepEqual(r.warnings, []);
  const [p] = r.value.processes;
  assert.ok(p);
  assert.deepEqual([p.pid, p.name, r.value.uptimeMs], [2084, 'com.android.systemui', 152713]);
  assert.deepEqual(p.columns, ['Pss Total', 'Private Dirty', 'Private Clean', 'Swap Dirty', 'Rss Total', 'Heap Size', 'Heap Alloc', 'Heap Free']);
  assert.deepEqual(p.categories['Dalvik Other'], { 'Pss Total': 4459 * KiB, 'Private Dirty': 4216 * KiB, 'Private Clean': 0, 'Swap Dirty': 0, 'Rss Total': 6412 * KiB });
  assert.equal(p.categories['EGL mtrack']?.['Pss Total'], 12912 * KiB);
  // The category rows add up to TOTAL, column by column (Pss): 96932 kB.
  const sum = Object.entries(p.categories).filter(([k]) => k !== 'TOTAL').reduce((n, [, v]) => n + (v['Pss Total'] ?? 0), 0);
  assert.equal(sum, p.categories['TOTAL']?.['Pss Total']);
  assert.deepEqual(p.summary['Java Heap'], { pss: 15316 * KiB, rss: 40844 * KiB });
  assert.deepEqual(p.summary['Private Other'], { pss: 5024 * KiB });
  assert.deepEqual(p.summary['Unknown'], { rss: 8732 * KiB });
  assert.deepEqual([p.summary['TOTAL PSS'], p.summary['TOTAL RSS'], p.summary['TOTAL SWAP (KB)']], [{ pss: 96932 * KiB }, { rss: 182691 * KiB }, { swap: 0 }]);
  assert.equal(p.objects['Local Binders'], 319);
});

test('dumpsys meminfo with SwapPss and Dalvik Details (memory-lab app): 12 detail rows, TOTAL SWAP PSS', () => {
  const [f] = corpus('dumpsys_meminfo', /memorylab/);
  assert.ok(f);
  const r = parseDumpsysMeminfo(f.text);
  assert.deepEqual(r.warnings, []);
  const [p] = r.value.processes;
  assert.ok(p);
  assert.equal(p.columns[3], 'SwapPss Dirty');
  assert.equal(Object.keys(p.dalvikDetails ?? {}).length, 12);
  assert.equal(p.dalvikDetails?.['.LOS']?.['Pss Total'], 10460 * KiB);
  assert.deepEqual(p.summary['TOTAL SWAP PSS'], { swap: 162 * KiB });
  assert.equal(p.categories['TOTAL']?.['Heap Alloc'], 428404 * KiB);
});

test('dumpsys meminfo: junk never throws; no MEMINFO section is an error', () => {
  for (const t of ['', '** MEMINFO in pid 1 [x] **', '** MEMINFO in pid 1 [x] **\n a\n b\n ---\n Native Heap 1 2']) assert.doesNotThrow(() => parseDumpsysMeminfo(t));
  assert.ok(parseDumpsysMeminfo('hello').warnings.some((w) => w.severity === 'error'));
});
