/**
 * Remote read inside the fleet reader: a server that answers with the real bytes of test/fixtures/prometheus/
 * (Prometheus 2.42), one that refuses remote read (as VictoriaMetrics and Thanos Query do), and one whose stream
 * breaks. The fake servers are protocol stand-ins; the bytes they send are the captured ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../../test/corpus.js';
import { TargetError } from '../../model/errors.js';
import { PrometheusClient, readFleet, readInstance, type FetchLike, type PostLike } from '../prometheus.js';

const prefix = join(fixturesDir, 'prometheus', 'remote-read-2.42');
const START = 1796618096, END = 1796618336;
const INSTANCE = '127.0.0.1:19391';
const query = JSON.parse(readFileSync(`${prefix}.query.json`, 'utf8')) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };

function server(answer: () => Response, log: string[]): { post: PostLike; get: FetchLike } {
  const post: PostLike = async (url) => { log.push(`POST ${new URL(url).pathname}`); return answer(); };
  // query_range: the HTTP API's raw samples of the fixture, on the step grid (a stand-in for the real evaluation).
  const get: FetchLike = async (url) => {
    const u = new URL(url);
    log.push(`GET ${u.pathname}`);
    if (u.pathname === '/api/v1/query') return { ok: true, status: 200, text: async () => JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }) };
    const result = query.data.result.filter((s) => s.metric['instance'] === INSTANCE);
    return { ok: true, status: 200, text: async () => JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }) };
  };
  return { post, get };
}

const streamedAnswer = (body: Uint8Array<ArrayBuffer>): Response => new Response(body, { status: 200, headers: { 'content-type': 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse' } });
const o = { match: '', startSec: START, endSec: END, stepSec: 1, slabTop: 0, read: 'remote' as const };

test('raw samples through remote read (both answer types) become a table on the scrape grid, with every sample', async () => {
  for (const [file, type] of [['chunks.bin', 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse'], ['samples.bin', 'application/x-protobuf']] as const) {
    const log: string[] = [];
    const body = readFileSync(`${prefix}.${file}`);
    const s = server(() => new Response(body, { status: 200, headers: { 'content-type': type, ...(file === 'samples.bin' ? { 'content-encoding': 'snappy' } : {}) } }), log);
    const client = new PrometheusClient('http://prom', s.get, s.post);
    const t = await readInstance(client, INSTANCE, o);
    assert.equal(t.read, 'remote-read');
    assert.deepEqual(log, ['POST /api/v1/read'], 'one request for the instance');
    const free = query.data.result.find((r) => r.metric['__name__'] === 'node_memory_MemFree_bytes' && r.metric['instance'] === INSTANCE);
    assert.ok(free);
    assert.equal(t.t.length, free.values.length, 'one point per scrape (1 s)');
    assert.deepEqual([...(t.series.get('meminfo.MemFree') ?? [])], free.values.map(([, v]) => Number(v)));
    assert.equal(t.t[1], 1);
    // The grid follows the most sampled series (here the other job's, half a second out of phase: the fixture holds
    // two scrape jobs); each series keeps its own samples, one a slot.
    assert.ok(Math.abs((t.startedAtMs ?? 0) - (free.values[0]?.[0] ?? 0) * 1000) < 1000, `${t.startedAtMs}`);
    assert.equal(t.binCounts, undefined);
    assert.match(t.meta.notes.join('\n'), new RegExp(`read through remote read \\(${file === 'chunks.bin' ? 'STREAMED_XOR_CHUNKS' : 'SAMPLES'}\\): \\d+ raw samples of 7 series, scraped every 1 s`));
    assert.equal(client.stats.bytes, body.length);
  }
});

test('a server without remote read (404) is read through query_range, asked once, and the notes say so', async () => {
  const log: string[] = [];
  const s = server(() => new Response('404 page not found\n', { status: 404, headers: { 'content-type': 'text/plain' } }), log);
  const client = new PrometheusClient('http://vm', s.get, s.post);
  const a = await readInstance(client, INSTANCE, o);
  const b = await readInstance(client, INSTANCE, o);
  assert.equal(a.read, 'query_range');
  assert.equal(b.read, 'query_range');
  assert.deepEqual(log, ['POST /api/v1/read', 'GET /api/v1/query_range', 'GET /api/v1/query_range']);
  assert.equal(client.remoteRead.state, 'refused');
  assert.deepEqual(a.meta.notes, ['raw samples were asked, but remote read (POST /api/v1/read) answered HTTP 404: 404 page not found: read through query_range at 1 s steps']);
  // A 200 that is not protobuf (a proxy's page) is a refusal too.
  const html = server(() => new Response('<html></html>', { status: 200, headers: { 'content-type': 'text/html' } }), []);
  const c2 = new PrometheusClient('http://proxy', html.get, html.post);
  assert.equal((await readInstance(c2, INSTANCE, o)).read, 'query_range');
  assert.match(c2.remoteRead.reason ?? '', /content type "text\/html", not a protobuf answer/);
});

test('a stream that breaks (cut inside a frame, a bad checksum) stops the fleet with one clear error', async () => {
  const body = new Uint8Array(readFileSync(`${prefix}.chunks.bin`));
  const flipped = Uint8Array.from(body);
  flipped[3000] = (flipped[3000] as number) ^ 1;
  for (const [bytes, re] of [[body.slice(0, 5000), /the stream ends inside frame \d+/], [flipped, /frame \d+: checksum mismatch/]] as const) {
    const s = server(() => streamedAnswer(bytes), []);
    const client = new PrometheusClient('http://prom', s.get, s.post);
    await assert.rejects(readInstance(client, INSTANCE, o), (e: unknown) => e instanceof TargetError && e.code === 'remote-read-corrupt'
      && new RegExp(`^Prometheus at "http://prom" sent a corrupt remote read answer for instance "127\\.0\\.0\\.1:19391": ${re.source}.*; \`--read query\` reads through query_range instead$`).test(e.message));
    const got: string[] = [];
    await assert.rejects((async () => { for await (const r of readFleet(client, [INSTANCE, 'b', 'c'], o, 2)) got.push(r.instance); })(), TargetError);
    assert.deepEqual(got, []);
  }
});
