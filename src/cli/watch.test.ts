import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growers, ownPids } from './watch.js';

test('watch growers: a process absent from the first sample grows from its own first value, not from 0', () => {
  // The first sample reads no per-process USS (the planner reads smaps_rollup every few samples).
  const first = new Map([['meminfo.MemFree', 1e9]]);
  const second = new Map([['proc.postgres:10.uss', 300e6], ['proc.app:11.uss', 20e6]]);
  assert.deepEqual(growers(first, second, 'proc.', '.uss').map((g) => [g.name, g.delta]), [['postgres:10', 0], ['app:11', 0]]);
  const third = new Map([['proc.postgres:10.uss', 300e6], ['proc.app:11.uss', 25e6]]);
  assert.deepEqual(growers(first, third, 'proc.', '.uss').map((g) => [g.name, g.delta]), [['app:11', 5e6], ['postgres:10', 0]]);
});

test('watch growers: memsleuth and what it started are left out', () => {
  const snap = { processes: [{ pid: 1, status: { ppid: 0 } }, { pid: 50, status: { ppid: 1 } }, { pid: 51, status: { ppid: 50 } }, { pid: 60, status: { ppid: 1 } }] };
  const own = ownPids(snap, 50);
  assert.deepEqual([...own].sort(), [50, 51]);
  const first = new Map([['proc.node:50.uss', 50e6], ['proc.app:60.uss', 1e6]]);
  const now = new Map([['proc.node:50.uss', 90e6], ['proc.app:60.uss', 2e6]]);
  assert.deepEqual(growers(first, now, 'proc.', '.uss', (n) => own.has(Number(n.slice(n.lastIndexOf(':') + 1)))).map((g) => g.name), ['app:60']);
});
