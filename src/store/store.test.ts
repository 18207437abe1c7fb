import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { flattenSnapshot } from '../model/series.js';
import type { Snapshot } from '../model/snapshot.js';
import { bytes, kib } from '../model/units.js';
import { decodeChanges, decodePoints, decodePointsInto, encodeChanges, encodePoints } from './codec.js';
import { crashValues } from './crash_child.js';
import { corpusDir, fixturesDir } from '../../test/corpus.js';
import { SCHEMA_VERSION, FLUSH_SAMPLES, chunkId } from './schema.js';
import { defaultDbPath, openStore, type Store } from './store.js';

/** A real /proc/meminfo of this kernel, from the repository's own corpus (test/corpus/SOURCES.md). */
const CORPUS_MEMINFO = join(corpusDir, 'local-6.18', 'meminfo.txt');
const T0 = 1_735_689_600_000;

function tempDir(): string { return mkdtempSync(join(tmpdir(), 'memsleuth-store-')); }

/** A fresh store in a temp dir, removed after `fn`. */
function withStore(fn: (store: Store, file: string) => void): void {
  const dir = tempDir();
  const file = join(dir, 'rec.db');
  const store = openStore(file);
  try { fn(store, file); } finally { store.close(); rmSync(dir, { recursive: true, force: true }); }
}

function begin(store: Store, rawEverySec?: number, commitEverySec?: number) {
  return store.beginRecording({
    target: { name: 'board', via: 'ssh board' }, startedAtMs: T0, intervalSec: 1, options: { interval: 1 },
    ...(rawEverySec !== undefined ? { rawEverySec } : {}),
    ...(commitEverySec !== undefined ? { commitEverySec } : {}),
  });
}

/** Deterministic pseudo-random numbers for the codec and change-only tests. */
function prng(seed: number): () => number {
  let a = seed;
  return () => { a = (a * 1103515245 + 12345) % 2147483648; return a / 2147483648; };
}

test('codec: points round-trip bit-exact (integers, fractions, -0, huge, absent)', () => {
  const values = [0, 4096, 8192, 8192 + 4096 * 3, -5, 1.5, -0, 2 ** 60, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
    NaN, 7, Infinity, -Infinity, 1e-300, 123456789012, 123456789012 - 1024];
  const samples = values.map((_, i) => 10 + i * 3);
  const back = decodePoints(9, encodePoints(9, samples, values));
  assert.deepStrictEqual(back.samples, samples);
  assert.equal(back.values.length, values.length);
  values.forEach((v, i) => assert.ok(Object.is(back.values[i], v), `value ${i}: ${back.values[i]} != ${v}`));
  const ts = new Float64Array(values.length + 2);
  const tv = new Float64Array(values.length + 2);
  assert.equal(decodePointsInto(9, encodePoints(9, samples, values), ts, tv, 2), values.length + 2);
  assert.deepStrictEqual([...ts.slice(2)], samples);
  values.forEach((v, i) => assert.ok(Object.is(tv[i + 2], v), `typed value ${i}: ${tv[i + 2]} != ${v}`));
  const ids = [5, 1, 900, 3];
  const vals = [1.25, -7, NaN, 2 ** 52];
  const got = new Map<number, number>();
  decodeChanges(encodeChanges(ids, vals), (id, v) => got.set(id, v));
  assert.deepStrictEqual([...got.entries()].sort((a, b) => a[0] - b[0]), [[1, -7], [3, 2 ** 52], [5, 1.25], [900, NaN]]);
});

test('codec: kB-stepping values cost about 2 bytes a point', () => {
  const r = prng(1);
  let v = 512 * 1024 * 1024;
  const samples: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < 1000; i++) { v += Math.round((r() - 0.5) * 200) * 4096; samples.push(i + 1); values.push(v); }
  const size = encodePoints(1, samples, values).length;
  assert.ok(size < 3000, `1000 points took ${size} bytes`);
});

function handSnapshot(): Snapshot {
  return {
    takenAtMs: T0,
    target: { uptimeSec: 1234.5, bootId: 'boot-1' },
    meminfo: { bytes: { MemTotal: kib(2048000), MemFree: kib(1024000), SUnreclaim: kib(40000), 'Active(anon)': kib(1200) }, counts: { HugePages_Total: 0 } },
    slabinfo: {
      version: '2.1', statistics: false,
      caches: [{ name: 'kmalloc-64', activeObjs: 640, numObjs: 704, objSize: bytes(64), objPerSlab: 64, pagesPerSlab: 1, activeSlabs: 11, numSlabs: 11, slabBytes: bytes(45056), activeBytes: bytes(40960) }],
    },
    vmallocinfo: { areas: [
      { start: '0x1', end: '0x2', size: bytes(8192), caller: 'alloc_thing', kinds: ['vmalloc'], hashedAddresses: false },
      { start: '0x3', end: '0x4', size: bytes(4096), caller: 'alloc_thing', kinds: ['vmalloc'], hashedAddresses: false },
    ] },
    processes: [
      { pid: 412, comm: 'sshd', memory: { rss: kib(5000), pss: kib(3000.5), uss: kib(2000), swap: bytes(0) } },
      { pid: 99, comm: 'my app', memory: { rss: kib(100), pss: kib(90), uss: kib(80), swap: bytes(0) } },
    ],
    warnings: [],
  };
}

