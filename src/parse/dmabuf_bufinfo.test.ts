import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseDmabufBufinfo } from './dmabuf_bufinfo.js';

test('dma_buf/bufinfo, Pixel 3 Android 12 (kernel 4.9): 172 ion buffers add up to the file\'s own total', () => {
  const [f] = corpus('dmabuf', /pixel3/);
  assert.ok(f);
  const r = parseDmabufBufinfo(f.text);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.value.printedTotal, { objects: 172, bytes: 120500224 });
  assert.deepEqual(r.value.byExporter, { ion: { bytes: 120500224, count: 172 } });
  assert.deepEqual(r.value.buffers[0], { size: 32768, flags: '00000002', mode: '00000007', count: 2, exporter: 'ion', ino: 75971, devices: [] });
});

test('dma_buf/bufinfo of this machine (6.18, no buffers): empty, not an error', () => {
  const [f] = corpus('local-6.18', /^dmabuf-bufinfo/);
  assert.ok(f);
  const r = parseDmabufBufinfo(f.text);
  assert.deepEqual([r.value.buffers.length, r.value.totalBytes, r.value.printedTotal, r.warnings], [0, 0, { objects: 0, bytes: 0 }, []]);
});

test('dma_buf/bufinfo: junk never throws, and text without the header is an error', () => {
  for (const t of ['', 'Total x objects', '00001 2 3']) assert.doesNotThrow(() => parseDmabufBufinfo(t));
  assert.equal(parseDmabufBufinfo('hello\n').warnings.some((w) => w.severity === 'error'), true);
});
