import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, TargetError } from '../model/errors.js';
import { defaultStepSec, listInstances, parsePromDuration, parseSelector, prometheusBaseUrl, PrometheusClient, readFleet, readInstance, type FetchLike } from './prometheus.js';

test('prometheus+ URLs, selectors and durations are read or refused in one line', () => {
  assert.equal(prometheusBaseUrl('prometheus+http://prom:9090/'), 'http://prom:9090');
  assert.equal(prometheusBaseUrl('board.db'), undefined);
  assert.throws(() => prometheusBaseUrl('prometheus+ftp://x'), InputError);
  assert.equal(parseSelector('{job="cameras", site=~"eu-.*"}'), 'job="cameras", site=~"eu-.*"');
  assert.equal(parseSelector('{a="x\\"y",}'), 'a="x\\"y"');
  assert.equal(parseSelector(undefined), '');
  for (const bad of ['job="x"', '{job=x}', '{job="x" site="y"}', 'up{job="x"}']) assert.throws(() => parseSelector(bad), InputError, bad);
  assert.equal(parsePromDuration('7d', '--range'), 604800);
  assert.equal(parsePromDuration('1h30m', '--range'), 5400);
  assert.equal(parsePromDuration('15', '--step'), 15);
  assert.throws(() => parsePromDuration('a week', '--range'), /expected a duration/);
  assert.equal(defaultStepSec(7 * 86400), 300);
  assert.equal(defaultStepSec(3600), 15);
});

/** A fake Prometheus HTTP API answering from a table of series: synthetic protocol answers, not real data. */
function fakeProm(series: { metric: Record<string, string>; f: (ts: number) => number }[], log: string[]): FetchLike {
  return async (url: string) => {
    const u = new URL(url);
    log.push(`${u.pathname} ${u.searchParams.get('query') ?? u.searchParams.getAll('match[]').join(' ')}`);
    const json = (data: unknown): { ok: boolean; status: number; text(): Promise<string> } => ({ ok: true, status: 200, text: async () => JSON.stringify({ status: 'success', data }) });
    if (u.pathname.startsWith('/api/v1/label/instance/values')) {
      const slab = u.searchParams.getAll('match[]').some((m) => m.startsWith('node_slabinfo'));
      return json([...new Set(series.filter((s) => !slab || s.metric['__name__']?.startsWith('node_slabinfo')).map((s) => s.metric['instance']))]);
    }
    if (u.pathname === '/api/v1/query') return json({ resultType: 'vector', result: [] });
    const q = u.searchParams.get('query') ?? '';
    const inst = /instance="([^"]+)"/.exec(q)?.[1];
    const start = Number(u.searchParams.get('start')), end = Number(u.searchParams.get('end')), step = Number(u.searchParams.get('step'));
    const result = series.filter((s) => s.metric['instance'] === inst && !s.metric['__name__']?.startsWith('node_slabinfo')).map((s) => {
      const values: [number, string][] = [];
      for (let ts = start; ts <= end; ts += step) values.push([ts, String(s.f(ts))]);
      return { metric: s.metric, values };
    });
    if (q.includes('broken')) return { ok: false, status: 400, text: async () => JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }) };
    return json({ resultType: 'matrix', result });
  };
}

test('one instance is read into a SeriesTable: node_exporter and memsleuth names become series keys, long ranges in chunks', async () => {
  const log: string[] = [];
  const T0 = 1_700_000_000;
  const series = [
    { metric: { __name__: 'node_memory_MemTotal_bytes', instance: 'a:9100' }, f: () => 1000 },
    { metric: { __name__: 'node_memory_MemFree_bytes', instance: 'a:9100' }, f: (ts: number) => 500 - (ts - T0) / 15 },
    { metric: { __name__: 'memsleuth_process_uss_bytes', instance: 'a:9100', comm: 'my app', pid: '42' }, f: () => 7 },
    { metric: { __name__: 'memsleuth_slab_bytes', instance: 'a:9100', cache: 'kmalloc-64' }, f: () => 64 },
    { metric: { __name__: 'node_memory_MemTotal_bytes', instance: 'b:9100' }, f: () => 2000 },
  ];
  const client = new PrometheusClient('http://prom', fakeProm(series, log));
  const o = { match: 'job="node"', startSec: T0, endSec: T0 + 15 * 12_000, stepSec: 15, slabTop: 0 };
  assert.deepEqual(await listInstances(client, o), ['a:9100', 'b:9100']);
  assert.ok(log[0]?.includes('node_memory_MemTotal_bytes{job="node"}'), log[0]);
  const t = await readInstance(client, 'a:9100', o);
  assert.equal(t.t.length, 12_001);
  assert.equal(t.t[1], 15);
  assert.equal(t.startedAtMs, T0 * 1000);
  assert.deepEqual([...t.series.keys()].sort(), ['meminfo.MemFree', 'meminfo.MemTotal', 'proc.my%20app:42.uss', 'slab.kmalloc-64.bytes']);
  assert.equal(t.series.get('meminfo.MemFree')?.[12_000], 500 - 12_000);
  assert.equal(log.filter((l) => l.startsWith('/api/v1/query_range')).length, 2, '12,001 points at 15 s: two chunks of at most 11,000');
  assert.ok(log.some((l) => l.includes('instance="a:9100",job="node"')), 'the selector rides in every query');
  assert.equal(client.stats.points, 4 * 12_001);
});

test('readFleet reads ahead and turns one failed instance into an error, not the end of the fleet', async () => {
  const log: string[] = [];
  const series = [
    { metric: { __name__: 'node_memory_MemTotal_bytes', instance: 'ok-1' }, f: () => 1 },
    { metric: { __name__: 'node_memory_MemTotal_bytes', instance: 'broken' }, f: () => 1 },
    { metric: { __name__: 'node_memory_MemTotal_bytes', instance: 'ok-2' }, f: () => 1 },
  ];
  const client = new PrometheusClient('http://prom', fakeProm(series, log));
  const o = { match: '', startSec: 0, endSec: 60, stepSec: 15, slabTop: 0 };
  const got: string[] = [];
  for await (const r of readFleet(client, ['ok-1', 'broken', 'ok-2'], o, 2)) got.push(`${r.instance}:${r.table ? r.table.t.length : r.error ?? ''}`);
  assert.deepEqual(got, ['ok-1:5', 'broken:Prometheus at "http://prom" refused /api/v1/query_range: bad_data: parse error', 'ok-2:5']);
  const down = new PrometheusClient('http://127.0.0.1:1', async () => { throw new Error('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') }); });
  await assert.rejects(listInstances(down, o), (e: unknown) => e instanceof TargetError && /Cannot reach Prometheus at "http:\/\/127.0.0.1:1": connect ECONNREFUSED/.test(e.message));
});
