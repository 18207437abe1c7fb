import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures } from '../../../test/corpus.js';
import { memleakFrame, parseBccMemleak } from './bcc_memleak.js';

// bcc memleak could not run on this kernel (no headers; Debian's libbpf-tools has no memleak): the fixture is an
// excerpt of the output printed in bcc's own tools/memleak_example.txt (see test/fixtures/SOURCES.md).
test('bcc memleak example: runs, intervals, last interval of each run as sites', () => {
  const [f] = fixtures(/^bcc-memleak-example-excerpt\.txt$/);
  assert.ok(f);
  const r = parseBccMemleak(f.text, 'memleak.txt');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.value.runs.map((x) => [x.pid ?? 'kernel', x.intervals.length, x.intervals.map((i) => i.sites.length).join(',')]), [
    [5193, 2, '1,1'],
    [5193, 1, '1'],
    ['kernel', 1, '2'],
    [2623, 1, '1'],
  ]);
  assert.deepEqual(r.value.sites[0], {
    stack: [
      { symbol: 'main', offset: '+0x6d', module: 'allocs' },
      { symbol: '__libc_start_main', offset: '+0xf0', module: 'libc-2.21.so' },
    ],
    bytes: 160,
    count: 10,
    kind: 'outstanding',
    tool: 'bcc-memleak',
    origin: 'memleak.txt:17',
    pids: [5193],
  });
  assert.equal(r.value.runs[0]?.intervals[1]?.time, '11:16:34');
  assert.deepEqual(r.value.sites[4]?.stack[0], { address: '0x0000559b4789639f', symbol: 'zmalloc', offset: '+0x2f', module: 'redis-server' });
  assert.equal(r.value.sites[4]?.stack.length, 6);
});

test('bcc memleak frames and junk', () => {
  assert.deepEqual(memleakFrame('bpf_prog_load [kernel]'), { symbol: 'bpf_prog_load', module: 'kernel' });
  assert.deepEqual(memleakFrame('[unknown]'), {});
  for (const t of ['', '1 bytes in 1 allocations from stack\n\t\t', '[00:00:00] Top 1 stacks with outstanding allocations:']) assert.doesNotThrow(() => parseBccMemleak(t));
});
