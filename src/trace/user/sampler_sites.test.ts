/**
 * The sampler's records to per-site estimates: scaling by the sampling probability, frees, realloc chains, exec,
 * forked children, and the series the verdict rules judge. Records are built with the C library's encoding.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamplerRecord } from './sampler_protocol.js';
import { SamplerRecordReader, encodeRecord } from './sampler_protocol.js';
import { SampleAccumulator, seriesOf } from './sampler_sites.js';

const S = 1_000_000_000n;
const hello = (pid: number, mean: number, t = 0n): SamplerRecord => ({ kind: 'hello', fn: 0, tid: 0, ptr: pid, size: mean, tNs: t, mean: 0, stack: [] });
const alloc = (ptr: number, size: number, t: bigint, stack: bigint[], fn = 0, mean = 0): SamplerRecord => ({ kind: 'alloc', fn, tid: 1, ptr, size, tNs: t, mean, stack });
const free = (ptr: number, t: bigint): SamplerRecord => ({ kind: 'free', fn: 0, tid: 1, ptr, size: 0, tNs: t, mean: 0, stack: [] });
const A = [0x401000n, 0x401100n];
const B = [0x402000n, 0x401100n];

test('records survive encoding and any split into chunks', () => {
  const recs = [hello(42, 131072), alloc(0x1000, 64, 5n, A), free(0x1000, 6n), { kind: 'bye' as const, fn: 0, tid: 0, ptr: 3, size: 0, tNs: 7n, mean: 0, stack: [] }];
  const bytes = Buffer.concat(recs.map(encodeRecord));
  for (const cut of [1, 7, 48, 49, 65, bytes.length - 1]) {
    const r = new SamplerRecordReader();
    const got = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
    assert.deepEqual(got, recs, `cut at ${cut}`);
    assert.equal(r.pending, 0);
  }
});

test('a header that makes no sense stops the stream with a reason, never a throw', () => {
  const r = new SamplerRecordReader();
  const bad = Buffer.alloc(80, 0xff);
  assert.deepEqual(r.push(bad), []);
  assert.match(r.broken ?? '', /record at byte 0/);
  assert.deepEqual(r.push(encodeRecord(hello(1, 1))), []);
});

test('exact mode (mean 0): every block counts once at its size; frees take it away', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 0));
  acc.add(1, alloc(0x1000, 100, 1n * S, A));
  acc.add(1, alloc(0x2000, 100, 2n * S, A));
  acc.add(1, alloc(0x3000, 64, 2n * S, B));
  acc.add(1, free(0x3000, 3n * S));
  acc.add(1, free(0x9000, 3n * S));
  const sites = acc.sites();
  assert.deepEqual(sites.map((s) => [s.stack, s.liveBytes, s.liveBlocks, s.liveBytesSe, s.liveSamples]), [[A, 200, 2, 0, 2], [B, 0, 0, 0, 0]]);
  assert.deepEqual({ matched: acc.stats.matchedFrees, unmatched: acc.stats.unmatchedFrees }, { matched: 1, unmatched: 1 });
});

test('sampled blocks are scaled by 1 / (1 - exp(-size/mean)) with the mean each was drawn with, and a standard error', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 4096));
  acc.add(1, alloc(0x1000, 100, 1n, A, 0, 1000));
  acc.add(1, alloc(0x2000, 100000, 1n, B, 0, 1000));
  const p100 = 1 - Math.exp(-0.1);
  const [big, small] = acc.sites();
  assert.ok(small !== undefined && big !== undefined);
  assert.ok(Math.abs(small.liveBytes - 100 / p100) < 1e-6);
  assert.ok(Math.abs(small.liveBlocks - Math.round(1 / p100)) < 1e-9);
  assert.ok(Math.abs(small.liveBytesSe - Math.sqrt(100 * 100 * (1 - p100)) / p100) < 1e-6);
  // A block a hundred times the mean is sampled for sure: it stands for itself.
  assert.ok(Math.abs(big.liveBytes - 100000) < 1e-6);
  assert.ok(big.liveBytesSe < 1e-6);
});

test('a realloc chain: each step frees the old address; only the last block stays live', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 0));
  let ptr = 0x1000;
  for (let i = 1; i <= 10; i++) {
    if (i > 1) acc.add(1, free(ptr, BigInt(i)));
    ptr = i % 2 === 0 ? ptr : ptr + 0x100; // realloc moves the block every other step
    acc.add(1, alloc(ptr, i * 100, BigInt(i), A, 2));
  }
  assert.deepEqual(acc.sites().map((s) => [s.fn, s.liveBytes, s.liveBlocks]), [['realloc', 1000, 1]]);
  assert.equal(acc.stats.matchedFrees, 9);
});

test('an address handed out again before its free was seen replaces the old block', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 0));
  acc.add(1, alloc(0x1000, 100, 1n, A));
  acc.add(1, alloc(0x1000, 50, 2n, B));
  assert.deepEqual(acc.sites().map((s) => [s.stack, s.liveBytes]), [[B, 50], [A, 0]]);
  assert.equal(acc.stats.reused, 1);
});

test('exec: a second HELLO from the same pid releases the old image; the old connection is ignored', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 0));
  acc.add(1, alloc(0x1000, 100, 1n, A));
  acc.add(2, hello(42, 0, 2n));
  acc.add(1, alloc(0x2000, 100, 3n, A));
  acc.add(2, alloc(0x1000, 30, 3n, B));
  assert.deepEqual(acc.sites().map((s) => [s.stack, s.liveBytes]), [[B, 30], [A, 0]]);
  assert.deepEqual({ execs: acc.stats.execs, stale: acc.stats.stale, processes: acc.stats.processes }, { execs: 1, stale: 1, processes: 1 });
});

test('fork: the child speaks as its own pid; its frees of inherited blocks do not touch the parent', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 0));
  acc.add(1, alloc(0x1000, 100, 1n, A));
  acc.add(2, hello(43, 0, 2n));
  acc.add(2, free(0x1000, 3n));
  acc.add(2, alloc(0x5000, 70, 3n, B));
  assert.deepEqual(acc.sites().map((s) => [s.pid, s.liveBytes]), [[42, 100], [43, 70]]);
  assert.deepEqual(acc.pidOrder, [42, 43]);
  assert.equal(acc.stats.unmatchedFrees, 1);
});

test('series: live bytes at each step, events counted up to the step', () => {
  const acc = new SampleAccumulator(0n);
  acc.add(1, hello(42, 0));
  for (let i = 0; i < 5; i++) acc.add(1, alloc(0x1000 + i * 0x100, 100, BigInt(i) * S + S / 2n, A));
  acc.add(1, free(0x1000, 4n * S));
  const site = acc.sites()[0];
  assert.ok(site !== undefined);
  assert.deepEqual(seriesOf(site, 5, 1), [0, 100, 200, 300, 300, 400].map((value, t) => ({ t, value })));
});

test('maps records carry the text and survive splitting; the accumulator keeps the last per pid', () => {
  const recs: SamplerRecord[] = [hello(7, 0), { kind: 'maps', fn: 0, tid: 0, ptr: 0, size: 11, tNs: 1n, mean: 0, stack: [], text: '00400000-1\n' }];
  const bytes = Buffer.concat(recs.map(encodeRecord));
  const r = new SamplerRecordReader();
  const got = [...r.push(bytes.subarray(0, 53)), ...r.push(bytes.subarray(53))];
  assert.deepEqual(got, recs);
  const acc = new SampleAccumulator(0n);
  for (const x of got) acc.add(1, x);
  assert.equal(acc.maps.get(7), '00400000-1\n');
});
