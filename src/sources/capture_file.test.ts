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

/** The first pass of the per-process recording (test/fixtures/capture-procfiles.sh): each file's real text by kind and pid. */
function procFiles() {
  const f = fixtures(/^capture-procfiles-framed-local\.txt$/)[0];
  assert.ok(f);
  const s = readCaptureFile(f.path).next().value as CaptureSample;
  const text = (kind: string, pid?: number): string[] => s.sections.find((x) => x.kind === kind && x.pid === pid)?.lines ?? [];
  const pids = s.sections.filter((x) => x.kind === 'status').map((x) => x.pid as number);
  return { text, pids };
}

/** Logs arranged in code from that pass's real files, to pin down what ties a file to a pid and what does not. */
test('statm, smaps, maps and fd: a file nothing ties to a pid is set aside with a warning, never given to another process', () => {
  const { text, pids } = procFiles();
  const [a = 0, b = 0] = pids;
  const meminfo = text('meminfo');
  const warned = (snap: Snapshot): string[] => snap.warnings.filter((w) => w.reason.startsWith('pid not found')).map((w) => w.reason);
  // Two smaps in one command: the header names only the first; the second starts over at a lower address.
  const twoSmaps = withFile([...meminfo, `cat /proc/${a}/smaps /proc/${b}/smaps`, ...text('smaps', a), ...text('smaps', b), ...meminfo].join('\n'), (p) => ingest(p));
  assert.equal(twoSmaps.length, 2);
  const [snap0] = twoSmaps[0] ?? [];
  assert.ok(snap0);
  assert.deepEqual(snap0.processes.map((p) => [p.pid, p.smaps?.mappings.length]), [[a, text('smaps', a).filter((l) => /^[0-9a-f]+-/.test(l)).length]]);
  assert.deepEqual(warned(snap0), ['pid not found: smaps with no header naming its pid and no status block before it; skipped']);
  // statm and a count printed with nothing naming them: numbers, not files, and not prose that would part the sample.
  const unnamed = withFile([...meminfo, ...text('status', a), ...text('statm', a), '17', ...text('maps', a), ...meminfo].join('\n'), (p) => ingest(p));
  assert.equal(unnamed.length, 2);
  const p0 = unnamed[0]?.[0].processes[0];
  assert.deepEqual([p0?.pid, p0?.statm, p0?.fds, p0?.maps?.mappings.length], [a, undefined, undefined, text('maps', a).length]);
  // `ls /proc/N/fd` without `wc -l` lists names, one per line: its first "0" is no count.
  const names = withFile([...meminfo, ...text('status', a), `ls /proc/${a}/fd`, '0', '1', '2', ...meminfo].join('\n'), (p) => ingest(p));
  assert.equal(names[0]?.[0].processes[0]?.fds, undefined);
  // Named: an echoed command, a head header, a banner.
  const named = withFile([...meminfo, `cat /proc/${b}/statm`, ...text('statm', b), `==> /proc/${a}/statm <==`, ...text('statm', a),
    `ls /proc/${a}/fd | wc -l`, '   7', `# fd count of pid ${b}`, '4', ...meminfo].join('\n'), (p) => ingest(p));
  const byPid = new Map(named[0]?.[0].processes.map((p) => [p.pid, p]));
  assert.deepEqual([byPid.get(a)?.fds, byPid.get(b)?.fds], [7, 4]);
  assert.equal(byPid.get(a)?.statm?.resident, Number(text('statm', a)[0]?.split(' ')[1]) * 4096);
  assert.equal(byPid.get(b)?.statm?.resident, Number(text('statm', b)[0]?.split(' ')[1]) * 4096);
  // A framed section without a pid is no one's either.
  const framed = withFile(['@@ms script begin', '@@ms script sec statm', ...text('statm', a), '@@ms script end 0', '@@ms script done'].join('\n'), (p) => ingest(p));
  assert.deepEqual(warned(framed[0]?.[0] as Snapshot), ['pid not found: statm with no header naming its pid and no status block before it; skipped']);
  assert.equal(framed[0]?.[0].processes.length, 0);
});
