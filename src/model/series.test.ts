/**
 * Names survive the series keys: a process named "Web Content" and libraries named "libc.so.6" are encoded in
 * keys (so '.' still separates parts) and shown whole everywhere people read them: tables, JSON, /metrics.
 * Real inputs of this machine: the status of a process renamed "Web Content" and python3's smaps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures } from '../../test/corpus.js';
import { parseStatus } from '../parse/status.js';
import { parseSmaps, summarizeMappings } from '../parse/smaps.js';
import { parseCulpritKey } from '../analyze/culprits.js';
import { displayName } from '../report/analysis_text.js';
import { metricOfKey } from '../serve/metrics.js';
import { decodeKeyPart, flattenSnapshot, keyPart } from './series.js';
import type { Snapshot } from './snapshot.js';

test('keyPart is reversible: dots, whitespace and % are encoded, nothing else changes', () => {
  for (const name of ['Web Content', 'libc.so.6', 'kmalloc-64', '50%.x', 'a\tb', 'node', '[heap]', 'ext4_inode_cache']) {
    const k = keyPart(name);
    assert.doesNotMatch(k, /[.\s]/, name);
    assert.equal(decodeKeyPart(k), name);
  }
  assert.equal(keyPart('kmalloc-64'), 'kmalloc-64');
  assert.equal(decodeKeyPart('libc_so_6'), 'libc_so_6'); // keys of older recordings read as they were written
});

test('a process "Web Content" and its libc.so.6 mapping: real names in culprit keys, display names and /metrics labels', () => {
  const [st] = fixtures(/^status-web-content-local\.txt$/);
  const [sm] = fixtures(/^smaps-python3-local\.txt$/);
  assert.ok(st && sm);
  const status = parseStatus(st.text).value;
  const smaps = parseSmaps(sm.text).value;
  assert.equal(status.name, 'Web Content');
  const snap: Snapshot = {
    takenAtMs: 0, target: {}, warnings: [],
    processes: [{ pid: 4242, comm: status.name ?? '', status, smaps, memory: summarizeMappings(smaps.mappings) }],
  };
  const keys = [...flattenSnapshot(snap).keys()];
  const uss = keys.find((k) => k.endsWith('.uss') && !k.includes('.map.'));
  const libc = keys.find((k) => k.includes('.map.') && k.endsWith('.uss') && decodeKeyPart(k).includes('libc.so.6'));
  assert.ok(uss && libc, keys.slice(0, 20).join('\n'));
  assert.equal(uss, 'proc.Web%20Content:4242.uss');
  assert.deepEqual(parseCulpritKey(uss), { family: 'process', name: 'Web Content:4242', comm: 'Web Content', pid: 4242, metric: 'uss' });
  const lib = parseCulpritKey(libc);
  assert.equal(lib?.comm, 'Web Content');
  assert.match(lib?.name ?? '', /\/libc\.so\.6$/);
  assert.equal(displayName(uss), 'Web Content (pid 4242)');
  assert.match(displayName(libc), /\/libc\.so\.6 of Web Content \(pid 4242\)$/);
  assert.deepEqual(metricOfKey(uss).labels, { comm: 'Web Content', pid: '4242' });
  assert.match(metricOfKey(libc).labels['mapping'] ?? '', /\/libc\.so\.6$/);
});
