import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, seed } from '../../../test/corpus.js';
import { oomSites, parseOomReports } from './oom.js';

const files = corpus('oom');
const kib = (n: number): number => n * 1024;

function parse(name: string): ReturnType<typeof parseOomReports> {
  const f = files.find((x) => x.name === name);
  assert.ok(f, name);
  return parseOomReports(f.text);
}

const expectedReports: Record<string, string[]> = {
  'boom-rhel9-5.14.0-362-dmesg-T-fr.txt': ['oom-killer'],
  'boom-rhel9-5.14.0-611-openstack-dmesg-T-fr.txt': ['oom-killer'],
  'oomanalyser-example-archlinux-6.1.1.txt': ['oom-killer'],
  'oomanalyser-example-proxmox-memcg-dmesg-T-de.txt': ['oom-killer'],
  'oomanalyser-example-rhel7-3.10.0-514.txt': ['oom-killer'],
  'oomanalyser-example-ubuntu2110-5.13.txt': ['oom-killer'],
  'syzkaller-report-198-vmalloc-failure-meminfo-4.15.txt': ['vmalloc-failure'],
  // a Mem-Info whose header was printed before the capture began, then a 4.4 vmalloc + page allocation failure
  'syzkaller-report-199-page-alloc-failure-meminfo-4.9.txt': ['mem-info', 'vmalloc-failure'],
  'syzkaller-report-206-interleaved-rcu-warning.txt': ['vmalloc-failure'],
  'syzkaller-report-334-oom-killer-in-panic-4.20.txt': ['oom-killer'],
};

test('oom corpus: every file parses into the expected reports, data-loss only where the log is cut', () => {
  assert.equal(files.length, Object.keys(expectedReports).length);
  for (const f of files) {
    const r = parseOomReports(f.text);
    assert.deepEqual(r.value.reports.map((x) => x.trigger), expectedReports[f.name], f.name);
    const bad = r.warnings.filter((w) => w.severity !== 'info');
    if (f.name.includes('334-oom-killer-in-panic')) {
      // the panic cut the report after its first line
      assert.deepEqual(bad.map((w) => w.line), [25]);
    } else {
      assert.deepEqual(bad, [], f.name);
    }
  }
});

test('Arch 6.1.1: header, stack, Mem-Info, zones, task table (pgtables_bytes), kill line', () => {
  const r = parse('oomanalyser-example-archlinux-6.1.1.txt').value.reports[0];
  assert.ok(r);
  assert.deepEqual([r.invoker, r.gfpMask, r.gfpFlags, r.order, r.oomScoreAdj], [
    { comm: 'doxygen', pid: 473206 }, '0x140dca', ['GFP_HIGHUSER_MOVABLE', '__GFP_COMP', '__GFP_ZERO'], 0, 0,
  ]);
  assert.equal(r.stack.length, 13); // "? sched_clock_cpu" left out
  assert.deepEqual(r.stack[0], { symbol: 'dump_stack_lvl', offset: '+0x48', length: '/0x60' });
  assert.equal(r.stack[12]?.symbol, 'asm_exc_page_fault');
  assert.equal(r.memInfo?.['slab_unreclaimable'], 89303 * 4096);
  assert.equal(r.memInfo?.['free'], 34629 * 4096);
  assert.deepEqual(r.zones.map((z) => [z.node, z.zone, z.free, z.min, z.low, z.high, z.managed]), [
    [0, 'DMA', kib(13312), kib(64), kib(80), kib(96), kib(15360)],
    [0, 'DMA32', kib(63304), kib(13760), kib(17200), kib(20640), kib(3283120)],
    [0, 'Normal', kib(61900), kib(61948), kib(75384), kib(88820), kib(12774792)],
  ]);
  assert.equal(r.nodes[0]?.allUnreclaimable, false);
  assert.equal(r.nodes[0]?.fields['kernel_stack'], kib(10592));
  assert.deepEqual([r.swapFree, r.swapTotal, r.pageCounts['pages RAM']], [kib(84), kib(25165820), 4115400]);
  assert.equal(r.tasks.length, 112);
  assert.deepEqual(r.tasks[0], {
    pid: 246, uid: 0, tgid: 246, totalVm: 16404 * 4096, rss: 66 * 4096, pgtables: 159744, swap: 303 * 4096, oomScoreAdj: -250, name: 'systemd-journal', line: 60,
  });
  assert.equal(r.constraint?.['task'], 'doxygen');
  assert.equal(r.constraint?.['global_oom'], 'true');
  assert.deepEqual(r.killed, {
    pid: 473206, comm: 'doxygen', memcg: false, totalVm: kib(30290680), anonRss: kib(9234320), fileRss: kib(4), shmemRss: kib(0),
    pgtables: kib(59264), uid: 504, oomScoreAdj: 0, line: 173,
  });
});

