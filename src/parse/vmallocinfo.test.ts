import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseVmallocinfo } from './vmallocinfo.js';

const files = [...corpus('local-6.18', /^vmallocinfo\.txt$/), ...fixtures(/^vmallocinfo-local\.txt$/)];

test('vmallocinfo corpus: every real file parses, one area per line, no warning', () => {
  assert.equal(files.length, 2);
  for (const f of files) {
    const r = parseVmallocinfo(f.text);
    assert.deepStrictEqual(r.warnings, [], f.name);
    assert.equal(r.value.areas.length, f.text.split('\n').filter((l) => l.trim() !== '').length, f.name);
    // Root reads hashed %pK addresses on this kernel: every area says so.
    assert.ok(r.value.areas.every((a) => a.hashedAddresses), f.name);
  }
});

test('vmallocinfo 6.18 (corpus): kinds, callers and pages counted against grep', () => {
  const r = parseVmallocinfo(files[0]?.text ?? '');
  const kinds: Record<string, number> = {};
  for (const a of r.value.areas) for (const k of a.kinds) kinds[k] = (kinds[k] ?? 0) + 1;
  // grep -o ' ioremap\b' etc. on the file
  assert.deepStrictEqual(kinds, { vmap: 2, ioremap: 29, vmalloc: 203, vpages: 3, unpurged: 1892 });
  assert.equal(r.value.areas.filter((a) => a.caller === undefined).length, 1892, 'only "unpurged vm_area" lines have no caller');
  assert.deepStrictEqual(r.value.areas[0], {
    start: '0x000000005f7be91d', end: '0x00000000548d5a9e', size: 20480, kinds: ['vmap'], hashedAddresses: true,
    caller: 'irq_init_percpu_irqstack', callerOffset: '+0xca/0x100',
  });
  assert.deepStrictEqual(r.value.areas[1], {
    start: '0x00000000548d5a9e', end: '0x0000000029930f6b', size: 8192, kinds: ['ioremap'], hashedAddresses: true,
    caller: 'acpi_os_map_iomem', callerOffset: '+0x1bc/0x1e0', phys: '0x00000000000a0000',
  });
  const stack = r.value.areas.find((a) => a.caller === 'kernel_clone');
  assert.deepStrictEqual(stack && { pages: stack.pages, kinds: stack.kinds, nodes: stack.nodes, size: stack.size }, { pages: 4, kinds: ['vmalloc'], nodes: { N0: 4 }, size: 20480 });
});

test('vmallocinfo: this machine, the sum of vmalloc pages is plausible against the sizes', () => {
  const r = parseVmallocinfo(files[1]?.text ?? '');
  for (const a of r.value.areas) {
    // size includes one guard page: pages x 4096 <= size
    if (a.pages !== undefined) assert.ok(a.pages * 4096 <= a.size, `${a.caller} pages=${a.pages} size=${a.size}`);
    if (a.nodes) assert.equal(Object.values(a.nodes).reduce((s, n) => s + n, 0), a.pages, `${a.caller} N0 sum`);
  }
});

test('vmallocinfo: real addresses, module callers and odd forms, named cases', () => {
  const r = parseVmallocinfo([
    '0xffffc90000000000-0xffffc90000005000   20480 irq_init_percpu_irqstack+0xfc/0x140 vmap',
    '0xffffffffc0a00000-0xffffffffc0a0b000   45056 load_module+0x1b4/0x2a0 [mymod] pages=10 vmalloc N0=6 N1=4',
    '0xffffc90000010000-0xffffc90000012000    8192 0xffffffffc0123456 pages=1 vmalloc user vpages',
    '0x0000000000000000-0x0000000000000000    8192 vm_map_ram',
    '0xb8000000-0xb8002000    8192 of_iomap+0x28/0x30 phys=0x10000000 ioremap dma-coherent',
    'garbage here',
  ].join('\n'));
  const [a, b, c, d, e] = r.value.areas;
  assert.deepStrictEqual(a, { start: '0xffffc90000000000', end: '0xffffc90000005000', size: 20480, kinds: ['vmap'], hashedAddresses: false, caller: 'irq_init_percpu_irqstack', callerOffset: '+0xfc/0x140' });
  assert.deepStrictEqual(b, { start: '0xffffffffc0a00000', end: '0xffffffffc0a0b000', size: 45056, kinds: ['vmalloc'], hashedAddresses: false, caller: 'load_module', callerOffset: '+0x1b4/0x2a0', module: 'mymod', pages: 10, nodes: { N0: 6, N1: 4 } });
  assert.deepStrictEqual(c?.caller, '0xffffffffc0123456');
  assert.deepStrictEqual(c?.kinds, ['vmalloc', 'user', 'vpages']);
  assert.deepStrictEqual(d, { start: '0x0000000000000000', end: '0x0000000000000000', size: 8192, kinds: ['vm_map_ram'], hashedAddresses: true });
  assert.equal(e?.hashedAddresses, false, '32-bit addresses');
  assert.deepStrictEqual(e?.kinds, ['ioremap', 'dma-coherent']);
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[6, 'data-loss']]);
});

test('vmallocinfo: never throws', () => {
  for (const s of ['', '0x', '0x-0x', '0x1-0x2', '0x1-0x2 x', '0x1-0x2 5 [', '0x1-0x2 5 a+ [m] N0=', '\u0000']) {
    assert.doesNotThrow(() => parseVmallocinfo(s));
  }
});
