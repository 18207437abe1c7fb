import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../test/corpus.js';
import { checkFirstWatched, parseWatchNumber, parseWatchSpec, parseWatchSpecs, reduceWatched } from './watch_file.js';
import { InputError } from '../model/errors.js';

test('parseWatchSpec: default kv, explicit formats, colons in paths and regexes', () => {
  const cases: [string, string, string, string][] = [
    ['/proc/mi_modules/mi_sys_mma/mma_heap_name0', '/proc/mi_modules/mi_sys_mma/mma_heap_name0', 'mma_heap_name0', 'kv'],
    ['/sys/kernel/debug/ion/heaps/system:table', '/sys/kernel/debug/ion/heaps/system', 'system', 'table'],
    ['/dev/shm/a:b:kv', '/dev/shm/a:b', 'a_b', 'kv'],
    ['/proc/net/tcp:count:^\\s*\\d+: 0100007F', '/proc/net/tcp', 'tcp', 'count'],
    ['/tmp/x:count:a:b', '/tmp/x', 'x', 'count'],
  ];
  for (const [spec, path, name, kind] of cases) {
    const w = parseWatchSpec(spec);
    assert.deepEqual([w.path, w.name, w.format.kind], [path, name, kind], spec);
  }
  const c = parseWatchSpec('/tmp/x:count:a:b');
  assert.equal(c.format.kind === 'count' ? c.format.regex.source : '', 'a:b');
});

test('parseWatchSpec refuses an empty path, an empty or invalid regex', () => {
  for (const bad of [':kv', '/x:count:', '/x:count:(']) assert.throws(() => parseWatchSpec(bad), InputError, bad);
});

test('parseWatchSpecs keeps two files with one base name apart', () => {
  assert.deepEqual(parseWatchSpecs(['/a/heap', '/b/heap:table', '/c/other']).map((w) => w.name), ['heap', 'heap_2', 'other']);
});

