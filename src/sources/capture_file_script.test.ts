import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { corpusDir, fixturesDir } from '../../test/corpus.js';
import { flattenSnapshot } from '../model/series.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCaptureScript, DEFAULT_SCRIPT_FILES } from '../capture/script.js';
import { ingestSeries, ingestToSnapshots, type CaptureSample } from './capture_file.js';
import type { Snapshot } from '../model/snapshot.js';

const hasBusybox = spawnSync('busybox', ['sh', '-c', 'true']).status === 0;

/**
 * Runs the printed loop for real, its output going to a file as a terminal log would, until `passes` passes
 * have begun (so the ones before the last are whole, however slowly a loaded machine runs them).
 */
async function runScript(shell: string[], passes: number, path: string): Promise<void> {
  const script = buildCaptureScript({ intervalSec: 1, files: DEFAULT_SCRIPT_FILES, procs: { status: true } });
  const fd = openSync(path, 'w');
  const [bin = 'sh', ...pre] = shell;
  const child = spawn(bin, [...pre, '-c', script], { stdio: ['ignore', fd, fd], detached: true });
  const deadline = Date.now() + 120_000;
  while ((readFileSync(path, 'latin1').match(/^MemTotal:/gm)?.length ?? 0) < passes && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  // The loop's own process group: the shell and its `sleep`.
  if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
  await new Promise((r) => child.on('close', r));
  closeSync(fd);
}

async function checkShell(shell: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ms-script-'));
  try {
    const log = join(dir, 'capture.log');
    await runScript(shell, 3, log);
    const got: Array<[Snapshot, CaptureSample]> = [];
    ingestToSnapshots(log, { intervalSec: 1, onSample: (snap, sample) => got.push([snap, sample]) });
    // Killing the loop may cut the last iteration: every iteration before it must be whole.
    const whole = got.filter(([, s]) => s.sections.some((x) => x.kind === 'slabinfo') && s.warnings.every((w) => w.severity !== 'data-loss'));
    assert.ok(whole.length >= 2, `${whole.length} whole samples of ${got.length}`);
    for (const [snap, sample] of whole) {
      assert.deepEqual(sample.sections.filter((x) => x.pid === undefined).map((x) => x.name), ['date', 'uptime', 'boot_id', 'meminfo', 'vmstat', 'buddyinfo', 'slabinfo']);
      assert.equal(sample.timestamp.source, 'date');
      assert.ok((snap.meminfo?.bytes['MemTotal'] ?? 0) > 0);
      assert.ok((snap.slabinfo?.caches.length ?? 0) > 10);
      assert.ok(Object.keys(snap.vmstat ?? {}).length > 50);
      assert.ok((snap.buddyinfo?.zones.length ?? 0) > 0);
      assert.ok(snap.processes.length >= 3 && snap.processes.every((p) => p.status?.pid === p.pid));
      assert.match(snap.target.bootId ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(snap.warnings.filter((w) => w.severity !== 'info').length, 0, JSON.stringify(snap.warnings.slice(0, 3)));
    }
    const up = whole.map(([snap]) => snap.target.uptimeSec ?? 0);
    assert.ok(up.every((u, i) => i === 0 || u - (up[i - 1] ?? 0) >= 0.9), `uptime steps ${up.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the script run for real by sh (dash) is ingested whole', () => checkShell(['sh']));
test('the script run for real by busybox sh', { skip: hasBusybox ? false : 'busybox is not installed on this machine' }, () => checkShell(['busybox', 'sh']));

test('the script uses only sh built-ins, cat, date and sleep, and quotes paths', () => {
  const s = buildCaptureScript({ intervalSec: 5, files: [{ name: 'mma', path: "/proc/mi modules/it's" }] });
  assert.match(s, /cat '\/proc\/mi modules\/it'\\''s' 2>&1/);
  assert.match(s, /\n {2}sleep 5\ndone\n$/);
  const commands = new Set(s.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.trim().split(/\s/)[0]));
  assert.deepEqual([...commands].sort(), ['cat', 'date', 'done', 'echo', 'sleep', 'while']);
});

test('a `script --files bufinfo=PATH` loop over a real dma_buf/bufinfo (Pixel 3) ingests as file.bufinfo.* series', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-script-dmabuf-'));
  try {
    const src = join(corpusDir, 'dmabuf', 'android12-pixel3-bufinfo-ion.txt');
    const script = buildCaptureScript({ intervalSec: 1, files: [{ name: 'meminfo', path: '/proc/meminfo' }, { name: 'bufinfo', path: src }] });
    const log = join(dir, 'capture.log');
    const fd = openSync(log, 'w');
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', fd, fd], detached: true });
    // Wait for two rounds by what the log holds, not by the clock: a loaded machine may be slow.
    for (let i = 0; i < 600 && (readFileSync(log, 'utf8').match(/Total 172 objects/g) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => child.on('close', r));
    closeSync(fd);
    const got: Snapshot[] = [];
    ingestToSnapshots(log, { intervalSec: 1, onSample: (snap) => got.push(snap) });
    const whole = got.filter((s) => s.watched?.some((w) => w.name === 'bufinfo' && w.values['buffers'] === 172));
    assert.ok(whole.length >= 1, `${whole.length} of ${got.length} samples read the 172 buffers`);
    const values = flattenSnapshot(whole[0] as Snapshot);
    assert.deepEqual([values.get('file.bufinfo.bytes'), values.get('file.bufinfo.ion%2Ebytes'), values.get('file.bufinfo.buffers')], [120500224, 120500224, 172]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a loop framing real procrank, librank, `dumpsys meminfo` and mali0/gpu_memory and ION heap outputs ingests them as proc.<name>:<pid>.*, librank.*, dumpsys.*, file.gpu_memory.* and file.ion_system.* series', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-script-android-'));
  try {
    // The printed loop, run for one pass: `cat` of the corpus files stands for running the tools on the phone.
    const script = buildCaptureScript({ intervalSec: 1, files: [
      { name: 'meminfo', path: '/proc/meminfo' },
      { name: 'procrank', path: join(corpusDir, 'procrank', 'duanqz-2015-meizu-android5-procrank-rows-cut.txt') },
      { name: 'dumpsys', path: join(corpusDir, 'dumpsys_meminfo', 'duanqz-2015-meizu-android5-system-summary-elided.txt') },
      { name: 'librank', path: join(corpusDir, 'librank', 'chkbugreport-2020-android-librank-one-library-cut.txt') },
      { name: 'gpu_memory', path: join(corpusDir, 'mali', 'memcapture-realtek-skyxione-gpu_memory.txt') },
      { name: 'ion_system', path: join(corpusDir, 'ion', 'aosp-ionmemoryutiltest-qcom-system-heap-repeats-removed.txt') },
    ] }).replace('while true; do', 'for pass in 1; do');
    const log = join(dir, 'capture.log');
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(log, r.stdout);
    const got: Snapshot[] = [];
    ingestToSnapshots(log, { intervalSec: 1, onSample: (snap) => got.push(snap) });
    assert.equal(got.length, 1);
    const values = flattenSnapshot(got[0] as Snapshot);
    assert.deepEqual([
      values.get('proc.system_server:752.pss'), values.get('proc.com%2Eandroid%2Esystemui:screenshot:4786.uss'),
      values.get('proc.com%2Eandroid%2Esystemui:1037.pss'), values.get('dumpsys.ram.lost'), values.get('dumpsys.pss.oom.Cached'),
    ], [97986 * 1024, 12368 * 1024, 76739 * 1024, 192087 * 1024, 59686 * 1024]);
    assert.deepEqual([values.get('librank.[anon:libc_malloc].pss'), values.get('proc.system_server:929.map.[anon:libc_malloc].uss'), values.get('proc.com%2Eandroid%2Ephone:1715.map.[anon:libc_malloc].pss')], [309423 * 1024, 21632 * 1024, 5827 * 1024]);
    assert.deepEqual([values.get('file.gpu_memory.pages'), values.get('file.gpu_memory.pid8344%2Epages')], [45605, 20929]);
    assert.deepEqual([values.get('file.ion_system.bytes'), values.get('file.ion_system.pid611%2Ebytes')], [55193600, 50642944]);
    assert.ok((values.get('meminfo.MemTotal') ?? 0) > 0);
    // The cuts in those texts travel with the sample as warnings.
    assert.ok(got[0]?.warnings.some((w) => /rows are missing from this text/.test(w.reason)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a loop framing procrank and the processes\' status gives each pid one proc.* key, under procrank\'s whole name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-script-onekey-'));
  try {
    // The printed loop, run for two passes; the status files of pids 4786 and 186 (captured here, named as Android
    // names them) stand for the phone's /proc, the corpus procrank for the tool.
    const statusOf = (pid: number, file: string): string =>
      `echo '@@ms' script sec status ${pid}; cat '${join(fixturesDir, file)}' 2>&1; echo '@@ms' script end $?`;
    const script = buildCaptureScript({ intervalSec: 1, files: [
      { name: 'meminfo', path: '/proc/meminfo' },
      { name: 'procrank', path: join(corpusDir, 'procrank', 'duanqz-2015-meizu-android5-procrank-rows-cut.txt') },
    ], procs: { status: true } })
      .replace('while true; do', 'for pass in 1 2; do')
      .replace(/^ *for _ms_d in .*$/m, `${statusOf(4786, 'status-android-app-comm-local.txt')}\n${statusOf(186, 'status-android-native-comm-local.txt')}`)
      .replace('sleep 1', 'true');
    const log = join(dir, 'capture.log');
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(log, r.stdout);
    const keys: string[][] = [];
    ingestSeries(log, { intervalSec: 1 }, (_t, values) => { keys.push([...values.keys()].filter((k) => /^proc\..*:(?:4786|186)\./.test(k))); });
    assert.equal(keys.length, 2);
    for (const k of keys) {
      // Before: proc.emui:screenshot:4786.* and proc.mediaserver:186.* beside procrank's keys of the same pids.
      assert.deepEqual([...new Set(k.map((x) => x.replace(/:(\d+)\..*$/, ':$1')))].sort(), ['proc./system/bin/mediaserver:186', 'proc.com%2Eandroid%2Esystemui:screenshot:4786']);
      assert.ok(k.includes('proc.com%2Eandroid%2Esystemui:screenshot:4786.status.VmRSS') && k.includes('proc.com%2Eandroid%2Esystemui:screenshot:4786.pss'));
      assert.ok(k.includes('proc./system/bin/mediaserver:186.anon') && k.includes('proc./system/bin/mediaserver:186.uss'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
