import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bytes } from '../model/units.js';
import type { ProcessSample, Snapshot } from '../model/snapshot.js';
import { SamplePlanner } from './sample_planner.js';
import type { SamplePlan } from './target.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** [pid, comm, VmRSS bytes | undefined for a kernel thread] */
type P = [number, string, number | undefined];

function snap(procs: P[], opts: { vmallocUsed?: number; rolled?: readonly number[] | 'all' } = {}): Snapshot {
  const processes: ProcessSample[] = procs.map(([pid, comm, rss]) => {
    const bytes: Record<string, Bytes> = rss === undefined ? {} : { VmSize: (rss * 2) as Bytes, VmRSS: rss as Bytes };
    const p: ProcessSample = { pid, comm, status: { name: comm, pid, bytes, fields: {} } };
    const rolled = opts.rolled === 'all' ? rss !== undefined : opts.rolled?.includes(pid);
    if (rolled) p.memory = { rss: (rss ?? 0) as Bytes, pss: 0 as Bytes, uss: 0 as Bytes, swap: 0 as Bytes };
    return p;
  });
  const s: Snapshot = { takenAtMs: 0, target: {}, processes, warnings: [] };
  if (opts.vmallocUsed !== undefined) s.meminfo = { bytes: { VmallocUsed: opts.vmallocUsed as Bytes }, counts: {} };
  return s;
}

/** Feeds a plan back as if the target read exactly what it asked for. */
function run(pl: SamplePlanner, procs: P[], durationMs: number | ((p: SamplePlan) => number) = 10, vmallocUsed?: number): SamplePlan {
  const plan = pl.plan();
  if (typeof durationMs === 'function') durationMs = durationMs(plan);
  const rolled = plan.rollup === 'all' ? 'all' : [...plan.rollup, ...plan.smaps];
  pl.observe(plan, { snapshot: snap(procs, vmallocUsed === undefined ? { rolled } : { rolled, vmallocUsed }), durationMs });
  return plan;
}

const small: P[] = [[1, 'init', 10 * MiB], [2, 'kthreadd', undefined], [100, 'app', 50 * MiB], [200, 'db', 200 * MiB]];

