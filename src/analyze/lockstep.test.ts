import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterLockstep, type LockstepSeries } from './lockstep.js';
import { Rng } from './stats/prng.js';

function series(key: string, v: Float64Array): LockstepSeries {
  const first = v[0] as number;
  const last = v[v.length - 1] as number;
  return { key, v, growthBytes: last - first, firstBytes: first, rateBytesPerSec: (last - first) / v.length };
}

test('three caches fed by one bursty leak cluster by correlated increments; an unrelated steady leak stays out', () => {
  const r = new Rng(1);
  const n = 600;
  const a = new Float64Array(n), b = new Float64Array(n), c = new Float64Array(n), d = new Float64Array(n);
  let events = 0;
  for (let i = 0; i < n; i++) {
    events += r.next() < 0.2 ? 1 + r.int(5) : 0; // leaked buffers: each holds one object in each of three caches
    a[i] = 1e6 + 16384 * events + 2000 * r.normal();
    b[i] = 2e6 + 16384 * events + 2000 * r.normal();
    c[i] = 5e5 + 8192 * events + 2000 * r.normal();
    d[i] = 3e6 + 300 * i + 20000 * r.normal();
  }
  const got = clusterLockstep([series('A', a), series('B', b), series('C', c), series('D', d)], { family: 'slab' });
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]?.members.map((m) => m.key).sort(), ['A', 'B', 'C']);
  assert.equal(got[0]?.method, 'increments');
  assert.equal(got[0]?.confidence.level, 'high');
});

test('two dumps: series that grew by similar factors cluster with low confidence; small or dissimilar growers do not', () => {
  const two = (key: string, x: number, y: number): LockstepSeries => series(key, Float64Array.from([x, y]));
  const got = clusterLockstep([
    two('bufhandle', 393216, 5668864), two('chunk', 458752, 6324224), two('mma', 425984, 6160384),
    two('ringpool', 32768, 196608), two('filp', 53248, 184320), two('vm_area_struct', 86016, 172032), two('bufref', 131072, 229376),
  ], { family: 'slab' });
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]?.members.map((m) => m.key).sort(), ['bufhandle', 'chunk', 'mma']);
  assert.equal(got[0]?.method, 'co-growth');
  assert.equal(got[0]?.confidence.level, 'low');
});
