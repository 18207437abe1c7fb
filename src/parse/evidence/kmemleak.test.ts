import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../../test/corpus.js';
import { parseKmemleak, parseKernelFrameLine, cleanConsoleLine } from './kmemleak.js';

const files = corpus('kmemleak');

test('kmemleak corpus: every file parses, finds objects, warns only where explained', () => {
  assert.ok(files.length >= 15);
  for (const f of files) {
    const r = parseKmemleak(f.text);
    assert.ok(r.value.objects.length > 0, `${f.name}: no objects`);
    assert.ok(r.value.sites.length > 0, `${f.name}: no sites`);
    const bad = r.warnings.filter((w) => w.severity !== 'info');
    if (f.name.includes('126-corrupted')) {
      assert.deepEqual(bad.map((w) => [w.line, w.reason]), [[6, 'object header without address and size (truncated console?)']]);
    } else {
      assert.deepEqual(bad, [], f.name);
    }
  }
});

const objectCounts: Record<string, number> = {
  'syzkaller-guilty-47-multi-inline-frames.txt': 2,
  'syzkaller-guilty-48-many-objects.txt': 5,
  'syzkaller-report-151-two-objects.txt': 2,
  'syzkaller-report-752-linux-6.x-crc-symbolized.txt': 1,
};

test('kmemleak corpus: object counts', () => {
  for (const [name, n] of Object.entries(objectCounts)) {
    const f = files.find((x) => x.name === name);
    assert.ok(f, name);
    assert.equal(parseKmemleak(f.text).value.objects.length, n, name);
  }
});

function first(name: string): ReturnType<typeof parseKmemleak>['value'] {
  const f = files.find((x) => x.name === name);
  assert.ok(f, name);
  return parseKmemleak(f.text).value;
}

test('5.x hashed pointers with [inline] frames: address, size, comm, first frames; hash not kept as address', () => {
  const v = first('syzkaller-guilty-47-multi-inline-frames.txt');
  const o = v.objects[0];
  assert.ok(o);
  assert.deepEqual({ ...o, stack: o.stack.slice(0, 3) }, {
    address: '0xffff888109e0af00', size: 192, comm: 'kworker/1:2', pid: 3205, jiffies: 4294942324, ageSec: 8.18,
    hexDump: [
      '01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................',
      '00 00 00 00 00 00 00 00 18 af e0 09 81 88 ff ff  ................',
    ],
    stack: [
      { symbol: 'kmalloc', file: 'include/linux/slab.h', line: 557, inline: true },
      { symbol: 'usb_alloc_urb', offset: '+0x66', length: '/0xe0', file: 'drivers/usb/core/urb.c', line: 74 },
      { symbol: 'atusb_alloc_urbs', file: 'drivers/net/ieee802154/atusb.c', line: 362, inline: true },
    ],
    line: 4,
  });
  assert.equal(o.stack.length, 18);
  // two objects, same stack -> one site of 2 x 192 bytes
  assert.equal(v.sites.length, 1);
  const s = v.sites[0];
  assert.ok(s);
  assert.deepEqual({ ...s, stack: s.stack.length }, {
    stack: 18, bytes: 384, count: 2, kind: 'unreferenced', tool: 'kmemleak', ageSec: { min: 8.18, max: 8.18, avg: 8.18 },
    pids: [3205], comms: ['kworker/1:2'], origin: 'line 4',
  });
});

test('6.x backtrace (crc ...) without [<addr>]; kmemleak frames left out of the site stack', () => {
  const v = first('syzkaller-report-752-linux-6.x-crc-symbolized.txt');
  const o = v.objects[0];
  assert.ok(o);
  assert.equal(o.address, '0xffff8882d78c9ea0');
  assert.equal(o.size, 96);
  assert.equal(o.comm, 'syz.0.23');
  assert.equal(o.pid, 5988);
  assert.equal(o.ageSec, undefined);
  assert.equal(o.crc, 'c9a1c131');
  assert.deepEqual(o.stack[0], { symbol: 'kmemleak_alloc_recursive', file: 'include/linux/kmemleak.h', line: 44, inline: true });
  assert.equal(o.stack.length, 21);
  assert.deepEqual(o.stack[20], { symbol: 'entry_SYSCALL_64_after_hwframe', offset: '+0x77', length: '/0x7f' });
  assert.deepEqual(v.sites[0]?.stack[0], { symbol: 'slab_alloc_node', file: 'mm/slub.c', line: 5245, inline: true });
});

