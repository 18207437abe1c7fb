/**
 * The live dashboard and Prometheus endpoint of a recording file (`memsleuth serve --db FILE`,
 * `memsleuth watch --ui`): node:http, server-sent events, nothing but its own page, assets and API.
 *
 *   const d = await startDashboard({ dbPath: 'cam-01.db' });          // 127.0.0.1, no token needed
 *   const d = await startDashboard({ dbPath, listen: '0.0.0.0' });    // token generated: d.url carries it
 *   ...; await d.close();
 *
 * Routes (GET and HEAD only): /  /assets/<bundle file>  /api/recordings  /api/series  /api/analysis
 * /api/report-data  /events (SSE)  /metrics. /api/report-data is the data block the HTML report embeds
 * (buildReportData of the cached analysis and its table); the page draws it with the report's own bundle
 * (/assets/report.js, global MemsleuthReport), so the dashboard shows the report's views, refreshed live. Anything else is 404. The recorder is another process writing the same file: the
 * server holds one read-only connection and polls it for new samples every `pollMs` (250 ms), so a sample
 * reaches the browser within about a quarter of a second of its commit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { AddressInfo, Socket } from 'node:net';
import { InputError } from '../model/errors.js';
import { openStore, type Store } from '../store/store.js';
import type { RecordingInfo } from '../store/reader.js';
import { AnalysisCache, type AnalysisRunner } from './analysis.js';
import {
  API_VERSION, MAX_KEYS_PER_REQUEST, MAX_POINTS,
  type AnalysisEvent, type HelloEvent, type RecordingSummary, type RecordingsResponse, type SampleEvent, type SeriesResponse,
} from './api_types.js';
import { allowedHosts, bearer, cookieName, generateToken, isLoopback, readCookie, tokenEquals } from './auth.js';
import { LiveFeed, type LiveSample } from './live.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { dashboardPage } from './page.js';
import { readColumns, tableFromRecording } from './store_table.js';
import { buildReportData } from '../report/html/render.js';
import type { ReportData } from '../report/html/report_data.js';

export interface DashboardOptions {
  dbPath: string;
  /** Address to bind; default 127.0.0.1. Anything but loopback requires a token (generated when absent). */
  listen?: string;
  /** Default 0: any free port. */
  port?: number;
  token?: string;
  /** Recording shown by default; default the last one of the file (checked again as recordings start). */
  recordingId?: number;
  /** Store poll period for live updates. Default 250 ms. */
  pollMs?: number;
  /** Analysis is recomputed at most this often. Default 10 s. */
  analysisRefreshSec?: number;
  /** Where the client bundles live (dashboard.js, dashboard.css, report.js, report.css). Default dist/client/. */
  assetsDir?: string;
  /** Replaces the worker-thread analysis (tests). */
  analysisRunner?: AnalysisRunner;
  /** A client must have sent its request headers within this time. Default 10 s. */
  headersTimeoutMs?: number;
  /** A connection with no traffic either way for this long is closed (live streams send a heartbeat). Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * Open connections at most. Over it, the oldest connection that has not yet made an authorised request is
   * closed to make room (idle sockets cannot lock authorised users out); when all are authorised, the new one
   * is refused. Default 200 (a process often has 1024 descriptors, sometimes 512).
   */
  maxConnections?: number;
}

export interface Dashboard {
  /** Open this in a browser; carries `?token=` when a token is required. */
  url: string;
  /** Address and port actually bound. */
  address: string;
  port: number;
  token?: string;
  close(): Promise<void>;
}

/** Files the page may load, by URL name: nothing else under /assets/ exists. */
const ASSETS: Record<string, string> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  // The HTML report's browser bundle (tools/bundle_client.ts): the dashboard draws the report's views with it.
  'report.js': 'text/javascript; charset=utf-8',
  'report.css': 'text/css; charset=utf-8',
};

const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../client/', import.meta.url));

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const HEARTBEAT_MS = 15_000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const listen = options.listen ?? '127.0.0.1';
  const loopback = isLoopback(listen);
  if (options.token !== undefined && !/^[\x21-\x7e]{8,}$/.test(options.token)) {
    throw new InputError('Cannot use --token: it must be at least 8 printable ASCII characters without spaces');
  }
  const token = options.token ?? (loopback ? undefined : generateToken());
  const store = openStore(options.dbPath, { readonly: true });
  const d = new DashboardServer(store, options, token, loopback);
  try {
    await d.listen(listen, options.port ?? 0);
  } catch (e) {
    store.close();
    throw e;
  }
  return d.handle();
}

