import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapSummary } from './tap_summary.js';

/** Real TAP from this Node's own runner, on a small test file with every outcome. */
function nodeTap(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-tap-'));
  try {
    const file = join(dir, 'sample.test.mjs');
    writeFileSync(file, [
      "import { test } from 'node:test';",
      "test('passes', () => {});",
      "test('fails plainly', () => { throw new Error('boom one'); });",
      "test('skipped one', { skip: 'no bpftrace here' }, () => {});",
      "test('outer', async (t) => { await t.test('inner ok', () => {}); await t.test('inner bad', () => { throw new Error('boom two'); }); });",
    ].join('\n'));
    // Without NODE_TEST_CONTEXT: inside a test run it would make the child speak the runner's binary protocol.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    return spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env }).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the TAP summary names failures (leaves, not their parents) and skips, and keeps the runner counts', () => {
  const printed: string[] = [];
  const summary = new TapSummary((l) => printed.push(l));
  for (const line of nodeTap().split('\n')) summary.line(line);
  const closing = summary.closing(['memsleuth-left-1'], '/x/results.tap');
  assert.deepEqual(summary.failed, ['fails plainly', 'outer > inner bad']);
  assert.deepEqual(summary.skipped, ['skipped one (no bpftrace here)']);
  assert.ok(printed.some((l) => l.includes('boom one')), 'the diagnostic block of a failure is printed');
  assert.ok(printed.some((l) => l.includes('boom two')));
  assert.ok(closing.includes('  - memsleuth-left-1'));
  assert.ok(closing.some((l) => /^# pass 2$/.test(l)), closing.join('\n'));
  assert.ok(closing.some((l) => /^# fail 3$/.test(l)), 'Node counts the failing parent too');
  assert.ok(closing.some((l) => /^# skipped 1$/.test(l)));
});

test('the summary survives garbage and a stream cut in the middle of a block', () => {
  const summary = new TapSummary(() => {});
  for (const line of ['not ok 1 - cut', '  ---', '  error: x', '\u0000\u001b[2J', 'ok banana']) summary.line(line);
  const closing = summary.closing([], 't.tap');
  assert.deepEqual(summary.failed, ['cut']);
  assert.ok(closing.includes('  - cut'));
});
