import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { dumpsysSeries, parseDumpsysMeminfo } from './dumpsys_meminfo.js';

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

test('dumpsys meminfo system summary (Meizu phone, Android 5, 2015): lists, RAM lines, and the rows the post left out', () => {
  const [f] = corpus('dumpsys_meminfo', /duanqz.*system-summary/);
  assert.ok(f);
  const r = parseDumpsysMeminfo(f.text);
  const sys = r.value.system;
  assert.ok(sys);
  assert.deepEqual([r.value.processes.length, r.value.uptimeMs, r.value.realtimeMs], [0, 899197, 1401967]);
  // The post kept 9 of the processes, with "..." where it cut the rest.
  assert.equal(sys.byProcess.length, 9);
  assert.deepEqual(sys.byProcess[1], { name: 'com.android.launcher3', pid: 2800, note: 'activities', pss: 70310 * KiB });
  assert.deepEqual(sys.byProcess[8], { name: 'thermal', pid: 267, pss: 139 * KiB });
  assert.deepEqual(sys.elidedAt, [9, 22, 29]);
  // Each "..." is said where it stands, and each OOM group whose listed processes fall short of it (all but System,
  // Foreground, Perceptible and Home, whose one process is the whole group).
  assert.deepEqual(r.warnings.filter((w) => w.line > 0).map((w) => [w.line, w.severity]), [[9, 'info'], [22, 'info'], [29, 'info']]);
  assert.deepEqual(r.warnings.filter((w) => w.line === 0).map((w) => /"(.*)" add up to (\d+) kB of its (\d+) kB/.exec(w.reason)?.slice(1)), [
    ['Native', '37624', '59705'], ['Persistent', '97437', '127448'], ['Visible', '11123', '45730'], ['A Services', '12634', '27550'],
    ['B Services', '7694', '60033'], ['Cached', '38412', '59686']]);
  // OOM groups: ten, whose PSS adds up to used pss + cached pss of the RAM lines (538151 + 59686 = 597837 kB).
  assert.deepEqual(sys.byOom.map((g) => g.name), ['Native', 'System', 'Persistent', 'Foreground', 'Visible', 'Perceptible', 'A Services', 'Home', 'B Services', 'Cached']);
  assert.equal(sys.byOom.reduce((n, g) => n + g.pss, 0), 597837 * KiB);
  assert.deepEqual(sys.byOom[0]?.processes.map((p) => [p.name, p.pid, p.pss / KiB]), [['mediaserver', 242, 21648], ['zygote', 240, 10510], ['surfaceflinger', 239, 5250], ['batterywarning', 274, 110], ['thermald', 270, 106]]);
  // Cached: its five listed processes add up to 38412 kB of the group's 59686 kB: the post cut rows there too,
  // without a "..." (so only the totals tell).
  const cached = sys.byOom[9];
  assert.deepEqual([cached?.processes.length, cached?.processes.reduce((n, p) => n + p.pss, 0), cached?.pss], [5, 38412 * KiB, 59686 * KiB]);
  // Categories: 19, adding up to the same 597837 kB.
  assert.equal(sys.byCategory.length, 19);
  assert.deepEqual(sys.byCategory[0], { name: 'Dalvik', pss: 280038 * KiB });
  assert.deepEqual(sys.byCategory[18], { name: 'Memtrack', pss: 0 });
  assert.equal(sys.byCategory.reduce((n, c) => n + c.pss, 0), 597837 * KiB);
  assert.deepEqual(sys.ram, { 'Total RAM': 1945628 * KiB, 'Free RAM': 1182598 * KiB, 'Used RAM': 570943 * KiB, 'Lost RAM': 192087 * KiB });
  assert.deepEqual(sys.ramParts, {
    'Free RAM': { 'cached pss': 59686 * KiB, cached: 326668 * KiB, free: 796244 * KiB },
    'Used RAM': { 'used pss': 538151 * KiB, buffers: 3440 * KiB, shmem: 464 * KiB, slab: 28888 * KiB },
  });
  // Each RAM line is the sum of its parts, and Total = Free + Used + Lost.
  for (const [k, parts] of Object.entries(sys.ramParts)) assert.equal(Object.values(parts).reduce((n, v) => n + v, 0), sys.ram[k], k);
  assert.equal((sys.ram['Free RAM'] ?? 0) + (sys.ram['Used RAM'] ?? 0) + (sys.ram['Lost RAM'] ?? 0), sys.ram['Total RAM']);
  assert.deepEqual(sys.zram, { physical: 4 * KiB, inSwap: 0, totalSwap: 524284 * KiB });
});

test('dumpsys meminfo system summary as series: RAM lines, OOM groups, categories, process PSS under proc keys', () => {
  const [f] = corpus('dumpsys_meminfo', /duanqz.*system-summary/);
  assert.ok(f);
  const s = dumpsysSeries(parseDumpsysMeminfo(f.text).value);
  assert.equal(s['dumpsys.ram.lost'], 192087 * KiB);
  assert.equal(s['dumpsys.pss.oom.A%20Services'], 27550 * KiB);
  assert.equal(s['dumpsys.pss.category.%2Eso%20mmap'], 68836 * KiB);
  assert.equal(s['proc.com%2Eandroid%2Esystemui:1037.pss'], 76739 * KiB);
  assert.equal(Object.keys(s).filter((k) => k.startsWith('proc.')).length, 9);
  // Per-process output has no summary, so no series from it.
  const [p] = corpus('dumpsys_meminfo', /pixel3-systemui/);
  assert.ok(p);
  assert.deepEqual(dumpsysSeries(parseDumpsysMeminfo(p.text).value), {});
});
