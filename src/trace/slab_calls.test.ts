import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { corpus, seed } from '../../test/corpus.js';
import { InputError, TargetError } from '../model/errors.js';
import { parseSlubAllocCalls } from '../parse/evidence/slub_alloc_calls.js';
import { runSlabCalls, slabGrowth } from './slab_calls.js';
import { LocalShell, type RunResult, type TargetShell } from './target_shell.js';
import { UndoStack } from './undo.js';

/** Seed 004 lists kmalloc-32's alloc_calls twice on one boot: at ~704 000 jiffies (alloc_calls_show) and ~1 204 000 (slabinfo -r). */
function seed004Reads(): { before: string; after: string } {
  const text = seed('004');
  const start = text.indexOf('如下分别是kmalloc-32的alloc_calls');
  const beforeBlock = text.slice(start, text.indexOf('4371 <not-available>', start)).split('\n').slice(1).join('\n');
  const r = text.indexOf('Slabcache: kmalloc-32');
  const after = text.slice(r, text.indexOf('kmalloc-32: No NUMA information available.', r));
  assert.ok(start > 0 && r > 0);
  return { before: beforeBlock, after };
}

const symbols = (xs: { site: { stack: { symbol?: string }[] } }[]): (string | undefined)[] => xs.map((x) => x.site.stack[0]?.symbol);

test('slabGrowth on seed 004 (same boot, 500 000 jiffies apart): the sites listed only later grew from zero, equal counts did not grow', () => {
  const { before, after } = seed004Reads();
  const b = parseSlubAllocCalls(before, { direction: 'alloc', cache: 'kmalloc-32', objectSize: 32 });
  const a = parseSlubAllocCalls(after, { direction: 'alloc' });
  assert.deepEqual([a.value.cache, a.value.objectSize, a.value.sites.length, a.value.freeSites.length], ['kmalloc-32', 32, 4, 7]);
  assert.deepEqual(b.value.sites.map((s) => [s.stack[0]?.symbol, s.count]), [['register_tracer', 5], ['ipc_init_proc_interface', 3], ['register_blkdev', 21], ['disk_expand_part_tbl', 29]]);
  const g = slabGrowth(b.value.sites, a.value.sites);
  assert.deepEqual(g.grown.map((x) => [x.site.stack[0]?.symbol, x.deltaCount, x.deltaBytes]), [
    ['blk_mq_realloc_hw_ctxs', 8, 256],
    ['blk_mq_init_allocated_queue', 8, 256],
  ]);
  assert.deepEqual(symbols(g.diff.gone), ['disk_expand_part_tbl', 'register_blkdev']);
  assert.deepEqual([g.diff.grown.length, g.diff.shrunk.length], [0, 0]);
});

test('slabGrowth on the LKML kmalloc-2k report: a later read with more snd_ctl_ioctl objects ranks it first', () => {
  const f = corpus('slub_alloc_calls').find((x) => x.name.includes('snd_ctl_ioctl'));
  assert.ok(f);
  const before = parseSlubAllocCalls(f.text).value.sites;
  const later = f.text.replace('> 1272283 snd_ctl_ioctl', '> 1290000 snd_ctl_ioctl').replace('>     189 acpi_add_single_object', '>     190 acpi_add_single_object');
  const g = slabGrowth(before, parseSlubAllocCalls(later).value.sites);
  assert.deepEqual(g.grown.map((x) => [x.site.stack[1]?.symbol, x.deltaCount, x.deltaBytes]), [
    ['snd_ctl_ioctl', 17717, 17717 * 2048],
    [undefined, 1, 2048],
  ]);
  assert.equal(g.grown[1]?.site.stack[0]?.symbol, 'acpi_add_single_object');
});

// ---------------------------------------------------------------------------------------------
// The driver against a simulated target

interface Fake {
  storeUser?: string;
  /** alloc_calls in sysfs (before 5.17) or alloc_traces in debugfs (5.17+). */
  layout: 'sysfs' | 'debugfs';
  reads: string[];
  mounted?: boolean;
}

class FakeTarget implements TargetShell {
  readonly name = 'fake-board';
  readonly actions: string[] = [];
  mounted: boolean;
  private n = 0;
  constructor(private readonly o: Fake) { this.mounted = o.mounted ?? false; }
  async run(argv: string[]): Promise<RunResult> {
    const cmd = argv.join(' ');
    if (cmd === 'uname -r') return { stdout: '4.9.56\n', stderr: '', code: 0 };
    if (cmd === 'zcat /proc/config.gz') return { stdout: 'CONFIG_SLUB_DEBUG=y\nCONFIG_HZ=100\n', stderr: '', code: 0 };
    this.actions.push(cmd);
    if (cmd === 'mount -t debugfs nodev /sys/kernel/debug') { this.mounted = true; return { stdout: '', stderr: '', code: 0 }; }
    if (cmd === 'umount /sys/kernel/debug') { this.mounted = false; return { stdout: '', stderr: '', code: 0 }; }
    return { stdout: '', stderr: '', code: 0 };
  }
  async readFile(path: string): Promise<string | undefined> {
    const dir = '/sys/kernel/slab/kmalloc-32';
    if (path === '/proc/mounts') return this.mounted ? 'debugfs /sys/kernel/debug debugfs rw 0 0\n' : '';
    if (path === '/proc/slabinfo') return 'slabinfo - version: 2.1\n# name <active_objs>\nkmalloc-32 100 128 32 128 1 : tunables 0 0 0 : slabdata 1 1 0\nkmalloc-64 10 64 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n';
    if (path === `${dir}/object_size`) return '32\n';
    if (path === `${dir}/store_user`) return this.o.storeUser ?? '1\n';
    const sysfs = this.o.layout === 'sysfs' && path === `${dir}/alloc_calls`;
    const debugfs = this.o.layout === 'debugfs' && this.mounted && path === '/sys/kernel/debug/slab/kmalloc-32/alloc_traces';
    if (sysfs || debugfs) {
      this.actions.push(`read ${path}`);
      return this.o.reads[Math.min(this.n++, this.o.reads.length - 1)];
    }
    return undefined;
  }
  async writeFile(path: string): Promise<void> { this.actions.push(`write ${path}`); }
}

