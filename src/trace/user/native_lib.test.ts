/** Building native/: one directory per toolchain, a prefix with no gcc is a usage error, a stale copy is rebuilt. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../model/errors.js';
import { findTool } from '../../symbolize/addr2line.js';
import { tempDir } from '../../symbolize/test_programs.js';
import { ensureSampler, packageRoot, samplerPath, toolchainKey } from './native_lib.js';

test('toolchain keys name a directory', () => {
  assert.deepEqual([toolchainKey(undefined), toolchainKey(''), toolchainKey('aarch64-linux-gnu-'), toolchainKey('/opt/x/bin/arm-linux-')], ['host', 'host', 'aarch64-linux-gnu-', '_opt_x_bin_arm-linux-']);
});

test('a --toolchain prefix whose gcc is not on PATH is a usage error', async () => {
  await assert.rejects(ensureSampler('no-such-triplet-'), (e: unknown) => e instanceof InputError && /"no-such-triplet-gcc" is not on PATH/.test(e.message));
});

const cross = 'x86_64-linux-gnu-';
test('a toolchain builds into its own directory; a copy older than the source is rebuilt', { skip: findTool(`${cross}gcc`) === undefined ? `needs ${cross}gcc` : false, timeout: 120_000 }, async () => {
  const t = tempDir('native');
  try {
    mkdirSync(join(t.dir, 'native'));
    cpSync(join(packageRoot(), 'native', 'memsleuth_sampler.c'), join(t.dir, 'native', 'memsleuth_sampler.c'));
    const out = await ensureSampler(cross, t.dir);
    assert.equal(out, samplerPath(cross, t.dir));
    assert.ok(existsSync(out));
    utimesSync(out, new Date(0), new Date(0));
    await ensureSampler(cross, t.dir);
    assert.ok(Date.now() - (await import('node:fs')).statSync(out).mtimeMs < 3_600_000, 'rebuilt');
  } finally {
    t.cleanup();
  }
});
