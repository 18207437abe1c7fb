/**
 * Captures a real Prometheus' remote read answers for test/fixtures (see test/fixtures/SOURCES.md):
 *   node dist/tools/capture_remote_read.js URL NAME_REGEX START_MS END_MS OUT_PREFIX
 * writes OUT_PREFIX.request.bin (the snappy-compressed ReadRequest sent), OUT_PREFIX.samples.bin (the SAMPLES
 * answer body), OUT_PREFIX.chunks.bin (the STREAMED_XOR_CHUNKS answer body) and OUT_PREFIX.query.json (the HTTP
 * API's raw samples of the same series and range: /api/v1/query of {__name__=~"NAME_REGEX"}[range] at END).
 */
import { writeFileSync } from 'node:fs';
import { encodeReadRequest, MATCH, RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS } from '../src/sources/remote_read/messages.js';

const [url, names, start, end, out] = process.argv.slice(2);
if (!url || !names || !start || !end || !out) {
  console.error('usage: capture_remote_read URL NAME_REGEX START_MS END_MS OUT_PREFIX');
  process.exit(2);
}
const startMs = Number(start), endMs = Number(end);
const query = [{ startMs, endMs, matchers: [{ type: MATCH.RE, name: '__name__', value: names }] }];
const post = async (accepted: number[]): Promise<{ body: Uint8Array; type: string; request: Uint8Array }> => {
  const request = encodeReadRequest(query, accepted);
  const r = await fetch(`${url}/api/v1/read`, {
    method: 'POST', body: request,
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-read-version': '0.1.0' },
  });
  return { body: new Uint8Array(await r.arrayBuffer()), type: r.headers.get('content-type') ?? '', request };
};
const samples = await post([RESPONSE_SAMPLES]);
const chunks = await post([RESPONSE_STREAMED_XOR_CHUNKS]);
writeFileSync(`${out}.request.bin`, chunks.request);
writeFileSync(`${out}.samples.bin`, samples.body);
writeFileSync(`${out}.chunks.bin`, chunks.body);
const rangeSec = (endMs - startMs) / 1000;
const q = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(`{__name__=~"${names}"}[${rangeSec}s]`)}&time=${endMs / 1000}`);
writeFileSync(`${out}.query.json`, await q.text());
console.log(`${out}: SAMPLES ${samples.body.length} bytes (${samples.type}), STREAMED_XOR_CHUNKS ${chunks.body.length} bytes (${chunks.type})`);
