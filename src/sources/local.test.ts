/**
 * The local source on an injected /proc tree built from real captured files, and on this machine's /proc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { corpusDir } from '../../test/corpus.js';
import { takeLocalSnapshot } from './local.js';
import { flattenSnapshot } from '../model/series.js';

const local = (name: string): string => join(corpusDir, 'local-6.18', name);

function fixtureTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'memsleuth-proc-'));
  for (const f of ['meminfo', 'slabinfo', 'vmallocinfo', 'buddyinfo', 'zoneinfo', 'vmstat']) copyFileSync(local(`${f}.txt`), join(root, f));
  writeFileSync(join(root, 'uptime'), '12345.67 20000.00\n');
  mkdirSync(join(root, 'sys/kernel/random'), { recursive: true });
  writeFileSync(join(root, 'sys/kernel/random/boot_id'), '0f1e2d3c-aaaa-bbbb-cccc-000000000001\n');
  const pid = join(root, '4242');
  mkdirSync(pid);
  copyFileSync(local('status-python3.txt'), join(pid, 'status'));
  copyFileSync(local('smaps_rollup-python3.txt'), join(pid, 'smaps_rollup'));
  copyFileSync(local('smaps-python3.txt'), join(pid, 'smaps'));
  return root;
}

test('local source reads an injected /proc tree into one Snapshot', () => {
  const root = fixtureTree();
  try {
    const s = takeLocalSnapshot({ procRoot: root, now: () => 1_700_000_000_000 });
    assert.equal(s.target.uptimeSec, 12345.67);
    assert.equal(s.target.bootId, '0f1e2d3c-aaaa-bbbb-cccc-000000000001');
    assert.ok(s.meminfo && s.slabinfo && s.vmallocinfo && s.zoneinfo && s.buddyinfo && s.vmstat);
    assert.equal(s.processes.length, 1);
    const p = s.processes[0]!;
    assert.equal(p.comm, 'python3');
    // smaps_rollup-python3.txt: Rss 64744 kB; USS = Private_Clean + Private_Dirty of the same file.
    assert.equal(p.memory?.rss, 64744 * 1024);
    assert.equal(s.warnings.filter((w) => w.severity !== 'info').length, 0, JSON.stringify(s.warnings));
    const series = flattenSnapshot(s);
    assert.equal(series.get('meminfo.MemTotal'), s.meminfo.bytes['MemTotal']);
    assert.ok([...series.keys()].some((k) => k.startsWith('slab.') && k.endsWith('.bytes')));
    assert.equal(series.get('proc.python3:4242.rss'), 64744 * 1024);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a file that is missing becomes a warning, never a crash', () => {
  const root = fixtureTree();
  try {
    rmSync(join(root, 'vmallocinfo'));
    rmSync(join(root, '4242', 'smaps_rollup'));
    const s = takeLocalSnapshot({ procRoot: root });
    assert.equal(s.vmallocinfo, undefined);
    assert.ok(s.warnings.some((w) => w.source.endsWith('vmallocinfo') && /not present/.test(w.reason)));
    // Without smaps_rollup (kernels before 4.14) the full smaps is summed instead.
    assert.ok(s.processes[0]?.memory);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('this machine: a child process is seen with the memory it touched', async () => {
  // A process that touches 32 MiB of anonymous memory and waits; its USS must be at least that.
  const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(32 << 20, 1); process.stdout.write("ready\\n"); setTimeout(() => b.length, 60000);']);
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const s = takeLocalSnapshot({ system: { slabinfo: false, vmallocinfo: false } });
    const p = s.processes.find((x) => x.pid === child.pid);
    assert.ok(p, 'child listed');
    assert.ok((p.memory?.uss ?? 0) >= 32 * 1024 * 1024, `USS ${p.memory?.uss}`);
    assert.ok(s.meminfo?.bytes['MemTotal']);
    assert.match(s.target.bootId ?? '', /^[0-9a-f-]{36}$/);
  } finally {
    child.kill('SIGKILL');
  }
});
