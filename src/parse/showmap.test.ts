import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseShowmap } from './showmap.js';

test('showmap of an Android app (apex paths, 15 columns): rows add up to the TOTAL row, column by column', () => {
  const [f] = corpus('procrank', /showmap/);
  assert.ok(f);
  const r = parseShowmap(f.text);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.value.columns, ['virtual size', 'RSS', 'PSS', 'shared clean', 'shared dirty', 'private clean', 'private dirty', 'swap', 'swapPSS',
    'Anon HugePages', 'Shmem PmdMapped', 'File PmdMapped', 'Shared Hugetlb', 'Private Hugetlb', 'Locked']);
  assert.equal(r.value.rows.length, 1109);
  assert.deepEqual(r.value.rows[0], { object: '/apex/com.android.adbd/lib64/libadbconnection_client.so', mappings: 1, bytes: {
    'virtual size': 288 * 1024, RSS: 76 * 1024, PSS: 5 * 1024, 'shared clean': 72 * 1024, 'shared dirty': 0, 'private clean': 0, 'private dirty': 4 * 1024,
    swap: 4 * 1024, swapPSS: 0, 'Anon HugePages': 0, 'Shmem PmdMapped': 0, 'File PmdMapped': 0, 'Shared Hugetlb': 0, 'Private Hugetlb': 0, Locked: 0 } });
  for (const c of ['RSS', 'PSS', 'private dirty', 'swap', 'swapPSS']) {
    assert.equal(r.value.rows.reduce((n, x) => n + (x.bytes[c] ?? 0), 0), r.value.total?.bytes[c], c);
  }
  assert.equal(r.value.total?.mappings, 1109);
});

test('showmap: junk never throws; no header is an error', () => {
  for (const t of ['', '----- ----', 'virtual\nsize\n---- ----\n 1 2 x']) assert.doesNotThrow(() => parseShowmap(t));
  assert.ok(parseShowmap('hello').warnings.some((w) => w.severity === 'error'));
});
