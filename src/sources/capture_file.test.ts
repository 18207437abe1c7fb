import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seed, fixtures } from '../../test/corpus.js';
import { ingestToSnapshots, readCaptureFile, type CaptureSample } from './capture_file.js';
import type { Snapshot } from '../model/snapshot.js';

function withFile<T>(text: string, fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ms-capfile-'));
  try {
    const path = join(dir, 'capture.log');
    writeFileSync(path, text);
    return fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ingest(path: string, intervalSec = 5): Array<[Snapshot, CaptureSample]> {
  const out: Array<[Snapshot, CaptureSample]> = [];
  ingestToSnapshots(path, { intervalSec, onSample: (snap, sample) => out.push([snap, sample]) });
  return out;
}

const KIB = 1024;

test('seed 002 ingested: 27 free-only samples, then the two dumps that show the slab leak', () => {
  const got = withFile(seed('002'), (p) => ingest(p));
  assert.equal(got.length, 29);
  const freeOnly = got.slice(0, 27);
  assert.ok(freeOnly.every(([snap]) => snap.meminfo === undefined && snap.free?.mem?.total === 44792 * KIB));
  assert.deepEqual(freeOnly.map(([snap]) => (snap.free?.mem?.used ?? 0) / KIB).slice(0, 3), [40148, 41036, 40996]);
  assert.equal((freeOnly[26]?.[0].free?.mem?.free ?? 0) / KIB, 1004);
  // No clock in the log: samples are index x --interval apart.
  assert.deepEqual(got.slice(0, 3).map(([, s]) => [s.timestamp.source, s.timestamp.sec]), [['index', 0], ['index', 5], ['index', 10]]);
  const [before, after] = [got[27]?.[0], got[28]?.[0]];
  assert.equal(before?.meminfo?.bytes['SUnreclaim'], 12624 * KIB);
  assert.equal(after?.meminfo?.bytes['SUnreclaim'], 28468 * KIB);
  assert.equal(before?.slabinfo?.caches.length, 128);
  assert.equal(after?.slabinfo?.caches.length, 130);
  const chunk = (s?: Snapshot): number => s?.slabinfo?.caches.find((c) => c.name === 'g_mi_sys_chunk_cachep')?.numSlabs ?? 0;
  assert.deepEqual([chunk(before), chunk(after)], [14, 193]);
  assert.equal((after?.free?.mem?.used ?? 0) / KIB, 43788);
  for (const [snap] of got.slice(27)) {
    assert.deepEqual(snap.warnings.filter((w) => w.severity !== 'info'), []);
  }
});

test('chunk size does not change the result (UTF-8 notes split across reads)', () => {
  const text = seed('002');
  const read = (chunkBytes: number): unknown[] => withFile(text, (p) => [...readCaptureFile(p, { chunkBytes })].map((s) => [s.firstLine, s.sections]));
  assert.deepEqual(read(7), read(1 << 20));
});

test('real captures of the seed loop on this machine, plain and through a pty with colour and timestamps', () => {
  for (const f of fixtures(/^capture-seed-loop-local.*\.txt$/)) {
    const got = ingest(f.path);
    assert.equal(got.length, 3, f.name);
    for (const [snap] of got) {
      assert.ok((snap.meminfo?.bytes['MemTotal'] ?? 0) > 0, f.name);
      assert.ok((snap.slabinfo?.caches.length ?? 0) > 100, f.name);
      assert.ok(snap.free?.mem?.total === snap.meminfo?.bytes['MemTotal'], f.name);
      assert.deepEqual(snap.warnings.filter((w) => w.severity !== 'info'), [], f.name);
    }
    if (f.name.includes('-ts')) {
      const secs = got.map(([, s]) => s.timestamp);
      assert.ok(secs.every((t) => t.source === 'terminal'), f.name);
      assert.ok(secs.every((t, i) => i === 0 || t.sec - (secs[i - 1]?.sec ?? 0) > 2), `${f.name}: ~3 s per iteration`);
    }
  }
});

test('an empty file and a file of prose give no samples', () => {
  assert.equal(withFile('', (p) => ingest(p)).length, 0);
  assert.equal(withFile('just notes\nno dumps here\n', (p) => ingest(p)).length, 0);
});

test('a line of 3 MB without a newline is cut once, with one warning, and the dump after it is read', () => {
  const text = `${'a'.repeat(3 << 20)}\nMemTotal:       44792 kB\nMemFree:         7904 kB\n`;
  withFile(text, (p) => {
    const cut: number[] = [];
    const samples = [...readCaptureFile(p, { onCutLine: (c) => cut.push(c.line, c.skippedBytes) })];
    assert.deepEqual(cut, [1, (3 << 20) - (1 << 20)]);
    assert.equal(samples.length, 1);
    assert.deepEqual(samples[0]?.firstLine, 2);
    assert.deepEqual(samples[0]?.warnings.filter((w) => w.severity === 'data-loss').map((w) => w.line), [1]);
  });
});
