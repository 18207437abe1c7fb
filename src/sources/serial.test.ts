import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { TargetError } from '../model/errors.js';
import { takeLocalSnapshot } from './local.js';
import { SerialTarget, parseLogin } from './serial.js';
import type { SamplePlan } from './target.js';

const dir = mkdtempSync(join(tmpdir(), 'ms-serial-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
const hasBusybox = spawnSync('busybox', ['sh', '-c', 'true'], { stdio: 'ignore' }).status === 0;

function plan(index: number): SamplePlan {
  return { index, system: ['meminfo', 'slabinfo', 'vmstat'], status: true, rollup: [process.pid], smaps: [], watch: [], dropCaches: false, skipped: [] };
}

interface Proc { child: ChildProcess; stop(): Promise<void> }

function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(path)) throw new Error(`${path} did not appear`);
}

/** A console: a pty whose other side runs `program` on a pty of its own (echo on, a real interactive shell). */
async function console_(name: string, program: string): Promise<[string, Proc]> {
  const link = join(dir, name);
  const p = start('socat', [`PTY,link=${link},raw,echo=0`, `EXEC:${program},pty,stderr,setsid,sigint,sane`]);
  await waitFor(link);
  return [link, p];
}

test('parseLogin: user, user:password, colons in the password', () => {
  assert.deepEqual(parseLogin('root'), { user: 'root' });
  assert.deepEqual(parseLogin('root:a:b'), { user: 'root', password: 'a:b' });
  assert.throws(() => parseLogin(':x'));
});

for (const shell of ['sh -i', 'busybox sh -i']) {
  test(`SerialTarget on a pty with an interactive "${shell}" (echo on, a prompt): same numbers as local`, async (t) => {
    if (!hasSocat) { t.skip('socat not installed'); return; }
    if (shell.startsWith('busybox') && !hasBusybox) { t.skip('busybox not installed'); return; }
    const [link, socat] = await console_(`c${shell.length}`, shell);
    let target: SerialTarget | undefined;
    try {
      target = await SerialTarget.connect({ path: link, baudRate: 115200, connectTimeoutMs: 10_000, probeEveryMs: 500 });
      const local = takeLocalSnapshot({ processes: 'none' });
      const a = await target.sample(plan(0));
      const b = await target.sample(plan(1));
      assert.equal(a.snapshot.meminfo?.bytes['MemTotal'], local.meminfo?.bytes['MemTotal']);
      assert.equal(a.snapshot.target.bootId, local.target.bootId);
      assert.ok(Math.abs((a.snapshot.slabinfo?.caches.length ?? 0) - (local.slabinfo?.caches.length ?? 0)) <= 1);
      assert.ok(a.snapshot.processes.find((p) => p.pid === process.pid)?.memory);
      assert.ok((b.snapshot.target.uptimeSec ?? 0) > (a.snapshot.target.uptimeSec ?? Infinity));
      assert.deepEqual(a.snapshot.warnings.filter((w) => w.severity !== 'info'), []);
    } finally {
      await target?.close();
      await socat.stop();
    }
  });
}

const PRINTK = [
  '[  123.456789] usb 1-1: new high-speed USB device number 2 using ehci-platform',
  '<6>[ 4567.000001] mmc0: card never left busy state',
  '[    0.000000] Booting Linux on physical CPU 0x0',
];

test('SerialTarget: printk lines between the lines of a frame are dropped, numbers unchanged', async (t) => {
  if (!hasSocat) { t.skip('socat not installed'); return; }
  const a = join(dir, 'noise-a');
  const b = join(dir, 'noise-b');
  const pair = start('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  await waitFor(a);
  await waitFor(b);
  // The board side: a shell on pipes, its output written to the line with a printk after every 7th line.
  const port = new SerialPort({ path: b, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const shExited = new Promise<void>((resolve) => sh.once('exit', () => resolve()));
  // The line outlives the shell at teardown: bytes that arrive after it exited are dropped, not written.
  sh.stdin.on('error', () => undefined);
  port.on('data', (buf: Buffer) => { if (sh.stdin.writable) sh.stdin.write(buf); });
  let pending = '';
  let n = 0;
  let injected = 0;
  const out = (buf: Buffer): void => {
    pending += buf.toString('latin1');
    let nl = pending.indexOf('\n');
    let text = '';
    while (nl >= 0) {
      text += `${pending.slice(0, nl)}\r\n`;
      if (++n % 7 === 0) { text += `${PRINTK[n % PRINTK.length]}\r\n`; injected++; }
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    if (text && port.isOpen) port.write(Buffer.from(text, 'latin1'));
  };
  sh.stdout.on('data', out);
  sh.stderr.on('data', out);
  let target: SerialTarget | undefined;
  try {
    target = await SerialTarget.connect({ path: a, connectTimeoutMs: 10_000, probeEveryMs: 500 });
    const local = takeLocalSnapshot({ processes: 'none' });
    const s = await target.sample(plan(0));
    assert.ok(injected > 20, `printk lines injected: ${injected}`);
    assert.equal(s.snapshot.meminfo?.bytes['MemTotal'], local.meminfo?.bytes['MemTotal']);
    assert.ok(Math.abs((s.snapshot.slabinfo?.caches.length ?? 0) - (local.slabinfo?.caches.length ?? 0)) <= 1);
    for (const r of s.raw) assert.ok(!/\[\s*\d+\.\d+\]/.test(r.text), `no printk in ${r.name}`);
    assert.deepEqual(s.snapshot.warnings.filter((w) => w.severity !== 'info'), []);
  } finally {
    await target?.close();
    sh.stdin.end();
    await shExited;
    await new Promise<void>((resolve) => port.close(() => resolve()));
    await pair.stop();
  }
});

test('SerialTarget answers login: and Password: prompts; refuses without --login and with a wrong password', async (t) => {
  if (!hasSocat) { t.skip('socat not installed'); return; }
  // A fake getty: a login prompt, a password prompt without echo, then a shell.
  const script = join(dir, 'login.sh');
  writeFileSync(script, [
    'while :; do',
    "  printf '\\nboard login: '; read u",
    "  printf 'Password: '; stty -echo; read p; stty echo; echo",
    '  if [ "$u" = root ] && [ "$p" = "s3cr:et" ]; then exec sh -i; fi',
    "  echo 'Login incorrect'",
    'done',
  ].join('\n') + '\n');
  const [link, socat] = await console_('login', `sh ${script}`);
  let target: SerialTarget | undefined;
  try {
    await assert.rejects(SerialTarget.connect({ path: link, connectTimeoutMs: 5000, probeEveryMs: 500 }),
      (e: unknown) => e instanceof TargetError && e.code === 'login-required');
    await assert.rejects(SerialTarget.connect({ path: link, connectTimeoutMs: 8000, probeEveryMs: 500, login: { user: 'root', password: 'wrong' } }),
      (e: unknown) => e instanceof TargetError && e.code === 'login-failed');
    target = await SerialTarget.connect({ path: link, connectTimeoutMs: 8000, probeEveryMs: 500, login: parseLogin('root:s3cr:et') });
    const s = await target.sample(plan(0));
    assert.ok(s.snapshot.meminfo?.bytes['MemTotal']);
  } finally {
    await target?.close();
    await socat.stop();
  }
});
