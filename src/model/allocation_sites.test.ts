import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseKmemleak } from '../parse/evidence/kmemleak.js';
import { parseSlubAllocCalls } from '../parse/evidence/slub_alloc_calls.js';
import type { AllocationSite } from './allocation_site.js';
import { diffSites, mergeSites, rankSites, stackKey } from './allocation_sites.js';

function kmemleakSitesOf(name: string): AllocationSite[] {
  const f = corpus('kmemleak').find((x) => x.name === name);
  assert.ok(f, name);
  return parseKmemleak(f.text).value.sites;
}
const slub = (): AllocationSite[] => {
  const f = corpus('slub_alloc_calls')[0];
  assert.ok(f);
  return parseSlubAllocCalls(f.text).value.sites;
};

test('stackKey: symbols without offsets, clone suffixes and inline frames dropped, address as fallback', () => {
  const s = kmemleakSitesOf('syzkaller-report-51-x86_64-2018-trailing-spaces.txt')[0];
  assert.ok(s);
  assert.equal(stackKey(s.stack), 'sock_kmalloc;do_ipv6_setsockopt;ipv6_setsockopt;sctp_setsockopt;sock_common_setsockopt;SyS_setsockopt');
  const inl = kmemleakSitesOf('syzkaller-guilty-47-multi-inline-frames.txt')[0];
  assert.ok(inl);
  assert.ok(stackKey(inl.stack).startsWith('usb_alloc_urb;atusb_probe;usb_probe_interface;'));
  assert.equal(stackKey([{ address: '0xc0011521' }, { module: 'libc.so.6', moduleOffset: '0x1234' }, { symbol: 'f', module: 'ext4' }]), '0xc0011521;libc.so.6+0x1234;f [ext4]');
});

test('mergeSites: the 5 objects of guilty-48 collapse to one site; merging twice sums again and widens age', () => {
  const sites = kmemleakSitesOf('syzkaller-guilty-48-many-objects.txt');
  assert.equal(sites.length, 1);
  const later = sites.map((s) => ({ ...s, ageSec: { min: 20, max: 30, avg: 25 }, pids: [1], comms: ['other'] }));
  const m = mergeSites([...sites, ...later]);
  assert.equal(m.length, 1);
  const x = m[0];
  assert.ok(x);
  assert.deepEqual({ ...x, stack: x.stack.length }, {
    stack: 11, bytes: 1920, count: 10, kind: 'unreferenced', tool: 'kmemleak', ageSec: { min: 14.11, max: 30, avg: (14.11 * 5 + 25 * 5) / 10 },
    pids: [1, 3705], comms: ['kworker/1:2', 'other'], origin: 'line 4',
  });
});

test('mergeSites: other tools and kinds do not merge, and empty stacks merge only by cache and process', () => {
  const k = kmemleakSitesOf('syzkaller-report-312-hashed-pointers.txt');
  const asSlub = k.map((s) => ({ ...s, tool: 'slub' as const, kind: 'outstanding' as const }));
  assert.equal(mergeSites([...k, ...asSlub]).length, 2);
  const empty = (cache: string): AllocationSite => ({ stack: [], bytes: 1 as AllocationSite['bytes'], count: 1, kind: 'outstanding', tool: 'oom', cache });
  assert.equal(mergeSites([empty('a'), empty('b'), empty('a')]).length, 2);
});

test('rankSites: bytes desc then count', () => {
  const r = rankSites([...kmemleakSitesOf('syzkaller-report-151-two-objects.txt'), ...slub()]);
  assert.deepEqual(r.map((s) => [s.tool, s.bytes]), [['slub', 1272283 * 2048], ['slub', 189 * 2048], ['kmemleak', 944], ['kmemleak', 96]]);
});

test('diffSites: added, grown, shrunk, gone with deltas', () => {
  const before = slub();
  const [big, small] = before;
  assert.ok(big && small);
  const after: AllocationSite[] = [
    { ...big, bytes: (big.bytes + 2048) as AllocationSite['bytes'], count: big.count + 1 },
    ...kmemleakSitesOf('syzkaller-report-310-hashed-pointers.txt'),
  ];
  const d = diffSites(before, after);
  assert.deepEqual(d.grown.map((c) => [c.deltaBytes, c.deltaCount, c.site.count, c.before?.count]), [[2048, 1, 1272284, 1272283]]);
  assert.deepEqual(d.added.map((c) => [c.deltaBytes, c.deltaCount, c.site.tool]), [[576, 1, 'kmemleak']]);
  assert.deepEqual(d.gone.map((c) => [c.deltaBytes, c.deltaCount]), [[-189 * 2048, -189]]);
  assert.deepEqual(d.shrunk, []);
  const back = diffSites(after, before);
  assert.deepEqual(back.shrunk.map((c) => c.deltaBytes), [-2048]);
  assert.deepEqual(diffSites(before, before), { added: [], grown: [], shrunk: [], gone: [] });
});
