import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Snapshot } from '../model/snapshot.js';
import type { SlabCache } from '../model/proc_files.js';
import type { Bytes } from '../model/units.js';
import { PromText } from '../report/prom_text.js';
import { Exporter, newTopState, pickTop, renderSample, type ProbeSample, type ProbeTarget } from './exporter.js';
import type { ExporterTargetConfig } from './exporter_config.js';
import { parseExposition } from './testing.js';

// Synthetic model objects (not samples of a real machine): names chosen to exercise escaping and the top-N cut.
const B = (n: number): Bytes => n as Bytes;
function cache(name: string, bytes: number): SlabCache {
  return { name, activeObjs: bytes / 64, numObjs: bytes / 64, objSize: B(64), objPerSlab: 64, pagesPerSlab: 1, activeSlabs: bytes / 4096, numSlabs: bytes / 4096, slabBytes: B(bytes), activeBytes: B(bytes) };
}
function snapshot(procs: [string, number, number][]): Snapshot {
  return {
    takenAtMs: 1_000_000_000, target: { uptimeSec: 1000 },
    meminfo: { bytes: { MemTotal: B(1 << 30), 'Active(anon)': B(4096) }, counts: { MemTotal: 1 << 30, 'Active(anon)': 4096, HugePages_Total: 0 } },
    slabinfo: { version: '2.1', statistics: false, caches: [cache('kmalloc-64', 81920), cache('dentry', 40960), cache('kmalloc-64', 4096), cache('tiny', 4096)] },
    processes: procs.map(([comm, pid, rss]) => ({ comm, pid, status: { bytes: { VmRSS: B(rss) }, fields: {} }, memory: { rss: B(rss), pss: B(rss / 2), uss: B(rss / 4), swap: B(0) } })),
    warnings: [],
  };
}
const cfg = (over: Partial<ExporterTargetConfig> = {}): ExporterTargetConfig => ({ name: 't', proc: '/proc', topProcesses: 2, topCaches: 2, timeoutSec: 5, ...over });

test('sticky top-N: a member stays while it is within the top 2N', () => {
  const sizes = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));
  let top = pickTop(sizes({ a: 10, b: 9, c: 8, d: 1 }), new Set(), 2);
  assert.deepEqual([...top], ['a', 'b']);
  top = pickTop(sizes({ a: 10, b: 7, c: 8, d: 1 }), top, 2);
  assert.deepEqual([...top].sort(), ['a', 'b'], 'b fell to third: still in the top 4, kept');
  top = pickTop(sizes({ a: 10, b: 1, c: 8, d: 5, e: 6 }), top, 2);
  assert.deepEqual([...top].sort(), ['a', 'c'], 'b fell out of the top 4: replaced');
  assert.deepEqual([...pickTop(sizes({ a: 1 }), new Set(), 0)], []);
});

test('a sample becomes families named by convention, real names as escaped label values, the rest in other', () => {
  const p = new PromText();
  const s: ProbeSample = { snapshot: snapshot([['my "app"\\1', 42, 400_000], ['sshd', 7, 300_000], ['kworker', 9, 100_000]]), durationMs: 5, unreadable: [{ name: 'vmallocinfo', error: 'Permission denied' }] };
  renderSample(p, s, cfg(), newTopState());
  const m = [...parseExposition(p.text()).values()].flatMap((f) => f.samples);
  const get = (name: string): { labels: Record<string, string>; value: number }[] => m.filter((x) => x.name === name).map((x) => ({ labels: x.labels, value: x.value }));
  assert.deepEqual(get('memsleuth_meminfo_bytes'), [{ labels: { field: 'MemTotal' }, value: 1 << 30 }, { labels: { field: 'Active(anon)' }, value: 4096 }]);
  assert.deepEqual(get('memsleuth_meminfo_pages'), [{ labels: { field: 'HugePages_Total' }, value: 0 }]);
  assert.deepEqual(get('memsleuth_slab_bytes'), [{ labels: { cache: 'kmalloc-64' }, value: 86016 }, { labels: { cache: 'dentry' }, value: 40960 }], 'same-name caches summed');
  assert.deepEqual(get('memsleuth_slab_other_bytes'), [{ labels: {}, value: 4096 }]);
  assert.deepEqual(get('memsleuth_slab_other_caches'), [{ labels: {}, value: 1 }]);
  assert.deepEqual(get('memsleuth_process_uss_bytes'), [{ labels: { comm: 'my "app"\\1', pid: '42' }, value: 100_000 }, { labels: { comm: 'sshd', pid: '7' }, value: 75_000 }]);
  assert.deepEqual(get('memsleuth_process_other_rss_bytes'), [{ labels: {}, value: 100_000 }]);
  assert.deepEqual(get('memsleuth_process_other_processes'), [{ labels: {}, value: 1 }]);
  assert.deepEqual(get('memsleuth_boot_time_seconds'), [{ labels: {}, value: 999_000 }]);
  assert.deepEqual(get('memsleuth_probe_unreadable'), [{ labels: { file: 'vmallocinfo' }, value: 1 }]);
  assert.deepEqual(get('memsleuth_probe_limit').map((x) => x.labels['what']), ['processes', 'slab_caches', 'vmalloc_callers']);
  assert.match(p.text(), /comm="my \\"app\\"\\\\1"/, 'quote and backslash escaped in the text');
  for (const x of m) assert.match(x.name, /^memsleuth_[a-z_]+$/, 'family names are lower snake case');
});

