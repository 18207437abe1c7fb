import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../../test/corpus.js';
import { detectEvidence, EVIDENCE_PARSERS } from './index.js';

const EXPECT: [string, string][] = [
  ['valgrind', 'valgrind'],
  ['valgrind-xml', 'valgrind-xml'],
  ['lsan', 'lsan'],
  ['dmalloc', 'dmalloc'],
  ['mtrace', 'mtrace'],
  ['kmemleak', 'kmemleak'],
  ['page_owner', 'page_owner'],
  ['slub_alloc_calls', 'slub_alloc_calls'],
  ['oom', 'oom'],
];

for (const [folder, format] of EXPECT) {
  test(`detectEvidence: every corpus/${folder} file is ${format}, and its parser gives sites[]`, () => {
    for (const f of corpus(folder)) {
      assert.equal(detectEvidence(f.text), format, f.name);
      const r = EVIDENCE_PARSERS[format as keyof typeof EVIDENCE_PARSERS](f.text);
      assert.ok(Array.isArray(r.value.sites), f.name);
    }
  });
}

test('detectEvidence: local fixtures', () => {
  const got = Object.fromEntries(fixtures(/^(heaptrack_print|massif|bcc-memleak|valgrind-memcheck|lsan)-/).map((f) => [f.name, detectEvidence(f.text)]));
  assert.deepEqual(got, {
    'bcc-memleak-example-excerpt.txt': 'bcc-memleak',
    'heaptrack_print-default-local.txt': 'heaptrack',
    'heaptrack_print-local.txt': 'heaptrack',
    'heaptrack_print-unmerged-local.txt': 'heaptrack',
    'lsan-gcc12-asan-local.txt': 'lsan',
    'massif-local.out': 'massif',
    'valgrind-memcheck-local.txt': 'valgrind',
    'valgrind-memcheck-local.xml': 'valgrind-xml',
  });
});

test('detectEvidence: kernel files are no evidence', () => {
  for (const folder of ['meminfo', 'slabinfo', 'smaps', 'status', 'vmstat', 'zoneinfo', 'local-6.18']) {
    for (const f of corpus(folder)) assert.equal(detectEvidence(f.text), undefined, `${folder}/${f.name}`);
  }
  assert.equal(detectEvidence(''), undefined);
});
