import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seed } from '../../test/corpus.js';
import { analyzeCommand, parseWindow } from './analyze.js';
import { runInProcess } from './in_process.js';
import type { Analysis } from '../model/analysis.js';

const run = (args: string[]): Promise<{ code: number; out: string }> => runInProcess(analyzeCommand, args);

test('seed 002 (27 free samples, two full dumps): a kernel slab leak, the three mi_sys caches one cluster, low confidence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-analyze-'));
  try {
    const log = join(dir, 'seed002.txt');
    writeFileSync(log, seed('002'));
    const junit = join(dir, 'j.xml');
    const { code, out } = await run([log, '--json', '--fail-on', 'leak', '--junit', junit]);
    assert.equal(code, 1);
    const a = JSON.parse(out) as Analysis;
    assert.equal(a.schema, 'memsleuth.analysis/1');
    assert.equal(a.verdict, 'leak');
    assert.equal(a.confidence.level, 'low');
    assert.equal(a.leaks[0]?.kind, 'kernel-slab');
    const mi = ['slab.g_mi_sys_chunk_cachep.bytes', 'slab.mi_sys_bufhandle_cachep.bytes', 'slab.mi_sys_mma_allocation_cachep.bytes'];
    const cluster = a.clusters.find((c) => c.members.some((m) => m.key === mi[0]));
    assert.deepEqual(cluster?.members.map((m) => m.key).sort(), mi);
    assert.equal(cluster?.confidence.level, 'low');
    assert.ok(a.leaks[0]?.clusters.includes(cluster?.id ?? '?'));
    assert.match(a.summary, /Kernel slab memory leaks/);
    assert.match(readFileSync(junit, 'utf8'), /<failure message="leak \(low confidence\)/);
    const text = await run([log]);
    assert.equal(text.code, 0);
    assert.match(text.out, /one cluster growing in lockstep/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--window parses seconds and units, open either side', () => {
  assert.deepEqual(parseWindow('10m..2h'), { fromSec: 600, toSec: 7200 });
  assert.deepEqual(parseWindow('600..'), { fromSec: 600 });
  assert.throws(() => parseWindow('2h..1h'), /ends before it starts/);
  assert.throws(() => parseWindow('soon'), /FROM..TO/);
});
