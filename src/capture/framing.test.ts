import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameParser, buildSampleCommand, newNonce, shellQuote, type FramedSample } from './framing.js';

const SHELLS = ['sh', 'bash'].filter((s) => spawnSync(s, ['-c', 'true']).status === 0);
const hasBusybox = spawnSync('busybox', ['sh', '-c', 'true']).status === 0;

const NASTY = ["it's", 'two words', '$(touch /tmp/ms-pwned)', '`id`', '"dq" \\ back', 'new\nline', '*?[a]', '', "''", '-n'];

for (const sh of SHELLS) {
  test(`shellQuote: ${sh} gives back every byte`, () => {
    for (const s of NASTY) {
      const out = execFileSync(sh, ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' });
      assert.equal(out, s);
    }
  });
}

test('shellQuote refuses NUL', () => assert.throws(() => shellQuote('a\0b')));

test('buildSampleCommand refuses a nonce or name the shell would expand', () => {
  assert.throws(() => buildSampleCommand('$(x)', []));
  assert.throws(() => buildSampleCommand('abc', [{ name: 'a b', path: '/proc/meminfo' }]));
});

function feedInPieces(parser: FrameParser, text: string, size: number): FramedSample[] {
  const out: FramedSample[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...parser.feed(text.slice(i, i + size)));
  return [...out, ...parser.flush()];
}

function runOnce(shellArgs: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'ms-frame-'));
  try {
    const weird = join(dir, "vendor heap 'x' $(id)");
    writeFileSync(weird, 'heap0 used 4096\nno newline at end');
    const nonce = newNonce();
    const cmd = buildSampleCommand(nonce, [
      { name: 'uptime', path: '/proc/uptime' }, { name: 'meminfo', path: '/proc/meminfo' },
      { name: 'vendor_heap', path: weird }, { name: 'missing', path: join(dir, 'nope') },
    ], { procs: { status: true, smapsRollup: true } });
    const [bin = 'sh', ...pre] = shellArgs;
    const out = execFileSync(bin, [...pre, '-c', `echo 'login banner'; ${cmd}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    for (const size of [7, 4096]) {
      const samples = feedInPieces(new FrameParser(nonce), out, size);
      assert.equal(samples.length, 1);
      const s = samples[0] as FramedSample;
      assert.equal(s.complete, true);
      const system = s.sections.filter((x) => x.pid === undefined);
      assert.deepEqual(system.map((x) => x.name), ['uptime', 'meminfo', 'vendor_heap']);
      assert.match(system[0]?.lines[0] ?? '', /^\d+\.\d+ \d+\.\d+$/);
      assert.deepEqual(system[2]?.lines, ['heap0 used 4096', 'no newline at end']);
      assert.equal(s.unreadable.filter((u) => u.pid === undefined).length, 1);
      assert.match(s.unreadable[0]?.error ?? '', /nope: No such file or directory/);
      const statuses = s.sections.filter((x) => x.kind === 'status');
      assert.ok(statuses.length >= 3, 'a status for every process');
      assert.ok(statuses.every((x) => x.lines.some((l) => l.startsWith(`Pid:\t${x.pid}`))));
      assert.ok(s.sections.some((x) => x.kind === 'smaps_rollup' && x.lines.some((l) => l.startsWith('Rss:'))));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const sh of SHELLS) test(`one round trip through real ${sh}: files, an unreadable one, every process`, () => runOnce([sh]));

test('busybox sh', { skip: hasBusybox ? false : 'busybox is not installed on this machine' }, () => runOnce(['busybox', 'sh']));

test('persistent sh session: printk-like noise from a second writer, a banner, a late sample of another nonce', async () => {
  const sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
  sh.stdout.setEncoding('utf8');
  let raw = '';
  const late = newNonce();
  const wanted = newNonce();
  const parser = new FrameParser(wanted);
  const got = new Promise<FramedSample[]>((resolve) => {
    sh.stdout.on('data', (chunk: string) => {
      raw += chunk;
      const done = parser.feed(chunk);
      if (done.length) resolve(done);
    });
  });
  // The second writer: a background job on the same stdout, printing kernel-log-like lines while samples are read.
  sh.stdin.write('(i=0; while [ $i -lt 300 ]; do echo "[  $i.000001] mi_sys: printk noise <4>"; i=$((i+1)); sleep 0.002; done) &\n');
  sh.stdin.write("echo 'Welcome to board'\n");
  sh.stdin.write(`${buildSampleCommand(late, [{ name: 'meminfo', path: '/proc/meminfo' }])}\n`);
  for (let i = 0; i < 5; i++) sh.stdin.write(`${buildSampleCommand(late, [{ name: 'slabinfo', path: '/proc/slabinfo' }])}\n`);
  sh.stdin.write(`${buildSampleCommand(wanted, [{ name: 'meminfo', path: '/proc/meminfo' }, { name: 'vmstat', path: '/proc/vmstat' }, { name: 'slabinfo', path: '/proc/slabinfo' }])}\n`);
  const samples = await got;
  sh.stdin.end('wait; exit\n');
  await new Promise((r) => sh.on('close', r));
  assert.equal(samples.length, 1);
  const s = samples[0] as FramedSample;
  assert.equal(s.nonce, wanted);
  assert.deepEqual(s.sections.map((x) => x.name), ['meminfo', 'vmstat', 'slabinfo']);
  assert.ok(s.sections.every((x) => x.lines.every((l) => !l.includes('printk noise'))), 'no noise inside sections');
  assert.ok(s.sections[0]?.lines[0]?.startsWith('MemTotal:'));
  assert.ok(s.sections[2]?.lines[0]?.startsWith('slabinfo - version:'));
  assert.ok(raw.includes('printk noise'), 'the noise writer really wrote into the stream');
  assert.ok(raw.includes(`@@ms ${late} sec slabinfo`), 'the late samples were there and ignored');
});

test('FrameParser: a marker glued to a last line without newline, CRLF, and printk inside a frame', () => {
  const n = 'abc123';
  const text = `@@ms ${n} begin\r\n@@ms ${n} sec x\r\nline1\r\n<4>[ 1.000000] printk\r\nlast@@ms ${n} end 0\r\n@@ms other sec y\r\n@@ms ${n} done\r\n`;
  const [s] = feedInPieces(new FrameParser(n), text, 3);
  assert.deepEqual(s?.sections.map((x) => [x.name, x.lines, x.exitStatus]), [['x', ['line1', 'last'], 0]]);
});

test('FrameParser: input ending inside a sample gives it back incomplete', () => {
  const [s] = feedInPieces(new FrameParser('n1'), '@@ms n1 begin\n@@ms n1 sec meminfo\nMemTotal: 1 kB\n', 5);
  assert.equal(s?.complete, false);
  assert.equal(s?.sections[0]?.truncated, true);
});
