import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AnalysisResponse, RecordingsResponse, SampleEvent, SeriesResponse } from './api_types.js';
import { startDashboard, type Dashboard } from './server.js';
import { makeRecording, parseExposition, T0, XSS_COMM } from './testing.js';
import { processKey } from '../model/series.js';
import { renderHtmlReport } from '../report/html/render.js';
import type { ReportData } from '../report/html/report_data.js';
import { tableFromRecording } from './store_table.js';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A raw request: the path goes out exactly as written (fetch would normalise "..").*/
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const rec = makeRecording(30);
const open: Dashboard[] = [];
after(async () => {
  for (const d of open) await d.close();
  rec.cleanup();
});

async function start(opts: Partial<Parameters<typeof startDashboard>[0]> = {}): Promise<Dashboard> {
  const d = await startDashboard({ dbPath: rec.dbPath, analysisRefreshSec: 0, ...opts });
  open.push(d);
  return d;
}

test('a non-loopback bind needs the token: 401 without, 200 with query, cookie or bearer', async () => {
  const d = await start({ listen: '0.0.0.0' });
  assert.ok(d.token && d.token.length >= 32, 'a token is generated');
  assert.match(d.url, new RegExp(`:${d.port}/\\?token=${d.token}$`));
  for (const path of ['/', '/api/recordings', '/metrics', '/events', '/assets/dashboard.js', '/nope']) {
    const r = await get(d.port, path);
    assert.equal(r.status, 401, path);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="memsleuth"');
  }
  assert.equal((await get(d.port, '/api/recordings?token=wrong')).status, 401);
  assert.equal((await get(d.port, '/api/recordings', { authorization: 'Bearer wrong' })).status, 401);
  const first = await get(d.port, `/?token=${d.token}`);
  assert.equal(first.status, 303, 'the token leaves the address bar');
  assert.equal(first.headers.location, '/');
  const cookie = String(first.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const pair = cookie.split(';')[0] as string;
  assert.equal((await get(d.port, '/', { cookie: pair })).status, 200);
  assert.equal((await get(d.port, '/api/recordings', { authorization: `Bearer ${d.token}` })).status, 200);
  assert.equal((await get(d.port, '/metrics', { authorization: `Bearer ${d.token}` })).status, 200);
  assert.equal((await get(d.port, '/api/recordings', { cookie: `${pair.split('=')[0] ?? ''}=nope` })).status, 401);
});

test('an explicit token is enforced on loopback too', async () => {
  const d = await start({ token: 'correct-horse-battery' });
  assert.equal(d.token, 'correct-horse-battery');
  assert.equal((await get(d.port, '/api/recordings')).status, 401);
  assert.equal((await get(d.port, '/api/recordings', { authorization: 'Bearer correct-horse-battery' })).status, 200);
  await assert.rejects(startDashboard({ dbPath: rec.dbPath, token: 'short' }), /at least 8/);
});

test('loopback without a token: open to the machine, but only under its own Host (DNS rebinding)', async () => {
  const d = await start();
  assert.equal(d.token, undefined);
  assert.equal(d.url, `http://127.0.0.1:${d.port}/`);
  assert.equal((await get(d.port, '/api/recordings')).status, 200);
  assert.equal((await get(d.port, '/api/recordings', { host: `localhost:${d.port}` })).status, 200);
  assert.equal((await get(d.port, '/api/recordings', { host: `evil.example:${d.port}` })).status, 403);
});

test('only its own routes: unknown paths, traversal and other methods get nothing', async () => {
  const d = await start();
  const notFound = ['/nope', '/assets/../../etc/passwd', '/assets/..%2f..%2fetc%2fpasswd', '/assets/%2e%2e/%2e%2e/etc/passwd', '/assets/',
    '/assets/report.html', '/assets/dashboard.js/..', '/api', '/api/recordings/1', '/..', '/%2e%2e/etc/passwd', '//etc/passwd', '/index.html',
    '/favicon.ico', '/assets/__proto__', '/assets/constructor'];
  for (const p of notFound) {
    const r = await get(d.port, p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body, /root:/, p);
  }
  const post = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, path: '/api/recordings', method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
  assert.equal(post, 405);
});

test('security headers on every answer; no CORS', async () => {
  const d = await start();
  for (const p of ['/', '/api/recordings', '/nope', '/metrics']) {
    const r = await get(d.port, p, { origin: 'http://evil.example' });
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'; script-src 'self'/, p);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
    assert.equal(r.headers['x-frame-options'], 'DENY', p);
    assert.equal(r.headers['access-control-allow-origin'], undefined, p);
  }
  const page = await get(d.port, '/');
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.doesNotMatch(page.body, /<script>|<style>|style=/, 'no inline script or style');
});

test('API: recordings, downsampled series, analysis', async () => {
  const d = await start();
  const recs = JSON.parse((await get(d.port, '/api/recordings')).body) as RecordingsResponse;
  assert.equal(recs.current, rec.writer.recordingId);
  assert.deepStrictEqual(recs.recordings.map((r) => [r.target.name, r.sampleCount >= 30]), [['board', true]]);
  const s = JSON.parse((await get(d.port, `/api/series?key=meminfo.MemAvailable&key=slab.kmalloc-64.bytes&key=nope&points=10&to=${T0 + 29_000}`)).body) as SeriesResponse;
  assert.equal(s.samples, 30);
  assert.equal(s.downsampled, true);
  assert.equal(s.t.length, 10);
  assert.equal(s.t[0], T0 + 2000, 'bucket time is its last sample');
  assert.deepStrictEqual(s.missing, ['nope']);
  const slab = s.series.find((c) => c.key === 'slab.kmalloc-64.bytes');
  assert.deepStrictEqual([slab?.min[0], slab?.max[0]], [4 * 1024 * 1024, 4 * 1024 * 1024 + 2048]);
  const full = JSON.parse((await get(d.port, `/api/series?key=meminfo.MemTotal&from=${T0}&to=${T0 + 4000}&points=100`)).body) as SeriesResponse;
  assert.deepStrictEqual([full.samples, full.downsampled, full.t.length], [5, false, 5]);
  assert.equal((await get(d.port, '/api/series')).status, 400);
  assert.equal((await get(d.port, '/api/series?key=x&points=abc')).status, 400);
  assert.equal((await get(d.port, '/api/series?key=x&recording=999')).status, 404);
  const a = JSON.parse((await get(d.port, '/api/analysis')).body) as AnalysisResponse;
  assert.equal(a.error, null);
  assert.equal(a.analysis?.verdict, 'leak');
  const xss = `${processKey(XSS_COMM, 4242)}.uss`;
  assert.ok(a.analysis?.culprits.process.some((p) => p.key === xss && p.verdict === 'leak'), 'the leaking process is a culprit');
  assert.deepStrictEqual(a.charts[0], { id: 'system', title: 'System memory', keys: ['meminfo.MemAvailable', 'meminfo.MemFree', 'meminfo.Cached', 'meminfo.SUnreclaim', 'meminfo.AnonPages'] });
  assert.ok(a.charts.some((c) => c.keys.includes(xss)), 'the leaking process is charted');
});

test('/api/report-data is exactly the data block the HTML report embeds; the report bundle is served', async () => {
  const d = await start();
  const r = await get(d.port, '/api/report-data');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const data = JSON.parse(r.body) as ReportData;
  const a = JSON.parse((await get(d.port, '/api/analysis')).body) as AnalysisResponse;
  assert.ok(a.analysis && a.lastSampleId !== null);
  // The report of the same analysis and table, as `memsleuth analyze --html` makes it.
  const built = tableFromRecording(rec.store, rec.writer.recordingId, 'x');
  assert.equal(built?.lastSampleId, a.lastSampleId, 'no sample arrived in between');
  const html = renderHtmlReport({ analysis: a.analysis, ...(built ? { table: built.table } : {}), title: 't', assets: { js: '', css: '' } });
  const block = /<script type="application\/json" id="memsleuth-data">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null';
  assert.deepStrictEqual(data, JSON.parse(block));
  assert.ok(data.composition && data.composition.groups.length > 0, 'composition');
  assert.ok(data.leaks.length > 0, 'leak charts');
  assert.ok(Object.keys(data.sparklines).some((k) => k.startsWith('proc')), 'sparklines of the process table');
  assert.equal((await get(d.port, '/api/report-data?recording=999')).status, 404);
  const js = await get(d.port, '/assets/report.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  assert.match(js.body, /MemsleuthReport/);
  assert.match(String((await get(d.port, '/assets/report.css')).headers['content-type']), /^text\/css/);
  const page = (await get(d.port, '/')).body;
  assert.ok(page.indexOf('/assets/report.js') >= 0 && page.indexOf('/assets/report.js') < page.indexOf('/assets/dashboard.js'), 'report bundle loads first');
});

test('SSE: samples appended by the writer arrive within a second, with the values asked for', async () => {
  const d = await start();
  const ac = new AbortController();
  const res = await fetch(`http://127.0.0.1:${d.port}/events?key=meminfo.MemAvailable&key=absent.key`, { signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const events: { event: string; data: unknown; at: number }[] = [];
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) as unknown, at: Date.now() });
      }
    }
  })();
  const waitFor = async (pred: () => boolean, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (Date.now() < end) { if (pred()) return true; await new Promise((r) => setTimeout(r, 10)); }
    return pred();
  };
  assert.ok(await waitFor(() => events.some((e) => e.event === 'hello'), 2000), 'hello');
  const latencies: number[] = [];
  for (let k = 0; k < 3; k++) {
    const before = events.filter((e) => e.event === 'sample').length;
    const t = Date.now();
    const id = rec.append();
    assert.ok(await waitFor(() => events.filter((e) => e.event === 'sample').length > before, 1000), `sample ${id} within 1 s`);
    const got = events.filter((e) => e.event === 'sample').at(-1) as { data: SampleEvent; at: number };
    latencies.push(got.at - t);
    assert.equal(got.data.sampleId, id);
    assert.deepStrictEqual(Object.keys(got.data.values), ['meminfo.MemAvailable', 'absent.key']);
    assert.equal(got.data.values['absent.key'], null);
    assert.equal(got.data.values['meminfo.MemAvailable'], rec.store.valuesAt(id).get('meminfo.MemAvailable'));
    assert.equal(got.data.sampleCount, rec.n);
  }
  assert.ok(Math.max(...latencies) < 1000, `latencies ${latencies.join(', ')} ms`);
  ac.abort();
  await pump;
});

