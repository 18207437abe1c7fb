import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SeriesTable } from '../../model/series_table.js';
import { findProbes, maskProbes, probeOutcome } from './reclaim_probe.js';

const table = (cols: Record<string, (number | null)[]>): SeriesTable => {
  const n = Object.values(cols)[0]?.length ?? 0;
  return {
    t: Float64Array.from({ length: n }, (_, i) => 2 * i),
    series: new Map(Object.entries(cols).map(([k, v]) => [k, Float64Array.from(v, (x) => (x === null ? NaN : x))])),
    boots: [], gaps: [], meta: { source: 'test', notes: [] },
  };
};

test('a probe at the end: found, left out of the trends, and what fell told from what stayed', () => {
  const tb = table({
    'probe.reclaim': [null, null, null, null, 2, 3],
    'slab.dentry.bytes': [100, 200, 300, 400, 50, 40],
    'slab.kmalloc-192.bytes': [10, 20, 30, 40, 38, 38],
  });
  const probes = findProbes(tb);
  assert.deepEqual(probes, [{ beforeIndex: 3, afterIndex: 5, atSec: 8 }]);
  const masked = maskProbes(tb, probes);
  assert.deepEqual(Array.from(masked.series.get('slab.dentry.bytes') ?? []).map((x) => (Number.isNaN(x) ? null : x)), [100, 200, 300, 400, null, null]);
  assert.equal(masked.series.has('probe.reclaim'), false);
  const e = probes[0]!;
  assert.equal(probeOutcome('slab.dentry.bytes', 300, tb.series.get('slab.dentry.bytes'), e, 1)?.fell, true);
  assert.equal(probeOutcome('slab.kmalloc-192.bytes', 30, tb.series.get('slab.kmalloc-192.bytes'), e, 1)?.fell, false);
});

test('no probe series: nothing found, the table untouched', () => {
  const tb = table({ 'meminfo.MemFree': [1, 2, 3] });
  assert.deepEqual(findProbes(tb), []);
  assert.equal(maskProbes(tb, []), tb);
});
