import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { downsampleMinMax, lttb } from './downsample.js';

const range = (n: number, f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i));

test('min/max: short input comes back unchanged, NaN as null', () => {
  assert.deepEqual(downsampleMinMax([0, 1, 2], [[5, NaN, 7]], 10), { t: [0, 1, 2], ys: [[5, null, 7]] });
});

test('min/max: a one-sample spike in 100,000 flat samples survives, two points per bucket', () => {
  const n = 100_000;
  const t = range(n, (i) => i);
  const y = range(n, (i) => (i === 54_321 ? 1000 : 0));
  const d = downsampleMinMax(t, [y], 500);
  assert.equal(d.t.length, 1000);
  assert.equal(d.ys[0]?.length, 1000);
  assert.equal(Math.max(...(d.ys[0] as number[])), 1000);
  assert.equal((d.ys[0] as number[]).filter((v) => v === 1000).length, 1);
});

test('min/max: extremes keep their order in time (a falling bucket gives max then min)', () => {
  const t = range(1000, (i) => i);
  const falling = range(1000, (i) => 1000 - i);
  const d = downsampleMinMax(t, [falling], 10);
  assert.deepEqual(d.ys[0]?.slice(0, 2), [1000, 901]);
  assert.deepEqual(d.t.slice(0, 2), [0, 99]);
});

test('min/max: several series stay aligned on one time axis', () => {
  const t = range(10_000, (i) => i);
  const d = downsampleMinMax(t, [range(10_000, (i) => i), range(10_000, (i) => -i), range(10_000, () => NaN)], 100);
  assert.equal(d.ys.length, 3);
  for (const y of d.ys) assert.equal(y.length, d.t.length);
  assert.ok(d.ys[2]?.every((v) => v === null));
});

test('min/max: a stretch with no samples breaks the line with a null point', () => {
  const t = Float64Array.from([...range(1000, (i) => i), ...range(1000, (i) => 5000 + i)]);
  const d = downsampleMinMax(t, [range(2000, () => 1)], 100);
  const gap = d.ys[0]?.indexOf(null) ?? -1;
  assert.ok(gap > 0, 'a null between the two stretches');
  assert.ok((d.t[gap] as number) > 999 && (d.t[gap] as number) < 5000);
});

test('min/max: never more than 3 points per bucket, times never go back, range kept (property)', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e12, max: 1e12 }), { minLength: 1, maxLength: 3000 }), fc.integer({ min: 1, max: 200 }), (ys, buckets) => {
    const t = range(ys.length, (i) => i * 2);
    const d = downsampleMinMax(t, [ys], buckets);
    assert.ok(d.t.length <= Math.max(ys.length, 3 * buckets));
    for (let i = 1; i < d.t.length; i++) assert.ok((d.t[i] as number) >= (d.t[i - 1] as number));
    const kept = (d.ys[0] as (number | null)[]).filter((v): v is number => v !== null);
    assert.equal(Math.max(...kept), Math.max(...ys));
    assert.equal(Math.min(...kept), Math.min(...ys));
  }), { numRuns: 100 });
});

test('lttb: threshold points, first and last kept, a spike kept, NaN dropped', () => {
  const t = range(10_000, (i) => i);
  const y = range(10_000, (i) => (i === 4321 ? 500 : i === 7 ? NaN : Math.sin(i / 300)));
  const d = lttb(t, y, 50);
  assert.equal(d.t.length, 50);
  assert.equal(d.t[0], 0);
  assert.equal(d.t[49], 9999);
  assert.ok(d.y.includes(500));
  assert.ok(d.y.every((v) => Number.isFinite(v)));
  assert.deepEqual(lttb([0, 1], [1, NaN], 10), { t: [0], y: [1] });
});