class DashboardServer {
  private readonly server: Server;
  private readonly feeds = new Map<number, LiveFeed>();
  private readonly streams = new Set<ServerResponse>();
  /** Open connections, oldest first (a Set keeps insertion order); those that made an authorised request. */
  private readonly sockets = new Set<Socket>();
  private readonly trusted = new WeakSet<Socket>();
  private readonly analysis: AnalysisCache;
  private readonly assetCache = new Map<string, Buffer>();
  private readonly assetsDir: string;
  private readonly pollMs: number;
  private port = 0;
  private address = '';
  private closed = false;

  constructor(private readonly store: Store, private readonly options: DashboardOptions, private readonly token: string | undefined, private readonly loopback: boolean) {
    this.pollMs = options.pollMs ?? 250;
    this.assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
    this.analysis = new AnalysisCache(options.dbPath, options.analysisRefreshSec ?? 10, options.analysisRunner);
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    this.server = createServer({
      headersTimeout,
      // Node checks the header and request timeouts on this period: at most a fifth of the timeout late.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 5))),
      requestTimeout: Math.max(headersTimeout, 30_000),
      keepAliveTimeout: 5_000,
    }, (req, res) => this.onRequest(req, res));
    const idle = options.idleTimeoutMs ?? 60_000;
    const cap = options.maxConnections ?? 200;
    this.server.on('connection', (s: Socket) => {
      if (this.sockets.size >= cap && !this.makeRoom()) { s.destroy(); return; }
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
      s.setTimeout(idle, () => s.destroy());
    });
  }

