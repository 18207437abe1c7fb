import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { corpus } from '../../test/corpus.js';
import { TargetError } from '../model/errors.js';
import { parseKmemleak } from '../parse/evidence/kmemleak.js';
import { KMEMLEAK_FILE, checkKmemleakConfig, objectKey, persistentObjects, runKmemleak } from './kmemleak.js';
import { LocalShell, type RunResult, type TargetShell } from './target_shell.js';
import { UndoStack } from './undo.js';

const text = (name: string): string => {
  const f = corpus('kmemleak').find((x) => x.name === name);
  assert.ok(f, name);
  return f.text;
};
/** The report cut before its n-th object: what an earlier scan of the same machine listed. */
const firstObjects = (t: string, n: number): string => {
  const parts = t.split(/(?=^.*unreferenced object)/m);
  return parts.slice(0, n + 1).join('');
};
const objects = (t: string) => parseKmemleak(t).value.objects;

test('persistentObjects: only objects reported by consecutive scans are kept (real 5-object report, cut and whole)', () => {
  const many = text('syzkaller-guilty-48-many-objects.txt');
  assert.equal(objects(many).length, 5);
  const scan1 = objects(firstObjects(many, 3));
  assert.equal(scan1.length, 3);
  const r = persistentObjects([scan1, objects(many)]);
  assert.deepEqual(r.kept.map((o) => o.address), objects(many).slice(0, 3).map((o) => o.address));
  assert.deepEqual(r.transient.map((o) => o.address), objects(many).slice(3).map((o) => o.address));
  assert.equal(r.vanished, 0);
});

test('persistentObjects: a gap breaks the run; objects gone from the last scan are counted as vanished', () => {
  const many = objects(text('syzkaller-guilty-48-many-objects.txt'));
  const two = objects(text('syzkaller-report-151-two-objects.txt'));
  // scan 1: all five + two others; scan 2: two others only; scan 3: all five again
  const r = persistentObjects([[...many, ...two], two, many]);
  assert.deepEqual(r.kept, []);
  assert.equal(r.transient.length, 5);
  assert.equal(r.vanished, 2);
  // with minScans 3 only objects in all three count; with minScans 1 the last scan is taken as it is
  assert.equal(persistentObjects([many, many, many], 3).kept.length, 5);
  assert.equal(persistentObjects([two, many], 1).kept.length, 5);
  assert.deepEqual(persistentObjects([]), { kept: [], transient: [], vanished: 0 });
});

test('objectKey: address, size and allocation time; a reused address with another jiffies is another object', () => {
  const [a] = objects(text('syzkaller-report-151-two-objects.txt'));
  assert.ok(a);
  assert.equal(objectKey(a), '0xffff88007658a9e0|944|4294767514|4094|syz-executor1');
  assert.notEqual(objectKey({ ...a, jiffies: 4294767999 }), objectKey(a));
  // every corpus object has a key, and keys within a report are distinct
  for (const f of corpus('kmemleak')) {
    const keys = objects(f.text).map(objectKey);
    assert.equal(new Set(keys).size, keys.length, f.name);
  }
});

// ---------------------------------------------------------------------------------------------
// The driver against a simulated target

interface FakeOptions {
  config?: string;
  debugfsMounted?: boolean;
  scanThread?: boolean;
  /** What `cat kmemleak` shows after each scan. */
  scans?: string[];
  kmemleakFile?: boolean;
  failScan?: number;
}

class FakeTarget implements TargetShell {
  readonly name = 'fake-board';
  readonly actions: string[] = [];
  mounted: boolean;
  private scansDone = 0;
  constructor(private readonly o: FakeOptions) { this.mounted = o.debugfsMounted ?? false; }

  async run(argv: string[]): Promise<RunResult> {
    const cmd = argv.join(' ');
    if (cmd === 'uname -r') return { stdout: '6.1.0-board\n', stderr: '', code: 0 };
    if (cmd === 'zcat /proc/config.gz') return this.o.config !== undefined ? { stdout: this.o.config, stderr: '', code: 0 } : { stdout: '', stderr: 'no such file', code: 1 };
    this.actions.push(cmd);
    if (cmd === 'mount -t debugfs nodev /sys/kernel/debug') { this.mounted = true; return { stdout: '', stderr: '', code: 0 }; }
    if (cmd === 'umount /sys/kernel/debug') { this.mounted = false; return { stdout: '', stderr: '', code: 0 }; }
    if (cmd === 'pgrep -x kmemleak') return { stdout: this.o.scanThread === true ? '42\n' : '', stderr: '', code: this.o.scanThread === true ? 0 : 1 };
    if (argv[0] === './workload.sh') return { stdout: 'loaded driver\n', stderr: '', code: 0 };
    return { stdout: '', stderr: `${argv[0] ?? ''}: not found`, code: 127 };
  }