test('round trip: a flattened snapshot reads back whole, at its sample and as series', () => {
  withStore((store) => {
    const snap = handSnapshot();
    const values = flattenSnapshot(snap);
    const w = begin(store);
    const r = w.appendSample({ takenAtMs: snap.takenAtMs, uptimeSec: 1234.5, bootId: 'boot-1', values });
    assert.deepStrictEqual(store.valuesAt(r.sampleId), values, 'before flush (pending)');
    w.close();
    assert.deepStrictEqual(store.valuesAt(r.sampleId), values, 'after flush (chunks)');
    const s = store.readSeries(w.recordingId, 'proc.my%20app:99.uss');
    assert.deepStrictEqual([...s.v], [80 * 1024]);
    assert.deepStrictEqual([...s.t], [T0]);
    assert.deepStrictEqual(store.listSeries(w.recordingId, 'vmalloc.caller.*').map((x) => x.key),
      ['vmalloc.caller.alloc_thing.areas', 'vmalloc.caller.alloc_thing.bytes']);
    const [rec] = store.listRecordings();
    assert.deepStrictEqual(rec, {
      id: w.recordingId, target: { name: 'board', via: 'ssh board' }, startedAtMs: T0, intervalSec: 1, options: { interval: 1 },
      endedAtMs: T0, sampleCount: 1, firstSampleMs: T0, lastSampleMs: T0,
    });
  });
});

test('raw text: a real corpus file reads back byte-identical (and the raw policy is recorded)', () => {
  withStore((store) => {
    const text = readFileSync(CORPUS_MEMINFO, 'utf8');
    const w = begin(store, 60);
    const raw = [{ kind: 'meminfo', text }, { kind: 'empty', text: '' }, { kind: 'utf8', text: 'naïve → ok\n' }];
    const a = w.appendSample({ takenAtMs: T0, values: new Map([['x', 1]]), raw });
    const b = w.appendSample({ takenAtMs: T0 + 1000, values: new Map([['x', 1]]), raw });
    const c = w.appendSample({ takenAtMs: T0 + 61_000, values: new Map([['x', 1]]), raw });
    assert.deepStrictEqual([a.rawKept, b.rawKept, c.rawKept], [true, false, true]);
    const back = store.rawSections(a.sampleId);
    assert.deepStrictEqual(back, raw);
    assert.ok(Buffer.from(back[0]?.text ?? '', 'utf8').equals(readFileSync(CORPUS_MEMINFO)));
    assert.deepStrictEqual(store.rawSections(b.sampleId), []);
    assert.deepStrictEqual(store.readSamples(w.recordingId).map((s) => s.rawKept), [true, false, true]);
    w.close();
  });
});

test('boot segments: a new boot_id, or uptime going back, starts a segment; series split there', () => {
  withStore((store) => {
    const w = begin(store);
    const at = (i: number, uptimeSec: number, bootId?: string) =>
      w.appendSample({ takenAtMs: T0 + i * 1000, uptimeSec, ...(bootId ? { bootId } : {}), values: new Map([['m', i]]) });
    const got = [at(0, 100, 'A'), at(1, 101, 'A'), at(2, 5, 'B'), at(3, 6, 'B'), at(4, 2), at(5, 3)];
    assert.deepStrictEqual(got.map((r) => r.newBootSegment), [true, false, true, false, true, false]);
    const segs = store.bootSegments(w.recordingId);
    assert.deepStrictEqual(segs.map((s) => [s.seq, s.reason, s.bootId, s.firstSampleId, s.uptimeSec]), [
      [0, 'start', 'A', got[0]?.sampleId, 100], [1, 'boot_id', 'B', got[2]?.sampleId, 5], [2, 'uptime', undefined, got[4]?.sampleId, 2],
    ]);
    const s = store.readSeries(w.recordingId, 'm');
    assert.deepStrictEqual([...s.v], [0, 1, 2, 3, 4, 5]);
    assert.deepStrictEqual(s.segments, [
      { start: 0, end: 2, bootSegment: segs[0]?.id }, { start: 2, end: 4, bootSegment: segs[1]?.id }, { start: 4, end: 6, bootSegment: segs[2]?.id },
    ]);
    w.close();
  });
});

