import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runCliAsync, type CliResult } from '../../test/e2e/cli_helpers.js';

/** The real CLI, as a user runs it. */
const cli = (args: string[]): Promise<CliResult> => runCliAsync(['kmemleak', ...args]);

const kernelConfig = (): string => {
  const release = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  try { return readFileSync(`/boot/config-${release}`, 'utf8'); } catch { /* not installed */ }
  return spawnSync('zcat', ['/proc/config.gz'], { encoding: 'utf8' }).stdout;
};

test('kmemleak on this machine (no CONFIG_DEBUG_KMEMLEAK): exit 2, says so and how to enable it, leaves no mount', async (t) => {
  if (!/^# CONFIG_DEBUG_KMEMLEAK is not set$/m.test(kernelConfig())) { t.skip('this kernel has kmemleak or its config is unreadable'); return; }
  const before = readFileSync('/proc/mounts', 'utf8');
  const r = await cli(['--scans', '2', '--interval', '1s']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^memsleuth: The kernel on this machine has no kmemleak: its config says "# CONFIG_DEBUG_KMEMLEAK is not set"\. To use it, build the kernel with CONFIG_DEBUG_KMEMLEAK=y .* boot with kmemleak=on/m);
  assert.equal(r.stdout, '');
  assert.equal(readFileSync('/proc/mounts', 'utf8'), before);
});

test('kmemleak: usage errors and a target without kmemleak are exit 2 with one line (bad --scans, bad --interval, --via)', async () => {
  for (const [args, re] of [
    [['--scans', '0'], /--scans must be a whole number >= 1, not "0"/],
    [['--interval', 'soon'], /--interval must be a duration like 60s/],
    [['--via', 'false'], /exited|did not answer|stopped reading/],
    // Through a real shell on this machine, whose kernel has no kmemleak.
    [['--via', 'sh', '--interval', '1s'], /The kernel on sh has no kmemleak/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
