import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../../test/corpus.js';
import { mergeSites, rankSites } from '../../model/allocation_sites.js';
import { mtraceCaller, parseMtrace } from './mtrace.js';

const files = corpus('mtrace');
test('mtrace corpus is present', () => assert.ok(files.length >= 3));

for (const f of files) {
  test(`mtrace ${f.name}: no throw, 9 blocks / 359 bytes in 5 sites, no warnings`, () => {
    const r = parseMtrace(f.text);
    assert.equal(r.value.sites.length, 5);
    assert.equal(r.value.sites.reduce((a, s) => a + s.bytes, 0), 359);
    assert.equal(r.value.sites.reduce((a, s) => a + s.count, 0), 9);
    assert.deepEqual(r.warnings, []);
  });
}

test('mtrace raw trace: replayed, the freed libc stdio buffer is not a leak', () => {
  const [f] = corpus('mtrace', /raw/);
  assert.ok(f);
  const r = parseMtrace(f.text, 'trace');
  assert.equal(r.value.format, 'raw');
  assert.deepEqual(r.value.stats, { allocs: 12, frees: 3, reallocs: 0, outstanding: 9, outstandingBytes: 359 });
  assert.deepEqual(r.value.sites[1], { stack: [{ module: './leaky-mtrace', moduleOffset: '0x11b3' }], bytes: 99, count: 3, kind: 'outstanding', tool: 'mtrace', origin: 'trace:4' });
});

test('mtrace report with the binary: file:line, discriminator dropped', () => {
  const [f] = corpus('mtrace', /with-binary/);
  assert.ok(f);
  const r = parseMtrace(f.text, 'report');
  assert.equal(r.value.format, 'report');
  assert.deepEqual(r.value.sites.map((s) => [s.stack[0]?.line, s.bytes, s.count]), [[26, 100, 1], [17, 99, 3], [30, 64, 1], [16, 48, 3], [31, 48, 1]]);
  assert.deepEqual(r.value.sites[3], { stack: [{ file: '/home/dev/gen/leaky.c', line: 16 }], bytes: 48, count: 3, kind: 'outstanding', tool: 'mtrace', origin: 'report:5' });
});

test('mtrace report without the binary: raw caller addresses', () => {
  const [f] = corpus('mtrace', /no-binary/);
  assert.ok(f);
  assert.deepEqual(parseMtrace(f.text).value.sites[0]?.stack, [{ address: '0x11fa' }]);
});

test('mtrace caller forms', () => {
  assert.deepEqual(mtraceCaller('/lib/x86_64-linux-gnu/libc.so.6:(_IO_file_doallocate+8c)', '0x758cc'), {
    module: '/lib/x86_64-linux-gnu/libc.so.6',
    moduleOffset: '0x758cc',
    symbol: '_IO_file_doallocate',
    offset: '+0x8c',
  });
  assert.deepEqual(mtraceCaller('', '0x4005d4'), { address: '0x4005d4' });
});

test('mtrace: realloc pairs, failed realloc and junk', () => {
  const r = parseMtrace(['= Start', '@ ./p:[0x10] + 0x1000 0x10', '@ ./p:[0x20] < 0x1000', '@ ./p:[0x20] > 0x2000 0x40', '= End'].join('\n'));
  assert.deepEqual(r.value.sites, [{ stack: [{ module: './p', moduleOffset: '0x20' }], bytes: 64, count: 1, kind: 'outstanding', tool: 'mtrace', origin: 'mtrace:4' }]);
  for (const t of ['', '= Start', '@ x', 'Memory not freed:\n0x1 0x', 'No memory leaks.']) assert.doesNotThrow(() => parseMtrace(t));
  assert.equal(parseMtrace('No memory leaks.').value.noLeaks, true);
});

test('mtrace report callers known only by file:line stay apart when merged (local fixture: lines 29, 24, 15, 37 and strdup.c:44)', () => {
  const [f] = fixtures(/^mtrace-report-local\.txt$/);
  assert.ok(f);
  const sites = rankSites(mergeSites(parseMtrace(f.text, 'mt').value.sites));
  assert.deepEqual(sites.map((s) => [s.stack[0]?.line, s.bytes, s.count]), [[29, 640, 10], [24, 100, 1], [15, 48, 3], [37, 48, 1], [44, 30, 3]]);
});