test('unhashed 6.x addresses are kept; old kernels: create_object/kmemleak_alloc stripped from sites', () => {
  const u = first('syzkaller-guilty-57-unhashed-symbolized.txt').objects[0];
  assert.deepEqual(u?.stack[0], { address: '0xffffffff814927b3', symbol: 'mempool_alloc', offset: '+0x73', length: '/0x230', file: 'mm/mempool.c', line: 392 });
  const old = first('syzkaller-report-53-x86_64-old-no-age-no-hexdump.txt');
  assert.equal(old.objects[0]?.stack[0]?.symbol, 'create_object');
  assert.equal(old.objects[0]?.hexDump, undefined);
  assert.deepEqual(old.sites[0]?.stack.map((f) => f.symbol), ['__kmalloc', 'ext4_mb_init', 'ext4_fill_super']);
});

test('32-bit pointers and the [<ffffffff>] 0xffffffff end marker', () => {
  const arm = first('syzkaller-report-54-arm32-old.txt').objects[0];
  assert.equal(arm?.address, '0xc625e000');
  assert.equal(arm?.size, 2048);
  assert.equal(arm?.comm, 'swapper');
  assert.deepEqual(arm?.stack[1], { address: '0xc00c6764', symbol: '__kmalloc_track_caller', offset: '+0x138', length: '/0x178' });
  const i386 = first('syzkaller-report-55-i386-old.txt').objects[0];
  assert.equal(i386?.address, '0xdb8040c0');
  assert.equal(i386?.pid, 0);
  assert.deepEqual(i386?.stack.map((f) => f.symbol), ['kmemleak_alloc', 'kmem_cache_alloc', 'debug_objects_mem_init', 'start_kernel', 'i386_start_kernel']);
  const hashedEnd = first('syzkaller-report-312-hashed-pointers.txt').objects[0];
  assert.equal(hashedEnd?.stack.length, 10);
  assert.equal(hashedEnd?.stack.at(-1)?.symbol, 'entry_SYSCALL_64_after_hwframe');
});

test('trailing spaces and log-time prefix', () => {
  const o = first('syzkaller-report-51-x86_64-2018-trailing-spaces.txt').objects[0];
  assert.ok(o);
  assert.deepEqual([o.address, o.size, o.comm, o.pid, o.ageSec], ['0xffff880039a55260', 64, 'executor', 11746, 16.078]);
  assert.deepEqual(o.stack[0], { address: '0xffffffff848a2f5f', symbol: 'sock_kmalloc', offset: '+0x7f', length: '/0xc0', file: 'net/core/sock.c', line: 1774 });
  assert.equal(o.stack[1]?.symbol, 'do_ipv6_setsockopt.isra.7');
});

test('two objects with different stacks stay two sites', () => {
  const v = first('syzkaller-report-151-two-objects.txt');
  assert.deepEqual(v.objects.map((o) => [o.address, o.size]), [['0xffff88007658a9e0', 944], ['0xffff88007c996480', 96]]);
  assert.deepEqual(v.sites.map((s) => [s.bytes, s.count, s.stack[1]?.symbol]), [[944, 1, 'alloc_inode'], [96, 1, 'selinux_inode_alloc_security']]);
});

test('frame lines and console prefixes', () => {
  assert.deepEqual(parseKernelFrameLine('[<ffffffffa018f016>] ext4_filemap_fault+0x36/0x50 [ext4]'), {
    frame: { address: '0xffffffffa018f016', symbol: 'ext4_filemap_fault', offset: '+0x36', length: '/0x50', module: 'ext4' }, unreliable: false,
  });
  assert.equal(parseKernelFrameLine('Call Trace:'), undefined);
  assert.equal(parseKernelFrameLine('kthread'), undefined);
  assert.equal(parseKernelFrameLine(' ? sched_clock_cpu+0xd/0xb0')?.unreliable, true);
  assert.deepEqual(cleanConsoleLine('[Di Aug 12 03:54:03 2025]  dump_stack+0x10/0x16'), { text: ' dump_stack+0x10/0x16', time: 'Di Aug 12 03:54:03 2025', quoted: false });
  assert.deepEqual(cleanConsoleLine('[  159.283703]  dump_stack+0x194/0x257 '), { text: ' dump_stack+0x194/0x257', time: '159.283703', quoted: false });
});

test('never throws on junk', () => {
  for (const t of ['', '\n\n', 'unreferenced object', 'backtrace:\n  [<', 'unreferenced object 0x1 (size x):\n comm "', '\u0000\uffff']) {
    assert.doesNotThrow(() => parseKmemleak(t));
  }
});