test('runSlabCalls before 5.17: reads /sys/kernel/slab/<cache>/alloc_calls twice, changes nothing', async () => {
  const { before, after } = seed004Reads();
  const t = new FakeTarget({ layout: 'sysfs', reads: [before, after] });
  const waited: number[] = [];
  const run = await new UndoStack({ signals: new EventEmitter() }).guard((u) => runSlabCalls({ shell: t, undo: u, cache: 'kmalloc-32', intervalSec: 30, sleep: async (ms) => { waited.push(ms); } }));
  assert.deepEqual(t.actions.filter((a) => a.startsWith('read')), ['read /sys/kernel/slab/kmalloc-32/alloc_calls', 'read /sys/kernel/slab/kmalloc-32/alloc_calls']);
  assert.deepEqual(waited, [30000]);
  assert.equal(run.objectSize, 32);
  assert.deepEqual(run.growth.grown.map((g) => [g.site.stack[0]?.symbol, g.deltaCount, g.deltaBytes]), [['blk_mq_realloc_hw_ctxs', 8, 256], ['blk_mq_init_allocated_queue', 8, 256]]);
  // CONFIG_HZ=100 from the config: ages in seconds
  assert.deepEqual(run.after.value.sites[0]?.ageSec, { min: 12033.2, max: 12043.96, avg: 12041.8 });
});

test('runSlabCalls 5.17+: mounts debugfs for alloc_traces and unmounts it after', async () => {
  const f = corpus('slub_alloc_calls').find((x) => x.name.includes('snd_ctl_ioctl'));
  assert.ok(f);
  const t = new FakeTarget({ layout: 'debugfs', reads: [f.text, f.text.replace('> 1272283 snd_ctl_ioctl', '> 1272290 snd_ctl_ioctl')] });
  const run = await new UndoStack({ signals: new EventEmitter() }).guard((u) => runSlabCalls({ shell: t, undo: u, cache: 'kmalloc-32', intervalSec: 1, workload: ['./stress.sh'], sleep: async () => undefined }));
  assert.deepEqual(t.actions, [
    'mount -t debugfs nodev /sys/kernel/debug',
    'read /sys/kernel/debug/slab/kmalloc-32/alloc_traces',
    './stress.sh',
    'read /sys/kernel/debug/slab/kmalloc-32/alloc_traces',
    'umount /sys/kernel/debug',
  ]);
  assert.equal(t.mounted, false);
  assert.deepEqual(run.growth.grown.map((g) => g.deltaCount), [7]);
  assert.deepEqual(run.workload, { argv: ['./stress.sh'], code: 0 });
});

test('runSlabCalls: tracking off -> TargetError explaining slub_debug=U,<cache>, before any change', async () => {
  const t = new FakeTarget({ layout: 'debugfs', reads: [], storeUser: '0\n' });
  await assert.rejects(
    new UndoStack({ signals: new EventEmitter() }).guard((u) => runSlabCalls({ shell: t, undo: u, cache: 'kmalloc-32', intervalSec: 1 })),
    (err: unknown) => err instanceof TargetError && err.code === 'slub-tracking-off' && err.message.includes('slub_debug=U,kmalloc-32'),
  );
  assert.deepEqual(t.actions, []);
});

test('runSlabCalls: a cache name that is a path, or that does not exist, is an input error', async () => {
  const t = new FakeTarget({ layout: 'sysfs', reads: [] });
  const undo = new UndoStack({ signals: new EventEmitter() });
  await assert.rejects(undo.guard((u) => runSlabCalls({ shell: t, undo: u, cache: '../../etc', intervalSec: 1 })), InputError);
  await assert.rejects(undo.guard((u) => runSlabCalls({ shell: t, undo: u, cache: 'no-such-cache', intervalSec: 1 })), /no slab cache "no-such-cache"/);
  await assert.rejects(undo.guard((u) => runSlabCalls({ shell: t, undo: u, cache: 'kmalloc-3', intervalSec: 1 })), /no slab cache "kmalloc-3" on fake-board \(similar: kmalloc-32\)/);
});

test('this machine: SLUB user tracking is off for kmalloc-64, and the driver says how to switch it on', async (t) => {
  if (!existsSync('/sys/kernel/slab/kmalloc-64/store_user')) { t.skip('no /sys/kernel/slab/kmalloc-64 here'); return; }
  if (readFileSync('/sys/kernel/slab/kmalloc-64/store_user', 'utf8').trim() !== '0') { t.skip('tracking is on for kmalloc-64 on this kernel'); return; }
  const mountsBefore = readFileSync('/proc/mounts', 'utf8');
  await assert.rejects(
    new UndoStack({ signals: new EventEmitter() }).guard((u) => runSlabCalls({ shell: new LocalShell(), undo: u, cache: 'kmalloc-64', intervalSec: 0 })),
    (err: unknown) => err instanceof TargetError && err.code === 'slub-tracking-off' && err.message.includes('slub_debug=U,kmalloc-64'),
  );
  assert.equal(readFileSync('/proc/mounts', 'utf8'), mountsBefore);
});
