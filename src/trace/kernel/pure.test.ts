/** Pure parts: format files captured on this machine (Linux 6.18, x86_64), a synthetic ring-buffer page, bpftrace JSON lines, the bounded table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEventFormat, parseHeaderEvent, parseHeaderPage } from './event_format.js';
import { decodePage, readKey48 } from './ring_buffer.js';
import { parseBpftraceOutput } from './bpftrace_program.js';
import { OutstandingTable, summarizeBySite } from './outstanding.js';
import { testdataDir } from './testing.js';

const td = (n: string): string => readFileSync(join(testdataDir(), n), 'utf8');

test('kmem_cache_alloc format (6.18): name is a __data_loc string at 24', () => {
  const f = parseEventFormat(td('kmem_cache_alloc.format'));
  assert.equal(f.value.id, 659);
  assert.deepEqual(f.value.fields.get('name'), { name: 'name', type: '__data_loc char[]', offset: 24, size: 4, signed: false, dataLoc: true });
  assert.equal(f.value.fields.get('call_site')?.offset, 8);
  assert.equal(f.value.fields.get('bytes_alloc')?.offset, 40);
  assert.deepEqual(f.warnings, []);
});

test('header_page / header_event of this machine', () => {
  assert.deepEqual(parseHeaderPage(td('header_page')).value, { timestampOffset: 0, commitOffset: 8, commitSize: 8, dataOffset: 16, dataSize: 4080 });
  assert.deepEqual(parseHeaderEvent(td('header_event')).value, { typeLenBits: 5, timeDeltaBits: 27, padding: 29, timeExtend: 30, timeStamp: 31, dataMaxTypeLen: 28 });
});

test('decodePage walks data, time-extend and padding records', () => {
  const page = Buffer.alloc(4096);
  page.writeUInt32LE(1000, 0); // timestamp
  let off = 16;
  const rec = (typeLen: number, delta: number, words: number[]): void => {
    page.writeUInt32LE(((delta << 5) | typeLen) >>> 0, off); off += 4;
    for (const w of words) { page.writeUInt32LE(w, off); off += 4; }
  };
  rec(2, 5, [0x0293, 0xabcd]);          // 8-byte record at ts 1005
  rec(30, 1, [2]);                      // time extend: 2 << 27 | 1
  rec(0, 3, [12, 0x0291, 7]);           // type_len 0: length word (8 data bytes + 4)
  rec(29, 0, [0]);                      // null padding: end
  page.writeUInt32LE(off - 16, 8);
  const seen: [number, number][] = [];
  const st = decodePage(page, 4096, parseHeaderPage(td('header_page')).value, parseHeaderEvent(td('header_event')).value, (b, o, _l, ts) => seen.push([b.readUInt16LE(o), ts]));
  assert.deepEqual(seen, [[0x0293, 1005], [0x0291, 1005 + 2 * 2 ** 27 + 1 + 3]]);
  assert.equal(st.records, 2);
  assert.equal(st.missed, false);
});

test('readKey48 keeps the low 48 bits of a kernel pointer', () => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(0xffff8881613fb840n);
  assert.equal(readKey48(b, 0), 0x8881613fb840);
});

test('bpftrace -f json lines: samples, caches, objects with 64-bit sites', () => {
  const text = [
    '{"type": "attached_probes", "data": {"probes": 7}}',
    '{"type": "printf", "data": "memsleuth-start 1201526805725\\n"}',
    '{"type": "printf", "data": "memsleuth-sample 1202529749230\\n"}',
    '{"type": "stats", "data": {"@a": {"-2123648052": {"count": 14, "average": 192, "total": 2688}}}}',
    '{"type": "printf", "data": "memsleuth-final 1204845107372\\n"}',
    '{"type": "map", "data": {"@cache": {"-2123648052": "filp"}}}',
    '{"type": "map", "data": {"@live": {"0xffff8881613fb840": [18446744071585903564,192,1201529740730]}}}',
  ].join('\n');
  const r = parseBpftraceOutput(text).value;
  assert.equal(r.attachedProbes, 7);
  assert.equal(r.samples[0]?.allocs.get(0xffff816bb3cc)?.count, 14);
  assert.equal(r.caches.get(0xffff816bb3cc), 'filp');
  assert.deepEqual(r.objects, [{ ptr: 0x8881613fb840, site: 0xffff816bb3cc, bytes: 192, allocNs: 1201529740730 }]);
});

test('OutstandingTable: bounded, evicted objects stay counted against their site', () => {
  const t = new OutstandingTable(2);
  t.alloc(1, 100, 64, 0);
  t.alloc(2, 200, 32, 1e9);
  t.alloc(3, 200, 32, 2e9);   // evicts ptr 1 (oldest)
  assert.equal(t.free(2), true);
  assert.equal(t.free(1), false);
  assert.equal(t.counters.evicted, 1);
  assert.deepEqual(summarizeBySite(t.objects(), 3e9, 0, t.evicted()).map((s) => [s.site, s.count, s.evicted]), [[100, 1, 1], [200, 1, 0]]);
  assert.deepEqual(summarizeBySite(t.objects(), 3e9, 2.5, t.evicted()).map((s) => s.site), [100]);
});

test('bpftrace program, sampled 1 in 16: the address test guards allocations and the frees that look them up', async () => {
  const { bpftraceProgram } = await import('./bpftrace_program.js');
  const base = { windowSec: 5, settleSec: 1, intervalSec: 1, kmalloc: true, cache: true, stacks: false };
  const exact = bpftraceProgram(base);
  assert.doesNotMatch(exact, /args->ptr >> 6/);
  const p = bpftraceProgram({ ...base, sampleEvery: 16 });
  for (const probe of ['tracepoint:kmem:kmalloc', 'tracepoint:kmem:kmem_cache_alloc', 'tracepoint:kmem:kfree, tracepoint:kmem:kmem_cache_free']) {
    const line = p.split('\n').find((l) => l.startsWith(`${probe} /`)) ?? '';
    // First, so that the 15 events in 16 it rejects skip the rest of the predicate.
    assert.match(line, / \/\(\(uint64\)args->ptr >> 6\) % 16 == 0 && elapsed < /, line);
  }
});

test('a sampled outcome is scaled back up and says its error', async () => {
  const { scaleSampled } = await import('./bpftrace_engine.js');
  const outcome = {
    summaries: [{ site: 1, bytes: 100 * 192, count: 100, ageSec: { min: 0, max: 5, avg: 2 }, evicted: 0, sizes: [192] }],
    caches: new Map<number, string>(),
    samples: [{ t: 1, sites: new Map([[1, { bytes: 50 * 192, count: 50 }]]) }],
    lost: { total: 0, detail: [] },
    counters: { allocs: 1000, frees: 900, matchedFrees: 900, replaced: 0, evicted: 0 },
    interrupted: false,
    warnings: [],
  };
  const s = scaleSampled(outcome, 16);
  assert.deepEqual([s.summaries[0]?.count, s.summaries[0]?.bytes], [1600, 1600 * 192]);
  assert.deepEqual(s.samples[0]?.sites.get(1), { bytes: 800 * 192, count: 800 });
  assert.equal(s.counters.allocs, 16000);
  // 100 sampled objects: sqrt(15/1600) = 0.097, ±19% at two standard errors.
  assert.match(s.warnings[0] ?? '', /one object in 16 tracked .* ±19% for the top site \(100 sampled objects\)/);
  assert.equal(scaleSampled(outcome, 1), outcome);
});

test('recursion misses: summed over the program fds of a real bpftrace run, absent field is undefined', async () => {
  const { parseRecursionMisses } = await import('./recursion_misses.js');
  const { readFileSync } = await import('node:fs');
  const { fixturesDir } = await import('../../../test/corpus.js');
  const { join } = await import('node:path');
  // Six programs; the two free tracepoints' programs skipped 9 and 13,188 frees (test/fixtures/SOURCES.md).
  assert.equal(parseRecursionMisses(readFileSync(join(fixturesDir, 'bpftrace-prog-fdinfo-local.txt'), 'latin1')), 13197);
  assert.equal(parseRecursionMisses('pos:\t0\nmap_type:\t6\nmax_entries:\t1\n'), undefined);
  assert.equal(parseRecursionMisses('\u0000garbage recursion_misses: x\n'), undefined);
});
