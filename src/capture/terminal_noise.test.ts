import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_NO_AT, CHUNK_NO_CONTROLS, LineCleaner, cleanLine, cleanTerminalText, isShellLine, noControls, splitTerminalTime, stampEnd, stripControls } from './terminal_noise.js';
import { STAMPS } from '../sources/capture_testing.js';

// Noise synthesized here, in code: each case is one line as a terminal would save it.
const KEPT: Array<[string, string, string]> = [
  ['CRLF of a pty', 'MemTotal:       44792 kB\r', 'MemTotal:       44792 kB'],
  ['ANSI colour around a value', '\x1b[1;31mMemFree:\x1b[0m  7904 kB', 'MemFree:  7904 kB'],
  ['cursor move and erase-line', '\x1b[2K\x1b[1GSlab:  14508 kB', 'Slab:  14508 kB'],
  ['backspace typo fix', 'Buffx\bers:  2396 kB', 'Buffers:  2396 kB'],
  ['bare CR redraw keeps the last draw', 'garbage-garbage-garbage\r\x1b[KCached:  10744 kB', 'Cached:  10744 kB'],
  ['tio timestamp', '[10:00:01.123] SUnreclaim:  12624 kB', 'SUnreclaim:  12624 kB'],
  ['SecureCRT date-time', '[2024-03-01 10:00:01] kmalloc-64 10491 10500 320 12 1 : tunables 0 0 0 : slabdata 875 875 0', 'kmalloc-64 10491 10500 320 12 1 : tunables 0 0 0 : slabdata 875 875 0'],
  ['bare ISO time', '2024-03-01T10:00:01.123456+01:00 Mem: 44792 40148 4644 12 272', 'Mem: 44792 40148 4644 12 272'],
  ['moreutils ts', 'Mar 01 10:00:01 nr_free_pages 1234', 'nr_free_pages 1234'],
  ['mail quote', '> > Slab: 29252 kB', 'Slab: 29252 kB'],
  ['slabinfo header is not a prompt', '# name <active_objs> <num_objs>', '# name <active_objs> <num_objs>'],
  ['zoneinfo indentation kept', '    pages free     3840  ', '    pages free     3840'],
  ['prompt glued to output by typed-ahead input', 'root@board:~# > > > MemTotal:  1 kB', 'MemTotal:  1 kB'],
];

const DROPPED: Array<[string, string]> = [
  ['busybox prompt with command', '/ # cat /proc/meminfo'],
  ['user prompt', '~ $ '],
  ['bash prompt', 'root@board:~# free'],
  ['RHEL prompt', '[root@x ~]# cat /proc/slabinfo'],
  ['echoed loop label', 'cat meminfo...'],
  ['echo command', 'echo 3 > /proc/sys/vm/drop_caches'],
  ['printk', '[  123.456789] usb 1-1: new high-speed USB device'],
  ['printk with level', '<4>[ 5.000001] mi_sys: warn'],
  ['printk behind a terminal time', '[2024-03-01 10:00:01.123] [  12.000000] oom'],
  ['blank line', '   \r'],
  ['shebang', '#!/bin/bash'],
  ['loop keyword', 'done'],
];

for (const [name, raw, want] of KEPT) {
  test(`kept: ${name}`, () => assert.equal(cleanLine(raw, 1)?.text, want));
}
for (const [name, raw] of DROPPED) {
  test(`dropped: ${name}`, () => assert.equal(cleanLine(raw, 1), undefined));
}

test('terminal time is returned with the line', () => {
  assert.deepEqual(cleanLine('[2024-03-01 10:00:01.500] MemTotal: 1 kB', 7), {
    text: 'MemTotal: 1 kB', line: 7,
    time: { text: '[2024-03-01 10:00:01.500]', secOfDay: 36001.5, epochMs: Date.UTC(2024, 2, 1, 10, 0, 1, 500) },
  });
  assert.deepEqual(cleanLine('10:00:01.123 MemFree: 2 kB', 3)?.time, { text: '10:00:01.123', secOfDay: 36001.123 });
});

test('original line numbers survive blank lines between every line', () => {
  const out = cleanTerminalText('MemTotal: 1 kB\r\n\r\nMemFree: 2 kB\r\n\r\n[  1.0] x\r\nSlab: 3 kB\r\n');
  assert.deepEqual(out.map((l) => [l.line, l.text]), [[1, 'MemTotal: 1 kB'], [3, 'MemFree: 2 kB'], [6, 'Slab: 3 kB']]);
});