test('gaps: a reconnect is recorded as a gap, not zeros, and splits the series', () => {
  withStore((store) => {
    const w = begin(store);
    const a = w.appendSample({ takenAtMs: T0, values: new Map([['m', 10]]) });
    w.appendSample({ takenAtMs: T0 + 1000, values: new Map([['m', 10]]) });
    w.recordGap({ fromMs: T0 + 1000, toMs: T0 + 600_000, reason: 'ssh: connection reset' });
    assert.equal(w.wantsRaw({ takenAtMs: T0 + 600_000 }), true, 'raw text is kept again after a gap');
    w.appendSample({ takenAtMs: T0 + 600_000, values: new Map([['m', 10]]) });
    w.appendSample({ takenAtMs: T0 + 601_000, values: new Map([['m', 11]]) });
    w.close();
    assert.deepStrictEqual(store.gaps(w.recordingId), [{ fromMs: T0 + 1000, toMs: T0 + 600_000, reason: 'ssh: connection reset', afterSampleId: a.sampleId + 1 }]);
    const s = store.readSeries(w.recordingId, 'm');
    assert.deepStrictEqual([...s.t], [T0, T0 + 1000, T0 + 600_000, T0 + 601_000]);
    assert.deepStrictEqual([...s.v], [10, 10, 10, 11]);
    assert.deepStrictEqual(s.segments.map((g) => [g.start, g.end]), [[0, 2], [2, 4]]);
    assert.equal(store.sampleCount(w.recordingId), 4);
  });
});

test('PID reuse: another comm on the same pid is another series; the old one is absent, not carried', () => {
  withStore((store) => {
    const w = begin(store);
    w.appendSample({ takenAtMs: T0, values: new Map([['proc.foo:100.uss', 4096]]) });
    w.appendSample({ takenAtMs: T0 + 1000, values: new Map([['proc.bar:100.uss', 8192]]) });
    w.close();
    assert.deepStrictEqual(store.listSeries(w.recordingId, 'proc.*:100.uss').map((s) => s.key), ['proc.bar:100.uss', 'proc.foo:100.uss']);
    assert.deepStrictEqual([...store.readSeries(w.recordingId, 'proc.foo:100.uss').v], [4096, NaN]);
    assert.deepStrictEqual([...store.readSeries(w.recordingId, 'proc.bar:100.uss').v], [NaN, 8192]);
  });
});

test('skips and warnings are recorded with their sample; the skipped series is absent there', () => {
  withStore((store) => {
    const w = begin(store);
    w.appendSample({ takenAtMs: T0, values: new Map([['proc.sshd:412.uss', 4096], ['meminfo.MemFree', 1]]) });
    w.appendSample({
      takenAtMs: T0 + 1000, values: new Map([['meminfo.MemFree', 1]]), skipped: ['/proc/412/smaps_rollup: permission denied'],
      warnings: [{ source: '/proc/slabinfo', line: 41, text: 'kmalloc-8 1 2', reason: 'expected 16 fields, got 3', severity: 'data-loss' }],
    });
    w.appendSample({ takenAtMs: T0 + 2000, values: new Map([['proc.sshd:412.uss', 4096], ['meminfo.MemFree', 1]]) });
    w.close();
    const samples = store.readSamples(w.recordingId);
    assert.deepStrictEqual(samples.map((s) => [s.skipped, s.warnings.length, s.nValues]), [
      [[], 0, 2], [['/proc/412/smaps_rollup: permission denied'], 1, 1], [[], 0, 2],
    ]);
    assert.deepStrictEqual(samples[1]?.warnings[0], { source: '/proc/slabinfo', line: 41, text: 'kmalloc-8 1 2', reason: 'expected 16 fields, got 3', severity: 'data-loss' });
    assert.deepStrictEqual([...store.readSeries(w.recordingId, 'proc.sshd:412.uss').v], [4096, NaN, 4096]);
  });
});

test('change-only storage returns the exact value at every sample, across flushes and sub-ranges', () => {
  withStore((store) => {
    const r = prng(7);
    const w = begin(store);
    const n = FLUSH_SAMPLES * 3 + 100;
    const kinds = ['flat', 'rare', 'noisy', 'fraction', 'flicker'] as const;
    const want = new Map<string, number[]>(kinds.map((k) => [k, []]));
    const cur = { flat: 42, rare: 1 << 20, noisy: 1 << 30, fraction: 0.5 };
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      if (r() < 0.01) cur.rare += 4096;
      cur.noisy += Math.round((r() - 0.5) * 100) * 1024;
      cur.fraction = r() < 0.5 ? cur.fraction : r();
      const values = new Map<string, number>([['flat', cur.flat], ['rare', cur.rare], ['noisy', cur.noisy], ['fraction', cur.fraction]]);
      if (i % 700 < 300) values.set('flicker', i % 7);
      for (const k of kinds) want.get(k)?.push(values.get(k) ?? NaN);
      const takenAtMs = T0 + i * 1000;
      times.push(takenAtMs);
      w.appendSample({ takenAtMs, values });
      if (i === n - 50) {
        // Part flushed, part pending: a reader sees both.
        assert.deepStrictEqual([...store.readSeries(w.recordingId, 'noisy').v], want.get('noisy'));
      }
    }
    for (const k of kinds) assert.deepStrictEqual([...store.readSeries(w.recordingId, k).v], want.get(k), `${k}, open recording`);
    w.close();
    const chunks = store.stats(w.recordingId);
    assert.ok(chunks.points < n * 3, `change-only: ${chunks.points} points for ${n} samples x 5 series`);
    for (const k of kinds) {
      const s = store.readSeries(w.recordingId, k);
      assert.deepStrictEqual([...s.v], want.get(k), k);
      assert.deepStrictEqual([...s.t], times);
      const from = 1500;
      const to = 2600;
      const sub = store.readSeries(w.recordingId, k, { fromMs: T0 + from * 1000, toMs: T0 + to * 1000 });
      assert.deepStrictEqual([...sub.v], want.get(k)?.slice(from, to + 1), `${k} in a sub-range`);
    }
    assert.deepStrictEqual(store.check(), []);
  });
});

