/**
 * memsleuth with a real Prometheus (Debian's `prometheus` and `prometheus-node-exporter`), on loopback:
 * Prometheus scrapes `memsleuth exporter` (/probe for a local target and a shell target, /metrics, /verdicts) and
 * node_exporter; the test reads the data back through Prometheus' HTTP API, runs `memsleuth analyze
 * prometheus+http://...` on it, and checks the shipped example config and alert rules with promtool.
 * Skips, saying why, where prometheus is not installed. Every wait polls with a generous overall limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../corpus.js';
import { runCliAsync } from './cli_helpers.js';
import { PrometheusClient } from '../../src/sources/prometheus.js';
import { remoteRead } from '../../src/sources/remote_read/read.js';
import { MATCH, RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS } from '../../src/sources/remote_read/messages.js';
import { instanceSpec, writeOpenMetrics, DT } from '../../bench/fleet_sim.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['prometheus', 'promtool'].filter((c) => !has(c));
const skip = missing.length > 0 ? `${missing.join(' and ')} not installed (Debian package "prometheus"; .ci/run installs it)` : false;
if (skip) console.log(`# skipping the Prometheus tests: ${skip}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

/** Children that must stay up while the test waits: a dead one ends the wait at once, with what it said. */
const essential: { name: string; child: ChildProcess; err: () => string }[] = [];

async function until<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  let last = '';
  for (;;) {
    const dead = essential.find((e) => e.child.exitCode !== null || e.child.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}: ${dead.err().slice(-2000)}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting ${limitMs / 1000} s for ${what}${last ? ` (last error: ${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface VectorResult { metric: Record<string, string>; value: [number, string] }

async function query(url: string, q: string): Promise<VectorResult[]> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await r.json() as { status: string; data?: { result: VectorResult[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? r.status}`);
  return body.data?.result ?? [];
}

