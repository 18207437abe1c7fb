import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { mappingKind, parseSmaps, summarizeMappings } from './smaps.js';
import { parseSmapsRollup } from './smaps_rollup.js';
import type { Mapping, MappingKind } from '../model/proc_files.js';
import type { Bytes } from '../model/units.js';

const files = [...corpus('smaps'), ...corpus('local-6.18', /^smaps-/), ...fixtures(/^smaps-.*-local\.txt$/)];
const k = (n: number): number => n * 1024;
const kbMap = (o: Record<string, number>): Record<string, Bytes> => o as Record<string, Bytes>;
/** Header lines counted independently of the parser: "start-end perms ". */
const headerCount = (text: string): number => text.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ [r-][w-][x-][ps] /.test(l)).length;

test('smaps: every real sample parses with no warnings, one mapping per header, every field', () => {
  assert.ok(files.length >= 7, `only ${files.length} smaps samples`);
  for (const f of files) {
    const { value, warnings } = parseSmaps(f.text);
    assert.deepEqual(warnings, [], f.name);
    assert.equal(value.mappings.length, headerCount(f.text), f.name);
    // Each "Key: N kB" line lands in bytes, each unitless one in counts, VmFlags once per mapping.
    const kbLines = f.text.split('\n').filter((l) => /^\w+:\s+\d+ kB\s*$/.test(l)).length;
    const countLines = f.text.split('\n').filter((l) => /^\w+:\s+\d+\s*$/.test(l)).length;
    let kb = 0, counts = 0, flags = 0;
    for (const m of value.mappings) {
      kb += Object.keys(m.bytes).length;
      counts += Object.keys(m.counts).length;
      if (m.vmFlags) flags++;
      assert.ok(m.bytes['Size'] !== undefined && m.bytes['Rss'] !== undefined, `${f.name} ${m.start}`);
    }
    assert.equal(kb, kbLines, f.name);
    assert.equal(counts, countLines, f.name);
    assert.equal(flags, value.mappings.length, f.name);
  }
});

test('smaps: a Go binary, all 12 mappings (procfs alertmanager)', () => {
  const { value } = parseSmaps(corpus('smaps', /alertmanager/)[0]!.text);
  const rows = value.mappings.map((m) => [m.start, m.end, m.perms, m.name, m.kind, m.bytes['Size']! / 1024]);
  assert.deepEqual(rows, [
    ['00400000', '00cb1000', 'r-xp', '/bin/alertmanager', 'file', 8900],
    ['00cb1000', '016b0000', 'r--p', '/bin/alertmanager', 'file', 10236],
    ['016b0000', '0171a000', 'rw-p', '/bin/alertmanager', 'file', 424],
    ['0171a000', '0173f000', 'rw-p', '', 'anon', 148],
    ['c000000000', 'c000400000', 'rw-p', '', 'anon', 4096],
    ['c000400000', 'c001600000', 'rw-p', '', 'anon', 18432],
    ['c001600000', 'c004000000', 'rw-p', '', 'anon', 43008],
    ['7f0ab95ca000', '7f0abbb7b000', 'rw-p', '', 'anon', 38596],
    ['7ffc07ecf000', '7ffc07ef0000', 'rw-p', '[stack]', 'stack', 132],
    ['7ffc07f9e000', '7ffc07fa1000', 'r--p', '[vvar]', 'special', 12],
    ['7ffc07fa1000', '7ffc07fa3000', 'r-xp', '[vdso]', 'special', 8],
    ['ffffffffff600000', 'ffffffffff601000', 'r-xp', '[vsyscall]', 'special', 4],
  ]);
  const want: Mapping = {
    start: '00400000', end: '00cb1000', perms: 'r-xp', offset: '00000000', dev: 'fd:01', inode: 952273,
    name: '/bin/alertmanager', kind: 'file',
    bytes: kbMap({
      Size: k(8900), KernelPageSize: k(4), MMUPageSize: k(4), Rss: k(2952), Pss: k(2952), Shared_Clean: 0,
      Shared_Dirty: 0, Private_Clean: k(2952), Private_Dirty: 0, Referenced: k(2864), Anonymous: 0, LazyFree: 0,
      AnonHugePages: 0, ShmemPmdMapped: 0, Shared_Hugetlb: 0, Private_Hugetlb: 0, Swap: 0, SwapPss: 0, Locked: 0,
    }),
    counts: {},
    vmFlags: ['rd', 'ex', 'mr', 'mw', 'me', 'dw', 'sd'],
  };
  assert.deepEqual(value.mappings[0], want);
  // Summed by hand (awk over the file): Size 123996, Rss 29948, Pss 29944, Private 15548 + 14396, Swap 1940, Anonymous 20756.
  assert.deepEqual(summarizeMappings(value.mappings),
    { vss: k(123996), rss: k(29948), pss: k(29944), uss: k(29944), swap: k(1940), swapPss: k(1940), anon: k(20756) });
});