test('codec: a format-2 change log stores steps from the previous value, bit-exact, and costs ~3 bytes a change', () => {
  const prev = new Map<number, number>([[1, 500 * 1024 * 1024], [2, 7], [3, 100], [4, -0], [5, 2 ** 50], [6, 1.5], [7, 4096]]);
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const vals = [500 * 1024 * 1024 + 32768, 8, NaN, 12, 2 ** 50 + 1, 3, -0, 99, 0.25, -(2 ** 47)];
  const previous = (id: number): number => prev.get(id) ?? NaN;
  const blob = encodeChanges(ids, vals, previous);
  const got = new Map<number, number>();
  decodeChanges(blob, (id, v) => got.set(id, v), previous);
  assert.equal(got.size, ids.length);
  ids.forEach((id, i) => assert.ok(Object.is(got.get(id), vals[i]), `series ${id}: ${got.get(id)} != ${vals[i]}`));
  // Sizes stepping by pages from large values: ~3 bytes each, against ~7 for absolute values (format 1).
  const many = Array.from({ length: 60 }, (_, i) => i * 3 + 1);
  const before = many.map((i) => 4096 * (100_000 + i * 977));
  const after = before.map((v, i) => v + 4096 * ((i % 5) - 2) * 8);
  const steps = encodeChanges(many, after, (id) => before[(id - 1) / 3] as number).length;
  const absolute = encodeChanges(many, after).length;
  assert.ok(steps < 3.5 * 60 && absolute > 2 * steps, `format 2 ${steps} bytes, format 1 ${absolute} bytes for 60 changes`);
});

/** The version-1 fixture (test/fixtures/SOURCES.md) copied to a temp dir: opening it may create -wal/-shm files or migrate it. */
function v1Copy(dir: string): string {
  const file = join(dir, 'v1.db');
  copyFileSync(join(fixturesDir, 'store-v1.db'), file);
  return file;
}

/** Every sample of the fixture's recordings reads back as crashValues(i), series by series and sample by sample. */
function assertV1Values(store: Store, extra = 0): void {
  const recs = store.listRecordings();
  assert.deepStrictEqual(recs.map((r) => [r.target.name, r.sampleCount]), [['v1-a', 2600], ['v1-b', 1500 + extra]]);
  for (const rec of recs) {
    const keys = new Set<string>();
    for (let i = 0; i < rec.sampleCount; i++) for (const k of crashValues(i).keys()) keys.add(k);
    for (const key of keys) {
      const s = store.readSeries(rec.id, key);
      assert.equal(s.v.length, rec.sampleCount);
      s.v.forEach((v, i) => assert.ok(Object.is(v, crashValues(i).get(key) ?? NaN), `${rec.target.name} ${key} at ${i}: ${v} != ${crashValues(i).get(key)}`));
    }
    const ids = store.readSeries(rec.id, 's.0').sampleIds;
    for (const i of [0, 1023, 1024, 1400, rec.sampleCount - 1]) assert.deepStrictEqual(store.valuesAt(ids[i] as number), crashValues(i), `${rec.target.name} sample ${i}`);
    const binned = store.readBinned(rec.id, { maxBins: 10 });
    const dense = store.readSeries(rec.id, 's.3').v;
    const lo = Math.floor((9 * rec.sampleCount) / 10);
    const mean = dense.slice(lo).reduce((a, b) => a + b, 0) / (rec.sampleCount - lo);
    assert.equal(binned.series.get('s.3')?.[9], mean, `${rec.target.name}: the last bin of s.3 (tail included)`);
  }
}