  /** Closes the oldest connection not yet authorised; false when every open one is. */
  private makeRoom(): boolean {
    for (const s of this.sockets) {
      if (this.trusted.has(s)) continue;
      this.sockets.delete(s);
      s.destroy();
      return true;
    }
    return false;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new InputError(`Cannot listen on "${host}:${port}": ${e.message}`, 'listen'));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        this.port = a.port;
        this.address = a.address;
        resolve();
      });
    });
  }

  handle(): Dashboard {
    const host = urlHost(this.address);
    const url = `http://${host}:${this.port}/${this.token !== undefined ? `?token=${encodeURIComponent(this.token)}` : ''}`;
    return {
      url, address: this.address, port: this.port, ...(this.token !== undefined ? { token: this.token } : {}),
      close: () => this.close(),
    };
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.feeds.values()) f.stop();
    for (const t of this.trailing.values()) clearTimeout(t);
    for (const r of this.streams) r.end();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      for (const s of this.sockets) s.destroy();
    });
    await this.analysis.close();
    this.store.close();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    setSecurityHeaders(res);
    this.route(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof InputError ? 400 : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (res.headersSent) { res.destroy(); return; }
      sendJson(res, status, { error: message });
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'Method not allowed\n');
    }
    const raw = req.url ?? '/';
    // Only origin-form paths; "..", "//" and encoded separators never name a file here, so they are 404.
    if (!raw.startsWith('/') || raw.startsWith('//')) return sendText(res, 404, 'Not found\n');
    const url = new URL(raw, 'http://dashboard.invalid');
    const path = url.pathname;

    if (!this.authorized(req, res, url)) return;
    this.trusted.add(req.socket);
    if (path === '/' && this.token !== undefined && url.searchParams.has('token')) {
      // The token is in the cookie now: drop it from the address bar and history.
      res.setHeader('Location', '/');
      return sendText(res, 303, 'See /\n');
    }

    const rawPath = raw.split('?')[0] ?? '';
    if (rawPath.includes('..') || /%2e|%2f|%5c/i.test(rawPath)) return sendText(res, 404, 'Not found\n');
    if (path === '/') {
      return sendHtml(res, dashboardPage({ js: '/assets/dashboard.js', css: '/assets/dashboard.css', reportJs: '/assets/report.js', reportCss: '/assets/report.css' }, this.currentRecordingId()));
    }
    if (path.startsWith('/assets/')) return this.asset(res, path.slice('/assets/'.length));
    if (path === '/api/recordings') return sendJson(res, 200, this.recordings());
    if (path === '/api/series') return sendJson(res, 200, this.series(url));
    if (path === '/api/analysis') {
      const id = this.recordingParam(url);
      return sendJson(res, 200, await this.analysis.get(id, this.feed(id).lastSampleId));
    }
    if (path === '/api/report-data') return sendJson(res, 200, await this.reportData(url));
    if (path === '/events') return this.events(req, res, url);
    if (path === '/metrics') return this.metrics(res);
    return sendText(res, 404, 'Not found\n');
  }

  private authorized(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (this.token === undefined) {
      if (this.loopback && !allowedHosts(this.port, this.address).has((req.headers.host ?? '').toLowerCase())) {
        sendText(res, 403, 'Forbidden: unexpected Host header (open the dashboard through 127.0.0.1 or localhost)\n');
        return false;
      }
      return true;
    }
    const name = cookieName(this.port);
    const query = url.searchParams.get('token');
    if (query !== null && tokenEquals(query, this.token)) {
      res.setHeader('Set-Cookie', `${name}=${encodeURIComponent(this.token)}; HttpOnly; SameSite=Strict; Path=/`);
      return true;
    }
    const fromHeader = bearer(req);
    const fromCookie = readCookie(req, name);
    const given = fromHeader ?? (fromCookie !== undefined ? safeDecode(fromCookie) : undefined);
    if (given !== undefined && tokenEquals(given, this.token)) return true;
    res.setHeader('WWW-Authenticate', 'Bearer realm="memsleuth"');
    sendText(res, 401, 'Unauthorized: open the URL with ?token= that memsleuth printed, or send "Authorization: Bearer TOKEN"\n');
    return false;
  }

  private asset(res: ServerResponse, name: string): void {
    const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (type === undefined) return sendText(res, 404, 'Not found\n');
    let body = this.assetCache.get(name);
    if (!body) {
      try {
        body = readFileSync(`${this.assetsDir}/${name}`);
      } catch {
        return sendText(res, 404, `Not found: the client bundle "${name}" is not built\n`);
      }
      this.assetCache.set(name, body);
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
    res.end(body);
  }

  private recordings(): RecordingsResponse {
    return { apiVersion: API_VERSION, recordings: this.store.listRecordings().map(summary), current: this.currentRecordingId() };
  }

  private currentRecordingId(): number | null {
    if (this.options.recordingId !== undefined) return this.options.recordingId;
    const recs = this.store.listRecordings();
    return recs[recs.length - 1]?.id ?? null;
  }

  private recordingParam(url: URL): number {
    const p = url.searchParams.get('recording');
    const id = p === null || p === '' ? this.currentRecordingId() : Number(p);
    if (id === null) throw new HttpError(404, `"${this.options.dbPath}" holds no recording yet`);
    if (!Number.isSafeInteger(id) || !this.store.listRecordings().some((r) => r.id === id)) {
      throw new HttpError(404, `No recording "${p ?? ''}" in "${this.options.dbPath}"`);
    }
    return id;
  }

  private series(url: URL): SeriesResponse {
    const id = this.recordingParam(url);
    const keys = keysParam(url);
    if (keys.length === 0) throw new HttpError(400, 'Missing "key": name at least one series');
    const fromMs = numParam(url, 'from');
    const toMs = numParam(url, 'to');
    const points = Math.min(MAX_POINTS, Math.max(1, numParam(url, 'points') ?? 1000));
    const range = { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
    const r = readColumns(this.store, id, keys, range, points);
    return { recordingId: id, fromMs: fromMs ?? null, toMs: toMs ?? null, ...r };
  }

  /** The report's data block for the cached analysis; built here from the store when the runner made none. */
  private async reportData(url: URL): Promise<ReportData> {
    const id = this.recordingParam(url);
    const { response, reportData } = await this.analysis.getWithReportData(id, this.feed(id).lastSampleId);
    if (reportData) return reportData;
    const built = response.analysis ? tableFromRecording(this.store, id, `${this.options.dbPath} (recording ${id})`) : undefined;
    return buildReportData(response.analysis ?? undefined, built?.table);
  }

  private feed(recordingId: number): LiveFeed {
    let f = this.feeds.get(recordingId);
    if (!f) {
      f = new LiveFeed(this.store, recordingId, this.pollMs);
      this.feeds.set(recordingId, f);
    }
    return f;
  }

  private events(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const id = this.recordingParam(url);
    const keys = keysParam(url);
    const feed = this.feed(id);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    if (req.method === 'HEAD') { res.end(); return; }
    res.socket?.setNoDelay(true);
    this.streams.add(res);
    const send = (event: string, data: unknown): void => { res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`); };
    res.write('retry: 1000\n\n');
    send('hello', { recordingId: id, lastSampleId: feed.lastSampleId, pollMs: this.pollMs } satisfies HelloEvent);
    const unsubscribe = feed.subscribe((s: LiveSample) => {
      const values: Record<string, number | null> = {};
      for (const k of keys) values[k] = s.values.get(k) ?? null;
      send('sample', { recordingId: id, sampleId: s.sampleId, takenAtMs: s.takenAtMs, sampleCount: s.sampleCount, values } satisfies SampleEvent);
      this.refreshAnalysis(id, s.sampleId);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const onAnalysis = (e: AnalysisEvent): void => { if (e.recordingId === id) send('analysis', e); };
    this.analysisListeners.add(onAnalysis);
    res.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.analysisListeners.delete(onAnalysis);
      this.streams.delete(res);
    });
  }

  private readonly analysisListeners = new Set<(e: AnalysisEvent) => void>();

  /** Retries of analyses that were not due when their samples arrived, by recording. */
  private readonly trailing = new Map<number, NodeJS.Timeout>();

  /**
   * New samples arrived: recompute when due and tell the browsers. A sample that lands while an analysis runs
   * or before the refresh period is over gets a trailing retry, so the last samples are analysed too.
   */
  private refreshAnalysis(recordingId: number, lastSampleId: number): void {
    this.analysis.refreshIfDue(recordingId, lastSampleId).then((r) => {
      if (this.closed) return;
      if (!r) { this.retryLater(recordingId, lastSampleId); return; }
      const e: AnalysisEvent = { recordingId, computedAtMs: r.computedAtMs, verdict: r.analysis?.verdict ?? null };
      for (const fn of this.analysisListeners) fn(e);
    }, () => undefined);
  }

  private retryLater(recordingId: number, lastSampleId: number): void {
    if (this.trailing.has(recordingId)) return;
    const timer = setTimeout(() => {
      this.trailing.delete(recordingId);
      if (this.closed) return;
      const latest = this.feeds.get(recordingId)?.lastSampleId ?? lastSampleId;
      // Caught up (and nothing running that could be behind it): done.
      if (this.analysis.peek(recordingId)?.lastSampleId === latest && !this.analysis.running(recordingId)) return;
      this.refreshAnalysis(recordingId, latest);
    }, Math.max(250, this.analysis.refreshSec * 1000));
    timer.unref();
    this.trailing.set(recordingId, timer);
  }

  private metrics(res: ServerResponse): void {
    const id = this.currentRecordingId();
    if (id === null) {
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
      res.end('');
      return;
    }
    const rec = this.store.listRecordings().find((r) => r.id === id) as RecordingInfo;
    const tl = this.store.timeline(id);
    const lastId = tl.ids[tl.ids.length - 1];
    const latest = lastId === undefined ? new Map<string, number>() : this.store.valuesAt(lastId);
    // Verdicts from the cache; a scrape never waits for an analysis, it starts one when due.
    const cached = this.analysis.peek(id);
    this.refreshAnalysis(id, lastId ?? 0);
    const body = renderMetrics({
      recording: { id, target: rec.target.name, sampleCount: rec.sampleCount, lastSampleMs: rec.lastSampleMs ?? null },
      latest, analysis: cached?.analysis ?? null, analysisAtMs: cached?.computedAtMs ?? null,
    });
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    res.end(body);
  }
}

function summary(r: RecordingInfo): RecordingSummary {
  return {
    id: r.id, target: { name: r.target.name, via: r.target.via ?? null }, startedAtMs: r.startedAtMs, intervalSec: r.intervalSec,
    endedAtMs: r.endedAtMs ?? null, sampleCount: r.sampleCount, firstSampleMs: r.firstSampleMs ?? null, lastSampleMs: r.lastSampleMs ?? null,
  };
}

function keysParam(url: URL): string[] {
  const keys = [...new Set(url.searchParams.getAll('key').filter((k) => k !== ''))];
  if (keys.length > MAX_KEYS_PER_REQUEST) throw new HttpError(400, `Too many keys: ${keys.length} (at most ${MAX_KEYS_PER_REQUEST})`);
  return keys;
}

function numParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `Cannot read "${name}" "${v}": not a number`);
  return n;
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** The host to print in the URL: a wildcard bind is reached through the machine's first external address. */
function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
    }
    return '127.0.0.1';
  }
  return address.includes(':') ? `[${address}]` : address;
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendHtml(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}