test('smaps: the same process\'s smaps_rollup holds exactly the sums (procfs fixture pid 26231)', () => {
  const maps = parseSmaps(corpus('smaps', /alertmanager/)[0]!.text).value.mappings;
  const rollup = parseSmapsRollup(corpus('smaps_rollup', /prometheus-procfs/)[0]!.text).value;
  const { vss: _vss, ...summed } = summarizeMappings(maps);
  assert.deepEqual(summed, rollup.memory);
});

test('smaps: Android mapping with a Name: line and THP-less kernel (Pixel 3 systemui)', () => {
  const { value } = parseSmaps(corpus('smaps', /pixel3/)[0]!.text);
  assert.equal(value.mappings.length, 2885);
  const want: Mapping = {
    start: '12c00000', end: '32c00000', perms: 'rw-p', offset: '00000000', dev: '00:00', inode: 0,
    name: '[anon:dalvik-main space (region space)]', kind: 'anon',
    bytes: kbMap({
      Size: k(524288), KernelPageSize: k(4), MMUPageSize: k(4), Rss: k(11420), Pss: k(11420), Shared_Clean: 0,
      Shared_Dirty: 0, Private_Clean: 0, Private_Dirty: k(11420), Referenced: k(11420), Anonymous: k(11420),
      AnonHugePages: 0, ShmemPmdMapped: 0, Shared_Hugetlb: 0, Private_Hugetlb: 0, Swap: 0, SwapPss: 0, Locked: 0,
    }),
    counts: {},
    vmFlags: ['rd', 'wr', 'mr', 'mw', 'me', 'ac'],
  };
  assert.deepEqual(value.mappings[0], want);
  const kinds: Record<string, number> = {};
  for (const m of value.mappings) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
  assert.equal(kinds['heap'], undefined); // bionic/scudo name their heaps [anon:...]
  assert.equal(kinds['stack'], 1);
  assert.ok((kinds['so'] ?? 0) > 500 && (kinds['anon'] ?? 0) > 500 && (kinds['shmem'] ?? 0) > 0, JSON.stringify(kinds));
});

test('smaps: memfd and THPeligible on an older Android kernel (dalvik 2056)', () => {
  const { value } = parseSmaps(corpus('smaps', /dalvik-2056/)[0]!.text);
  const m = value.mappings[2]!;
  assert.deepEqual([m.start, m.perms, m.dev, m.inode, m.name, m.kind, m.bytes['Size'], m.bytes['Shared_Dirty'], m.counts],
    ['59f26000', 'r--s', '00:01', 3073, '/memfd:jit-zygote-cache (deleted)', 'shmem', k(32768), k(8), { THPeligible: 0 }]);
  assert.deepEqual(value.mappings[0]!.vmFlags, ['rd', 'wr', 'mr', 'mw', 'me', 'ac', 'nh']);
});

test('smaps: python3 smaps against its smaps_rollup and smem (local-6.18)', () => {
  const maps = parseSmaps(corpus('local-6.18', /^smaps-python3/)[0]!.text).value.mappings;
  const sum = summarizeMappings(maps);
  const rollup = parseSmapsRollup(corpus('local-6.18', /^smaps_rollup-python3/)[0]!.text).value.memory;
  assert.equal(sum.rss, rollup.rss);
  assert.equal(sum.rss, k(64744)); // status VmRSS of the same process
  // The files were read moments apart while a second python3 (smem) shared libc: Pss/USS move by a few pages.
  near(sum.pss, rollup.pss, 0.005, 'pss vs rollup');
  near(sum.uss, rollup.uss, 0.005, 'uss vs rollup');
  // smem -t -P 'python3 -c': "6166 ... Swap 0 USS 62484 PSS 62979 RSS 64744" (KiB).
  const smem = /^\s*6166\s.*?\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/m.exec(corpus('local-6.18', /^smem-P-python3/)[0]!.text);
  assert.ok(smem, 'smem row for pid 6166');
  const [swap, uss, pss, rss] = smem.slice(1).map((s) => k(Number(s)));
  assert.equal(sum.rss, rss);
  assert.equal(sum.swap, swap);
  near(sum.pss, pss!, 0.01, 'pss vs smem');
  near(sum.uss, uss!, 0.01, 'uss vs smem');
  assert.deepEqual(
    [sum.vss, sum.rss, sum.pss, sum.uss, sum.swap, sum.swapPss],
    [k(67788), k(64744), k(63286), k(63096), 0, 0],
  );
});

test('smaps: this machine\'s python3, smaps and smaps_rollup read in one command', () => {
  const maps = parseSmaps(fixtures(/^smaps-python3-local/)[0]!.text).value.mappings;
  const sum = summarizeMappings(maps);
  const rollup = parseSmapsRollup(fixtures(/^smaps_rollup-python3-local/)[0]!.text).value.memory;
  assert.equal(sum.rss, rollup.rss);
  assert.equal(sum.swap, rollup.swap);
  // Each mapping's Pss is cut to whole kB; the rollup cuts once: the sum may exceed it by < 1 kB per mapping.
  assert.ok(sum.pss >= rollup.pss && sum.pss - rollup.pss < k(maps.length), `${sum.pss} vs ${rollup.pss}`);
  near(sum.uss, rollup.uss, 0.005, 'uss');
  // Anonymous pages are counted the same way per mapping and in the rollup.
  assert.equal(sum.anon, rollup.anon);
});

