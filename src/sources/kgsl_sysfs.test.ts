/**
 * /sys/class/kgsl/kgsl/proc read live: by the shell loop over `--via` (sh, busybox sh) and by the local reader, the
 * same series. No real listing of the tree was found in public sources (only programs that read single files) and
 * this machine has no Adreno GPU: the tree here is made by this test in the shape kgsl_sharedmem.c creates (a
 * directory per pid, one number per file), not a device's. What is tested is the reading, not a device's numbers.
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
import { KGSL_SYSFS_HEADER, kgslSysfsCommand, parseWatchSpec, reduceWatched, treeKindOf } from './watch_file.js';
import type { SamplePlan } from './target.js';

const dir = mkdtempSync(join(tmpdir(), 'ms-kgsl-sysfs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tree = join(dir, 'sys', 'class', 'kgsl', 'kgsl', 'proc');
const proc = (pid: string, files: Record<string, string>): void => {
  mkdirSync(join(tree, pid), { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(tree, pid, f), `${v}\n`);
};
proc('1234', { gpumem_mapped: '4194304', gpumem_unmapped: '1048576', imported_mem: '8388608', kernel: '65536', kernel_max: '131072' });
proc('987', { gpumem_mapped: '0', gpumem_unmapped: '2097152', imported_mem: '0', kernel: '4096', kernel_max: '4096' });

const WANT = {
  'processes': 2,
  'gpumem_mapped': 4194304, 'gpumem_unmapped': 1048576 + 2097152, 'imported_mem': 8388608, 'kernel': 65536 + 4096,
  'pid1234.gpumem_mapped': 4194304, 'pid1234.gpumem_unmapped': 1048576, 'pid1234.imported_mem': 8388608, 'pid1234.kernel': 65536, 'pid1234.kernel_max': 131072,
  'pid987.gpumem_mapped': 0, 'pid987.gpumem_unmapped': 2097152, 'pid987.imported_mem': 0, 'pid987.kernel': 4096, 'pid987.kernel_max': 4096,
};

function plan(path: string): SamplePlan {
  return { index: 0, system: ['meminfo'], status: false, rollup: [], smaps: [], watch: [parseWatchSpec(path)], dropCaches: false, skipped: [] };
}

test('--watch-file /sys/class/kgsl/kgsl/proc is the tree: sh, busybox sh, a ShellTarget and the LocalTarget give the same per-process series', async () => {
  const spec = parseWatchSpec(tree);
  assert.deepEqual([spec.name, spec.format.kind, treeKindOf('/sys/devices/virtual/kgsl/kgsl/proc')], ['proc', 'kgsl_sysfs', 'kgsl_sysfs']);
  const shells = [['sh'], ...(spawnSync('busybox', ['sh', '-c', 'true']).status === 0 ? [['busybox', 'sh']] : [])];
  for (const [bin = 'sh', ...pre] of shells) {
    const r = spawnSync(bin, [...pre, '-c', kgslSysfsCommand(shellQuote(tree))], { encoding: 'utf8' });
    assert.deepEqual([r.status, r.stderr, r.stdout.split('\n')[0]], [0, '', KGSL_SYSFS_HEADER], bin);
    assert.deepEqual(reduceWatched(r.stdout, spec.format), { value: WANT, warnings: [] }, bin);
    const none = spawnSync(bin, [...pre, '-c', kgslSysfsCommand(shellQuote(join(dir, 'nope')))], { encoding: 'utf8' });
    assert.equal(none.status, 1);
  }
  const shell = await ShellTarget.connect({ via: 'sh', connectTimeoutMs: 10_000, sampleTimeoutMs: 20_000 });
  const viaShell = await shell.sample(plan(tree)).finally(() => shell.close());
  const local = new LocalTarget();
  const viaLocal = await local.sample(plan(tree));
  await local.close();
  for (const got of [viaShell, viaLocal]) {
    assert.deepEqual(got.snapshot.watched, [{ name: 'proc', values: WANT }]);
    const values = flattenSnapshot(got.snapshot);
    assert.deepEqual([values.get('file.proc.pid1234%2Eimported_mem'), values.get('file.proc.gpumem_unmapped')], [8388608, 3145728]);
  }
  // A process that exits between the glob and the reads leaves "?" values: not counted, no error.
  assert.deepEqual(reduceWatched(`${KGSL_SYSFS_HEADER}\n55 gpumem_mapped=? kernel=?\n`, spec.format).value, { processes: 1 });
});

test('a capture loop (`script --files gpu=/sys/class/kgsl/kgsl/proc`) lists the tree and ingest reads it as file.gpu.*', () => {
  const passes = oneCapturePass([
    { name: 'meminfo', path: '/proc/meminfo' },
    { name: 'gpu', path: tree, command: kgslSysfsCommand(shellQuote(tree)) },
  ], dir);
  const values = passes[0] as Map<string, number>;
  assert.deepEqual([values.get('file.gpu.processes'), values.get('file.gpu.pid987%2Egpumem_unmapped'), values.get('file.gpu.imported_mem')], [2, 2097152, 8388608]);
});
