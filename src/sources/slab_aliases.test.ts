import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtures } from '../../test/corpus.js';
import { readSlabAliases } from './slab_aliases.js';
import { withAliases } from '../report/slab_aliases.js';

test('merged slab caches from /sys/kernel/slab (this machine\'s links, rebuilt in a temp sysfs): signal_cache holds UNIX and UNIX-STREAM', () => {
  const [f] = fixtures(/^sys-kernel-slab-links-local\.txt$/);
  assert.ok(f);
  const root = mkdtempSync(join(tmpdir(), 'memsleuth-sysfs-'));
  try {
    const dir = join(root, 'kernel', 'slab');
    mkdirSync(dir, { recursive: true });
    for (const line of f.text.trim().split('\n')) {
      const [name, target] = line.split(' ');
      if (name === undefined || target === undefined) continue;
      mkdirSync(join(dir, target), { recursive: true });
      symlinkSync(target, join(dir, name));
    }
    mkdirSync(join(dir, 'kmalloc-unmerged-dir')); // a real directory: nothing merged into it
    const a = readSlabAliases(root);
    assert.ok(a);
    assert.deepEqual(a['signal_cache'], ['UNIX', 'UNIX-STREAM']);
    assert.deepEqual(a['UNIX'], ['UNIX-STREAM', 'signal_cache']);
    assert.equal(a['kmalloc-unmerged-dir'], undefined);
    assert.equal(withAliases('signal_cache', a), 'signal_cache (merged: UNIX, UNIX-STREAM)');
    assert.equal(withAliases('dentry', {}), 'dentry');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.equal(readSlabAliases('/nonexistent-sysfs'), undefined);
});