  async readFile(path: string): Promise<string | undefined> {
    if (path === '/proc/mounts') return `proc /proc proc rw 0 0\n${this.mounted ? 'debugfs /sys/kernel/debug debugfs rw 0 0\n' : ''}`;
    if (path === '/proc/cmdline') return 'console=ttyS0\n';
    if (path === KMEMLEAK_FILE) {
      if (!this.mounted || this.o.kmemleakFile === false) return undefined;
      return this.scansDone === 0 ? '' : this.o.scans?.[this.scansDone - 1] ?? '';
    }
    return undefined;
  }

  async writeFile(path: string, t: string): Promise<void> {
    this.actions.push(`write ${path} ${t.trim()}`);
    if (path === KMEMLEAK_FILE && t.trim() === 'scan') {
      this.scansDone++;
      if (this.o.failScan === this.scansDone) throw new TargetError('EBUSY');
    }
  }
}

const KMEMLEAK_CONFIG = 'CONFIG_HAVE_DEBUG_KMEMLEAK=y\nCONFIG_DEBUG_KMEMLEAK=y\nCONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE=16000\n';
const NO_KMEMLEAK_CONFIG = 'CONFIG_HAVE_DEBUG_KMEMLEAK=y\n# CONFIG_DEBUG_KMEMLEAK is not set\n';
const noSleep = async (): Promise<void> => undefined;

test('runKmemleak: mount, pause the scan thread, clear, workload, 3 scans, filter; then restart the thread and unmount', async () => {
  const many = text('syzkaller-guilty-48-many-objects.txt');
  const t = new FakeTarget({ config: KMEMLEAK_CONFIG, scanThread: true, scans: [firstObjects(many, 2), firstObjects(many, 4), many] });
  const undo = new UndoStack({ signals: new EventEmitter() });
  const run = await undo.guard((u) => runKmemleak({ shell: t, undo: u, scans: 3, intervalSec: 60, scanGapSec: 10, workload: ['./workload.sh', 'arg'], sleep: noSleep }));
  assert.deepEqual(t.actions, [
    'mount -t debugfs nodev /sys/kernel/debug',
    'pgrep -x kmemleak',
    `write ${KMEMLEAK_FILE} scan=off`,
    `write ${KMEMLEAK_FILE} clear`,
    './workload.sh arg',
    `write ${KMEMLEAK_FILE} scan`,
    `write ${KMEMLEAK_FILE} scan`,
    `write ${KMEMLEAK_FILE} scan`,
    `write ${KMEMLEAK_FILE} scan=on`,
    'umount /sys/kernel/debug',
  ]);
  assert.equal(t.mounted, false);
  assert.deepEqual(run.scans.map((s) => s.value.objects.length), [2, 4, 5]);
  // objects 1-4 were in scans 2 and 3; object 5 only in the last
  assert.equal(run.filter.kept.length, 4);
  assert.equal(run.filter.transient.length, 1);
  assert.deepEqual(run.sites.map((s) => [s.count, s.bytes, s.tool]), [[4, 768, 'kmemleak']]);
  assert.deepEqual(run.workload, { argv: ['./workload.sh', 'arg'], code: 0 });
});

test('runKmemleak: debugfs already mounted and no scan thread: nothing to restore', async () => {
  const t = new FakeTarget({ config: KMEMLEAK_CONFIG, debugfsMounted: true, scanThread: false, scans: [''] });
  const waited: number[] = [];
  const undo = new UndoStack({ signals: new EventEmitter() });
  const run = await undo.guard((u) => runKmemleak({ shell: t, undo: u, scans: 1, intervalSec: 2, scanGapSec: 10, sleep: async (ms) => { waited.push(ms); } }));
  assert.deepEqual(t.actions, ['pgrep -x kmemleak', `write ${KMEMLEAK_FILE} clear`, `write ${KMEMLEAK_FILE} scan`]);
  assert.deepEqual(waited, [2000]);
  assert.equal(t.mounted, true);
  assert.deepEqual(run.sites, []);
});

