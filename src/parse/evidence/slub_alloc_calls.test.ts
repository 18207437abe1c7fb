import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, seed } from '../../../test/corpus.js';
import { parseSlubAllocCalls } from './slub_alloc_calls.js';

const files = corpus('slub_alloc_calls');

/** The text between two markers of a seed, both included (the seeds are field notes with examples inside). */
function block(text: string, from: string, to: string): string {
  const a = text.indexOf(from);
  const b = text.indexOf(to, a);
  assert.ok(a >= 0 && b >= 0, `markers ${from} .. ${to}`);
  return text.slice(a, b + to.length);
}

test('slub corpus: every file parses, no data-loss', () => {
  assert.ok(files.length >= 1);
  for (const f of files) {
    const r = parseSlubAllocCalls(f.text);
    assert.ok(r.value.sites.length > 0, f.name);
    assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), [], f.name);
  }
});

test('slabinfo -r kmalloc-2k quoted in a mail: cache, object size, multi-line stacks, free list apart', () => {
  const f = files.find((x) => x.name.startsWith('lkml-2024-03'));
  assert.ok(f);
  const r = parseSlubAllocCalls(f.text);
  const v = r.value;
  assert.equal(v.cache, 'kmalloc-2k');
  assert.equal(v.direction, 'alloc');
  assert.equal(v.objectSize, 2048);
  assert.deepEqual(v.sites[0], {
    stack: [
      { symbol: 'memdup_user', offset: '+0x21', length: '/0x70' },
      { symbol: 'snd_ctl_ioctl', offset: '+0x45f', length: '/0x6d0' },
      { symbol: '__x64_sys_ioctl', offset: '+0x85', length: '/0xa0' },
      { symbol: 'do_syscall_64', offset: '+0x3d', length: '/0xf0' },
      { symbol: 'entry_SYSCALL_64_after_hwframe', offset: '+0x46', length: '/0x4e' },
    ],
    bytes: 1272283 * 2048, count: 1272283, kind: 'outstanding', tool: 'slub', origin: 'line 24', pids: [687, 33984], cache: 'kmalloc-2k',
  });
  assert.deepEqual(v.sites[1]?.stack, [{ symbol: 'acpi_add_single_object', offset: '+0x38', length: '/0x710' }]);
  assert.equal(v.sites[1]?.count, 189);
  assert.deepEqual(v.freeSites.map((s) => [s.count, s.stack[0]?.symbol, s.stack.length]), [
    [633587, undefined, 0], [382872, 'rcu_core', 2], [247690, 'amdgpu_dm_atomic_commit_tail', 7], [2794, '__sk_destruct', 1],
  ]);
  assert.deepEqual(r.warnings.filter((w) => w.reason.startsWith('elided')).map((w) => w.line), [32, 51]);
});

test('HZ turns age= jiffies into seconds', () => {
  const f = files.find((x) => x.name.startsWith('lkml-2024-03'));
  assert.ok(f);
  const v = parseSlubAllocCalls(f.text, { hz: 1000 }).value;
  assert.deepEqual(v.sites[0]?.ageSec, { min: 6.141, max: 366.927, avg: 183.854 });
});

test('seed 004: raw alloc_calls of kmalloc-32 (no heading: direction from the caller, bytes 0)', () => {
  const text = block(seed('004'), '      5 register_tracer', 'disk_expand_part_tbl+0x4a/0xbc age=703072/703748/703896 pid=1-78');
  const r = parseSlubAllocCalls(text, { direction: 'alloc', cache: 'kmalloc-32' });
  assert.equal(r.value.direction, 'alloc');
  assert.deepEqual(r.value.sites.map((s) => [s.count, s.stack[0]?.symbol, s.pids, s.bytes]), [
    [5, 'register_tracer', [1], 0], [3, 'ipc_init_proc_interface', [1], 0], [21, 'register_blkdev', [1], 0], [29, 'disk_expand_part_tbl', [1, 78], 0],
  ]);
  assert.ok(r.warnings.some((w) => w.reason.startsWith('object size unknown')));
  assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
});

test('seed 004: raw free_calls list with <not-available>', () => {
  const text = block(seed('004'), '   4371 <not-available> age=635262 pid=0', '__of_attach_node_sysfs+0x74/0x114 age=710237/710244/710253 pid=1');
  const v = parseSlubAllocCalls(text, { direction: 'free' }).value;
  assert.equal(v.direction, 'free');
  assert.deepEqual(v.sites.map((s) => [s.count, s.stack.length]), [[4371, 0], [53, 1], [1, 1], [154, 1]]);
});

test('seed 004: slabinfo -r kmalloc-32 report', () => {
  const text = block(seed('004'), 'Slabcache: kmalloc-32', 'kmalloc-32: No NUMA information available.');
  const r = parseSlubAllocCalls(text);
  const v = r.value;
  assert.equal(v.cache, 'kmalloc-32');
  assert.equal(v.objectSize, 32);
  assert.deepEqual(v.sites.map((s) => [s.count, s.stack[0]?.symbol, s.bytes]), [
    [5, 'register_tracer', 160], [3, 'ipc_init_proc_interface', 96], [8, 'blk_mq_realloc_hw_ctxs', 256], [8, 'blk_mq_init_allocated_queue', 256],
  ]);
  assert.equal(v.freeSites.length, 7);
  assert.deepEqual(v.freeSites[6], {
    stack: [{ symbol: '__of_attach_node_sysfs', offset: '+0x74', length: '/0x114' }], bytes: 154 * 32, count: 154, kind: 'outstanding', tool: 'slub',
    origin: 'line 30', pids: [1], cache: 'kmalloc-32',
  });
  assert.deepEqual(r.warnings.filter((w) => w.severity !== 'info'), []);
});

test('never throws on junk', () => {
  for (const t of ['', '> [ ... ]', '123', '  12 <not-available> age=x/y pid=a-b', 'x: Kernel object freeing\n 1 f+0x1/0x2\n   \u0000']) {
    assert.doesNotThrow(() => parseSlubAllocCalls(t));
  }
});
