import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeFleet, rankFleet, type FleetSourceItem } from './fleet.js';
import { analyzeRecording } from './report_model.js';
import { makeTable, type Scenario } from './testing_tables.js';
import type { FleetRow } from '../model/fleet.js';

const base: Omit<Scenario, 'name' | 'leak' | 'seed'> = { ratePerHour: 0.01, noise: ['ar1', 'cache-churn'], seconds: 3 * 3600, dt: 15 };
const fleet: Scenario[] = [
  { ...base, name: 'quiet-1', leak: 'none', seed: 1 },
  { ...base, name: 'slab-leak', leak: 'kernel-slab', seed: 2 },
  { ...base, name: 'quiet-2', leak: 'none', seed: 3 },
  { ...base, name: 'user-leak', leak: 'user', seed: 4, ratePerHour: 0.02 },
];

async function* source(): AsyncGenerator<FleetSourceItem> {
  for (const s of fleet) yield { instance: s.name, table: makeTable(s) };
  yield { instance: 'unreachable', error: 'Prometheus refused the query' };
}

test('the fleet gets the same verdicts as analyze gives each instance, ranked by leak rate, on the calling thread and on workers', async () => {
  const want = new Map(fleet.map((s) => [s.name, analyzeRecording(makeTable(s))]));
  for (const workers of [0, 2]) {
    const seen: string[] = [];
    const { rows, stats } = await analyzeFleet(source(), { workers, onInstance: (row, a, t) => { seen.push(`${row.instance}:${a !== null}:${t !== null}`); } });
    assert.deepEqual(rows.map((r) => r.instance), ['user-leak', 'slab-leak', 'unreachable', 'quiet-1', 'quiet-2'], `workers ${workers}`);
    for (const r of rows) {
      const a = want.get(r.instance);
      if (!a) { assert.equal(r.verdict, 'error'); assert.equal(r.error, 'Prometheus refused the query'); continue; }
      assert.equal(r.verdict, a.verdict, r.instance);
      assert.deepEqual(r.leaks.map((l) => [l.kind, l.culprit]), a.leaks.map((l) => [l.kind, l.culprits[0] ?? null]), r.instance);
      assert.equal(r.spark.length, 60);
    }
    assert.deepEqual(rows.find((r) => r.instance === 'slab-leak')?.leaks[0]?.culprit, 'slab.kmalloc-256.bytes');
    assert.deepEqual(stats, { ...stats, instances: 5, judged: 4, failed: 1, workers });
    assert.equal(seen.length, 5);
  }
});

test('ranking: leaks by rate, then undecided, failed and healthy instances by name', () => {
  const row = (instance: string, verdict: FleetRow['verdict'], rate = 0): FleetRow => ({
    instance, verdict, confidence: null, leakRateBytesPerSec: rate, leaks: [], forecast: { status: 'unknown', secondsToOom: null, at: null },
    memTotalBytes: null, samples: 0, fromIso: null, spark: [], error: null,
  });
  const ranked = rankFleet([row('b', 'no-leak'), row('slow', 'leak', 1), row('x', 'error'), row('fast', 'leak', 9), row('u', 'inconclusive'), row('a', 'no-leak')]);
  assert.deepEqual(ranked.map((r) => r.instance), ['fast', 'slow', 'u', 'x', 'a', 'b']);
});
