import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures, seed } from '../../test/corpus.js';
import { parseFree } from './free.js';
import type { Free, FreeRow } from '../model/proc_files.js';
import type { Bytes } from '../model/units.js';

const files = [...corpus('local-6.18', /^free-/), ...fixtures(/^free-(?:.*-)?local\.txt$/)];
const K = 1024, M = 1024 ** 2, G = 1024 ** 3;
/** A row from numbers in one unit. */
const row = (unit: number, o: Record<string, number>): FreeRow =>
  Object.fromEntries(Object.entries(o).map(([key, v]) => [key, Math.round(v * unit) as Bytes])) as FreeRow;
const zeroSwap = { total: 0, used: 0, free: 0 } as FreeRow;

test('free: every real sample parses with no warnings, a Mem and a Swap row', () => {
  assert.ok(files.length >= 11);
  for (const f of files) {
    const { value, warnings } = parseFree(f.text);
    assert.deepEqual(warnings, [], f.name);
    assert.ok(value.mem?.total && value.mem.used && value.mem.free && value.swap, f.name);
  }
});

const cases: Array<{ name: string; text: () => string; options?: Parameters<typeof parseFree>[1]; want: Free }> = [
  {
    name: 'procps-ng 4 default: buff/cache + available in KiB',
    text: () => corpus('local-6.18', /^free-procps\.txt$/)[0]!.text,
    want: { unit: 'KiB', mem: row(K, { total: 24684084, used: 305664, free: 24435056, shared: 8872, buffCache: 142768, available: 24378420 }), swap: zeroSwap },
  },
  {
    name: 'procps-ng -w: buffers and cache apart',
    text: () => corpus('local-6.18', /^free-procps-w/)[0]!.text,
    want: { unit: 'KiB', mem: row(K, { total: 24684084, used: 305612, free: 24435056, shared: 8872, buffers: 1188, cache: 141680, available: 24378472 }), swap: zeroSwap },
  },
  {
    name: 'procps-ng -h: suffixes decide, precision is "human"',
    text: () => corpus('local-6.18', /^free-procps-h/)[0]!.text,
    want: { unit: 'human', mem: { ...row(G, { total: 23, free: 23, available: 23 }), ...row(M, { used: 298, shared: 8.7, buffCache: 139 }) }, swap: zeroSwap },
  },
  {
    name: 'procps-ng -m -t without the command line: read as KiB (the documented default)',
    text: () => corpus('local-6.18', /^free-procps-m-t/)[0]!.text,
    want: {
      unit: 'KiB', mem: row(K, { total: 24105, used: 298, free: 23862, shared: 8, buffCache: 139, available: 23807 }),
      swap: zeroSwap, total: row(K, { total: 24105, used: 298, free: 23862 }),
    },
  },
  {
    name: 'procps-ng -m -t told its unit',
    text: () => corpus('local-6.18', /^free-procps-m-t/)[0]!.text,
    options: { unit: 'MiB' },
    want: {
      unit: 'MiB', mem: row(M, { total: 24105, used: 298, free: 23862, shared: 8, buffCache: 139, available: 23807 }),
      swap: zeroSwap, total: row(M, { total: 24105, used: 298, free: 23862 }),
    },
  },
  {
    name: 'busybox 1.35 default',
    text: () => corpus('local-6.18', /^free-busybox-1\.35\.txt$/)[0]!.text,
    want: { unit: 'KiB', mem: row(K, { total: 24684084, used: 186816, free: 24222132, shared: 8872, buffCache: 275136, available: 24231688 }), swap: zeroSwap },
  },
  {
    name: 'busybox 1.35 -m with its command line before it',
    text: () => `# busybox free -m\n${corpus('local-6.18', /^free-busybox-1\.35-m/)[0]!.text}`,
    want: { unit: 'MiB', mem: row(M, { total: 24106, used: 182, free: 23654, shared: 9, buffCache: 269, available: 23664 }), swap: zeroSwap },
  },
  {
    name: 'procps-ng -b -t captured here, told its unit',
    text: () => fixtures(/^free-b-t-local/)[0]!.text,
    options: { unit: 'B' },
    want: {
      unit: 'B', mem: row(1, { total: 25276514304, used: 386904064, free: 24148275200, shared: 8998912, buffCache: 989687808, available: 24889610240 }),
      swap: zeroSwap, total: row(1, { total: 25276514304, used: 386904064, free: 24148275200 }),
    },
  },
  {
    name: 'procps-ng -b with "$ free -b -t -s 5 -c 1" prompt, CRLF',
    text: () => `$ free -b -t -s 5 -c 1\r\n${fixtures(/^free-b-t-local/)[0]!.text.replace(/\n/g, '\r\n')}`,
    want: {
      unit: 'B', mem: row(1, { total: 25276514304, used: 386904064, free: 24148275200, shared: 8998912, buffCache: 989687808, available: 24889610240 }),
      swap: zeroSwap, total: row(1, { total: 25276514304, used: 386904064, free: 24148275200 }),
    },
  },
  {
    name: 'old busybox from seed 002: blank lines between rows, "-/+ buffers:"',
    text: () => seed('002').split('\n').slice(512, 519).join('\n'),
    want: {
      unit: 'KiB', mem: row(K, { total: 44792, used: 36904, free: 7888, shared: 12, buffers: 2396 }),
      buffersCache: row(K, { used: 34508, free: 10284 }), swap: zeroSwap,
    },
  },
  {
    // procps-ng 3.3.9 on CentOS 7 era, as in its man page and countless bug reports.
    name: 'old procps: buffers + cached columns and "-/+ buffers/cache:"',
    text: () => [
      '             total       used       free     shared    buffers     cached',
      'Mem:      16333012   15838464     494548          0     470636    8364488',
      '-/+ buffers/cache:    7003340    9329672',
      'Swap:     16777212     234272   16542940',
    ].join('\n'),
    want: {
      unit: 'KiB', mem: row(K, { total: 16333012, used: 15838464, free: 494548, shared: 0, buffers: 470636, cache: 8364488 }),
      buffersCache: row(K, { used: 7003340, free: 9329672 }), swap: row(K, { total: 16777212, used: 234272, free: 16542940 }),
    },
  },
  {
    name: 'procps-ng 3.3 -h (no "i") and a decimal comma from a de_DE locale',
    text: () => 'free -h\n              total        used        free      shared  buff/cache   available\nMem:            15G        1,2G         12G        213M        1.9G         13G\nSwap:          2.0G          0B        2.0G\n',
    want: {
      unit: 'human',
      mem: { ...row(G, { total: 15, used: 1.2, free: 12, buffCache: 1.9, available: 13 }), ...row(M, { shared: 213 }) },
      swap: row(G, { total: 2, used: 0, free: 2 }),
    },
  },
];