test('/metrics: the latest value of each series and the verdicts, in valid exposition format', async () => {
  const d = await start();
  await get(d.port, '/api/analysis'); // fills the verdict cache a scrape reads
  const r = await get(d.port, '/metrics');
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const f = parseExposition(r.body);
  const last = rec.store.valuesAt(rec.store.timeline(rec.writer.recordingId).ids.at(-1) as number);
  const avail = f.get('memsleuth_meminfo_bytes')?.samples.find((s) => s.labels['field'] === 'MemAvailable');
  assert.equal(avail?.value, last.get('meminfo.MemAvailable'));
  const uss = f.get('memsleuth_process_uss_bytes')?.samples.find((s) => s.labels['pid'] === '4242');
  assert.equal(uss?.labels['comm'], XSS_COMM, 'label values escaped and read back exactly: the real name, not a rewritten one');
  assert.equal(f.get('memsleuth_verdict')?.samples.find((s) => s.value === 1)?.labels['verdict'], 'leak');
  assert.ok((f.get('memsleuth_leak_rate_bytes_per_second')?.samples.length ?? 0) > 0);
  const promtool = '/usr/bin/promtool';
  if (existsSync(promtool)) {
    const p = spawnSync(promtool, ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
  }
});

test('close() ends open event streams and frees the port', async () => {
  const d = await startDashboard({ dbPath: rec.dbPath });
  const res = await fetch(`http://127.0.0.1:${d.port}/events`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await d.close();
  const end = await reader.read().catch(() => ({ done: true }));
  assert.equal(end.done, true);
  await assert.rejects(fetch(`http://127.0.0.1:${d.port}/`));
});
