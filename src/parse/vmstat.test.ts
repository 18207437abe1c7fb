import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseVmstat } from './vmstat.js';

const files = [...corpus('vmstat'), ...corpus('local-6.18', /^vmstat\.txt$/), ...fixtures(/^vmstat-local\.txt$/)];

test('vmstat corpus: every real file parses, one key per line, no warning', () => {
  assert.equal(files.length, 3);
  for (const f of files) {
    const r = parseVmstat(f.text);
    assert.deepStrictEqual(r.warnings, [], f.name);
    assert.equal(Object.keys(r.value).length, f.text.split('\n').filter((l) => l.trim() !== '').length, f.name);
  }
});

test('vmstat: values checked by eye', () => {
  const old = parseVmstat(corpus('vmstat')[0]?.text ?? '').value;
  assert.equal(old['nr_free_pages'], 977769);
  assert.equal(old['pgfault'], 2320168809);
  assert.equal(old['nr_alloc_batch'], 4158, 'pre-4.9 key kept');
  const local = parseVmstat(corpus('local-6.18', /^vmstat\.txt$/)[0]?.text ?? '').value;
  assert.equal(local['nr_free_pages'], 1173263);
  assert.equal(local['pgfault'], 2418290);
  assert.equal(Object.keys(local).length, 192);
});

test('vmstat: odd input', () => {
  assert.deepStrictEqual(parseVmstat('a 1\r\nb -2\n\nc\nd x\n'), {
    value: { a: 1, b: -2 },
    warnings: [
      { line: 4, text: 'c', reason: 'expected "name number"', severity: 'data-loss' },
      { line: 5, text: 'd x', reason: 'expected "name number"', severity: 'data-loss' },
    ],
  });
  assert.equal(parseVmstat('').warnings[0]?.severity, 'error');
});
