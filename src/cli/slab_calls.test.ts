import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { runCliAsync, type CliResult } from '../../test/e2e/cli_helpers.js';

/** The real CLI, as a user runs it. */
const cli = (args: string[]): Promise<CliResult> => runCliAsync(['slab-calls', ...args]);

test('slab-calls on this machine (SLUB user tracking off): exit 2 explaining slub_debug=U,<cache>, no mount left', async (t) => {
  const flag = '/sys/kernel/slab/kmalloc-64/store_user';
  if (!existsSync(flag) || readFileSync(flag, 'utf8').trim() !== '0') { t.skip('kmalloc-64 tracking is on, or there is no SLUB sysfs'); return; }
  const before = readFileSync('/proc/mounts', 'utf8');
  const r = await cli(['kmalloc-64', '--interval', '1s']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^memsleuth: SLUB call-site tracking is off for "kmalloc-64" on this machine .* boot with slub_debug=U,kmalloc-64 /m);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(readFileSync('/proc/mounts', 'utf8'), before);
});

test('slab-calls: an unknown cache, a path as cache name, a bad interval and a dead --via are errors (exit 2, one line)', async () => {
  for (const [args, re] of [
    [['no-such-cache-xyz'], /There is no slab cache "no-such-cache-xyz"/],
    [['../../etc'], /is not a slab cache name/],
    [['kmalloc-64', '--via', 'false'], /exited|did not answer|stopped reading/],
    // Through a real shell on this machine: the target is reached, and its kernel has no tracking for the cache.
    [['kmalloc-64', '--via', 'sh'], /SLUB call-site tracking is off for "kmalloc-64" on sh/],
    [['kmalloc-64', '--interval', 'x'], /--interval must be a duration/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