test('RHEL7 3.10: #012-joined Mem-Info, two NUMA nodes, old nr_ptes table, "Kill process ... score" + "Killed process"', () => {
  const r = parse('oomanalyser-example-rhel7-3.10.0-514.txt').value.reports[0];
  assert.ok(r);
  assert.deepEqual(r.invoker, { comm: 'sed', pid: 29481 });
  assert.equal(r.gfpMask, '0x201da');
  assert.equal(r.gfpFlags, undefined);
  assert.deepEqual([r.cpuset, r.memsAllowed], ['/', '0-1']);
  assert.deepEqual(r.stack[9], { address: '0xffffffffa018f016', symbol: 'ext4_filemap_fault', offset: '+0x36', length: '/0x50', module: 'ext4' });
  assert.equal(r.memInfo?.['slab_unreclaimable'], 13708 * 4096);
  assert.equal(r.memInfo?.['free_cma'], 0);
  assert.deepEqual(r.zones.map((z) => `${z.node}:${z.zone}:${z.allUnreclaimable}`), ['0:DMA:true', '0:DMA32:false', '0:Normal:false', '1:Normal:true']);
  assert.equal(r.zones[3]?.fields['pages_scanned'], 125777);
  const mysqld = r.tasks.find((t) => t.pid === 6576);
  assert.deepEqual(mysqld, { pid: 6576, uid: 12345, tgid: 6576, totalVm: 8478546 * 4096, rss: 5157063 * 4096, nrPtes: 15483, swap: 1527848 * 4096, oomScoreAdj: 0, name: 'mysqld', line: 93 });
  assert.deepEqual(r.killed, {
    pid: 6576, comm: 'mysqld', memcg: false, score: 651, line: 143, totalVm: kib(33914892), anonRss: kib(20629004), fileRss: 0, shmemRss: 0,
  });
});

test('Proxmox memcg OOM with German dmesg -T: memory usage/limit, memory.stat, memcg kill', () => {
  const r = parse('oomanalyser-example-proxmox-memcg-dmesg-T-de.txt').value.reports[0];
  assert.ok(r);
  assert.equal(r.time, 'Di Aug 12 03:54:03 2025');
  assert.deepEqual(r.invoker, { comm: 'php-fpm', pid: 3923954 });
  assert.equal(r.memInfo, undefined);
  const mc = r.memcg;
  assert.ok(mc);
  assert.deepEqual({ ...mc, stats: undefined }, {
    usage: kib(31211520), limit: kib(31211520), failcnt: 83420, swapUsage: 0, swapLimit: 0, statsPath: '/lxc/39004', stats: undefined,
  });
  assert.equal(mc.stats['anon'], 31154200576);
  assert.equal(mc.stats['slab_unreclaimable'], 15298680);
  assert.equal(mc.stats['thp_collapse_alloc'], 0);
  assert.equal(r.constraint?.['constraint'], 'CONSTRAINT_MEMCG');
  assert.deepEqual([r.killed?.pid, r.killed?.comm, r.killed?.memcg, r.killed?.shmemRss], [3902942, 'php-fpm', true, kib(156088)]);
  assert.deepEqual(r.tasks.find((t) => t.pid === 3902942)?.rss, 3195335 * 4096);
});

test('French dmesg -T with accented month, untimestamped Mem-Info continuation lines', () => {
  const r = parse('boom-rhel9-5.14.0-611-openstack-dmesg-T-fr.txt').value.reports[0];
  assert.ok(r);
  assert.equal(r.time, 'mer. déc. 17 11:32:14 2025');
  assert.deepEqual(r.invoker, { comm: 'gmain', pid: 869 });
  assert.equal(r.stack.length, 18);
  assert.equal(r.memInfo?.['slab_unreclaimable'], 11960 * 4096);
  assert.equal(r.memInfo?.['kernel_misc_reclaimable'], 0);
  assert.deepEqual([r.killed?.pid, r.killed?.comm, r.killed?.anonRss], [1040, 'mariadbd', kib(1143060)]);
  const r2 = parse('boom-rhel9-5.14.0-362-dmesg-T-fr.txt').value.reports[0];
  assert.deepEqual([r2?.invoker, r2?.killed?.pid, r2?.killed?.shmemRss], [{ comm: 'postmaster', pid: 3240780 }, 3499662, kib(3445804)]);
});

test('Ubuntu 5.13 sysrq OOM: order=-1', () => {
  const r = parse('oomanalyser-example-ubuntu2110-5.13.txt').value.reports[0];
  assert.deepEqual([r?.invoker, r?.order, r?.gfpFlags, r?.stack.length, r?.tasks.length], [{ comm: 'kworker/0:2', pid: 735 }, -1, ['GFP_KERNEL'], 11, 23]);
  assert.deepEqual([r?.killed?.pid, r?.killed?.comm, r?.killed?.fileRss], [651, 'unattended-upgr', kib(12548)]);
});