test('parseWatchNumber: units to bytes, hex, bare counts, words', () => {
  const cases: [string, number | undefined][] = [
    ['4096 kB', 4194304], ['  12', 12], ['0x1000', 4096], ['3 MB', 3 * 1024 ** 2], ['2GiB', 2 * 1024 ** 3],
    ['17 pages', 17], ['-5', -5], ['1.5 K', 1536], ['none', undefined], ['', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseWatchNumber(text), want, text);
});

test('kv: "key: value" and "key = value" lines; words and repeated keys are warned, not fatal', () => {
  const text = 'heap_name: mma_heap_name0\ntotal size: 0x4000000\nused = 12288 kB\nfree: 52 MB\nchunks: 7\nchunks: 8\nno separator here\n';
  const r = reduceWatched(text, { kind: 'kv' });
  assert.deepEqual(r.value, { total_size: 0x4000000, used: 12288 * 1024, free: 52 * 1024 ** 2, chunks: 8 });
  assert.deepEqual(r.warnings.map((w) => [w.line, w.reason]), [
    [1, 'value is not a number'], [6, 'key "chunks" repeated; the later value is kept'], [7, 'no "key: value" or "key = value" separator'],
  ]);
});

test('table: header + named rows, header naming the first column or not, numbered rows', () => {
  const named = reduceWatched('name   size   used\nmma0   4096   1024\nmma1   8192   0x10\n', { kind: 'table' });
  assert.deepEqual(named.value, { 'mma0.size': 4096, 'mma0.used': 1024, 'mma1.size': 8192, 'mma1.used': 16 });
  const noFirst = reduceWatched('size used\nmma0 1 2\n', { kind: 'table' });
  assert.deepEqual(noFirst.value, { 'mma0.size': 1, 'mma0.used': 2 });
  const numbered = reduceWatched('\nstart  len\n100 4kB\n200 8\n', { kind: 'table' });
  assert.deepEqual(numbered.value, { '1.start': 100, '1.len': 4096, '2.start': 200, '2.len': 8 });
  assert.deepEqual(reduceWatched('', { kind: 'table' }), { value: {}, warnings: [] });
});

test('count:REGEX counts matching lines; a global regex does not skip lines', () => {
  const text = 'alloc 1\nfree 1\nalloc 2\nalloc 3\n';
  assert.deepEqual(reduceWatched(text, { kind: 'count', regex: /^alloc/g }).value, { count: 3 });
  assert.deepEqual(reduceWatched('', { kind: 'count', regex: /x/ }).value, { count: 0 });
});

test('kv on real one-line and sockstat files of this machine: named numbers, never nothing', () => {
  const read = (n: string): string => readFileSync(join(fixturesDir, n), 'utf8');
  const fileNr = read('file-nr-local.txt').trim().split(/\s+/).map(Number);
  assert.deepEqual(reduceWatched(read('file-nr-local.txt'), { kind: 'kv' }, '/proc/sys/fs/file-nr').value, { allocated: fileNr[0], free: fileNr[1], max: fileNr[2] });
  assert.deepEqual(Object.keys(reduceWatched(read('dentry-state-local.txt'), { kind: 'kv' }, '/proc/sys/fs/dentry-state').value), ['nr_dentry', 'nr_unused', 'age_limit', 'want_pages', 'nr_negative', 'dummy']);
  const sock = reduceWatched(read('sockstat-local.txt'), { kind: 'kv' }, '/proc/net/sockstat').value;
  const tcp = /^TCP: inuse (\d+) orphan (\d+) tw (\d+) alloc (\d+) mem (\d+)$/m.exec(read('sockstat-local.txt'));
  assert.ok(tcp);
  assert.deepEqual([sock['sockets.used'], sock['TCP.inuse'], sock['TCP.mem'], sock['FRAG.memory']], [
    Number(/^sockets: used (\d+)$/m.exec(read('sockstat-local.txt'))?.[1]), Number(tcp[1]), Number(tcp[5]), 0,
  ]);
});

test('a watched file that gives no numbers is an error at the first sample, with the format to try', () => {
  const spec = parseWatchSpec('/proc/version');
  assert.throws(() => checkFirstWatched([spec], [{ name: spec.name, values: {} }], []), /--watch-file "\/proc\/version" gives no numbers as kv at the first sample .*try ":table"/);
  assert.throws(() => checkFirstWatched([spec], [], [{ name: spec.name, error: 'no such file' }]), /Cannot watch "\/proc\/version": no such file at the first sample/);
  assert.doesNotThrow(() => checkFirstWatched([spec], [{ name: spec.name, values: { x: 1 } }], []));
});

test('--watch-file PATH:dmabuf on a real dma_buf/bufinfo (Pixel 3): total and per-exporter bytes and buffers', () => {
  const text = readFileSync(join(fixturesDir, '..', 'corpus', 'dmabuf', 'android12-pixel3-bufinfo-ion.txt'), 'utf8');
  const spec = parseWatchSpec('/sys/kernel/debug/dma_buf/bufinfo:dmabuf');
  assert.deepEqual([spec.name, spec.format.kind], ['bufinfo', 'dmabuf']);
  assert.deepEqual(reduceWatched(text, spec.format, spec.path).value, { bytes: 120500224, buffers: 172, 'ion.bytes': 120500224, 'ion.buffers': 172 });
});

test('--watch-file PATH:mali on real mali0/gpu_memory files: device total, contexts, each process summed', () => {
  const spec = parseWatchSpec('/sys/kernel/debug/mali0/gpu_memory:mali');
  assert.deepEqual([spec.name, spec.format.kind], ['gpu_memory', 'mali']);
  const read = (name: string): string => readFileSync(join(fixturesDir, '..', 'corpus', 'mali', name), 'utf8');
  assert.deepEqual(reduceWatched(read('memcapture-realtek-skyxione-gpu_memory.txt'), spec.format, spec.path).value, {
    pages: 45605, contexts: 6, 'pid15898.pages': 14102, 'pid15833.pages': 42, 'pid9134.pages': 3316, 'pid8344.pages': 20929, 'pid6235.pages': 135, 'pid4962.pages': 7081,
  });
  // MediaTek's file does not say its unit: "used".
  assert.deepEqual(Object.entries(reduceWatched(read('memcapture-mediatek-xumo-mt120v1-gpu_memory.txt'), spec.format, spec.path).value).slice(0, 3), [['used', 39241], ['contexts', 6], ['pid8338.used', 1224]]);
  // A file that is not gpu_memory gives nothing, which the first sample turns into an error.
  assert.deepEqual(reduceWatched('hello\n', spec.format, spec.path).value, {});
});

test('--watch-file PATH:ion on a real ION system heap (Qualcomm): total, orphaned, deferred free, pools, each client process', () => {
  const spec = parseWatchSpec('/sys/kernel/debug/ion/heaps/system:ion');
  assert.deepEqual([spec.name, spec.format.kind], ['system', 'ion']);
  const text = readFileSync(join(fixturesDir, '..', 'corpus', 'ion', 'aosp-ionmemoryutiltest-qcom-system-heap-repeats-removed.txt'), 'utf8');
  assert.deepEqual(reduceWatched(text, spec.format, spec.path).value, {
    bytes: 55193600, orphaned: 0, deferred_free: 0, pools: 83570688,
    'pid765.bytes': 61440 + 4096 + 4096, 'pid96.bytes': 8192 + 4096, 'pid1232.bytes': 16728064, 'pid611.bytes': 50642944,
  });
  assert.deepEqual(reduceWatched('hello\n', spec.format, spec.path).value, {});
});
