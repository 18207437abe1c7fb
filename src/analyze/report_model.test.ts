import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeRecording } from './report_model.js';
import { makeTable, culpritKeyOf, type Scenario } from './testing_tables.js';

const base = { ratePerHour: 0.003, noise: ['ar1', 'cache-churn', 'sawtooth'] as Scenario['noise'], seconds: 1800, dt: 1, seed: 7 };

for (const leak of ['kernel-slab', 'user', 'kernel-vmalloc'] as const) {
  test(`a ${leak} leak of 0.3% MemTotal/h is found in 30 min of 1 s samples, culprit first`, () => {
    const s: Scenario = { name: leak, leak, ...base };
    const a = analyzeRecording(makeTable(s));
    assert.equal(a.verdict, 'leak');
    assert.equal(a.leaks[0]?.kind, leak);
    assert.equal(a.leaks[0]?.culprits[0], culpritKeyOf(s));
    assert.ok(JSON.parse(JSON.stringify(a)).schema === 'memsleuth.analysis/1');
  });
}

for (const nonLeak of ['page-cache', 'sawtooth', 'warmup', 'step', 'saturating', 'reclaimable-slab', 'flat'] as const) {
  test(`no leak claimed on ${nonLeak}`, () => {
    const a = analyzeRecording(makeTable({ name: nonLeak, leak: 'none', nonLeak, ...base, ratePerHour: 0 }));
    assert.notEqual(a.verdict, 'leak', JSON.stringify(a.leaks.map((l) => [l.kind, l.key])));
  });
}

test('the attribution tree adds up to the change of MemFree', () => {
  const a = analyzeRecording(makeTable({ name: 'slab', leak: 'kernel-slab', ...base }));
  const root = a.attribution.root;
  assert.ok(Math.abs(root.deltaBytes + (a.attribution.memFreeDeltaBytes ?? 0)) < 1);
  const slab = root.children.find((c) => c.id === 'kernel')?.children.find((c) => c.id === 'slabUnreclaimable');
  assert.equal(slab?.verdict, 'leak');
  assert.equal(slab?.children[0]?.id, 'slab.kmalloc-256.bytes');
});

test('a process that exited before the end of the window is not a leaking culprit', () => {
  const table = makeTable({ name: 'exit', leak: 'user', ...base, ratePerHour: 0.01, seconds: 1200 });
  const uss = table.series.get('proc.leaky:4242.uss') as Float64Array;
  uss.fill(NaN, 1000);
  const a = analyzeRecording(table);
  const row = a.culprits.process.find((r) => r.key === 'proc.leaky:4242.uss');
  assert.equal(row?.verdict, 'bounded');
  assert.match(row?.evidence.at(-1) ?? '', /exited/);
});