test('smaps: kinds by name', () => {
  const cases: Array<[string, MappingKind]> = [
    ['', 'anon'], ['[heap]', 'heap'], ['[stack]', 'stack'], ['[stack:1234]', 'stack'],
    ['[anon:dalvik-main space (region space)]', 'anon'], ['[anon:stack_and_tls:3645]', 'anon'],
    ['[anon_shmem:ring]', 'shmem'], ['[vdso]', 'special'], ['[vvar]', 'special'], ['[vsyscall]', 'special'],
    ['[vvar_vclock]', 'special'], ['[page size compat]', 'special'],
    ['/usr/lib/x86_64-linux-gnu/libc.so.6', 'so'], ['/usr/lib/x86_64-linux-gnu/libbz2.so.1.0.4', 'so'],
    ['/system/lib64/libhwui.so', 'so'], ['/usr/lib/python3.11/lib-dynload/_bz2.cpython-311-x86_64-linux-gnu.so', 'so'],
    ['/opt/my lib/libx.so.2 (deleted)', 'so'], ['/usr/lib/libfoo.so.conf', 'file'], ['/usr/lib/x.sock', 'file'],
    ['/usr/bin/python3.11', 'file'], ['/usr/lib/locale/C.utf8/LC_CTYPE', 'file'], ['/dev/kgsl-3d0', 'file'],
    ['/dev/zero (deleted)', 'shmem'], ['/SYSV00000000 (deleted)', 'shmem'], ['/memfd:jit-cache (deleted)', 'shmem'],
    ['memfd:wayland-shm (deleted)', 'shmem'], ['/dev/shm/pulse-shm-1', 'shmem'], ['/dev/ashmem/MessageQueue (deleted)', 'shmem'],
    ['anon_inode:[perf_event]', 'special'], ['/dmabuf (deleted)', 'file'],
  ];
  assert.deepEqual(cases.map(([n]) => [n, mappingKind(n)]), cases);
});

test('smaps: odd lines (CRLF, names with spaces, Name: only, broken header, orphans, ProtectionKey)', () => {
  const text = [
    'Size: 4 kB', // line 1: before any header
    'Rss: 4 kB',
    '7f00-7f10 rw-s 00000000 00:05 12     /tmp/my file (deleted)\r',
    'Size:   64 kB\r',
    'ProtectionKey:         0\r',
    'VmFlags: rd wr sh \r',
    '',
    '8000-9000 rw-p 00000000 00:00 0 ',
    'Name:           [anon:scudo:primary]',
    'Size: 4 kB',
    'Rss: lots',
    'Pss: 4 MB',
    'junk',
    'zz-yy broken header',
    'dead-beef rw-p',
    'Size: 8 kB',
    'Rss: 8 kB',
    'a000-b000 r--p 00000000 00:00 0 [heap]',
    'Size: 99999999999999999999 kB',
  ].join('\n');
  const { value, warnings } = parseSmaps(text);
  assert.deepEqual(value.mappings.map((m) => [m.start, m.end, m.perms, m.dev, m.inode, m.name, m.kind, m.bytes, m.counts, m.vmFlags]), [
    ['7f00', '7f10', 'rw-s', '00:05', 12, '/tmp/my file (deleted)', 'file', { Size: k(64) }, { ProtectionKey: 0 }, ['rd', 'wr', 'sh']],
    ['8000', '9000', 'rw-p', '00:00', 0, '[anon:scudo:primary]', 'anon', { Size: k(4) }, {}, undefined],
    ['a000', 'b000', 'r--p', '00:00', 0, '[heap]', 'heap', {}, {}, undefined],
  ]);
  assert.deepEqual(warnings.map((w) => [w.line, w.severity]), [
    [1, 'data-loss'], [11, 'data-loss'], [12, 'data-loss'], [13, 'data-loss'], [14, 'data-loss'], [15, 'data-loss'],
    [19, 'data-loss'],
  ]);
  assert.equal(parseSmaps('hello\nworld\n').warnings.length, 1);
  assert.deepEqual(parseSmaps(''), { value: { mappings: [] }, warnings: [] });
});

test('smaps: a 1.8 MB Android smaps parses whole, the same on every run (its speed is a bench figure, not a test)', () => {
  const text = corpus('smaps', /pixel3/)[0]!.text;
  const a = parseSmaps(text);
  assert.ok(a.value.mappings.length > 1000, `${a.value.mappings.length} mappings`);
  assert.deepEqual(parseSmaps(text), a);
});

function near(got: number, want: number, rel: number, what: string): void {
  assert.ok(Math.abs(got - want) <= Math.abs(want) * rel, `${what}: ${got} vs ${want} (more than ${rel * 100}% apart)`);
}
