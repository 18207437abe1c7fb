import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SeriesVerdict } from '../../model/analysis.js';
import { contradictedByTotal } from './part_of_whole.js';
import { explainedByParts } from './explained_by_parts.js';

function row(key: string, verdict: SeriesVerdict['verdict'], growthBytes: number, rule = 'significance'): SeriesVerdict {
  return {
    key, verdict, rule, test: 't', rateBytesPerSec: growthBytes / 100, ci: [0, 1], ciLevel: 0.99, sinceSec: 0, confidence: 0.99, pValue: 1e-5,
    level: 'medium', points: 100, firstBytes: 1e6, lastBytes: 1e6 + growthBytes, growthBytes, evidence: [], nextStep: null, recordMoreSec: null,
  };
}

test('a vmalloc caller growing 45 MB while VmallocUsed gains 77 KB is contradicted by its total', () => {
  const got = contradictedByTotal([row('vmalloc.caller.unknown.bytes', 'leak', 45e6)], 77e3, 'vmalloc (VmallocUsed)');
  assert.equal(got?.[0]?.verdict, 'inconclusive');
  assert.match(got?.[0]?.evidence.at(-1) ?? '', /contradicted by the total/);
});

test('a cache whose growth the slab total shows stands', () => {
  assert.equal(contradictedByTotal([row('slab.signal_cache.bytes', 'leak', 13e6)], 37e6, 'slab'), undefined);
});

test('without the total recorded, nothing is contradicted', () => {
  assert.equal(contradictedByTotal([row('slab.x.bytes', 'leak', 13e6)], null, 'slab'), undefined);
});

test('a total whose growth is a part still warming up is inconclusive', () => {
  const got = explainedByParts(row('system.anon', 'leak', 25e6), [row('proc.leaky:4242.uss', 'inconclusive', 24e6, 'saturating')]);
  assert.equal(got?.verdict, 'inconclusive');
});

test('a total with a leaking part, or with growth the shapes do not explain, stays a leak', () => {
  assert.equal(explainedByParts(row('system.anon', 'leak', 25e6), [row('a', 'leak', 20e6), row('b', 'bounded', 5e6)]), undefined);
  assert.equal(explainedByParts(row('system.anon', 'leak', 25e6), [row('b', 'bounded', 5e6), row('c', 'inconclusive', 20e6)]), undefined);
});

test('uncounted memory rising while the caches fall, with memory to spare, is in transit', async () => {
  const { remainderInTransit } = await import('./remainder.js');
  const rem = row('system.unexplained', 'leak', 2e8);
  assert.equal(remainderInTransit(rem, row('system.unexplainedWithCaches', 'stable', -4e8), 0.86)?.verdict, 'inconclusive');
  // Under pressure (MemFree near the watermark) a real uncounted leak also shrinks the caches: not excused.
  assert.equal(remainderInTransit(rem, row('system.unexplainedWithCaches', 'stable', 0), 0.02), undefined);
  // Remainder and caches together still growing: not a transfer.
  assert.equal(remainderInTransit(rem, row('system.unexplainedWithCaches', 'leak', 2e8), 0.86), undefined);
});

test('a total that wanders (its confidence interval reaches half the parts\' growth) does not contradict them', () => {
  // bench/store.ts at 7 days: the slab total ended +3.3 MB while a cache leaked +23.6 MB, but its interval allowed far more.
  assert.equal(contradictedByTotal([row('slab.cache_77.bytes', 'leak', 23.6e6)], 3.3e6, 'slab', 40e6), undefined);
  // A tight total (VmallocUsed +77 KB, at most +200 KB) still contradicts a 45 MB part.
  assert.equal(contradictedByTotal([row('vmalloc.caller.unknown.bytes', 'leak', 45e6)], 77e3, 'vmalloc', 200e3)?.[0]?.verdict, 'inconclusive');
});
