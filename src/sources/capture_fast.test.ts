import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtures } from '../../test/corpus.js';
import { canTakeFastPath, scanCaptureFast, FREE_COLUMNS } from './capture_fast.js';
import { ingestToSnapshots } from './capture_file.js';
import type { Snapshot } from '../model/snapshot.js';

test('fast path agrees with the generic path on the real seed-loop capture', () => {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  assert.equal(canTakeFastPath(readFileSync(f.path)), true);
  const generic: Snapshot[] = [];
  ingestToSnapshots(f.path, { onSample: (s) => generic.push(s) });
  let i = 0;
  const n = scanCaptureFast(f.path, (s, keys) => {
    const g = generic[i++];
    const mem: Record<string, number> = {};
    keys.meminfo.names.forEach((k, id) => { if (!Number.isNaN(s.meminfo[id] as number)) mem[k] = s.meminfo[id] as number; });
    assert.deepEqual(mem, { ...g?.meminfo?.bytes, ...g?.meminfo?.counts });
    const slab: Record<string, number> = {};
    for (const c of g?.slabinfo?.caches ?? []) slab[c.name] = (slab[c.name] ?? 0) + c.slabBytes;
    const fastSlab: Record<string, number> = {};
    keys.slab.names.forEach((k, id) => { if (!Number.isNaN(s.slabBytes[id] as number)) fastSlab[k] = s.slabBytes[id] as number; });
    assert.deepEqual(fastSlab, slab);
    assert.equal(s.freeMem[FREE_COLUMNS.indexOf('available')], g?.free?.mem?.available);
  }, 4096);
  assert.equal(n, 3);
  assert.equal(i, generic.length);
});

test('fast path refuses logs with terminal noise it does not strip', () => {
  for (const f of fixtures(/^capture-seed-loop-local-pty/)) assert.equal(canTakeFastPath(readFileSync(f.path)), false, f.name);
});
