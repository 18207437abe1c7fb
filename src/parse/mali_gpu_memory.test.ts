import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseMaliGpuMemory } from './mali_gpu_memory.js';

const one = (re: RegExp): string => {
  const [f] = corpus('mali', re);
  assert.ok(f, String(re));
  return f.text;
};

test('mali0/gpu_memory, ARM layout (Realtek board): device pages, then each context\'s pages and tgid, adding up', () => {
  const r = parseMaliGpuMemory(one(/realtek/));
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.value, {
    device: 'mali0', values: [45605], pages: true, contexts: [
      { kctx: '0xfa847000', pid: 15898, values: [14102] },
      { kctx: '0xf7953000', pid: 15833, values: [42] },
      { kctx: '0xff0b0000', pid: 9134, values: [3316] },
      { kctx: '0xfec18000', pid: 8344, values: [20929] },
      { kctx: '0xfb9df000', pid: 6235, values: [135] },
      { kctx: '0xfb12e000', pid: 4962, values: [7081] },
    ],
  });
  // 14102 + 42 + 3316 + 20929 + 135 + 7081 = 45605: no warning about the sum.
  assert.equal(r.value.contexts.reduce((n, c) => n + (c.values[0] ?? 0), 0), 45605);
});

test('mali0/gpu_memory, MediaTek layout: pid in parentheses and two numbers per line; the first ones add up', () => {
  const r = parseMaliGpuMemory(one(/mediatek/));
  assert.deepEqual(r.warnings, []);
  assert.deepEqual([r.value.device, r.value.values, r.value.pages, r.value.contexts.length], ['mali0', [39241, 63910], false, 6]);
  assert.deepEqual(r.value.contexts[0], { kctx: '0x000000009c7f034f', pid: 8338, values: [1224, 11876] });
  assert.deepEqual(r.value.contexts[5], { kctx: '0x0000000045485fee', pid: 3817, values: [618, 3425] });
  assert.equal(r.value.contexts.reduce((n, c) => n + (c.values[0] ?? 0), 0), 39241);
});

test('mali0/gpu_memory, Amlogic layout: "total used_pages" and a kctx/pid/used_pages table', () => {
  const r = parseMaliGpuMemory(one(/amlogic/));
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.value, {
    device: 'mali0', values: [25939], pages: true, contexts: [
      { kctx: 'f1dbf000', pid: 14880, values: [4558] },
      { kctx: 'f1c19000', pid: 14438, values: [135] },
      { kctx: 'f1bb1000', pid: 14292, values: [16359] },
      { kctx: 'f18c0000', pid: 10899, values: [4887] },
    ],
  });
});

test('mali0/gpu_memory: a context that changed while printed is said; junk never throws; no device line is an error', () => {
  const text = one(/realtek/).replace('14102', '14103');
  assert.deepEqual(parseMaliGpuMemory(text).warnings.map((w) => w.reason), ['contexts add up to 45606, the device line says 45605 (memory came or went while the file was printed, or is held outside any context)']);
  for (const t of ['', 'mali0', 'kctx-0x1 2 3', 'mali0 1\nkctx-0x 1']) assert.doesNotThrow(() => parseMaliGpuMemory(t));
  assert.ok(parseMaliGpuMemory('hello').warnings.some((w) => w.severity === 'error'));
});
