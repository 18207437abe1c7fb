import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../../test/corpus.js';
import { decodeXmlEntities, parseValgrindXml } from './valgrind_xml.js';

/** Files with no leak error by construction: only non-leak errors, or killed before the leak check. */
const NO_LEAKS = new Set([
  'jenkins-valgrind-plugin-sample-file1-3.6.1.xml',
  'valgrind-testexp-gone_abrt_xml.stderr.exp.xml',
  'valgrind-testexp-mismatches_xml.stderr.exp.xml',
]);

const files = corpus('valgrind-xml');
test('valgrind-xml corpus is present', () => assert.ok(files.length >= 7));

for (const f of files) {
  test(`valgrind-xml ${f.name}: no throw, records, no unexplained data loss`, () => {
    const r = parseValgrindXml(f.text);
    if (NO_LEAKS.has(f.name)) assert.ok(r.value.otherErrors.length > 0 || r.value.summary.fatalSignal !== undefined);
    else assert.ok(r.value.sites.length > 0);
    assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
    assert.equal(r.value.summary.truncated, false);
  });
}

test('valgrind-xml local 3.19: a leak error, whole', () => {
  const [f] = corpus('valgrind-xml', /^local-/);
  assert.ok(f);
  const r = parseValgrindXml(f.text, 'leaky.xml');
  assert.equal(r.value.summary.protocolVersion, 4);
  assert.equal(r.value.summary.command, './leaky');
  assert.deepEqual(r.value.leaks[5], {
    line: 189,
    unique: '0x5',
    text: '147 (16 direct, 131 indirect) bytes in 1 blocks are definitely lost in loss record 6 of 6',
    leakedBytes: 147,
    indirectBytes: 131,
    site: {
      stack: [
        { address: '0x48417B4', module: '/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so', symbol: 'malloc' },
        { address: '0x10918E', module: '/home/dev/gen/leaky', symbol: 'make_list', file: '/home/dev/gen/leaky.c', line: 16 },
        { address: '0x109200', module: '/home/dev/gen/leaky', symbol: 'main', file: '/home/dev/gen/leaky.c', line: 28 },
      ],
      bytes: 16,
      indirectBytes: 131,
      count: 1,
      kind: 'definite',
      tool: 'valgrind',
      origin: 'leaky.xml:189',
      pids: [29255],
    },
  });
});

test('valgrind-xml 1.1 MB file: 175 leaks, 31 other errors counted by kind, entities decoded', () => {
  const [f] = corpus('valgrind-xml', /large/);
  assert.ok(f);
  const r = parseValgrindXml(f.text);
  assert.equal(r.value.sites.length, 175);
  assert.deepEqual(r.value.sites.reduce<Record<string, number>>((a, s) => ({ ...a, [s.kind]: (a[s.kind] ?? 0) + 1 }), {}), { reachable: 125, possible: 50 });
  assert.equal(r.value.otherErrors.length, 31);
  assert.ok(r.value.otherErrors.every((e) => e.kind === 'UninitCondition' || e.kind === 'SyscallParam'));
  const symbols = r.value.sites.flatMap((s) => s.stack.map((fr) => fr.symbol ?? ''));
  assert.ok(symbols.includes('CppUnit::TestCaller<DBusAPITest>::setUp()'));
  assert.ok(!symbols.some((s) => s.includes('&amp;') || s.includes('&lt;')));
  assert.deepEqual(r.value.summary.suppressions, [{ name: 'dl-hack3-1', count: 68 }]);
});

test('valgrind-xml file cut in the middle (as by a fatal signal): leaks before the cut, one data-loss warning', () => {
  const [f] = corpus('valgrind-xml', /large/);
  assert.ok(f);
  const cut = f.text.slice(0, 600000);
  const r = parseValgrindXml(cut);
  assert.equal(r.value.summary.truncated, true);
  assert.ok(r.value.sites.length > 50);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.severity]), [[cut.split('\n').length, 'data-loss']]);
});

test('valgrind-xml SIGABRT run: fatal_signal kept, no leaks', () => {
  const [f] = corpus('valgrind-xml', /gone_abrt/);
  assert.ok(f);
  const r = parseValgrindXml(f.text);
  assert.deepEqual(r.value.summary.fatalSignal, { signo: 6, signame: 'SIGABRT', stack: [{ symbol: 'main', file: 'gone.c' }] });
});

test('valgrind-xml MismatchedFree and protocol 6 InvalidRead are set aside', () => {
  const [m] = corpus('valgrind-xml', /mismatches/);
  const [x] = corpus('valgrind-xml', /xml1/);
  assert.ok(m && x);
  assert.deepEqual(parseValgrindXml(m.text).value.summary.errorCountsByKind, { MismatchedFree: 6 });
  const r = parseValgrindXml(x.text);
  assert.equal(r.value.summary.protocolVersion, 6);
  assert.deepEqual(r.value.summary.errorCountsByKind, { InvalidRead: 1, UninitCondition: 1, UninitValue: 1, InvalidFree: 2, SyscallParam: 1, Leak_definite: 1 });
  assert.equal(r.value.sites[0]?.bytes, 396);
});

test('decodeXmlEntities', () => {
  assert.equal(decodeXmlEntities('a &lt;b&gt; &amp;c &quot;&apos; &#65;&#x42; &bogus;'), 'a <b> &c "\' AB &bogus;');
});

test('valgrind-xml: never throws on junk', () => {
  for (const t of ['', '<', '<valgrindoutput', '<valgrindoutput><error><kind>Leak_DefinitelyLost', '</a></b><c>', '<valgrindoutput><error><xwhat><leakedbytes>x</leakedbytes>']) {
    assert.doesNotThrow(() => parseValgrindXml(t));
  }
});

test('valgrind XML "78 (16 direct, 62 indirect)": bytes 16, indirectBytes 62 (local fixture, same program as the text one)', () => {
  const [f] = fixtures(/^valgrind-memcheck-local\.xml$/);
  assert.ok(f);
  const r = parseValgrindXml(f.text).value;
  assert.deepEqual(r.sites.map((s) => [s.kind, s.bytes, s.indirectBytes]), [
    ['indirect', 30, undefined], ['indirect', 32, undefined], ['reachable', 48, undefined], ['definite', 16, 62], ['definite', 100, undefined], ['definite', 640, undefined],
  ]);
});
