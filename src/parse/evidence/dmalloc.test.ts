import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../../test/corpus.js';
import { mergeSites, rankSites } from '../../model/allocation_sites.js';
import { parseDmalloc } from './dmalloc.js';

const files = corpus('dmalloc');
test('dmalloc corpus is present', () => assert.ok(files.length >= 2));

for (const f of files) {
  test(`dmalloc ${f.name}: no throw, records, no warnings`, () => {
    const r = parseDmalloc(f.text);
    assert.equal(r.value.pointers.length, 10);
    assert.deepEqual(r.warnings, []);
    // grouped by caller, largest first; the 'unknown' caller is the stdio buffer (empty stack)
    assert.deepEqual(
      r.value.sites.map((s) => [s.stack[0]?.line ?? 'unknown', s.bytes, s.count]),
      [['unknown', 4096, 1], [26, 100, 1], [17, 99, 3], [30, 64, 1], [31, 48, 1], [16, 48, 3]],
    );
    assert.deepEqual(r.value.summary.currentInUse, { bytes: 4455, pointers: 10 });
  });
}

test('dmalloc low: a site and the summary, whole', () => {
  const [f] = corpus('dmalloc', /low/);
  assert.ok(f);
  const r = parseDmalloc(f.text, 'dmalloc-low.log');
  assert.deepEqual(r.value.sites[2], { stack: [{ file: 'leaky.c', line: 17 }], bytes: 99, count: 3, kind: 'outstanding', tool: 'dmalloc', origin: 'dmalloc-low.log:35' });
  assert.deepEqual(r.value.summary, {
    version: '5.5.2',
    pid: 29496,
    flags: '0x4e48503',
    allocCalls: { malloc: 11, calloc: 1, realloc: 0, free: 2, recalloc: 0, memalign: 0, posix_memalign: 0, valloc: 0, new: 0, delete: 0 },
    errors: [],
    currentInUse: { bytes: 4455, pointers: 10 },
    totalAllocated: { bytes: 4497, pointers: 12 },
    maxInUse: { bytes: 4455, pointers: 10 },
  });
});

test('dmalloc: without individual pointers, the not-freed table gives the sites', () => {
  const [f] = corpus('dmalloc', /low/);
  assert.ok(f);
  const cut = f.text.split('\n').filter((l) => !l.includes(' not freed: ')).join('\n');
  const r = parseDmalloc(cut);
  assert.deepEqual(r.value.sites.map((s) => [s.stack[0]?.line, s.bytes, s.count]), [[26, 100, 1], [17, 99, 3], [30, 64, 1], [16, 48, 3], [31, 48, 1]]);
  assert.equal(r.warnings[0]?.severity, 'info');
});

test('dmalloc: ra= callers and junk', () => {
  const r = parseDmalloc("not freed: '0x804c008|s1' (10 bytes) from 'ra=0x8048abc'");
  assert.deepEqual(r.value.sites[0]?.stack, [{ address: '0x8048abc' }]);
  for (const t of ['', 'not freed:', "1: 2: not freed: '0x1' (x bytes) from '"]) assert.doesNotThrow(() => parseDmalloc(t));
});

test('dmalloc callers known only by file:line stay apart when merged (local fixture: five lines, five sites)', () => {
  const [f] = fixtures(/^dmalloc-low-local\.log$/);
  assert.ok(f);
  const sites = rankSites(mergeSites(parseDmalloc(f.text, 'dm').value.sites));
  assert.deepEqual(sites.map((s) => [s.stack[0]?.file, s.stack[0]?.line, s.bytes, s.count]), [
    ['leaky_heap.c', 29, 640, 10], ['leaky_heap.c', 24, 100, 1], ['leaky_heap.c', 15, 48, 3], ['leaky_heap.c', 37, 48, 1], ['leaky_heap.c', 16, 30, 3],
  ]);
});
