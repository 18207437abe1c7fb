import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../../test/corpus.js';
import { parseValgrindText } from './valgrind.js';

/** Files that hold no leak record by construction (summary-only output). */
const NO_RECORDS = new Set(['local-valgrind-3.19-debian12-leak-check-summary.txt']);

const files = [...corpus('valgrind'), ...fixtures(/^valgrind-memcheck-.*\.txt$/)];
test('valgrind corpus is present', () => assert.ok(files.length >= 8));

for (const f of files) {
  test(`valgrind ${f.name}: no throw, records, no unexplained data loss`, () => {
    const r = parseValgrindText(f.text);
    if (!NO_RECORDS.has(f.name)) assert.ok(r.value.sites.length > 0);
    assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
    for (const s of r.value.sites) assert.ok(s.stack.length > 0, `site at ${s.origin ?? ''} has a stack`);
  });
}

test('valgrind 3.19 full: the (direct, indirect) record becomes its direct bytes, with the whole stack', () => {
  const [f] = corpus('valgrind', /x86_64-leak-check-full/);
  assert.ok(f);
  const r = parseValgrindText(f.text, 'leaky.log');
  assert.deepEqual(r.value.records[5], {
    line: 33,
    lossRecord: 6,
    lossRecords: 6,
    totalBytes: 147,
    indirectBytes: 131,
    site: {
      stack: [
        { address: '0x48417B4', module: '/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so', symbol: 'malloc' },
        { address: '0x10918E', file: 'leaky.c', line: 16, symbol: 'make_list' },
        { address: '0x109200', file: 'leaky.c', line: 28, symbol: 'main' },
      ],
      bytes: 16,
      indirectBytes: 131,
      count: 1,
      kind: 'definite',
      tool: 'valgrind',
      origin: 'leaky.log:33',
      pids: [29254],
    },
  });
  assert.deepEqual(r.value.sites.map((s) => s.kind), ['indirect', 'possible', 'reachable', 'indirect', 'definite', 'definite']);
  // Site bytes add up to the LEAK SUMMARY, kind by kind.
  const sum = (k: string): number => r.value.sites.filter((s) => s.kind === k).reduce((a, s) => a + s.bytes, 0);
  const ls = r.value.summary.leakSummaries[0];
  assert.deepEqual([sum('definite'), sum('indirect'), sum('possible'), sum('reachable')], [ls?.definitelyLost?.bytes, ls?.indirectlyLost?.bytes, ls?.possiblyLost?.bytes, ls?.stillReachable?.bytes]);
  assert.deepEqual(r.value.summary.heap, { inUseBytes: 359, inUseBlocks: 9, allocs: 12, frees: 3, allocatedBytes: 4497 });
  assert.deepEqual(r.value.summary.errorSummary, { errors: 3, contexts: 3, suppressedErrors: 0, suppressedContexts: 0 });
});

test('valgrind 3.11 -v: --PID-- chatter skipped, thousands separators, a non-leak error set aside once', () => {
  const [f] = corpus('valgrind', /siddheshsathe/);
  assert.ok(f);
  const r = parseValgrindText(f.text);
  assert.deepEqual(r.value.sites, [
    {
      stack: [
        { address: '0x4C2DB8F', module: '/usr/lib/valgrind/vgpreload_memcheck-amd64-linux.so', symbol: 'malloc' },
        { address: '0x400577', file: 'test_leaker.c', line: 5, symbol: 'main' },
      ],
      bytes: 1000,
      count: 1,
      kind: 'definite',
      tool: 'valgrind',
      origin: 'valgrind:89',
      pids: [23337],
    },
  ]);
  assert.deepEqual(r.value.otherErrors, [
    { what: 'Conditional jump or move depends on uninitialised value(s)', line: 76, stack: [{ address: '0x400580', file: 'test_leaker.c', line: 7, symbol: 'main' }] },
  ]);
  assert.equal(r.value.summary.version, '3.11.0');
  assert.deepEqual(r.value.summary.leakSummaries[0]?.definitelyLost, { bytes: 1000, blocks: 1 });
});

test('valgrind filtered test output: incremental LEAK SUMMARY deltas and "reachable via heuristic"', () => {
  const [f] = corpus('valgrind', /leak_cpp_interior/);
  assert.ok(f);
  const r = parseValgrindText(f.text);
  assert.equal(r.value.summary.leakSummaries.length, 8);
  const second = r.value.summary.leakSummaries[1];
  assert.deepEqual(second?.possiblyLost, { blocks: 4, deltaBlocks: 4 });
  assert.deepEqual(second?.reachableViaHeuristic?.['multipleinheritance'], { blocks: 2, deltaBytes: 0, deltaBlocks: 0 });
  assert.equal(r.value.summary.allHeapFreed, true);
  // "x bytes" was filtered: the record is kept, its byte count is unknown and said so.
  assert.equal(r.value.sites.length, 1);
  assert.equal(r.warnings[0]?.severity, 'info');
});

test('valgrind lks: program lines that look like summary lines ("suppressed:  96 bytes") are not read as one', () => {
  const [f] = corpus('valgrind', /lks/);
  assert.ok(f);
  const r = parseValgrindText(f.text);
  assert.equal(r.value.summary.leakSummaries.length, 2);
  assert.deepEqual(r.value.summary.leakSummaries[1]?.suppressed, { bytes: 96, blocks: 6 });
});

test('valgrind local fixture: names leaky_heap.c lines of the leaking mallocs', () => {
  const [f] = fixtures(/^valgrind-memcheck-local\.txt$/);
  assert.ok(f);
  const r = parseValgrindText(f.text);
  const where = r.value.sites.map((s) => `${s.kind} ${s.bytes} ${s.stack.filter((fr) => fr.file === 'leaky_heap.c').map((fr) => fr.line).join('<')}`);
  assert.deepEqual(where, ['indirect 30 16<36', 'indirect 32 15<36', 'reachable 48 37', 'definite 16 15<36', 'definite 100 24<35', 'definite 640 29<40']);
});

test('valgrind: never throws on junk', () => {
  for (const t of ['', '\n\n', '==1== ', 'x bytes in y blocks are definitely lost', '   at 0x1: ', '==12== LEAK SUMMARY:\n==12==    definitely lost: lots']) {
    assert.doesNotThrow(() => parseValgrindText(t));
  }
});

test('valgrind "78 (16 direct, 62 indirect)": the site keeps its 62 indirect bytes beside the 16 direct (local fixture)', () => {
  const [f] = fixtures(/^valgrind-memcheck-local\.txt$/);
  assert.ok(f);
  const site = parseValgrindText(f.text).value.sites.find((s) => s.kind === 'definite' && s.bytes === 16);
  assert.ok(site);
  assert.equal(site.indirectBytes, 62);
  // The indirect-only records still carry the same 62 bytes as their own sites: site bytes add up to the summary.
  assert.equal(parseValgrindText(f.text).value.sites.filter((s) => s.kind === 'indirect').reduce((a, s) => a + s.bytes, 0), 62);
});
