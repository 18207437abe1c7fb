/**
 * The seed 002 acceptance case: an engineer's notes with 27 `free` rows and two full meminfo+slabinfo dumps of
 * an ARM board leaking in three mi_sys slab caches. `memsleuth diff NOTES` must point at SUnreclaim and rank the
 * three caches first. Expected numbers come from the seed text itself (slabdata num_slabs x 8 pages x 4 KiB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { seedsDir } from '../corpus.js';
import { runCli } from './cli_helpers.js';

const seedPath = join(seedsDir, readdirSync(seedsDir).find((n) => n.startsWith('002_'))!);
const PAGE = 4096;

interface DiffJson {
  groups: { group: string; change: { before: number; after: number; delta: number } }[];
  slab: { name: string; before: number; after: number; delta: number }[];
  memAvailable?: { before: number; after: number };
}

test('seed 002: diff of the notes compares the two full dumps, points at SUnreclaim, ranks the three mi_sys caches first', () => {
  const r = runCli(['diff', seedPath, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as DiffJson;
  // "SUnreclaim: 12624 kB" then "SUnreclaim: 28468 kB" in the seed.
  const sunreclaim = d.groups.find((g) => g.group === 'slabUnreclaimable');
  assert.deepEqual(sunreclaim?.change, { before: 12624 * 1024, after: 28468 * 1024, delta: (28468 - 12624) * 1024 });
  const grown = [...d.groups].filter((g) => g.group !== 'free').sort((a, b) => b.change.delta - a.change.delta);
  assert.equal(grown[0]?.group, 'slabUnreclaimable');
  // slabdata num_slabs: bufhandle 12 -> 173, chunk 14 -> 193, mma_allocation 13 -> 188; 8 pages per slab.
  const bytes = (slabs: number): number => slabs * 8 * PAGE;
  assert.deepEqual(d.slab.slice(0, 3).map((s) => ({ name: s.name, before: s.before, after: s.after })), [
    { name: 'g_mi_sys_chunk_cachep', before: bytes(14), after: bytes(193) },
    { name: 'mi_sys_mma_allocation_cachep', before: bytes(13), after: bytes(188) },
    { name: 'mi_sys_bufhandle_cachep', before: bytes(12), after: bytes(173) },
  ]);
});

test('seed 002: the human diff names the same culprits', () => {
  const r = runCli(['diff', seedPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Largest growth: slab unreclaimable \(SUnreclaim\)/);
  const cacheLines = r.stdout.split('\n').filter((l) => /mi_sys_(bufhandle|mma_allocation)_cachep|g_mi_sys_chunk_cachep/.test(l));
  assert.ok(cacheLines.length >= 3);
});

test('seed 002: a single sample of a log can be picked with LOG#N', () => {
  const r = runCli(['diff', `${seedPath}#1`, `${seedPath}#27`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { memFree?: { before: number; after: number } };
  // The first and 27th "Mem:" rows of the free table: free 4644 and 1004 (KiB).
  assert.deepEqual(d.memFree, { before: 4644 * 1024, after: 1004 * 1024, delta: (1004 - 4644) * 1024 });
});