test('stripControls leaves plain text untouched', () => {
  assert.equal(stripControls('kmalloc-64\t10491'), 'kmalloc-64\t10491');
});

test('noControls: tab, LF and CRLF pass; a bare CR, ESC, BEL, DEL anywhere (aligned or not) do not', () => {
  const ok = Buffer.from('MemTotal:\t1 kB\r\nSlab: 2 kB\n中文\n');
  for (let off = 0; off < 4; off++) assert.equal(noControls(ok, off, ok.length), true, `offset ${off}`);
  for (const bad of ['\r', '\x1b', '\x07', '\x7f', '\b', '\x0b', '\x00']) {
    for (let at = 0; at < 9; at++) {
      const b = Buffer.from(`MemFree: 12 kB\n`.slice(0, at) + bad + `MemFree: 12 kB\n`.slice(at) + 'x');
      assert.equal(noControls(b, 0, b.length), false, `${JSON.stringify(bad)} at ${at}`);
    }
  }
});

test('LineCleaner with chunk hints gives what cleanLine gives', () => {
  const c = new LineCleaner();
  for (const raw of ['MemTotal:  1 kB\r', '[10:00:01.123] Slab: 2 kB', 'cat meminfo...', '/ # free', '  ', '> > Slab: 3 kB', 'done']) {
    assert.equal(c.clean(raw, CHUNK_NO_CONTROLS | CHUNK_NO_AT), cleanLine(raw, 1)?.text, raw);
  }
});

test('`sh -x` traces are commands, also when the two sides of a pipeline trace at once', () => {
  // Lines of a `set -x` loop captured here (test/fixtures/capture-procfiles.sh); the last three are interleaved traces of
  // `ls /proc/N/fd | wc -l` seen in one run of it.
  for (const l of ['+ cat /proc/5011/statm', '+ ls /proc/5011/fd', '+ wc -l', '+ set +x', 'wc -l', '+ + ls /proc/3793/fd', '+ ls /proc/3794/fd+ ']) {
    assert.ok(isShellLine(l), l);
  }
  for (const l of ['+1 more line', 'Size:                  4 kB', '5']) assert.ok(!isShellLine(l), l);
});

test('stampEnd() strips what splitTerminalTime() strips, byte for byte, on every logger stamp and near misses of them', () => {
  const shapes = Object.values(STAMPS);
  const noise = '[]:.,-+ T0123456789ZDecMon\t';
  const lineArb = fc.record({
    shape: fc.integer({ min: 0, max: shapes.length - 1 }),
    ms: fc.integer({ min: Date.UTC(2001, 8, 9, 1, 46, 40), max: Date.UTC(2033, 0, 1) }),
    edits: fc.array(fc.record({ at: fc.nat(), op: fc.integer({ min: 0, max: 2 }), ch: fc.integer({ min: 0, max: noise.length - 1 }) }), { maxLength: 2 }),
    frac: fc.integer({ min: -1, max: 11 }),
    text: fc.constantFrom('MemFree:        123 kB', 'kmalloc-64 1 2 3', ' MemFree: 1', '[  12.5] usb', 'nr_free_pages 12', '12 kB', ''),
  });
  fc.assert(fc.property(lineArb, ({ shape, ms, edits, frac, text }) => {
    let stamp = (shapes[shape] as (ms: number) => string)(ms);
    // Fractions of 0 to 11 digits (the stamps take 1 to 9).
    if (frac >= 0) stamp = stamp.replace(/([.,])\d+/, (_m, sep: string) => sep + '7'.repeat(frac));
    for (const e of edits) {
      const at = e.at % (stamp.length + 1);
      const ch = noise[e.ch] as string;
      stamp = e.op === 0 ? stamp.slice(0, at) + ch + stamp.slice(at + 1) : e.op === 1 ? stamp.slice(0, at) + stamp.slice(at + 1) : stamp.slice(0, at) + ch + stamp.slice(at);
    }
    const line = stamp + text;
    const bytes = Buffer.from(line, 'latin1');
    const i = stampEnd(bytes, 0, bytes.length);
    const split = splitTerminalTime(line);
    const rest = split?.[1];
    if (i >= 0) assert.equal(rest, line.slice(i), JSON.stringify(line));
    // And it finds every one whose rest starts with a letter (the rows the fast path reads).
    else assert.ok(rest === undefined || !/^[A-Za-z]/.test(rest), `missed ${JSON.stringify(line)}`);
  }), { numRuns: 20_000, seed: 12 });
});
