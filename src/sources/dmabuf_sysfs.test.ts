/**
 * /sys/kernel/dmabuf/buffers read live: by the shell loop over `--via` (sh, busybox sh) and by the local reader,
 * the same listing and the same series. No real listing of a whole tree was found in public sources, and this
 * machine's kernel has no CONFIG_DMABUF_SYSFS_STATS: the tree here is made by this test in the shape
 * Documentation/ABI/testing/sysfs-kernel-dmabuf-buffers documents (a directory per inode with exporter_name and
 * size), not a device's. What is tested is the reading, not a device's numbers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../capture/shell_quote.js';
import { flattenSnapshot } from '../model/series.js';
import { oneCapturePass } from './capture_testing.js';
import { LocalTarget } from './local_target.js';
import { ShellTarget } from './shell.js';
import { checkFirstWatched, DMABUF_SYSFS_HEADER, dmabufSysfsCommand, parseWatchSpec, reduceWatched } from './watch_file.js';
import type { SamplePlan, TargetSample } from './target.js';

const dir = mkdtempSync(join(tmpdir(), 'ms-dmabuf-sysfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tree = join(dir, 'sys', 'kernel', 'dmabuf', 'buffers');
const buffer = (inode: string, exporter: string | undefined, size: string | undefined): void => {
  mkdirSync(join(tree, inode, 'attachments'), { recursive: true });
  if (exporter !== undefined) writeFileSync(join(tree, inode, 'exporter_name'), `${exporter}\n`);
  if (size !== undefined) writeFileSync(join(tree, inode, 'size'), `${size}\n`);
};
buffer('31416', 'system', '8294400');
buffer('31417', 'system', '4096');
buffer('40001', 'udmabuf', '1048576');
buffer('40002', 'system', undefined); // freed between the glob and the read of its size
const emptyTree = join(dir, 'empty', 'sys', 'kernel', 'dmabuf', 'buffers');
mkdirSync(emptyTree, { recursive: true });

const WANT = { 'bytes': 8294400 + 4096 + 1048576, 'buffers': 3, 'system.bytes': 8294400 + 4096, 'system.buffers': 2, 'udmabuf.bytes': 1048576, 'udmabuf.buffers': 1 };
const LISTING = `${DMABUF_SYSFS_HEADER}\n31416 8294400 system\n31417 4096 system\n40001 1048576 udmabuf\n40002 ? system\n`;

function plan(path: string): SamplePlan {
  return { index: 0, system: ['meminfo'], status: false, rollup: [], smaps: [], watch: [parseWatchSpec(path)], dropCaches: false, skipped: [] };
}

test('--watch-file /sys/kernel/dmabuf/buffers is the tree, read by a loop: the same listing from sh, busybox sh and the local reader', () => {
  const spec = parseWatchSpec(tree);
  assert.deepEqual([spec.name, spec.format.kind], ['buffers', 'dmabuf_sysfs']);
  assert.equal(parseWatchSpec(`${tree}:dmabuf`).format.kind, 'dmabuf_sysfs');
  assert.equal(parseWatchSpec('/sys/kernel/debug/dma_buf/bufinfo:dmabuf').format.kind, 'dmabuf');
  const cmd = dmabufSysfsCommand(shellQuote(tree));
  const shells = [['sh'], ...(spawnSync('busybox', ['sh', '-c', 'true']).status === 0 ? [['busybox', 'sh']] : [])];
  for (const [bin = 'sh', ...pre] of shells) {
    const r = spawnSync(bin, [...pre, '-c', cmd], { encoding: 'utf8' });
    assert.deepEqual([r.status, r.stdout, r.stderr], [0, LISTING, ''], bin);
    const none = spawnSync(bin, [...pre, '-c', dmabufSysfsCommand(shellQuote(join(dir, 'nope')))], { encoding: 'utf8' });
    assert.equal(none.status, 1);
    assert.match(none.stdout, /nope: no such directory \(the kernel needs CONFIG_DMABUF_SYSFS_STATS\)/);
    assert.equal(spawnSync(bin, [...pre, '-c', dmabufSysfsCommand(shellQuote(emptyTree))], { encoding: 'utf8' }).stdout, `${DMABUF_SYSFS_HEADER}\n`);
  }
  const r = reduceWatched(LISTING, spec.format);
  assert.deepEqual(r.value, WANT);
  assert.deepEqual(r.warnings.map((w) => [w.severity, w.reason]), [['info', '1 buffer(s) freed while the tree was read; not counted']]);
  // No buffer at all is a tree with nothing in it (0 bytes), not a watched file that gives no numbers.
  assert.deepEqual(reduceWatched(`${DMABUF_SYSFS_HEADER}\n`, spec.format).value, { bytes: 0, buffers: 0 });
  assert.ok(reduceWatched('31416 4096 system\n', spec.format).warnings.some((w) => w.severity === 'data-loss'));
});

test('a ShellTarget over sh and the LocalTarget give the tree as file.buffers.* series; a missing tree stops the first sample', async () => {
  const shell = await ShellTarget.connect({ via: 'sh', connectTimeoutMs: 10_000, sampleTimeoutMs: 20_000 });
  let viaShell: TargetSample;
  let missing: TargetSample;
  try {
    viaShell = await shell.sample(plan(tree));
    missing = await shell.sample(plan(join(dir, 'none', 'sys', 'kernel', 'dmabuf', 'buffers')));
  } finally {
    await shell.close();
  }
  const local = new LocalTarget();
  const viaLocal = await local.sample(plan(tree));
  await local.close();
  for (const got of [viaShell, viaLocal]) {
    assert.deepEqual(got.snapshot.watched, [{ name: 'buffers', values: WANT }]);
    assert.equal(got.raw.find((r) => r.kind === 'file' && r.text.startsWith(DMABUF_SYSFS_HEADER))?.text, LISTING);
    const values = flattenSnapshot(got.snapshot);
    assert.deepEqual([values.get('file.buffers.bytes'), values.get('file.buffers.system%2Ebytes')], [WANT.bytes, WANT['system.bytes']]);
  }
  const spec = parseWatchSpec(join(dir, 'none', 'sys', 'kernel', 'dmabuf', 'buffers'));
  assert.throws(() => checkFirstWatched([spec], missing.snapshot.watched, missing.unreadable), /Cannot watch ".*none\/sys\/kernel\/dmabuf\/buffers": .*no such directory/);
});

test('a capture loop (`script --files dmabuf=/sys/kernel/dmabuf/buffers`) lists the tree and ingest reads it as file.dmabuf.*', () => {
  const passes = oneCapturePass([
    { name: 'meminfo', path: '/proc/meminfo' },
    { name: 'dmabuf', path: tree, command: dmabufSysfsCommand(shellQuote(tree)) },
  ], dir);
  assert.equal(passes.length, 1);
  const values = passes[0] as Map<string, number>;
  assert.deepEqual([values.get('file.dmabuf.bytes'), values.get('file.dmabuf.buffers'), values.get('file.dmabuf.udmabuf%2Ebytes')], [WANT.bytes, 3, 1048576]);
});
