import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTarget } from './local_target.js';
import { buildPlanCommand } from './shell.js';
import type { SamplePlan } from './target.js';

const plan = (reclaim?: SamplePlan['reclaim']): SamplePlan => ({
  index: 0, system: ['meminfo'], status: false, rollup: [], smaps: [], watch: [], dropCaches: false, skipped: [], ...(reclaim ? { reclaim } : {}),
});

test('a reclaim probe writes its level to drop_caches and asks each cgroup v2 to reclaim (injected /proc and cgroup)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ms-probe-'));
  try {
    const proc = join(dir, 'proc');
    mkdirSync(join(proc, 'sys/vm'), { recursive: true });
    writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000 kB\nMemFree: 500 kB\n');
    writeFileSync(join(proc, 'sys/vm/drop_caches'), '');
    const cg = join(dir, 'cg');
    mkdirSync(cg);
    writeFileSync(join(cg, 'memory.reclaim'), '');
    const t = new LocalTarget({ procRoot: proc });
    await t.sample(plan({ level: 2 }));
    assert.equal(readFileSync(join(proc, 'sys/vm/drop_caches'), 'utf8'), '2\n');
    assert.equal(readFileSync(join(cg, 'memory.reclaim'), 'utf8'), '', 'level 2 drops slab objects only');
    await t.sample(plan({ level: 3, cgroups: [cg] }));
    assert.equal(readFileSync(join(proc, 'sys/vm/drop_caches'), 'utf8'), '3\n');
    assert.match(readFileSync(join(cg, 'memory.reclaim'), 'utf8'), /^\d+\n$/);
    // No probe: nothing written.
    writeFileSync(join(proc, 'sys/vm/drop_caches'), '');
    await t.sample(plan());
    assert.equal(readFileSync(join(proc, 'sys/vm/drop_caches'), 'utf8'), '');
    await t.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reclaim probe on a remote target: echo LEVEL before any read, in the same round trip', () => {
  const text = buildPlanCommand('N0NCE', plan({ level: 2 })).join('\n');
  assert.match(text, /echo 2 > \/proc\/sys\/vm\/drop_caches/);
  assert.ok(text.indexOf('drop_caches') < text.indexOf('/proc/meminfo'));
  assert.doesNotMatch(buildPlanCommand('N0NCE', plan()).join('\n'), /drop_caches/);
});
