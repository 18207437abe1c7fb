import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seed, fixtures, corpus } from '../../test/corpus.js';
import { cleanTerminalText } from './terminal_noise.js';
import { sectionize } from './sectionizer.js';
import type { RawSample } from './section.js';

const cut = (text: string): RawSample[] => sectionize(cleanTerminalText(text));
const shape = (samples: RawSample[]): string[] => samples.map((s) => s.sections.map((x) => `${x.name}:${x.lines.length}`).join(' '));

test('seed 002: 27 free-only samples, then two meminfo+slabinfo+free dumps', () => {
  const samples = cut(seed('002'));
  const want = [...Array<string>(27).fill('free:2'), 'meminfo:36 slabinfo:130 free:4', 'meminfo:36 slabinfo:132 free:4'];
  assert.deepEqual(shape(samples), want);
  // The 27 rows share one busybox header; each row became its own `free` section with that header.
  assert.deepEqual(samples[3]?.sections[0]?.lines, ['total used free shared buffers', 'Mem: 44792 41112 3680 12 356']);
  // The slabinfo header the notes editor wrapped at " : " is joined back.
  const slab = samples[27]?.sections[1]?.lines ?? [];
  assert.equal(slab[1], '# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>');
  assert.equal(samples[27]?.sections[0]?.lines[0], 'MemTotal: 44792 kB');
  assert.equal(samples[28]?.sections[0]?.lines[3], 'Buffers: 788 kB');
});

test('real loop captures on this machine: plain, pty (CRLF, prompt), pty with colour and timestamps', () => {
  for (const f of fixtures(/^capture-seed-loop-local.*\.txt$/)) {
    const samples = cut(f.text);
    assert.deepEqual(shape(samples).map((s) => s.replace(/:\d+/g, '')), Array(3).fill('meminfo slabinfo free'), f.name);
    const memLines = f.text.split('\n').filter((l) => /MemTotal:/.test(l)).length;
    assert.equal(memLines, 3, f.name);
    for (const s of samples) assert.ok(s.sections.every((x) => x.lines.length > 2), f.name);
  }
  const ts = cut(fixtures(/pty-ts\.txt$/)[0]?.text ?? '');
  assert.ok(ts[0]?.sections[0]?.time?.epochMs, 'terminal timestamps travel with sections');
});

test('every corpus file of local-6.18 is recognised as its own kind', () => {
  const files: Array<[string, string]> = [
    ['meminfo.txt', 'meminfo'], ['slabinfo.txt', 'slabinfo'], ['free-procps.txt', 'free'], ['buddyinfo.txt', 'buddyinfo'],
    ['zoneinfo.txt', 'zoneinfo'], ['vmstat.txt', 'vmstat'], ['vmallocinfo.txt', 'vmallocinfo'], ['pagetypeinfo.txt', 'pagetypeinfo'],
    ['status-self-cat.txt', 'status'], ['smaps_rollup-python3.txt', 'smaps_rollup'], ['free-busybox-1.35.txt', 'free'],
  ];
  for (const [name, kind] of files) {
    const f = corpus('local-6.18', new RegExp(`^${name.replace('.', '\\.')}$`))[0];
    assert.ok(f, name);
    const samples = cut(f.text);
    assert.equal(samples.length, 1, name);
    const sections = samples[0]?.sections ?? [];
    assert.deepEqual(sections.map((s) => s.kind), [kind], name);
    const nonBlank = f.text.split('\n').filter((l) => l.trim() !== '').length;
    assert.equal(sections[0]?.lines.length, nonBlank, `${name}: every line kept`);
  }
});

test('every corpus smaps file is one smaps section, Android\'s space-padded "Name:" lines included; its mapping lines alone are maps', () => {
  const files = [...corpus('smaps'), ...corpus('local-6.18', /^smaps-/)];
  assert.ok(files.length >= 6);
  for (const f of files) {
    const samples = cut(f.text);
    assert.deepEqual(samples.flatMap((x) => x.sections.map((s) => s.kind)), ['smaps'], f.name);
    const nonBlank = f.text.split('\n').filter((l) => l.trim() !== '').length;
    assert.equal(samples[0]?.sections[0]?.lines.length, nonBlank, `${f.name}: every line kept`);
    const maps = f.text.split('\n').filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l));
    assert.deepEqual(cut(maps.join('\n')).flatMap((x) => x.sections.map((s) => [s.kind, s.lines.length])), [['maps', maps.length]], f.name);
  }
});

test('a loop of all kinds with date, uptime and printk noise mid-block (synthesized in code from corpus files)', () => {
  const pick = (n: string): string => corpus('local-6.18', new RegExp(`^${n}$`))[0]?.text ?? '';
  const iteration = (i: number): string => [
    `Thu Jan  1 00:1${i}:34 UTC 1970`, `${100 + i}.25 ${400 + i}.50`,
    pick('meminfo\\.txt').replace('MemFree:', '[  12.345678] printk in the middle\nMemFree:'),
    pick('vmstat\\.txt'), pick('zoneinfo\\.txt'), pick('buddyinfo\\.txt'), pick('vmallocinfo\\.txt'),
  ].join('\n');
  const samples = cut(`${iteration(1)}\n${iteration(2)}\n`);
  assert.deepEqual(shape(samples).map((s) => s.replace(/:\d+/g, '')), Array(2).fill('meminfo vmstat zoneinfo buddyinfo vmallocinfo'));
  // date and /proc/uptime are clocks of the sample, not sections.
  assert.deepEqual(samples.map((s) => s.clocks?.map((c) => [c.reading.form, c.reading.value])), [
    [['date', Date.UTC(1970, 0, 1, 0, 11, 34)], ['uptime', 101.25]],
    [['date', Date.UTC(1970, 0, 1, 0, 12, 34)], ['uptime', 102.25]],
  ]);
});

test('a truncated last block is kept with a warning', () => {
  const mem = corpus('local-6.18', /^meminfo\.txt$/)[0]?.text ?? '';
  const lines = mem.trim().split('\n');
  const samples = cut(`${mem}${lines.slice(0, 10).join('\n')}`);
  assert.equal(samples.length, 2);
  assert.equal(samples[1]?.sections[0]?.truncated, true);
  assert.match(samples[1]?.warnings[0]?.reason ?? '', /ended inside this section \(10 lines, the previous one had \d+\)/);
});

test('frame markers are obeyed; sections of other kinds and unreadable files keep their status', () => {
  const log = [
    'junk before', '@@ms script begin', '@@ms script sec meminfo', 'MemTotal: 1 kB', '@@ms script end 0',
    '@@ms script sec slabinfo', 'cat: /proc/slabinfo: Permission denied', '@@ms script end 1',
    '@@ms script sec status 42', 'Name:\tsh', 'State:\tS', '@@ms script end 0',
    '@@ms script sec status 43', 'Name:\tx', 'State:\tS', '@@ms script end 0',
    '@@ms script sec vendor_heap', 'no newline at end@@ms script end 0', '@@ms script done',
  ].join('\n');
  const [s] = cut(log);
  assert.deepEqual(s?.sections.map((x) => [x.kind, x.name, x.pid, x.exitStatus, x.lines]), [
    ['meminfo', 'meminfo', undefined, 0, ['MemTotal: 1 kB']],
    ['slabinfo', 'slabinfo', undefined, 1, ['cat: /proc/slabinfo: Permission denied']],
    ['status', 'status', 42, 0, ['Name:\tsh', 'State:\tS']],
    ['status', 'status', 43, 0, ['Name:\tx', 'State:\tS']],
    ['file', 'vendor_heap', undefined, 0, ['no newline at end']],
  ]);
});