function fakeTarget(fail: { now: boolean }): { open: (c: ExporterTargetConfig) => Promise<ProbeTarget>; opened: number } {
  const state = { opened: 0, open: async (): Promise<ProbeTarget> => {
    state.opened++;
    return {
      sample: async () => {
        if (fail.now) throw new Error('link down');
        return { snapshot: snapshot([['app', 1, 8192]]), durationMs: 1, unreadable: [] };
      },
      close: async () => undefined,
    };
  } };
  return state;
}

test('the exporter serves /probe, /metrics and OpenMetrics, fails a probe without failing the scrape, and reconnects', async () => {
  const fail = { now: false };
  const t = fakeTarget(fail);
  const ex = new Exporter({ targets: new Map([['cam 1', cfg({ name: 'cam 1' })]]) }, t.open);
  const { port } = await ex.listen('127.0.0.1', 0);
  try {
    const base = `http://127.0.0.1:${port}`;
    let r = await fetch(`${base}/probe?target=cam%201`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/plain; version=0.0.4/);
    let body = await r.text();
    assert.match(body, /^memsleuth_probe_success 1$/m);
    assert.match(body, /^memsleuth_process_rss_bytes\{comm="app",pid="1"\} 8192$/m);
    r = await fetch(`${base}/probe?target=cam%201`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(r.headers.get('content-type') ?? '', /application\/openmetrics-text/);
    body = await r.text();
    assert.match(body, /# UNIT memsleuth_meminfo_bytes bytes/);
    assert.ok(body.endsWith('# EOF\n'));
    fail.now = true;
    body = await (await fetch(`${base}/probe?target=cam%201`)).text();
    assert.match(body, /^memsleuth_probe_success 0$/m, 'a failed probe is a 200 with success 0, as blackbox_exporter does');
    fail.now = false;
    body = await (await fetch(`${base}/probe?target=cam%201`)).text();
    assert.match(body, /^memsleuth_probe_success 1$/m);
    assert.equal(t.opened, 2, 'the link is reopened after a failure');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^memsleuth_exporter_probes_total\{target="cam 1"\} 4$/m);
    assert.match(metrics, /^memsleuth_exporter_probe_failures_total\{target="cam 1"\} 1$/m);
    assert.match(metrics, /^memsleuth_exporter_connects_total\{target="cam 1"\} 2$/m);
    assert.match(metrics, /^memsleuth_exporter_link_up\{target="cam 1"\} 1$/m);
    assert.equal((await fetch(`${base}/probe?target=nope`)).status, 404);
    assert.equal((await fetch(`${base}/probe`)).status, 400);
    assert.equal((await fetch(`${base}/verdicts`)).status, 404, 'no verdicts file configured');
  } finally {
    await ex.close();
  }
});

test('probes of one target run one at a time', async () => {
  let active = 0, most = 0;
  const ex = new Exporter({ targets: new Map([['a', cfg({ name: 'a' })]]) }, async () => ({
    sample: async () => {
      active++; most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return { snapshot: snapshot([]), durationMs: 1, unreadable: [] };
    },
    close: async () => undefined,
  }));
  await Promise.all([ex.probe('a'), ex.probe('a'), ex.probe('a')]);
  assert.equal(most, 1);
  await ex.close();
});