/** One series' samples through remote read (both answer types) equal the HTTP API's raw samples of it. */
async function assertSameSamples(url: string, metric: string, instance: string, startMs: number, endMs: number): Promise<void> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`${metric}{instance="${instance}"}[${(endMs - startMs) / 1000}s]`)}&time=${endMs / 1000}`);
  const body = await r.json() as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  const want = body.data.result.map((x) => ({ labels: x.metric, t: x.values.map((v) => Math.round(v[0] * 1000)), v: x.values.map((v) => Number(v[1])) }));
  assert.ok(want.length > 0 && want.every((w) => w.t.length > 0), `${metric}{instance="${instance}"} has samples`);
  const client = new PrometheusClient(url);
  for (const accepted of [[RESPONSE_STREAMED_XOR_CHUNKS], [RESPONSE_SAMPLES]]) {
    const got = await remoteRead(client, [{ startMs, endMs, matchers: [{ type: MATCH.EQ, name: '__name__', value: metric }, { type: MATCH.EQ, name: 'instance', value: instance }] }], instance, accepted);
    assert.equal(got.responseType, accepted[0] === RESPONSE_SAMPLES ? 'SAMPLES' : 'STREAMED_XOR_CHUNKS');
    assert.deepEqual(got.series.map((x) => ({ labels: x.labels, t: [...x.t], v: [...x.v] })), want, `${metric}{instance="${instance}"} through ${got.responseType}`);
  }
}

test('promtool accepts the shipped alert rules, their unit tests and the example Prometheus config', { skip }, () => {
  const dir = join(repoRoot, 'examples', 'prometheus');
  for (const args of [['check', 'rules', 'memsleuth_alerts.yml'], ['test', 'rules', 'memsleuth_alerts_test.yml'], ['check', 'config', 'prometheus.yml']]) {
    const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  }
});

test('a real Prometheus scrapes memsleuth exporter and node_exporter; analyze reads the fleet back', { skip, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-prom-'));
  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[], name?: string): ChildProcess => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(c);
    let err = '';
    c.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000); });
    if (name) essential.push({ name, child: c, err: () => err });
    return c;
  };
  try {
    // A process whose name needs escaping in the text format: a quote, a space and a backslash.
    const odd = join(dir, 'sl"e ep\\x');
    copyFileSync('/bin/sleep', odd);
    spawnSync('chmod', ['+x', odd]);
    start(odd, ['600']);

    const nodePort = await freePort();
    const nodeExporter = has('prometheus-node-exporter')
      ? start('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${nodePort}`, '--collector.slabinfo', '--collector.disable-defaults', '--collector.meminfo', '--collector.stat'], 'node_exporter')
      : undefined;
    if (!nodeExporter) console.log('# prometheus-node-exporter not installed: the node job is left out');

    const shell = has('busybox') ? 'busybox sh' : 'sh';
    writeFileSync(join(dir, 'targets.yml'), [
      '# test targets', 'defaults:', '  timeout: 20s', 'targets:', '  local:', '    local: true', '    top_processes: 1000',
      '  shell:', `    via: ${shell}`, `verdicts_file: ${join(dir, 'verdicts.prom')}`, '',
    ].join('\n'));
    const exporter = start(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), 'exporter', '--config', join(dir, 'targets.yml'), '--listen', '127.0.0.1:0'], 'memsleuth exporter');
    let exporterErr = '';
    exporter.stderr?.on('data', (d: Buffer) => { exporterErr += d.toString(); });
    const exporterAddr = await until('the exporter to listen', 120_000, async () => /http:\/\/(127\.0\.0\.1:\d+)\//.exec(exporterErr)?.[1])
      .catch((err: Error) => { throw new Error(`${err.message}; exporter said: ${exporterErr} (exit ${exporter.exitCode})`); });

    const promPort = await freePort();
    const job = (name: string, extra: string[]): string[] => [`  - job_name: ${name}`, ...extra];
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:',
      ...job('memsleuth', ['    metrics_path: /probe', '    scrape_interval: 5s', '    scrape_timeout: 5s', '    static_configs:', '      - targets: [local, shell]',
        '    relabel_configs:', '      - source_labels: [__address__]', '        target_label: __param_target', '      - source_labels: [__param_target]',
        '        target_label: instance', '      - target_label: __address__', `        replacement: ${exporterAddr}`]),
      ...job('memsleuth_exporter', ['    static_configs:', `      - targets: ['${exporterAddr}']`]),
      ...job('memsleuth_verdicts', ['    metrics_path: /verdicts', '    honor_labels: true', '    static_configs:', `      - targets: ['${exporterAddr}']`]),
      ...(nodeExporter ? job('node', ['    static_configs:', `      - targets: ['127.0.0.1:${nodePort}']`]) : []),
      '',
    ].join('\n'));
    const prom = start('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], 'prometheus');
    let promErr = '';
    prom.stderr?.on('data', (d: Buffer) => { promErr += d.toString(); });
    const url = `http://127.0.0.1:${promPort}`;
    await until('Prometheus to be ready', 180_000, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined)).catch((err: Error) => { throw new Error(`${err.message}\n${promErr.slice(-2000)}`); });

    // Data scraped through the exporter, read back through Prometheus' API.
    const total = await until('MemTotal of the local target', 180_000, async () => (await query(url, 'memsleuth_meminfo_bytes{job="memsleuth",instance="local",field="MemTotal"}'))[0]);
    const want = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
    assert.equal(Number(total.value[1]), want, 'MemTotal through exporter and Prometheus equals /proc/meminfo');
    const oddRow = await until('the oddly named process', 180_000, async () => (await query(url, 'memsleuth_process_rss_bytes{instance="local",comm="sl\\"e ep\\\\x"}'))[0]);
    assert.equal(oddRow.metric['comm'], 'sl"e ep\\x', 'the real name survives the text format and Prometheus, unrewritten');
    await until('MemTotal of the shell target', 180_000, async () => (await query(url, 'memsleuth_meminfo_bytes{instance="shell",field="MemTotal"}'))[0]);
    const probes = await until('the exporter health', 180_000, async () => (await query(url, 'memsleuth_exporter_probes_total{target="local"} > 0'))[0]);
    assert.ok(Number(probes.value[1]) >= 1);
    if (nodeExporter) await until('node_exporter meminfo', 180_000, async () => (await query(url, 'node_memory_MemTotal_bytes{job="node"}'))[0]);
    // Enough history for a trend test on every instance (MIN_TREND_POINTS is 6).
    for (const instance of ['local', 'shell']) {
      await until(`a dozen samples of the ${instance} target`, 300_000, async () => (await query(url, `count_over_time(memsleuth_meminfo_bytes{instance="${instance}",field="MemFree"}[10m]) >= 12`))[0]);
    }

    // The fleet read back: every instance, then only what --match selects.
    const r = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '10m', '--step', '5s', '--json', '--metrics-out', join(dir, 'verdicts.prom'), '--fail-on', 'leak']);
    const out = JSON.parse(r.stdout) as { schema: string; instances: { instance: string; verdict: string; samples: number }[]; stats: { requests: number } };
    assert.equal(r.code, out.instances.some((i) => i.verdict === 'leak') ? 1 : 0, `--fail-on leak: exit 1 exactly when an instance leaks\n${r.stderr}`);
    assert.equal(out.schema, 'memsleuth.fleet/1');
    const names = out.instances.map((i) => i.instance).sort();
    assert.deepEqual(names, nodeExporter ? [`127.0.0.1:${nodePort}`, 'local', 'shell'] : ['local', 'shell']);
    for (const i of out.instances) {
      assert.ok(['leak', 'no-leak', 'inconclusive'].includes(i.verdict), `${i.instance}: ${i.verdict}`);
      assert.ok(i.samples >= 6, `${i.instance}: ${i.samples} samples`);
    }
    const verdicts = readFileSync(join(dir, 'verdicts.prom'), 'utf8');
    assert.match(verdicts, /^memsleuth_instance_verdict\{instance="local",verdict="no-leak"\} [01]$/m);
    // --push: the Pushgateway protocol (PUT of the text format), received by a stand-in server.
    const pushed: { method: string; url: string; body: string }[] = [];
    const gw = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => { pushed.push({ method: req.method ?? '', url: req.url ?? '', body }); res.writeHead(200); res.end(); });
    });
    await new Promise<void>((r) => gw.listen(0, '127.0.0.1', () => r()));
    const gwPort = (gw.address() as { port: number }).port;
    const p = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '10m', '--push', `http://127.0.0.1:${gwPort}/metrics/job/memsleuth`]);
    gw.close();
    assert.equal(p.code, 0, p.stderr);
    assert.equal(pushed.length, 1);
    assert.equal(pushed[0]?.method, 'PUT');
    assert.equal(pushed[0]?.url, '/metrics/job/memsleuth');
    assert.match(pushed[0]?.body ?? '', /^memsleuth_instance_verdict\{instance="local",verdict="no-leak"\} [01]$/m);
    if (nodeExporter) {
      const only = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '10m', '--match', '{job="node"}']);
      assert.equal(only.code, 0, only.stderr);
      assert.match(only.stdout, /^1 instances:/m);
    }
    // Remote read gives the very samples the HTTP API gives for the same series and range (a range selector
    // returns raw samples), in both answer types; these timestamps carry real scrape jitter.
    const endMs = Date.now() - 2000;
    await assertSameSamples(url, 'memsleuth_meminfo_bytes', 'local', endMs - 600_000, endMs);
    if (nodeExporter) await assertSameSamples(url, 'node_memory_MemFree_bytes', `127.0.0.1:${nodePort}`, endMs - 600_000, endMs);
    // The fleet through remote read and through query_range at the scrape interval (5 s): every instance read
    // either way, with as many points. (Their verdicts are compared on the backfilled fleet below, where the data
    // are fixed: this machine's live memory over 10 minutes can sit on a verdict's edge, and raw samples with
    // scrape jitter and 5 s steps may then fall on either side of it; seen once under load.)
    const end = String(Math.floor(endMs / 1000));
    const viaRemote = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '10m', '--end', end, '--read', 'remote', '--json', '--workers', '1']);
    const viaQuery = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '10m', '--end', end, '--read', 'query', '--step', '5s', '--json', '--workers', '1']);
    type Fleet = { read: { used: string; responseType?: string }; instances: { instance: string; verdict: string; samples: number; read: string; leaks: { kind: string }[] }[] };
    const rj = JSON.parse(viaRemote.stdout) as Fleet, qj = JSON.parse(viaQuery.stdout) as Fleet;
    assert.equal(rj.read.used, 'remote-read', viaRemote.stderr);
    assert.equal(rj.read.responseType, 'STREAMED_XOR_CHUNKS');
    assert.equal(qj.read.used, 'query_range');
    for (const name of ['local', 'shell']) {
      const a = rj.instances.find((i) => i.instance === name), b = qj.instances.find((i) => i.instance === name);
      assert.ok(a && b, name);
      assert.equal(a.read, 'remote-read');
      assert.equal(b.read, 'query_range');
      assert.ok(Math.abs(a.samples - b.samples) <= 2, `${name}: ${a.samples} raw samples, ${b.samples} steps of 5 s`);
    }
    // The text output says how it read.
    const text = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '10m', '--read', 'remote']);
    assert.match(text.stdout, /^read raw samples through remote read \(STREAMED_XOR_CHUNKS\) for \d+ instances$/m);
    // The verdicts go back into Prometheus through /verdicts (honor_labels keeps their instance).
    const v = await until('the verdicts scraped back', 180_000, async () => (await query(url, 'sum by (instance) (memsleuth_instance_verdict{instance="local"})'))[0]);
    assert.equal(Number(v.value[1]), 1, 'exactly one verdict per instance');
    // A Prometheus that is not there is one line and exit 2.
    const down = await runCliAsync(['analyze', `prometheus+http://127.0.0.1:${await freePort()}`, '--range', '1h']);
    assert.equal(down.code, 2);
    assert.match(down.stderr, /^memsleuth: Cannot reach Prometheus at "http:\/\/127\.0\.0\.1:\d+": .+\n$/);
  } finally {
    essential.length = 0;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    // Wait for them to go, but never hang the suite on one that ignores SIGTERM: SIGKILL after 10 s.
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise<void>((r) => {
      const t = setTimeout(() => { c.kill('SIGKILL'); r(); }, 10_000);
      c.once('exit', () => { clearTimeout(t); r(); });
    }))));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a backfilled fleet: remote read gives the same samples and the same verdicts as query_range', { skip, timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-prom-backfill-'));
  let prom: ChildProcess | undefined;
  try {
    // Four simulated instances (bench/fleet_sim.ts: two with a planted leak, two without), 4 days at 15 s, written
    // as OpenMetrics and backfilled by promtool, then served by a real Prometheus that scrapes nothing.
    const specs = [0, 7, 1, 32].map((i) => instanceSpec(i));
    const n = Math.floor((4 * 86400) / DT);
    const endSec = Math.floor(Date.now() / 3_600_000) * 3600 - 3600;
    const om = join(dir, 'fleet.om');
    writeOpenMetrics(om, specs, n, endSec - (n - 1) * DT);
    const bf = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=240h', om, join(dir, 'tsdb')], { encoding: 'utf8' });
    assert.equal(bf.status, 0, `promtool backfill: ${bf.stderr}`);
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const port = await freePort();
    prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=3650d', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    prom.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000); });
    essential.push({ name: 'prometheus (backfilled)', child: prom, err: () => err });
    const url = `http://127.0.0.1:${port}`;
    await until('the backfilled Prometheus to be ready', 180_000, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined));
    await until('the backfilled samples', 180_000, async () => (await query(url, `count(node_memory_MemTotal_bytes @ ${endSec})`))[0]);

    await assertSameSamples(url, 'node_memory_MemAvailable_bytes', specs[1]?.name ?? '', (endSec - 86400) * 1000, endSec * 1000);
    type Out = { read: { asked: string; used: string; scrapeIntervalSec?: number }; instances: Record<string, unknown>[]; stats: { bytes: number; points: number; requests: number } };
    const run = async (args: string[]): Promise<Out> => {
      const r = await runCliAsync(['analyze', `prometheus+${url}`, '--end', String(endSec), '--json', '--workers', '1', ...args]);
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
      return JSON.parse(r.stdout) as Out;
    };
    const strip = (rows: Record<string, unknown>[]): Record<string, unknown>[] => rows.map(({ read: _r, notes: _n, ...rest }) => rest);
    // One day at the scrape interval: the same samples on the same grid, so every row is the same to the last digit.
    const dayRemote = await run(['--range', '1d', '--read', 'remote']);
    const dayQuery = await run(['--range', '1d', '--read', 'query', '--step', '15s']);
    assert.equal(dayRemote.read.used, 'remote-read');
    assert.equal(dayQuery.read.used, 'query_range');
    assert.deepEqual(strip(dayRemote.instances), strip(dayQuery.instances));
    // --read auto (the default): raw samples when --step is at or below the scrape interval, query_range above it.
    const autoFine = await run(['--range', '1d', '--step', '15s']);
    assert.deepEqual([autoFine.read.asked, autoFine.read.used], ['auto', 'remote-read']);
    // 600 s over the samples of the last 10 minutes: 40 or 41 of them, as the range's ends fall.
    assert.ok(Math.abs((autoFine.read.scrapeIntervalSec ?? 0) - 15) < 1, `scrape interval ${autoFine.read.scrapeIntervalSec}`);
    const autoCoarse = await run(['--range', '1d', '--step', '1m']);
    assert.equal(autoCoarse.read.used, 'query_range');
    // Four days: 23,040 samples a series, held as means of 3 by the remote reader (query_range's 23,040 steps are
    // binned by the trend tests instead): the same verdicts and kinds; the planted leaks found both ways.
    const weekRemote = await run(['--range', '4d', '--read', 'remote']);
    const weekQuery = await run(['--range', '4d', '--read', 'query', '--step', '15s']);
    const verdicts = (x: { instances: Record<string, unknown>[] }): string[] => x.instances.map((i) => `${String(i['instance'])}: ${String(i['verdict'])} ${(i['leaks'] as { kind: string }[]).map((l) => l.kind).join(',')}`).sort();
    assert.deepEqual(verdicts(weekRemote), verdicts(weekQuery));
    for (const s of specs) {
      const row = weekRemote.instances.find((i) => i['instance'] === s.name) as { verdict: string; leaks: { kind: string }[]; notes?: string[] } | undefined;
      assert.ok(row, s.name);
      if (s.leak) assert.ok(row.leaks.some((l) => l.kind === s.leak?.kind), `${s.name}: planted ${s.leak.kind} found through remote read`);
      else assert.notEqual(row.verdict, 'leak', `${s.name}: no false positive through remote read`);
      assert.match((row.notes ?? []).join('\n'), /23040 samples a series read as 768[01] means of 3 consecutive samples/);
    }
    console.log(`# 4 instances x 4 days at 15 s: remote read ${weekRemote.stats.requests} requests, ${weekRemote.stats.bytes} bytes, ${weekRemote.stats.points} samples; query_range at 15 s ${weekQuery.stats.requests} requests, ${weekQuery.stats.bytes} bytes, ${weekQuery.stats.points} points`);
  } finally {
    essential.length = 0;
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      prom.kill('SIGTERM');
      await new Promise<void>((r) => { const t = setTimeout(() => { prom?.kill('SIGKILL'); r(); }, 10_000); prom?.once('exit', () => { clearTimeout(t); r(); }); });
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
