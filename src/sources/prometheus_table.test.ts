import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seriesKeyOfMetric } from '../model/prom_names.js';
import { assembleTable, type RawSeries } from './prometheus_table.js';

const series = (name: string, t: number[], v: number[], labels: Record<string, string> = {}): RawSeries =>
  ({ name, labels: { __name__: name, ...labels }, t: Float64Array.from(t), v: Float64Array.from(v) });

test('samples go to their nearest slot; two in one slot are averaged; a boot keeps only the last boot', () => {
  const t = assembleTable([
    series('node_memory_MemFree_bytes', [100.02, 114.9, 130.4, 130.6, 160], [10, 20, 30, 50, 70]),
    series('node_boot_time_seconds', [100, 145, 160], [5000, 5000, 9000]),
  ], 'x', { originSec: 100, intervalSec: 15, slots: 5, perPoint: 1 }, seriesKeyOfMetric, [], 'prometheus');
  assert.deepEqual(t.meta.notes, ['2 boots in the range (the boot time changed): only the last boot is analysed']);
  assert.deepEqual([...t.t], [0]);
  assert.deepEqual([...(t.series.get('meminfo.MemFree') ?? [])], [70]);
  const u = assembleTable([series('node_memory_MemFree_bytes', [100.02, 114.9, 130.4, 130.6, 160], [10, 20, 30, 50, 70])],
    'x', { originSec: 100, intervalSec: 15, slots: 5, perPoint: 1 }, seriesKeyOfMetric, [], 'prometheus');
  assert.deepEqual([...(u.series.get('meminfo.MemFree') ?? [])], [10, 20, 40, NaN, 70]);
  assert.deepEqual([...u.t], [0, 15, 30, 45, 60]);
});

test('beyond the point limit, consecutive slots become means and binCounts says how many samples each holds', () => {
  const n = 25_001;
  const ts = Array.from({ length: n }, (_, i) => 1000 + i * 15);
  const t = assembleTable([series('node_memory_AnonPages_bytes', ts, ts.map((_, i) => i))],
    'x', { originSec: 1000, intervalSec: 15, slots: n, perPoint: 3 }, seriesKeyOfMetric, [], 'prometheus');
  assert.equal(t.t.length, 8334);
  assert.deepEqual([...(t.binCounts ?? [])].slice(-2), [3, 2]);
  const v = t.series.get('meminfo.AnonPages') as Float64Array;
  assert.deepEqual([v[0], v[1], v[8333]], [1, 4, 24_999.5]);
  assert.deepEqual([t.t[0], t.t[1], t.t[8333]], [0, 45, (24_999.5 - 1) * 15]);
  assert.equal(t.startedAtMs, (1000 + 15) * 1000);
});

test('node_exporter slab objects become bytes with the object size; a key read twice keeps the first', () => {
  const t = assembleTable([
    series('node_slabinfo_object_size_bytes', [0, 15], [64, 64], { slab: 'kmalloc-64' }),
    series('node_slabinfo_objects', [0, 15], [10, 20], { slab: 'kmalloc-64' }),
    series('node_slabinfo_active_objects', [0, 15], [5, 6], { slab: 'kmalloc-64' }),
    series('node_memory_MemTotal_bytes', [0, 15], [1, 1]),
    series('memsleuth_meminfo_bytes', [0, 15], [2, 2], { field: 'MemTotal' }),
  ], 'x', { originSec: 0, intervalSec: 15, slots: 2, perPoint: 1 }, seriesKeyOfMetric, [], 'prometheus');
  assert.deepEqual(Object.fromEntries([...t.series].map(([k, v]) => [k, [...v]])), {
    'slab.kmalloc-64.bytes': [640, 1280], 'slab.kmalloc-64.active_bytes': [320, 384], 'slab.kmalloc-64.objs': [5, 6], 'meminfo.MemTotal': [1, 1],
  });
});
