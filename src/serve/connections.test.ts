/**
 * The dashboard under hostile clients: idle and slow sockets are closed, a connection cap that makes room by
 * closing unauthorised sockets first, any loopback address as a bind, and /metrics without raw control bytes.
 * Deterministic: small timeouts, and each test waits for the event it expects, never for a time.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboard, type Dashboard } from './server.js';
import { makeRecording } from './testing.js';
import { openStore } from '../store/store.js';
import { processKey } from '../model/series.js';

const rec = makeRecording(5);
const open: Dashboard[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const d of open) await d.close();
  rec.cleanup();
});

async function start(opts: Partial<Parameters<typeof startDashboard>[0]> = {}, dbPath = rec.dbPath): Promise<Dashboard> {
  const d = await startDashboard({ dbPath, analysisRefreshSec: 0, ...opts });
  open.push(d);
  return d;
}

function get(host: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function rawSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  const s = connect(port, host);
  sockets.push(s);
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

// events.once would reject on the EPIPE a write to a closed socket raises: wait for 'close' alone.
const closed = (s: Socket): Promise<unknown> => (s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once('close', resolve)));

test('a socket that never sends a request is closed (idle timeout); so is one that sends its headers too slowly', async () => {
  const d = await start({ idleTimeoutMs: 200, headersTimeoutMs: 300 });
  const idle = await rawSocket(d.port);
  await closed(idle);
  const slow = await rawSocket(d.port);
  // A header line now and then keeps the socket busy (no idle timeout) but never finishes the headers.
  slow.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  const drip = setInterval(() => { if (!slow.destroyed) slow.write('X-Slow: 1\r\n'); }, 50);
  try {
    await closed(slow);
  } finally {
    clearInterval(drip);
  }
  assert.equal((await get('127.0.0.1', d.port, '/api/recordings', { host: `127.0.0.1:${d.port}` })).status, 200, 'the dashboard still answers');
});

test('connection cap: unauthorised idle sockets make room for an authorised client, whose stream stays open', async () => {
  const d = await start({ listen: '127.0.0.1', token: 'secret-token-1', maxConnections: 4, idleTimeoutMs: 60_000 });
  const flood: Socket[] = [];
  for (let i = 0; i < 12; i++) flood.push(await rawSocket(d.port));
  // Only the 4 newest can still be open: each new one closed the oldest unauthorised one.
  await Promise.all(flood.slice(0, 8).map(closed));
  const ok = await get('127.0.0.1', d.port, '/api/recordings', { authorization: 'Bearer secret-token-1' });
  assert.equal(ok.status, 200);
  // An authorised live stream, then another flood: the stream is never the one closed.
  const stream = await rawSocket(d.port);
  stream.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\nAuthorization: Bearer secret-token-1\r\n\r\n`);
  let got = '';
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => { got += c; });
  while (!got.includes('event: hello')) await once(stream, 'data');
  const more: Socket[] = [];
  for (let i = 0; i < 12; i++) more.push(await rawSocket(d.port));
  await Promise.all(more.slice(0, 9).map(closed));
  assert.equal(stream.destroyed, false, 'the authorised stream was closed to make room');
  assert.equal((await get('127.0.0.1', d.port, '/api/recordings', { authorization: 'Bearer wrong' })).status, 401);
});

test('--listen 127.0.0.2: answers under its own address (it answered 403 to everything)', async (t) => {
  let d: Dashboard;
  try {
    d = await start({ listen: '127.0.0.2' });
  } catch (e) {
    return t.skip(`cannot bind 127.0.0.2 here: ${(e as Error).message}`);
  }
  const r = await get('127.0.0.2', d.port, '/api/recordings', { host: `127.0.0.2:${d.port}` });
  assert.equal(r.status, 200, r.body);
  assert.equal((await get('127.0.0.2', d.port, '/api/recordings', { host: `evil.example:${d.port}` })).status, 403);
});

test('/metrics: a process named with ESC and BEL reaches the scrape as visible \\x1b, \\x07, never as raw bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-serve-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'rec.db');
  const store = openStore(dbPath);
  const w = store.beginRecording({ target: { name: 'board\x1b[2J' }, startedAtMs: 0, intervalSec: 1 });
  const evil = '\x1b]0;owned\x07\x9b';
  w.appendSample({ takenAtMs: 1000, uptimeSec: 1, bootId: 'b', values: new Map([['meminfo.MemTotal', 1], [`${processKey(evil, 7)}.uss`, 4096]]) });
  w.close();
  store.close();
  const d = await start({}, dbPath);
  const r = await get('127.0.0.1', d.port, '/metrics', { host: `127.0.0.1:${d.port}` });
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.body, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'a raw control byte in /metrics');
  assert.match(r.body, /comm="\\\\x1b\]0;owned\\\\x07\\\\x9b"/);
});
