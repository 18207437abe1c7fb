import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, progressLine, withProgress } from './progress.js';

test('progress line: a bar with percent and counts, cut to the width', () => {
  assert.equal(progressLine({ label: 'ingesting a.log', done: 450, total: 1000, unit: 'samples', elapsedMs: 3100, width: 80 }),
    'ingesting a.log  [#############................]   45%  450/1,000 samples  3.1 s');
  assert.equal(progressLine({ label: 'x', done: 1, total: 2, elapsedMs: 0, width: 80 }).length <= 80, true);
  const narrow = progressLine({ label: 'a very long label that does not fit', done: 1, total: 2, elapsedMs: 0, width: 20 });
  assert.equal(narrow.length, 20);
  assert.match(progressLine({ label: 'analysing', done: 0, elapsedMs: 90_500, width: 80 }), /^analysing  \S  1 min 31 s$/);
});

function fakeStream(isTTY: boolean): { isTTY: boolean; columns: number; out: string[]; write(s: string): boolean } {
  const out: string[] = [];
  return { isTTY, columns: 60, out, write(s: string) { out.push(s); return true; } };
}

test('progress: nothing written when stderr is not a terminal', async () => {
  const s = fakeStream(false);
  const p = createProgress({ label: 'x', stream: s, env: {} });
  p.update(1, 10);
  p.done();
  assert.equal(await withProgress('y', Promise.resolve(3), { stream: s, env: {} }), 3);
  assert.deepEqual(s.out, []);
  assert.equal(p.active, false);
});

test('progress: on a terminal, throttled redraws in place and an erased line at the end', () => {
  const s = fakeStream(true);
  let now = 0;
  const p = createProgress({ label: 'x', total: 100, stream: s, env: {}, throttleMs: 100, now: () => now });
  p.update(1);
  p.update(2); // within 100 ms: skipped
  now = 150;
  p.update(3);
  p.done();
  assert.equal(s.out.length, 3);
  assert.ok(s.out[0]?.startsWith('\r\u001b[Kx  ['));
  assert.match(s.out[1] ?? '', /3\/100/);
  assert.equal(s.out[2], '\r\u001b[K');
  assert.equal(createProgress({ label: 'x', stream: s, env: { TERM: 'dumb' } }).active, false);
});
