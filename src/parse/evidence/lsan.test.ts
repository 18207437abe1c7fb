import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../../test/corpus.js';
import { parseSanitizer, parseSanitizerFrame } from './lsan.js';

/** Non-leak ASan reports: recognised, set aside, no sites. */
const NOT_LEAKS = new Set(['codechecker-asan-heap-use-after-free.txt', 'codechecker-asan2-heap-buffer-overflow-glibc2.35.txt']);

const files = [...corpus('lsan'), ...fixtures(/^lsan-.*\.txt$/)];
test('lsan corpus is present', () => assert.ok(files.length >= 11));

for (const f of files) {
  test(`lsan ${f.name}: no throw, records, no unexplained data loss`, () => {
    const r = parseSanitizer(f.text);
    if (NOT_LEAKS.has(f.name)) {
      assert.equal(r.value.sites.length, 0);
      assert.equal(r.value.otherReports.length, 1);
    } else {
      assert.ok(r.value.sites.length > 0);
      assert.ok(r.value.sites.every((s) => s.stack.length > 0));
      // every leak report's records add up to its SUMMARY line
      assert.deepEqual(r.warnings, []);
    }
    assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
  });
}

test('lsan clang ASan: BuildId and module+offset frames, file:line:col frames', () => {
  const [f] = corpus('lsan', /local-clang-asan/);
  assert.ok(f);
  const r = parseSanitizer(f.text, 'asan.log');
  assert.deepEqual(r.value.sites[1], {
    stack: [
      { address: '0x55dda27e614e', module: '/home/dev/gen/leaky-asan-clang', moduleOffset: '0xa414e', symbol: '__interceptor_malloc' },
      { address: '0x55dda2820fa4', file: '/home/dev/gen/leaky.c', line: 16, column: 26, symbol: 'make_list' },
      { address: '0x55dda2820ed6', file: '/home/dev/gen/leaky.c', line: 28, column: 22, symbol: 'main' },
      { address: '0x7fd60b416249', file: 'csu/../sysdeps/nptl/libc_start_call_main.h', line: 58, column: 16, symbol: '__libc_start_call_main' },
    ],
    bytes: 16,
    count: 1,
    kind: 'definite',
    tool: 'lsan',
    origin: 'asan.log:10',
    pids: [29270],
  });
  assert.deepEqual(r.value.reports[0]?.summary, { sanitizer: 'AddressSanitizer', bytes: 247, allocations: 7, line: 28 });
});

test('lsan chromium log: two reports from two pids, noise between, suppressions table', () => {
  const [f] = corpus('lsan', /chromium/);
  assert.ok(f);
  const r = parseSanitizer(f.text);
  assert.deepEqual(r.value.reports.map((x) => [x.pid, x.siteIndexes.length, x.summary?.bytes]), [[3236, 1, 3079], [3294, 1, 10]]);
  assert.deepEqual(r.value.suppressions, [
    { count: 360, bytes: 17792, template: 'libfontconfig', line: 17 },
    { count: 3, bytes: 18072, template: 'libGL.so', line: 63 },
  ]);
  assert.deepEqual(r.value.sites[0]?.stack, [
    { address: '0x7f3b595f8acb', symbol: '__interceptor_malloc' },
    { address: '0x7f3b4ed87839', file: '/build/buildd/eglibc-2.19/string/strdup.c', line: 42, symbol: '__GI___strdup' },
  ]);
});

test('lsan heap-use-after-free is an other report with its access stack', () => {
  const [f] = corpus('lsan', /heap-use-after-free/);
  assert.ok(f);
  const r = parseSanitizer(f.text);
  const o = r.value.otherReports[0];
  assert.equal(o?.kind, 'heap-use-after-free');
  assert.equal(o?.summary, 'AddressSanitizer: heap-use-after-free files/asan.cpp:5:10 in main');
  assert.deepEqual(o?.stack[0], { address: '0x4f4b44', file: 'files/asan.cpp', line: 5, column: 10, symbol: 'main' });
});

test('lsan frame forms', () => {
  const cases: [string, string, object][] = [
    ['0x4d5058', ' in malloc _asan_rtl_', { address: '0x4d5058', module: '_asan_rtl_', symbol: 'malloc' }],
    ['0x7fee08409afa', '  (<unknown module>)', { address: '0x7fee08409afa' }],
    ['0x7f1d1174876b', ' in operator new[](unsigned long)', { address: '0x7f1d1174876b', symbol: 'operator new[](unsigned long)' }],
    ['0x7f334b52eb96', ' in __libc_start_main (??)', { address: '0x7f334b52eb96', symbol: '__libc_start_main' }],
    ['0x1', ' in Builtin_implHandleApiCall /v8/src/builtins.cc:1115 (discriminator 1)', { address: '0x1', file: '/v8/src/builtins.cc', line: 1115, symbol: 'Builtin_implHandleApiCall' }],
    ['0x2', ' in __libc_start_main@GLIBC_2.2.5 (/lib64/libc.so.6+0x406ef)', { address: '0x2', module: '/lib64/libc.so.6', moduleOffset: '0x406ef', symbol: '__libc_start_main@GLIBC_2.2.5' }],
    ['0x3', ' in __interceptor_malloc ??:?', { address: '0x3', symbol: '__interceptor_malloc' }],
  ];
  for (const [a, rest, want] of cases) assert.deepEqual(parseSanitizerFrame(a, rest), want, rest);
});

test('lsan local gcc fixture: names leaky_heap.c lines of the leaking mallocs', () => {
  const [f] = fixtures(/^lsan-gcc12-asan-local\.txt$/);
  assert.ok(f);
  const r = parseSanitizer(f.text);
  const where = r.value.sites.map((s) => `${s.kind} ${s.bytes} ${s.stack.filter((fr) => fr.file?.endsWith('/leaky_heap.c')).map((fr) => fr.line).join('<')}`);
  assert.deepEqual(where, ['definite 640 29<40', 'definite 100 24<35', 'definite 16 15<36', 'indirect 32 15<36', 'indirect 30 16<36']);
});

test('lsan: never throws on junk', () => {
  for (const t of ['', '#0', '    #0 0x1', 'Direct leak of 1 byte(s) in 1 object(s) allocated from:\n    #0 0x1 in', 'SUMMARY: AddressSanitizer: 1 byte(s) leaked in 1 allocation(s).', '==1==ERROR: AddressSanitizer:']) {
    assert.doesNotThrow(() => parseSanitizer(t));
  }
});