test('first sample: status only (sizes unknown), vmallocinfo and pagetypeinfo on the cadence', () => {
  const pl = new SamplePlanner();
  const p0 = run(pl, small);
  assert.deepEqual(p0.rollup, []);
  assert.deepEqual(p0.system, ['meminfo', 'vmstat', 'slabinfo', 'buddyinfo', 'zoneinfo', 'vmallocinfo', 'pagetypeinfo']);
  assert.match(p0.skipped.join('\n'), /smaps_rollup: deferred/);
  const p1 = run(pl, small);
  assert.equal(p1.rollup, 'all', 'small processes fit the budget: one loop on the target');
  assert.ok(!p1.system.includes('vmallocinfo'));
  assert.match(p1.skipped.join('\n'), /vmallocinfo: read every 10th sample .*next: #10/);
});

test('between full rounds only suspects get smaps_rollup; the round comes back every Nth sample', () => {
  const pl = new SamplePlanner({ rollupEvery: 4 });
  const rollups: (string | number[])[] = [];
  for (let i = 0; i < 10; i++) {
    const grow: P[] = [[1, 'init', 10 * MiB], [100, 'leaky', (50 + 4 * i) * MiB], [200, 'db', 200 * MiB]];
    const p = run(pl, grow);
    rollups.push(p.rollup === 'all' ? 'all' : [...p.rollup]);
    if (i >= 3) assert.ok(p.smaps.includes(100), `suspect promoted to smaps at #${i}`);
  }
  assert.deepEqual(rollups.slice(0, 5), [[], 'all', [], [], []]);
  assert.deepEqual(pl.suspects().map((s) => [s.pid, s.comm, s.growthBytes]), [[100, 'leaky', 16 * MiB]]);
  // memsleuth itself (ownPid) grows too on a local target; it is never a suspect.
  const own = new SamplePlanner({ rollupEvery: 4, ownPid: 100 });
  for (let i = 0; i < 10; i++) run(own, [[1, 'init', 10 * MiB], [100, 'node', (50 + 4 * i) * MiB]]);
  assert.deepEqual(own.suspects(), []);
  // Round at #5 (index-roundStart >= 4): 1 and 200 owed; 100 has smaps so it is not rolled up twice.
  assert.deepEqual(rollups[5], [1, 200]);
});

test('a full round over budget reads what fits, says what it skipped, and catches up in the next samples', () => {
  const big: P[] = Array.from({ length: 20 }, (_, k): P => [1000 + k, `worker${k}`, 8 * GiB]);
  // prior: 1 ms + 7 ms/GiB x 8 GiB = 57 ms each; a 200 ms budget affords 3 per sample.
  const pl = new SamplePlanner({ budgetMs: 200, rollupEvery: 100 });
  // The target costs what the prior model says, so calibration keeps it.
  const asPredicted = (p: SamplePlan): number => 10 + 57 * (p.rollup === 'all' ? 20 : p.rollup.length);
  run(pl, big, asPredicted);
  const seen = new Set<number>();
  for (let i = 1; i <= 7; i++) {
    const p = run(pl, big, asPredicted);
    assert.ok(p.rollup !== 'all');
    assert.equal(p.rollup.length, Math.min(3, 20 - 3 * (i - 1)), `sample ${i}`);
    for (const pid of p.rollup) seen.add(pid);
    const left = Math.max(0, 20 - 3 * i);
    const said = /smaps_rollup of (\d+) processes/.exec(p.skipped.join('\n'));
    assert.equal(said ? Number(said[1]) : 0, left, `sample ${i}: ${p.skipped.join('; ')}`);
  }
  assert.equal(seen.size, 20, 'every process read once within the round');
});

test('calibration: a target faster than the prior model affords more per sample', () => {
  const big: P[] = Array.from({ length: 20 }, (_, k): P => [1000 + k, `w${k}`, 8 * GiB]);
  const pl = new SamplePlanner({ budgetMs: 200, rollupEvery: 1 });
  const p0 = pl.plan();
  pl.observe(p0, { snapshot: snap(big), durationMs: 5 }); // baseline: no per-process reads
  for (let i = 0; i < 6; i++) {
    const p = pl.plan();
    const n = p.rollup === 'all' ? 20 : p.rollup.length;
    // Observed: 2 ms per read, not the 57 ms the prior predicts.
    pl.observe(p, { snapshot: snap(big, { rolled: p.rollup }), durationMs: 5 + 2 * n });
  }
  assert.ok(pl.calibration().scale < 0.2, `scale ${pl.calibration().scale}`);
  assert.equal(pl.plan().rollup, 'all');
});

test('vmallocinfo every sample while VmallocUsed grows; named --pid/--comm always get smaps', () => {
  const pl = new SamplePlanner({ smapsPids: [1], smapsComms: ['db'] });
  const sys: boolean[] = [];
  for (let i = 0; i < 8; i++) {
    const p = run(pl, small, 10, (100 + i * 2) * MiB);
    sys.push(p.system.includes('vmallocinfo'));
    if (i > 0) assert.deepEqual([...p.smaps], [1, 200]);
  }
  assert.deepEqual(sys, [true, false, false, true, true, true, true, true]);
});

test('a vanished pid is forgotten; a reused pid with another comm starts a new history', () => {
  const pl = new SamplePlanner();
  for (let i = 0; i < 4; i++) run(pl, [[100, 'leaky', (50 + 4 * i) * MiB]]);
  assert.equal(pl.suspects().length, 1);
  run(pl, [[100, 'other', 100 * MiB]]);
  assert.equal(pl.suspects().length, 0);
  run(pl, []);
  assert.equal(pl.estimateMs(100, 'smaps_rollup'), pl.estimateMs(999, 'smaps_rollup'));
});