test('runKmemleak: a kernel config without kmemleak ends the run before any change, saying how to enable it', async () => {
  const t = new FakeTarget({ config: NO_KMEMLEAK_CONFIG });
  const undo = new UndoStack({ signals: new EventEmitter() });
  await assert.rejects(
    undo.guard((u) => runKmemleak({ shell: t, undo: u, scans: 2, intervalSec: 1, scanGapSec: 1, sleep: noSleep })),
    (err: unknown) => err instanceof TargetError && err.code === 'no-kmemleak' && /CONFIG_DEBUG_KMEMLEAK=y/.test(err.message) && /kmemleak=on/.test(err.message),
  );
  assert.deepEqual(t.actions, []);
});

test('runKmemleak: no config to read and no kmemleak file: debugfs is mounted to look, then unmounted', async () => {
  const t = new FakeTarget({ kmemleakFile: false });
  const undo = new UndoStack({ signals: new EventEmitter() });
  await assert.rejects(
    undo.guard((u) => runKmemleak({ shell: t, undo: u, scans: 2, intervalSec: 1, scanGapSec: 1, sleep: noSleep })),
    (err: unknown) => err instanceof TargetError && err.code === 'no-kmemleak' && /CONFIG_DEBUG_KMEMLEAK=y/.test(err.message),
  );
  assert.deepEqual(t.actions, ['mount -t debugfs nodev /sys/kernel/debug', 'umount /sys/kernel/debug']);
  assert.equal(t.mounted, false);
});

test('runKmemleak: a scan that fails midway still restarts the thread and unmounts', async () => {
  const t = new FakeTarget({ config: KMEMLEAK_CONFIG, scanThread: true, scans: ['', ''], failScan: 2 });
  const undo = new UndoStack({ signals: new EventEmitter() });
  await assert.rejects(undo.guard((u) => runKmemleak({ shell: t, undo: u, scans: 3, intervalSec: 0, scanGapSec: 0, sleep: noSleep })), /kmemleak refused "scan"/);
  assert.deepEqual(t.actions.slice(-2), [`write ${KMEMLEAK_FILE} scan=on`, 'umount /sys/kernel/debug']);
  assert.equal(t.mounted, false);
});

test('runKmemleak: SIGINT during the wait undoes every change before the process dies', async () => {
  const t = new FakeTarget({ config: KMEMLEAK_CONFIG, scanThread: true });
  const signals = new EventEmitter();
  let died = '';
  let release: () => void = () => undefined;
  const undone = new Promise<void>((r) => { release = r; });
  const undo = new UndoStack({ signals, afterSignal: (s) => { died = s; release(); } });
  // the wait never ends by itself: only the signal path can restore the target
  const never = undo.guard((u) => runKmemleak({ shell: t, undo: u, scans: 3, intervalSec: 3600, scanGapSec: 10, sleep: () => { signals.emit('SIGINT'); return new Promise(() => undefined); } }));
  void never;
  await undone;
  assert.equal(died, 'SIGINT');
  assert.deepEqual(t.actions.slice(-2), [`write ${KMEMLEAK_FILE} scan=on`, 'umount /sys/kernel/debug']);
  assert.equal(t.mounted, false);
});

test('this machine: the kernel has no kmemleak, and the check says so without mounting anything', async (t) => {
  const shell = new LocalShell();
  const release = (await shell.run(['uname', '-r'])).stdout.trim();
  const config = (await shell.readFile(`/boot/config-${release}`)) ?? (await shell.run(['zcat', '/proc/config.gz'])).stdout;
  if (!/^# CONFIG_DEBUG_KMEMLEAK is not set$/m.test(config)) {
    t.skip('this kernel config is unreadable or has kmemleak: the no-kmemleak path is tested on the fake target only');
    return;
  }
  const mountsBefore = readFileSync('/proc/mounts', 'utf8');
  await assert.rejects(checkKmemleakConfig(shell), (err: unknown) => err instanceof TargetError && err.code === 'no-kmemleak' && /has no kmemleak/.test(err.message));
  assert.equal(readFileSync('/proc/mounts', 'utf8'), mountsBefore);
});
