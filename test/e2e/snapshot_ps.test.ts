/**
 * `snapshot` and `ps` on this machine, checked against sources of truth: /proc itself and Debian's smem.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { runCli } from './cli_helpers.js';

test('snapshot: readable summary and JSON agree with /proc/meminfo', () => {
  const text = runCli(['snapshot']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Where MemTotal goes/);
  assert.match(text.stdout, /Largest processes by USS/);
  const json = runCli(['snapshot', '--json']);
  const s = JSON.parse(json.stdout) as { meminfo: { bytes: Record<string, number> } };
  const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
  assert.equal(s.meminfo.bytes['MemTotal'], memTotalKb * 1024);
});

test('ps: a process holding 48 MiB shows it, and agrees with smem within 2%', { skip: existsSync('/usr/bin/smem') ? false : 'smem not installed (apt-get install smem)' }, async () => {
  const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(48 << 20, 7); process.stdout.write("ready\\n"); setTimeout(() => b.length, 60000);']);
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const r = runCli(['ps', '--json', '--limit', '100000']);
    assert.equal(r.code, 0, r.stderr);
    const rows = (JSON.parse(r.stdout) as { rows: { pid: number; uss: number; pss: number; rss: number }[] }).rows;
    const ours = rows.find((x) => x.pid === child.pid);
    assert.ok(ours && ours.uss >= 48 * 1024 * 1024, `USS ${ours?.uss}`);
    // smem -c 'pid uss pss rss' prints KiB; -P matches the command line.
    const smem = spawnSync('smem', ['-H', '-c', 'pid uss pss rss', '-P', `^${process.execPath} -e const b`], { encoding: 'utf8' });
    const line = smem.stdout.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).find((f) => f[0] === child.pid);
    assert.ok(line, `smem row for ${child.pid}: ${smem.stdout} ${smem.stderr}`);
    const [, uss, pss, rss] = line as [number, number, number, number];
    for (const [name, theirs, mine] of [['uss', uss, ours.uss], ['rss', rss, ours.rss]] as const) {
      assert.ok(Math.abs(mine / 1024 - theirs) / theirs < 0.02, `${name}: ours ${mine / 1024} KiB, smem ${theirs} KiB`);
    }
    // PSS divides shared pages by how many processes map them at that instant: our own CLI (another node)
    // shares the node binary while it reads, smem reads after it exited. So PSS is checked for range only.
    assert.ok(ours.pss >= ours.uss && ours.pss <= ours.rss, `pss ${ours.pss} within [uss, rss]`);
    assert.ok(pss * 1024 >= ours.uss && pss * 1024 <= ours.rss * 1.02, `smem pss ${pss} KiB within [uss, rss]`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('ps: table with totals and the system line', () => {
  const r = runCli(['ps', '--limit', '5', '--sort', 'pss']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /PID\s+Vss\s+Rss\s+Pss\s+Uss\s+Swap\s+command/);
  assert.match(r.stdout, /TOTAL \(\d+ processes, 5 shown\)/);
  assert.match(r.stdout, /^RAM: .* total, .* available/m);
});