for (const c of cases) {
  test(`free: ${c.name}`, () => {
    const { value, warnings } = parseFree(c.text(), c.options);
    assert.deepEqual(warnings, []);
    assert.deepEqual(value, c.want);
  });
}

test('free: -m and -h of the same moment agree to -h precision (this machine)', () => {
  const m = parseFree(fixtures(/^free-m-local/)[0]!.text, { unit: 'MiB' }).value.mem!;
  const k = parseFree(fixtures(/^free-local/)[0]!.text).value.mem!;
  const h = parseFree(fixtures(/^free-h-local/)[0]!.text).value.mem!;
  for (const key of ['total', 'used', 'free', 'buffCache', 'available'] as const) {
    assert.ok(Math.abs(m[key]! - k[key]!) < M, `${key}: -m ${m[key]} vs KiB ${k[key]}`);
    assert.ok(Math.abs(h[key]! - k[key]!) <= k[key]! * 0.03 + M, `${key}: -h ${h[key]} vs KiB ${k[key]}`);
  }
});

test('free: problems are reported with their line', () => {
  const { value, warnings } = parseFree('Mem: 10 x 5\n\ntotal used free\nMem: 1 2 3 4\nLow: 1 2 3\nMem: 9 9 9\nwhat is this\n');
  assert.deepEqual(value, { unit: 'KiB', mem: row(K, { total: 10, free: 5 }) });
  assert.deepEqual(warnings.map((w) => [w.line, w.severity]), [
    [1, 'data-loss'], [1, 'data-loss'], // no header yet; "x"
    [4, 'data-loss'], [4, 'data-loss'], // 4 values for 3 columns; a second Mem row
    [5, 'info'], // Low:
    [6, 'data-loss'], [7, 'data-loss'],
  ]);
  assert.equal(parseFree('nothing here').warnings.at(-1)?.severity, 'error');
  assert.deepEqual(parseFree(''), { value: { unit: 'KiB' }, warnings: [] });
});