test('interleaved syzkaller logs: zone lines split from "Node 0", traces of other tasks left out', () => {
  const r198 = parse('syzkaller-report-198-vmalloc-failure-meminfo-4.15.txt').value.reports[0];
  assert.ok(r198);
  assert.deepEqual([r198.invoker, r198.requested, r198.gfpMask, r198.nodemask], [{ comm: 'syz-executor6', pid: 30482 }, 8589934588, '0x14080c0', '(null)']);
  assert.deepEqual(r198.zones.map((z) => [z.node, z.zone, z.free]), [[0, 'DMA', kib(15908)], [0, 'DMA32', kib(2939248)], [0, 'Normal', kib(2789380)]]);
  assert.deepEqual(r198.stack.slice(0, 3).map((f) => f.symbol), ['dump_stack', 'warn_alloc', '__vmalloc_node_range']);
  const r199 = parse('syzkaller-report-199-page-alloc-failure-meminfo-4.9.txt').value.reports[1];
  assert.ok(r199);
  assert.deepEqual([r199.invoker, r199.requested, r199.order, r199.gfpMask], [{ comm: 'syz-executor7', pid: 12430 }, 17178820608, 0, '0x24000c2']);
  // the KASAN trace printed just after the header belongs to syz-executor5; the one under syz-executor7's CPU line is kept
  assert.deepEqual(r199.stack.slice(0, 4).map((f) => f.symbol), ['dump_stack', 'warn_alloc_failed', '__vmalloc_node_range', 'vmalloc']);
  const r206 = parse('syzkaller-report-206-interleaved-rcu-warning.txt').value.reports[0];
  assert.deepEqual([r206?.invoker, r206?.memInfo?.['slab_unreclaimable']], [{ comm: 'syz-executor5', pid: 5955 }, 92283 * 4096]);
  const r334 = parse('syzkaller-report-334-oom-killer-in-panic-4.20.txt').value.reports[0];
  assert.deepEqual([r334?.invoker, r334?.oomScoreAdj, r334?.cpuset, r334?.memsAllowed, r334?.stack], [{ comm: 'syz-executor642' }, 1000, 'syz4', '0-1', []]);
});

test('seed 002: ARM "(func) from [<addr>] (caller+off/len)" trace with modules, blank line between every line', () => {
  const r = parseOomReports(seed('002'));
  assert.equal(r.value.reports.length, 1);
  const o = r.value.reports[0];
  assert.ok(o);
  assert.deepEqual([o.invoker, o.gfpMask, o.gfpFlags, o.nodemask, o.order], [
    { comm: 'venc0_P0_MAIN', pid: 648 }, '0x26040c0', ['GFP_KERNEL', '__GFP_COMP', '__GFP_NOTRACK'], '0', 2,
  ]);
  assert.equal(o.stack.length, 17);
  assert.deepEqual(o.stack.slice(0, 2), [
    { address: '0xc0011521', symbol: 'unwind_backtrace' },
    { address: '0xc000fcc7', symbol: 'show_stack', offset: '+0xb', length: '/0xc' },
  ]);
  assert.deepEqual(o.stack[9], { address: '0xbfb2542b', symbol: 'mi_sys_ringpool_AppendTailContentTailRecord', offset: '+0x176', length: '/0x2cc', module: 'mi_sys' });
  assert.deepEqual(o.stack[16], { address: '0xc000d441', symbol: 'ret_from_fork', offset: '+0x11', length: '/0x30' });
  // the note quotes only the header and the trace
  assert.deepEqual(r.warnings.map((w) => w.severity), ['data-loss']);
});

test('Unreclaimable slab info and oomSites', () => {
  // Lines as printed in a public linux-kernel mail (bpf test_maps OOM on 5.8-rc4, dmesg excerpt), kept verbatim.
  const text = [
    '[  244.335559] 524154 pages RAM',
    '[  244.335645] Unreclaimable slab info:',
    '[  244.335672] Name                      Used          Total',
    '[  244.335760] 9p-fcall-cache            32KB         32KB',
    '[  244.335808] p9_req_t                   3KB          3KB',
    '[  244.335987] request_sock_TCPv6          3KB          3KB',
  ].join('\n');
  const withMemInfo = `[  244.330000] Mem-Info:\n${text}\n`;
  const r = parseOomReports(withMemInfo).value.reports[0];
  assert.ok(r);
  assert.deepEqual(r.unreclaimableSlab, [
    { name: '9p-fcall-cache', used: kib(32), total: kib(32) },
    { name: 'p9_req_t', used: kib(3), total: kib(3) },
    { name: 'request_sock_TCPv6', used: kib(3), total: kib(3) },
  ]);
  assert.deepEqual(oomSites(r)[0], { stack: [], bytes: kib(32), count: 0, kind: 'outstanding', tool: 'oom', cache: '9p-fcall-cache', origin: 'line 1' });
  const arch = parse('oomanalyser-example-archlinux-6.1.1.txt').value.reports[0];
  assert.ok(arch);
  assert.deepEqual(oomSites(arch), [
    { stack: [], bytes: kib(9234320 + 4), count: 1, kind: 'outstanding', tool: 'oom', pids: [473206], comms: ['doxygen'], origin: 'line 173' },
  ]);
});

test('never throws on junk', () => {
  for (const t of ['', 'Mem-Info:', 'x invoked oom-killer: ', '[ pid ] name\n[ 1]', 'Killed process x (y', 'Node 0\nDMA free:xkB min:', '\u0000#012#012']) {
    assert.doesNotThrow(() => parseOomReports(t));
  }
});
