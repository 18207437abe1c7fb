import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { detect } from './index.js';
import { librankSeries, parseLibrank } from './librank.js';

const KiB = 1024;

test('librank of an Android 10+ phone (ChkBugReport test data): the [anon:libc_malloc] block, 8 processes, and the rows left out are said', () => {
  const [f] = corpus('librank', /chkbugreport/);
  assert.ok(f);
  assert.equal(detect(f.text), 'librank');
  const r = parseLibrank(f.text);
  assert.deepEqual(r.value.columns, ['VSS', 'RSS', 'PSS', 'USS']);
  assert.equal(r.value.mappings.length, 1);
  const m = r.value.mappings[0];
  assert.ok(m);
  assert.equal(m.name, '[anon:libc_malloc]');
  assert.equal(m.pssTotal, 309423 * KiB);
  assert.equal(m.processes.length, 8);
  assert.deepEqual(m.processes[0], { pid: 1497, cmdline: 'com.android.systemui', bytes: { VSS: 188416 * KiB, RSS: 86440 * KiB, PSS: 84507 * KiB, USS: 84440 * KiB } });
  assert.deepEqual(m.processes[3], { pid: 654, cmdline: '/vendor/bin/hw/android.hardware.camera.provider@2.4-service', bytes: { VSS: 29184 * KiB, RSS: 10120 * KiB, PSS: 10120 * KiB, USS: 10120 * KiB } });
  assert.deepEqual(m.processes[7], { pid: 1715, cmdline: 'com.android.phone', bytes: { VSS: 52736 * KiB, RSS: 7856 * KiB, PSS: 5827 * KiB, USS: 5756 * KiB } });
  // librank sorts by PSS: the rows come in that order. The test's author kept 8 of them: 163910K of 309423K.
  const pss = m.processes.map((p) => p.bytes['PSS'] ?? 0);
  assert.deepEqual(pss, [...pss].sort((a, b) => b - a));
  assert.equal(pss.reduce((a: number, b) => a + b, 0), 163910 * KiB);
  assert.deepEqual(r.warnings.map((w) => [w.severity, w.reason]), [
    ['info', "[anon:libc_malloc]: its 8 process rows' PSS add up to 163910K of the 309423K it totals: rows are missing from this text (cut?)"],
  ]);
});

test('librank series: each process\'s share of a mapping under proc.<cmdline>:<pid>.map.<mapping>.*, names whole', () => {
  const [f] = corpus('librank', /chkbugreport/);
  assert.ok(f);
  const s = librankSeries(parseLibrank(f.text).value);
  assert.equal(Object.keys(s).length, 1 + 8 * 4);
  assert.equal(s['librank.[anon:libc_malloc].pss'], 309423 * KiB);
  assert.equal(s['proc.com%2Eandroid%2Esystemui:1497.map.[anon:libc_malloc].uss'], 84440 * KiB);
  assert.equal(s['proc./vendor/bin/hw/android%2Ehardware%2Ecamera%2Eprovider@2%2E4-service:654.map.[anon:libc_malloc].pss'], 10120 * KiB);
});

test('librank: the blank lines of librank.c, the Swap column, odd rows, junk: never throws, says what it skipped', () => {
  // Shapes of librank.c (a blank line after each block) and of librank.cpp with swap (its printf formats), not
  // real output: no real sample of either was found.
  const text = [
    ' RSStot       VSS      RSS      PSS      USS     Swap  Name/PID',
    '  2049K                                                /system/lib/libc.so',
    '              4096K    1024K    1025K    1000K      12K    system_server [929]',
    '              4096K    1024K    1024K    1000K       0K    zygote [300]',
    '',
    '    11K                                                /dev/ashmem/x y [1]',
    '               999K       1K    zygote [300]',
    '[librank: 0.5s elapsed]',
  ].join('\n');
  const r = parseLibrank(text);
  assert.deepEqual(r.value.columns, ['VSS', 'RSS', 'PSS', 'USS', 'Swap']);
  assert.deepEqual(r.value.mappings.map((m) => [m.name, m.pssTotal, m.processes.length]), [
    ['/system/lib/libc.so', 2049 * KiB, 2], ['/dev/ashmem/x y [1]', 11 * KiB, 0],
  ]);
  assert.equal(r.value.mappings[0]?.processes[0]?.bytes['Swap'], 12 * KiB);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.severity]), [[7, 'data-loss'], [8, 'info'], [0, 'info']]);
  for (const t of ['', 'RSStot Name/PID', ' RSStot VSS Name/PID\n 5K  x [1]\n9'.repeat(3), `${' RSStot VSS Name/PID\n'}${'9'.repeat(400)}K x\n`]) {
    assert.doesNotThrow(() => parseLibrank(t));
  }
  assert.ok(parseLibrank('hello').warnings.some((w) => w.severity === 'error'));
});