test('old files: a schema-version-1 recording reads whole on a read-only handle, as it is', () => {
  const dir = tempDir();
  try {
    const file = v1Copy(dir);
    const ro = openStore(file, { readonly: true });
    try {
      assert.equal(ro.schemaVersion, 1);
      assertV1Values(ro);
      assert.deepStrictEqual(ro.check(), []);
      assert.equal(ro.stats(2).pendingSamples, 476);
    } finally { ro.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('old files: opening a version-1 file for writing migrates it (pending rows into samples, chunk ids by flush) and nothing is lost', () => {
  const dir = tempDir();
  try {
    const file = v1Copy(dir);
    const store = openStore(file);
    try {
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.deepStrictEqual(store.check(), []);
      const db = new Database(file, { readonly: true });
      assert.deepStrictEqual(db.prepare("SELECT name FROM sqlite_schema WHERE name IN ('pending', 'chunk_series')").all(), []);
      const bad = db.prepare(`SELECT COUNT(*) FROM chunk c WHERE c.id <> (SELECT tl.id FROM timeline tl WHERE c.first_sample_id BETWEEN tl.first_sample_id AND tl.last_sample_id) * 4294967296 + c.series_id`).pluck().get();
      assert.equal(bad, 0, 'every chunk id is chunkId(its timeline row, its series)');
      db.close();
      assertV1Values(store);
      // The recording the killed version-1 recorder left goes on, across a flush, and reads whole.
      const rec = store.listRecordings()[1];
      assert.ok(rec);
      const w = store.resumeRecording(rec.id);
      for (let i = 1500; i < 1500 + FLUSH_SAMPLES; i++) {
        w.appendSample({ takenAtMs: 1_700_000_000_000 + i * 1000, uptimeSec: 100 + i, bootId: 'boot-b', values: crashValues(i) });
      }
      w.close();
      assertV1Values(store, FLUSH_SAMPLES);
      assert.deepStrictEqual(store.check(), []);
    } finally { store.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('new files: 1 KiB pages, and a flush appends its chunks in id order (chunkId of its timeline row and series)', () => {
  withStore((store, file) => {
    const w = begin(store);
    for (let i = 0; i < FLUSH_SAMPLES * 2 + 5; i++) w.appendSample({ takenAtMs: T0 + i * 1000, values: crashValues(i) });
    w.close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('page_size', { simple: true }), 1024);
      const tls = db.prepare('SELECT id FROM timeline ORDER BY id').pluck().all() as number[];
      assert.equal(tls.length, 3);
      const rows = db.prepare('SELECT id, series_id, first_sample_id FROM chunk ORDER BY rowid').raw(true).all() as [number, number, number][];
      const want = rows.map(([, sid, first]) => chunkId(tls[first <= FLUSH_SAMPLES ? 0 : first <= 2 * FLUSH_SAMPLES ? 1 : 2] as number, sid));
      assert.deepStrictEqual(rows.map((r) => r[0]), want);
      assert.deepStrictEqual(want, [...want].sort((a, b) => a - b));
    } finally { db.close(); }
  });
});

test('open: schema version is set; read-only handles refuse writing and newer files are refused', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'nested', 'v.db');
    assert.throws(() => openStore(file), /the folder .*nested does not exist/, 'a named database never creates folders');
    mkdirSync(join(dir, 'nested'));
    const s = openStore(file);
    const w = begin(s);
    w.appendSample({ takenAtMs: T0, values: new Map([['a', 1]]) });
    w.close();
    s.close();
    const db = new Database(file);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const ro = openStore(file, { readonly: true });
    assert.equal(ro.sampleCount(1), 1);
    assert.throws(() => begin(ro), /read-only/);
    ro.close();
    const db2 = new Database(file);
    db2.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db2.close();
    assert.throws(() => openStore(file), /newer than this memsleuth/);
    assert.throws(() => openStore(join(dir, 'missing.db'), { readonly: true }), /Cannot open database/);
    assert.equal(defaultDbPath('cam 01/x', Date.UTC(2025, 0, 2, 3, 4, 5)), join('.memsleuth', 'cam_01_x-20250102-030405.db'));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('resume: a recording continues after close with its last values and boot segment', () => {
  withStore((store) => {
    const w = begin(store);
    for (let i = 0; i < 10; i++) w.appendSample({ takenAtMs: T0 + i * 1000, uptimeSec: 50 + i, bootId: 'A', values: new Map([['k', i < 5 ? 1 : 2], ['gone', 3]]) });
    w.close();
    const w2 = store.resumeRecording(w.recordingId);
    w2.recordGap({ fromMs: T0 + 9000, toMs: T0 + 20_000, reason: 'recorder restarted' });
    const r = w2.appendSample({ takenAtMs: T0 + 20_000, uptimeSec: 70, bootId: 'A', values: new Map([['k', 2]]) });
    assert.equal(r.newBootSegment, false);
    w2.close();
    assert.deepStrictEqual([...store.readSeries(w.recordingId, 'k').v], [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    assert.deepStrictEqual([...store.readSeries(w.recordingId, 'gone').v].slice(9), [3, NaN]);
    assert.equal(store.readSeries(w.recordingId, 'k').segments.length, 2);
  });
});

/** Spawns the crash child, collects "sampleId i" lines, kills it with SIGKILL once `killAfter` lines came. */
function runAndKill(file: string, killAfter: number): Promise<[number, number][]> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./crash_child.js', import.meta.url)), file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const printed: [number, number][] = [];
  let buf = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const [id, i] = l.split(' ').map(Number);
        printed.push([id as number, i as number]);
      }
      if (printed.length >= killAfter && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(printed);
      else reject(new Error(`crash child exited (${code}) before the kill: ${err}`));
    });
  });
}

test('crash safety: SIGKILL mid-recording leaves a consistent file with every committed sample', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'crash.db');
    const printed = await runAndKill(file, FLUSH_SAMPLES * 2 + 300);
    assert.ok(printed.length >= FLUSH_SAMPLES * 2 + 300);
    const store = openStore(file);
    try {
      assert.deepStrictEqual(store.check(), [], 'integrity_check, foreign_key_check and store invariants');
      const [rec] = store.listRecordings();
      assert.ok(rec);
      assert.equal(rec.endedAtMs, undefined, 'a killed recording is not marked complete');
      assert.ok(rec.sampleCount >= printed.length, `${rec.sampleCount} samples stored, ${printed.length} printed`);
      const keys = new Set<string>();
      for (const [, i] of printed) for (const k of crashValues(i).keys()) keys.add(k);
      for (const key of keys) {
        const s = store.readSeries(rec.id, key);
        const at = new Map<number, number>();
        s.sampleIds.forEach((id, j) => at.set(id, s.v[j] as number));
        for (const [id, i] of printed) {
          assert.ok(at.has(id), `sample ${id} (i=${i}) is missing`);
          assert.ok(Object.is(at.get(id), crashValues(i).get(key) ?? NaN), `${key} at sample ${id}: ${at.get(id)} != ${crashValues(i).get(key)}`);
        }
      }
      const last = printed[printed.length - 1] as [number, number];
      assert.deepStrictEqual(store.valuesAt(last[0]), crashValues(last[1]));
      assert.deepStrictEqual(store.rawSections(printed[0]?.[0] ?? 0), [{ kind: 'meminfo', text: 'MemFree: 0 kB\n' }]);
      // The recorder can pick up where it was killed.
      const w = store.resumeRecording(rec.id);
      w.recordGap({ fromMs: (rec.lastSampleMs ?? 0), toMs: (rec.lastSampleMs ?? 0) + 5000, reason: 'recorder killed' });
      const i = rec.sampleCount + 5;
      const r = w.appendSample({ takenAtMs: 1_700_000_000_000 + i * 1000, uptimeSec: 100 + i, bootId: 'boot-a', values: crashValues(i) });
      w.close();
      assert.equal(r.newBootSegment, false);
      assert.deepStrictEqual(store.valuesAt(r.sampleId), crashValues(i));
      assert.deepStrictEqual(store.valuesAt(last[0]), crashValues(last[1]));
      assert.deepStrictEqual(store.check(), []);
    } finally { store.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a read-only handle reads a recording while it is written (WAL), and sees each new commit', () => {
  withStore((store, file) => {
    const w = begin(store, undefined, 0);
    w.appendSample({ takenAtMs: T0, values: new Map([['proc.app:1.map.[heap].rss', 1], ['proc.app:1.uss', 2]]) });
    const ro = openStore(file, { readonly: true });
    try {
      assert.deepStrictEqual([...ro.readSeries(w.recordingId, 'proc.app:1.map.[heap].rss').v], [1]);
      w.appendSample({ takenAtMs: T0 + 1000, values: new Map([['proc.app:1.map.[heap].rss', 5]]) });
      assert.deepStrictEqual([...ro.readSeries(w.recordingId, 'proc.app:1.map.[heap].rss').v], [1, 5]);
      assert.deepStrictEqual(ro.listSeries(w.recordingId, 'proc.app:?.map.[heap].*').map((s) => s.key), ['proc.app:1.map.[heap].rss']);
      assert.deepStrictEqual([...ro.readSeries(w.recordingId, 'proc.app:1.uss').v], [2, NaN]);
      assert.throws(() => ro.readSeries(w.recordingId, 'nope'), /No series "nope"/);
    } finally { ro.close(); }
    w.close();
  });
});

test('readBinned: bin means of every series equal the means of readSeries over the same bins (flushed, pending, absent, ranges)', () => {
  withStore((store) => {
    const w = begin(store);
    const rnd = prng(7);
    const n = FLUSH_SAMPLES * 2 + 300; // two flushed windows and a pending tail
    for (let i = 0; i < n; i++) {
      const values = new Map<string, number>([['a', Math.floor(rnd() * 50) * 4096], ['flat', 7]]);
      if (i >= 100 && i < 1500) values.set('proc.x:1.uss', 1000 + i); // appears, then exits
      if (i >= FLUSH_SAMPLES * 2 + 10) values.set('late', i); // only in pending rows
      w.appendSample({ takenAtMs: T0 + i * 1000 + (i % 3), values });
    }
    const rec = store.listRecordings()[0]?.id ?? 0;
    const check = (maxBins: number, range: { fromMs?: number; toMs?: number }): void => {
      const b = store.readBinned(rec, { maxBins, ...range });
      const tl = store.timeline(rec, range);
      assert.equal(b.samples, tl.t.length);
      const bins = b.tMs.length;
      assert.equal(bins, Math.min(maxBins, tl.t.length));
      for (const key of ['a', 'flat', 'proc.x:1.uss', 'late']) {
        const d = store.readSeries(rec, key, range);
        const got = b.series.get(key);
        const anyFinite = d.v.some((x) => Number.isFinite(x));
        if (!anyFinite) { assert.equal(got, undefined, `${key} has no value in range`); continue; }
        assert.ok(got, `${key} binned`);
        for (let k = 0; k < bins; k++) {
          const lo = Math.floor((k * tl.t.length) / bins);
          const hi = Math.floor(((k + 1) * tl.t.length) / bins);
          let s = 0;
          let c = 0;
          let ts = 0;
          for (let i = lo; i < hi; i++) { ts += tl.t[i] as number; const x = d.v[i] as number; if (Number.isFinite(x)) { s += x; c++; } }
          const want = c > 0 ? s / c : NaN;
          const g = got[k] as number;
          assert.ok(Number.isNaN(want) ? Number.isNaN(g) : Math.abs(g - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${key} bin ${k}: ${g} != ${want}`);
          assert.ok(Math.abs((b.tMs[k] as number) - ts / (hi - lo)) < 1e-3);
          assert.equal(b.counts[k], hi - lo);
        }
      }
    };
    check(100, {});
    check(n + 50, {}); // one sample a bin: the series itself
    check(37, { fromMs: T0 + 1200 * 1000, toMs: T0 + (FLUSH_SAMPLES * 2 + 100) * 1000 });
    check(10, { fromMs: T0 + 2000 * 1000 });
    w.close();
  });
});

test('samples are committed in groups of commitEverySec: another connection sees a group when it closes, close() commits the rest', () => {
  withStore((store, file) => {
    const w = begin(store, undefined, 10);
    const ro = openStore(file, { readonly: true });
    try {
      const seen = (): number => ro.sampleCount(w.recordingId);
      const results = [];
      for (let i = 0; i < 10; i++) results.push(w.appendSample({ takenAtMs: T0 + i * 1000, values: new Map([['a', i]]) }));
      assert.equal(seen(), 0, 'the first 10 s are one open group');
      assert.equal(results[9]?.committedThrough, undefined);
      const r = w.appendSample({ takenAtMs: T0 + 10_000, values: new Map([['a', 10]]) });
      assert.equal(r.committedThrough, r.sampleId, 'the sample 10 s after the group began commits it');
      assert.equal(seen(), 11);
      assert.deepStrictEqual([...ro.readSeries(w.recordingId, 'a').v], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      w.appendSample({ takenAtMs: T0 + 11_000, values: new Map([['a', 11]]) });
      assert.equal(seen(), 11);
      w.close();
      assert.equal(seen(), 12);
      assert.equal(ro.listRecordings()[0]?.endedAtMs, T0 + 11_000);
    } finally { ro.close(); }
  });
});

test('growingBins: updated as a recording grows (flushes, absent values, new series, bins merging) it holds the bin means of the dense series', () => {
  withStore((store, file) => {
    const w = begin(store, undefined, 0);
    const ro = openStore(file, { readonly: true });
    try {
      const bins = ro.growingBins(w.recordingId, 16);
      assert.equal(bins.update(), 0, 'nothing recorded yet');
      const total = FLUSH_SAMPLES * 2 + 500;
      const updates = [1, 7, 300, FLUSH_SAMPLES - 3, FLUSH_SAMPLES + 2, FLUSH_SAMPLES * 2 + 1, total];
      let seen = 0;
      for (let i = 0; i < total; i++) {
        const values = crashValues(i);
        if (i >= 700) values.set('late', i % 13 === 0 ? 1.5 : i * 4096);
        if (i % 97 < 5) values.delete('s.3');
        w.appendSample({ takenAtMs: T0 + i * 1000 + (i % 7), values });
        if (updates.includes(i + 1)) {
          seen += bins.update();
          assert.equal(seen, i + 1);
          const table = bins.table();
          const width = bins.binWidth;
          const nb = Math.ceil((i + 1) / width);
          assert.ok(nb <= 16 && (i + 1 <= 16 || nb > 8), `${nb} bins of ${width} samples for ${i + 1}`);
          assert.deepStrictEqual([...table.counts], Array.from({ length: nb }, (_, b) => Math.min(i + 1, (b + 1) * width) - b * width));
          for (const key of ['s.0', 's.3', 's.15', 'frac', 'late', 'proc.worker:1000.uss', 'proc.worker:1002.uss']) {
            const exists = ro.listSeries(w.recordingId).some((x) => x.key === key);
            const dense = exists ? ro.readSeries(w.recordingId, key).v : new Float64Array(i + 1).fill(NaN);
            const want = Array.from({ length: nb }, (_, b) => {
              let sum = 0;
              let cnt = 0;
              for (let j = b * width; j < Math.min(i + 1, (b + 1) * width); j++) if (Number.isFinite(dense[j])) { sum += dense[j] as number; cnt++; }
              return cnt > 0 ? sum / cnt : NaN;
            });
            const got = table.series.get(key);
            if (want.every((x) => Number.isNaN(x))) { assert.equal(got, undefined, `${key} has no value yet`); continue; }
            assert.ok(got, `${key} at ${i + 1} samples`);
            want.forEach((x, b) => assert.ok(Object.is(got[b], x) || Math.abs((got[b] as number) - x) <= 1e-9 * Math.abs(x), `${key} bin ${b} of ${nb} at ${i + 1} samples: ${got[b]} != ${x}`));
          }
        }
      }
      // One update over the whole recording gives the same bins as the many small ones.
      const once = ro.growingBins(w.recordingId, 16);
      once.update();
      const a = bins.table();
      const b = once.table();
      assert.deepStrictEqual([...b.series.keys()].sort(), [...a.series.keys()].sort());
      assert.deepStrictEqual(b.counts, a.counts);
      for (const [k, v] of a.series) v.forEach((x, j) => assert.ok(Object.is(x, b.series.get(k)?.[j]) || Math.abs(x - (b.series.get(k)?.[j] as number)) <= 1e-9 * Math.abs(x), `${k} bin ${j}`));
    } finally { w.close(); ro.close(); }
  });
});

test('minMaxBuckets: min and max per bucket from the change points equal those of the dense series (absent skipped, ranges)', () => {
  withStore((store) => {
    const w = begin(store);
    const rnd = prng(3);
    const n = FLUSH_SAMPLES + 500;
    for (let i = 0; i < n; i++) {
      const values = new Map<string, number>([['a', Math.floor(rnd() * 9) * 4096]]);
      if (i % 700 < 300) values.set('b', i % 13 === 0 ? 5 : 7);
      w.appendSample({ takenAtMs: T0 + i * 1000, values });
    }
    const rec = w.recordingId;
    for (const range of [{}, { fromMs: T0 + 333_000, toMs: T0 + 1400_000 }]) {
      const { ids } = store.timeline(rec, range);
      for (const buckets of [7, 100, ids.length]) {
        const bounds: number[] = [];
        for (let b = 0; b <= buckets; b++) bounds.push(Math.floor((b * ids.length) / buckets));
        for (const key of ['a', 'b']) {
          const d = store.readSeries(rec, key, range);
          const want = { min: [] as (number | null)[], max: [] as (number | null)[] };
          for (let b = 0; b < buckets; b++) {
            const xs = [...d.v.subarray(bounds[b], bounds[b + 1])].filter((x) => !Number.isNaN(x));
            want.min.push(xs.length > 0 ? Math.min(...xs) : null);
            want.max.push(xs.length > 0 ? Math.max(...xs) : null);
          }
          assert.deepStrictEqual(store.minMaxBuckets(rec, key, ids, bounds), want, `${key}, ${buckets} buckets, ${JSON.stringify(range)}`);
        }
      }
    }
    w.close();
  });
});

test('stored values are finite: NaN and Infinity from a source read back as absent, never as a number', () => {
  withStore((store) => {
    const w = begin(store);
    const a = w.appendSample({ takenAtMs: T0, values: new Map([['meminfo.MemFree', 1000], ['meminfo.Huge', Infinity], ['meminfo.Bad', NaN]]) });
    const b = w.appendSample({ takenAtMs: T0 + 1000, values: new Map([['meminfo.MemFree', -Infinity], ['meminfo.Huge', 5]]) });
    w.close();
    assert.deepStrictEqual(store.valuesAt(a.sampleId), new Map([['meminfo.MemFree', 1000]]));
    assert.deepStrictEqual(store.valuesAt(b.sampleId), new Map([['meminfo.Huge', 5]]));
    for (const key of ['meminfo.MemFree', 'meminfo.Huge']) {
      const s = store.readSeries(w.recordingId, key);
      assert.ok([...s.v].every((v) => Number.isNaN(v) || Number.isFinite(v)), `${key}: ${[...s.v].join(',')}`);
      assert.ok(![...s.v].some((v) => v === Infinity || v === -Infinity), key);
    }
  });
});

test('valuesAfter: the values of the next samples stepped by their own changes equal valuesAt at each (flushed, pending, a series appearing and going)', () => {
  withStore((store) => {
    const r = prng(11);
    const w = begin(store);
    const n = FLUSH_SAMPLES + 300;
    let noisy = 1 << 30;
    for (let i = 0; i < n; i++) {
      noisy += Math.round((r() - 0.5) * 100) * 1024;
      const values = new Map<string, number>([['flat', 42], ['noisy', noisy], ['fraction', r()]]);
      if (i % 500 >= 200 && i % 500 < 260) values.set('flicker', i % 7);
      if (i >= 900) values.set('late', i);
      w.appendSample({ takenAtMs: T0 + i * 1000, values });
    }
    const ids = store.readSamples(w.recordingId).map((s) => s.id);
    // Stepping from before a flush, across it, into the pending tail.
    for (const start of [0, 150, 850, 1000, n - 40]) {
      const from = ids[start] as number;
      const stepped = store.valuesAfter(w.recordingId, from, store.valuesAt(from), ids[ids.length - 1] as number);
      assert.ok(stepped !== undefined);
      assert.deepEqual(stepped.map((x) => x.id), ids.slice(start + 1));
      for (const x of stepped) assert.deepStrictEqual(x.values, store.valuesAt(x.id), `sample ${x.id} from ${from}`);
    }
    w.close();
  });
});
