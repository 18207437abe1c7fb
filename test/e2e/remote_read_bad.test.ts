/**
 * `analyze prometheus+http://... --read remote` against a stand-in server whose remote read answers are broken
 * (the real bytes of test/fixtures/prometheus/ cut short or with a flipped bit, random bytes as either answer
 * type): one line naming the server, the instance and the fault, exit 2, never a stack trace. A server without
 * remote read (404) is read through query_range and the output says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fixturesDir } from '../corpus.js';
import { runCliAsync } from './cli_helpers.js';

const chunks = readFileSync(join(fixturesDir, 'prometheus', 'remote-read-2.42.chunks.bin'));
const STREAMED = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';

async function withServer(read: { status: number; type: string; body: Buffer }, run: (url: string) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (data: unknown): void => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ status: 'success', data })); };
    if (path.startsWith('/api/v1/label/instance/values')) return json(['cam-01']);
    if (path === '/api/v1/query') return json({ resultType: 'vector', result: [] });
    if (path === '/api/v1/query_range') return json({ resultType: 'matrix', result: [] });
    if (path === '/api/v1/read') { req.resume(); res.writeHead(read.status, { 'content-type': read.type }); res.end(read.body); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    await run(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  } finally {
    server.close();
  }
}

const flipped = Buffer.from(chunks);
flipped[4000] = (flipped[4000] as number) ^ 0x10;
const cases: { name: string; status: number; type: string; body: Buffer; message: RegExp }[] = [
  { name: 'a stream cut inside a frame', status: 200, type: STREAMED, body: chunks.subarray(0, 3333), message: /the stream ends inside frame \d+ \(\d+ bytes of it arrived\)/ },
  { name: 'a flipped bit', status: 200, type: STREAMED, body: flipped, message: /frame \d+: checksum mismatch/ },
  { name: 'random bytes as a stream', status: 200, type: STREAMED, body: randomBytes(5000), message: /(frame 1: |the stream ends inside frame 1 )/ },
  { name: 'random bytes as a SAMPLES answer', status: 200, type: 'application/x-protobuf', body: randomBytes(5000), message: /(series \d+: )?(snappy|protobuf): / },
];

for (const c of cases) {
  test(`remote read: ${c.name} is one line and exit 2`, { timeout: 120_000 }, async () => {
    await withServer(c, async (url) => {
      const r = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '1h', '--read', 'remote']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^memsleuth: Prometheus at "${url.replace(/[.]/g, '\\.')}" sent a corrupt remote read answer for instance "cam-01": ${c.message.source}.*; \`--read query\` reads through query_range instead\\n$`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  });
}

test('remote read: a server without it (404) is read through query_range, and the output says why', { timeout: 120_000 }, async () => {
  await withServer({ status: 404, type: 'text/plain', body: Buffer.from('404 page not found\n') }, async (url) => {
    const r = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '1h', '--read', 'remote', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { read: { asked: string; used: string; fallback?: string }; instances: { instance: string; read: string }[] };
    assert.deepEqual(out.read, { asked: 'remote', used: 'query_range', fallback: 'remote read (POST /api/v1/read) answered HTTP 404: 404 page not found', instances: { remote: 0, query: 1 } });
    const text = await runCliAsync(['analyze', `prometheus+${url}`, '--range', '1h', '--read', 'remote']);
    assert.match(text.stdout, /^read through query_range at 15 s steps \(raw samples were asked, but remote read \(POST \/api\/v1\/read\) answered HTTP 404: 404 page not found\)$/m);
  });
});
