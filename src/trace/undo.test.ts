import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { UndoStack, type UndoSignal } from './undo.js';

test('undo runs newest first, keeps going past a failing step, names the command to run by hand, runs once', async () => {
  const done: string[] = [];
  const log: string[] = [];
  const u = new UndoStack({ signals: new EventEmitter(), log: (l) => log.push(l) });
  u.push({ label: 'unmount debugfs', byHand: 'umount /sys/kernel/debug', run: async () => { done.push('umount'); } });
  u.push({ label: 'restart the scan thread', byHand: 'echo scan=on > /sys/kernel/debug/kmemleak', run: async () => { throw new Error('EBUSY'); } });
  u.push({ label: 'third', byHand: 'x', run: async () => { done.push('third'); } });
  const failures = await u.undoAll();
  assert.deepEqual(done, ['third', 'umount']);
  assert.deepEqual(failures, ['could not restart the scan thread: EBUSY; do it by hand: echo scan=on > /sys/kernel/debug/kmemleak']);
  assert.deepEqual(await u.undoAll(), failures);
  assert.deepEqual(done, ['third', 'umount']);
  assert.equal(u.size, 0);
});

test('guard: undo runs after the body returns and after it throws; handlers are removed after', async () => {
  const signals = new EventEmitter();
  const done: string[] = [];
  const u1 = new UndoStack({ signals });
  assert.equal(await u1.guard(async (u) => { u.push({ label: 'a', byHand: 'a', run: async () => { done.push('a'); } }); return 7; }), 7);
  const u2 = new UndoStack({ signals });
  await assert.rejects(u2.guard(async (u) => { u.push({ label: 'b', byHand: 'b', run: async () => { done.push('b'); } }); throw new Error('scan failed'); }), /scan failed/);
  assert.deepEqual(done, ['a', 'b']);
  assert.equal(signals.listenerCount('SIGINT'), 0);
  assert.equal(signals.listenerCount('SIGTERM'), 0);
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig} while the body waits: every change is undone before the process is let die`, async () => {
    const signals = new EventEmitter();
    const done: string[] = [];
    let died: UndoSignal | undefined;
    let resolveDied: () => void = () => undefined;
    const diedP = new Promise<void>((r) => { resolveDied = r; });
    const u = new UndoStack({ signals, afterSignal: (s) => { died = s; resolveDied(); } });
    const body = u.guard(async (stack) => {
      stack.push({ label: 'umount', byHand: 'umount', run: async () => { done.push('umount'); } });
      stack.push({ label: 'scan=on', byHand: 'scan=on', run: async () => { done.push('scan=on'); } });
      signals.emit(sig);
      await diedP;
    });
    await body;
    assert.equal(died, sig);
    assert.deepEqual(done, ['scan=on', 'umount']);
  });
}
