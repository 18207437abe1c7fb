import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetError } from '../model/errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { buildSampleCommand } from '../capture/framing.js';
import { takeLocalSnapshot } from './local.js';
import { LocalTarget } from './local_target.js';
import { ShellTarget, backoffDelay, buildPlanCommand, splitShellWords } from './shell.js';
import { SamplePlanner } from './sample_planner.js';
import { parseWatchSpec } from './watch_file.js';
import type { LinkEvent, SamplePlan, Target, TargetSample } from './target.js';

const dir = mkdtempSync(join(tmpdir(), 'ms-shell-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const watchPath = join(dir, "vendor heap 'x'");
writeFileSync(watchPath, 'total: 4096 kB\nused: 0x1000\n');

function plan(index: number, over: Partial<SamplePlan> = {}): SamplePlan {
  return {
    index, system: ['meminfo', 'vmstat', 'slabinfo', 'buddyinfo', 'zoneinfo', 'vmallocinfo'], status: true,
    rollup: [1, process.ppid], smaps: [process.pid], watch: [parseWatchSpec(`${watchPath}:kv`)], dropCaches: false, skipped: [],
    ...over,
  };
}

test('splitShellWords: quotes and escapes as sh splits them', () => {
  const cases: [string, string[]][] = [
    ['ssh root@board', ['ssh', 'root@board']],
    ['  adb   shell ', ['adb', 'shell']],
    [`ssh -o 'ProxyCommand=nc -x h:1080 %h %p' b`, ['ssh', '-o', 'ProxyCommand=nc -x h:1080 %h %p', 'b']],
    ['sh -c "echo \\"hi\\" \\$x"', ['sh', '-c', 'echo "hi" $x']],
    ["a\\ b ''", ['a b', '']],
    ['a"b"\'c\'d', ['abcd']],
  ];
  for (const [line, want] of cases) assert.deepEqual(splitShellWords(line), want, line);
  for (const bad of ['a "b', "a 'b", 'a\\']) assert.throws(() => splitShellWords(bad));
});

test('backoffDelay: doubles, caps, jitters within bounds', () => {
  const mid = (): number => 0.5;
  assert.deepEqual([1, 2, 3, 4, 10].map((n) => backoffDelay(n, { initialMs: 100, maxMs: 1000 }, mid)), [100, 200, 400, 800, 1000]);
  assert.equal(backoffDelay(1, { initialMs: 100, jitter: 0.2 }, () => 0), 80);
  assert.equal(backoffDelay(1, { initialMs: 100, jitter: 0.2 }, () => 1), 120);
});

test('buildPlanCommand: a plan with nothing per-pid is exactly buildSampleCommand; lines stay short', () => {
  const p = plan(0, { rollup: 'all', smaps: [], watch: [] });
  const files = ['uptime', 'boot_id', ...p.system].map((name) => ({
    name, path: name === 'uptime' ? '/proc/uptime' : name === 'boot_id' ? '/proc/sys/kernel/random/boot_id' : `/proc/${name}`,
  }));
  const want = buildSampleCommand('abc123', files, { procs: { status: true, smapsRollup: true } });
  assert.equal(buildPlanCommand('abc123', p).join('; '), want);
  const many = buildPlanCommand('abc123', plan(0, { rollup: Array.from({ length: 300 }, (_, i) => i + 1) }));
  assert.ok(many.length > 5 && many.every((l) => l.length <= 1000), 'split under the tty line limit');
});

const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const slabCount = (s: Snapshot): number => s.slabinfo?.caches.length ?? -1;

/** Stable values a remote sample and a local snapshot must agree on. */
function assertSameMachine(got: TargetSample, local: Snapshot, rawSystemFiles = true): void {
  const s = got.snapshot;
  assert.equal(s.meminfo?.bytes['MemTotal'], local.meminfo?.bytes['MemTotal']);
  assert.equal(s.target.bootId, local.target.bootId);
  assert.ok(s.target.bootId && /^[0-9a-f-]{36}$/.test(s.target.bootId));
  // A cache created between the two reads is possible but rare; allow one.
  assert.ok(Math.abs(slabCount(s) - slabCount(local)) <= 1, `slab caches ${slabCount(s)} vs ${slabCount(local)}`);
  assert.ok(s.vmallocinfo && s.vmallocinfo.areas.length > 0);
  assert.ok(s.processes.length > 5, 'status of every process');
  const me = s.processes.find((p) => p.pid === process.pid);
  assert.ok(me?.smaps && me.smaps.mappings.length > 10, 'full smaps of the named pid');
  assert.ok(me.memory && me.memory.rss > 0);
  assert.ok(s.processes.find((p) => p.pid === process.ppid)?.memory, 'smaps_rollup of the parent');
  // pid 1 may be refused even to root (the ptrace access check): then it is said, not zeroed.
  const init = s.processes.find((p) => p.pid === 1);
  assert.ok(init?.memory || got.unreadable.some((u) => u.pid === 1), 'pid 1: figures or an unreadable entry');
  const kthread = s.processes.find((p) => p.status?.bytes['VmSize'] === undefined);
  assert.ok(kthread && kthread.memory === undefined, 'a kernel thread has no memory figures, not zeros');
  assert.deepEqual(s.watched, [{ name: parseWatchSpec(watchPath).name, values: { total: 4096 * 1024, used: 4096 } }]);
  // LocalTarget keeps raw text only of what it reads itself (takeLocalSnapshot returns parsed values).
  if (rawSystemFiles) assert.ok(got.raw.some((r) => r.kind === 'meminfo' && r.text.startsWith('MemTotal:')));
  assert.ok(got.raw.some((r) => r.kind === 'file' && r.text.startsWith('total:')));
}

async function twoSamples(t: Target): Promise<[TargetSample, TargetSample]> {
  const a = await t.sample(plan(0));
  await new Promise((r) => setTimeout(r, 50));
  const b = await t.sample(plan(1));
  return [a, b];
}

async function checkShell(via: string): Promise<void> {
  const t = await ShellTarget.connect({ via, connectTimeoutMs: 10_000, sampleTimeoutMs: 20_000 });
  try {
    assert.equal(t.access?.root, process.getuid?.() === 0);
    const local = takeLocalSnapshot({ processes: 'none' });
    const [a, b] = await twoSamples(t);
    assertSameMachine(a, local);
    assert.ok((b.snapshot.target.uptimeSec ?? 0) > (a.snapshot.target.uptimeSec ?? Infinity), 'uptime advances');
    assert.equal(a.gap, undefined);
    assert.ok(a.durationMs > 0 && a.durationMs < 20_000);
  } finally {
    await t.close();
  }
}

test('ShellTarget through sh: same numbers as a local snapshot; uptime advances', async () => {
  await checkShell('sh');
});

test('ShellTarget through busybox sh', async (t) => {
  if (!has('busybox', ['sh', '-c', 'true'])) { t.skip('busybox not installed'); return; }
  await checkShell('busybox sh');
});

test('LocalTarget: same plan, same shape', async () => {
  const t = new LocalTarget();
  const local = takeLocalSnapshot({ processes: 'none' });
  const [a, b] = await twoSamples(t);
  assertSameMachine(a, local, false);
  assert.ok((b.snapshot.target.uptimeSec ?? 0) > (a.snapshot.target.uptimeSec ?? Infinity));
  await t.close();
});

test('without root: what can be read is, and what analysis is lost is said', async (t) => {
  if (process.getuid?.() !== 0 || !has('setpriv', ['--version'])) { t.skip('needs root and setpriv to drop to nobody'); return; }
  const target = await ShellTarget.connect({ via: 'setpriv --reuid=65534 --regid=65534 --clear-groups sh' });
  try {
    assert.equal(target.access?.root, false);
    assert.match(target.access?.lost.join('\n') ?? '', /slab caches \(root only\)/);
    const s = await target.sample(plan(0, { dropCaches: true }));
    assert.ok(s.snapshot.meminfo?.bytes['MemTotal']);
    assert.equal(s.snapshot.slabinfo, undefined);
    const names = new Set(s.unreadable.filter((u) => u.pid === undefined).map((u) => u.name));
    assert.ok(names.has('slabinfo') && names.has('vmallocinfo') && names.has('drop_caches'), [...names].join(','));
    assert.ok(s.unreadable.some((u) => u.pid === 1 && u.name === 'smaps_rollup'));
    const lost = s.lost.join('\n');
    for (const re of [/slab caches/, /vmallocinfo/, /drop_caches/, /other users' processes/]) assert.match(lost, re);
    assert.ok(s.snapshot.warnings.some((w) => w.source === '/proc/slabinfo' && w.severity === 'data-loss'));
  } finally {
    await target.close();
  }
});

test('connection failures are TargetErrors that say why', async () => {
  await assert.rejects(ShellTarget.connect({ via: 'memsleuth-no-such-command-xyz' }), (e: unknown) => e instanceof TargetError && /cannot run/.test(e.message));
  await assert.rejects(ShellTarget.connect({ via: "sh -c 'echo board unreachable >&2; exit 3'" }),
    (e: unknown) => e instanceof TargetError && /status 3.*board unreachable/.test(e.message));
  await assert.rejects(ShellTarget.connect({ via: 'sleep 30', connectTimeoutMs: 300 }), (e: unknown) => e instanceof TargetError && e.code === 'connect-timeout');
});

test('a sample that hangs times out, the shell is restarted, the next sample carries the gap', async (t) => {
  if (!has('mkfifo', [join(dir, 'fifo')])) { t.skip('mkfifo not available'); return; }
  const target = await ShellTarget.connect({ via: 'sh', sampleTimeoutMs: 3000, backoff: { initialMs: 50 } });
  const events: LinkEvent['kind'][] = [];
  target.onLink((e) => events.push(e.kind));
  try {
    await target.sample(plan(0));
    const lastGoodDone = Date.now();
    await assert.rejects(target.sample(plan(0, { watch: [parseWatchSpec(join(dir, 'fifo'))] })), (e: unknown) => e instanceof TargetError && e.code === 'timeout');
    const s = await target.sample(plan(1));
    assert.ok(s.gap && s.gap.upAtMs >= s.gap.downAtMs && /no answer within 3000 ms/.test(s.gap.reason));
    // The hole starts at the last good sample, not 3 s later when the timeout noticed it.
    assert.ok(s.gap.downAtMs <= lastGoodDone, `gap from ${s.gap.downAtMs}, last good sample done at ${lastGoodDone}`);
    assert.deepEqual(events, ['down', 'up']);
    assert.ok(s.snapshot.meminfo);
  } finally {
    await target.close();
  }
});

test('a link that comes back is used at the next sample, however long the backoff has grown', async () => {
  // A backoff of an hour: only a sample that is due can bring the link back within the test.
  const target = await ShellTarget.connect({ via: 'sh', backoff: { initialMs: 3_600_000, jitter: 0 }, waitForLinkMs: 600_000 });
  const events: LinkEvent['kind'][] = [];
  target.onLink((e) => events.push(e.kind));
  try {
    await target.sample(plan(0));
    const down = new Promise<void>((resolve) => { const off = target.onLink((e) => { if (e.kind === 'down') { off(); resolve(); } }); });
    process.kill(target.childPid as number, "SIGKILL");
    await down;
    const s = await target.sample(plan(1));
    assert.ok(s.gap, 'the sample after the drop carries the gap');
    assert.deepEqual(events, ['down', 'up']);
    assert.ok(s.snapshot.meminfo);
  } finally {
    await target.close();
  }
});

// ------------------------------------------------------------------------------------------------ real sshd

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Sshd { child: ChildProcess; port: number; key: string; stop(): Promise<void> }

async function startSshd(): Promise<Sshd | string> {
  if (!existsSync('/usr/sbin/sshd')) return '/usr/sbin/sshd not installed (openssh-server)';
  if (!has('ssh', ['-V']) || !has('ssh-keygen', ['-?']) && !existsSync('/usr/bin/ssh-keygen')) return 'ssh or ssh-keygen not installed';
  if (process.getuid?.() !== 0) return 'sshd needs root here to log in as root';
  const d = join(dir, 'sshd');
  mkdirSync(d, { mode: 0o700 });
  const hostKey = join(d, 'host_ed25519');
  const key = join(d, 'client_ed25519');
  for (const k of [hostKey, key]) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
    if (r.status !== 0) return `ssh-keygen failed: ${r.stderr.toString()}`;
  }
  spawnSync('cp', [`${key}.pub`, join(d, 'authorized_keys')]);
  chmodSync(join(d, 'authorized_keys'), 0o600);
  // The privilege-separation directory the Debian package creates at boot; absent in a fresh container.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort();
  const config = join(d, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `AuthorizedKeysFile ${join(d, 'authorized_keys')}`,
    'PermitRootLogin yes', 'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'PidFile none', 'LogLevel ERROR',
  ].join('\n') + '\n');
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  // Ready when the port accepts a connection.
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) return `sshd exited: ${stderr}`;
    const ok = spawnSync('ssh', sshArgs(key, port, 'true'), { timeout: 5000 }).status === 0;
    if (ok) return { child, port, key, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  return `sshd did not accept a login: ${stderr}`;
}

function sshArgs(key: string, port: number, cmd: string): string[] {
  return ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
    '-i', key, '-p', String(port), 'root@127.0.0.1', cmd];
}

test('ShellTarget through a real sshd on 127.0.0.1; killing ssh mid-recording gives a reported gap', async (t) => {
  const sshd = await startSshd();
  if (typeof sshd === 'string') { t.skip(sshd); return; }
  let target: ShellTarget | undefined;
  try {
    const via = ['ssh', ...sshArgs(sshd.key, sshd.port, 'sh')].map((w) => `'${w}'`).join(' ');
    target = await ShellTarget.connect({ via, name: 'sshd-test', backoff: { initialMs: 100, maxMs: 1000 } });
    assert.equal(target.access?.root, true);
    const events: LinkEvent[] = [];
    target.onLink((e) => events.push(e));
    const local = takeLocalSnapshot({ processes: 'none' });
    const [a, b] = await twoSamples(target);
    assertSameMachine(a, local);
    assert.ok((b.snapshot.target.uptimeSec ?? 0) > (a.snapshot.target.uptimeSec ?? Infinity));

    // Record with the planner; kill the ssh client after the third sample.
    const planner = new SamplePlanner({ watch: [] });
    const samples: TargetSample[] = [];
    const errors: string[] = [];
    for (let i = 0; i < 8; i++) {
      if (i === 3) process.kill(target.childPid ?? 0, 'SIGKILL');
      const p = planner.plan();
      try {
        const s = await target.sample(p);
        planner.observe(p, s);
        samples.push(s);
      } catch (e) {
        errors.push((e as Error).message);
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    const gaps = samples.filter((s) => s.gap);
    assert.equal(gaps.length, 1, `one gap; errors: ${errors.join(' | ')}`);
    const gap = gaps[0]?.gap;
    assert.ok(gap && gap.upAtMs > gap.downAtMs && /exited/.test(gap.reason), JSON.stringify(gap));
    assert.deepEqual(events.filter((e) => e.kind !== 'retry').map((e) => e.kind), ['down', 'up']);
    assert.ok(samples.length >= 6, `samples after the drop arrive (${samples.length}, errors: ${errors.join(' | ')})`);
    const boots = new Set(samples.map((s) => s.snapshot.target.bootId));
    assert.equal(boots.size, 1, 'same boot: a dropped link is not a reboot');
    const ups = samples.map((s) => s.snapshot.target.uptimeSec ?? 0);
    assert.ok(ups.every((u, i) => i === 0 || u >= (ups[i - 1] ?? 0)));
  } finally {
    await target?.close();
    // Let the per-connection sshd processes exit while their parent can still reap them.
    await new Promise((r) => setTimeout(r, 300));
    await sshd.stop();
  }
});
