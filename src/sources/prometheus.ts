/**
 * A fleet's memory history read back from Prometheus (or anything speaking its HTTP API: Thanos, VictoriaMetrics,
 * Mimir), one instance at a time, as the SeriesTable analysis takes (DESIGN.md, "prometheus (fleet) -> series").
 *
 *   instances: GET /api/v1/label/instance/values?match[]=node_memory_MemTotal_bytes{SEL}&match[]=...
 *   per instance: GET /api/v1/query_range?query={__name__=~"node_memory_(MemTotal|...)_bytes|memsleuth_...",instance="X",SEL}
 *                 and, where node_exporter's slabinfo collector runs, the top caches by growth over the range
 *                 (an instant query), then their object counts.
 *
 * or, with `read: 'remote'`, through remote read (POST /api/v1/read, remote_read.ts): every raw sample, as
 * Prometheus stores them, instead of one value per step.
 *
 * Prometheus returns at most 11,000 points per series and query: longer ranges are asked in chunks and joined.
 * The default step is range/2,000 rounded to whole minutes (5 min for 7 days): a week's trend does not need every
 * scrape, and at 15 s a thousand instances are 40 times the bytes to move. Each instance's table is kept only
 * until the caller is done with it, and at most `prefetch` instances are read ahead.
 */
import { InputError, TargetError } from '../model/errors.js';
import { fleetNameRegex, NODE_SLAB_FAMILIES, seriesKeyOfMetric, type PromLabels } from '../model/prom_names.js';
import type { SeriesTable } from '../model/series_table.js';
import { assembleTable, type RawSeries } from './prometheus_table.js';
import { readInstanceRemote, RemoteReadRefused } from './remote_read/read.js';

export const PROMETHEUS_SCHEME = 'prometheus+';
/** Prometheus refuses a query_range answer of more points than this per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** "prometheus+http://host:9090" -> "http://host:9090"; undefined when the source is not a Prometheus URL. */
export function prometheusBaseUrl(source: string): string | undefined {
  if (!source.startsWith(PROMETHEUS_SCHEME)) return undefined;
  const rest = source.slice(PROMETHEUS_SCHEME.length);
  let u: URL;
  try {
    u = new URL(rest);
  } catch {
    throw new InputError(`Cannot read "${source}": expected prometheus+http://HOST:PORT (the Prometheus server's URL)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError(`Cannot read "${source}": the URL after "prometheus+" must be http:// or https://`);
  return rest.replace(/\/+$/, '');
}

/**
 * The label matchers of --match, without braces: `{job="cameras",site=~"eu-.*"}` -> `job="cameras",site=~"eu-.*"`.
 * Only a bare matcher list is accepted (the reader adds its own metric names).
 */
export function parseSelector(text: string | undefined): string {
  if (text === undefined || text.trim() === '') return '';
  const s = text.trim();
  const m = /^\{(.*)\}$/s.exec(s);
  if (!m) throw new InputError(`Cannot read --match "${text}": expected label matchers in braces, e.g. '{job="cameras",site=~"eu-.*"}'`);
  const body = (m[1] ?? '').trim().replace(/,\s*$/, '');
  // name op "value" (value with escapes), comma separated.
  const matcher = /\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*/y;
  let pos = 0;
  while (pos < body.length) {
    matcher.lastIndex = pos;
    if (!matcher.exec(body)) throw new InputError(`Cannot read --match "${text}": "${body.slice(pos)}" is not a label matcher like job="cameras"`);
    pos = matcher.lastIndex;
    if (pos < body.length) {
      if (body[pos] !== ',') throw new InputError(`Cannot read --match "${text}": expected "," after a matcher, at "${body.slice(pos)}"`);
      pos++;
    }
  }
  return body;
}

/** Prometheus duration or seconds: "7d", "15s", "1h30m", "300". */
export function parsePromDuration(text: string, flag: string): number {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/y;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let pos = 0, total = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new InputError(`Cannot read ${flag} "${text}": expected a duration like 7d, 12h, 15s or 1h30m`);
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1);
    pos = re.lastIndex;
  }
  if (!(total > 0)) throw new InputError(`Cannot read ${flag} "${text}": the duration must be more than 0`);
  return total;
}

/** RFC 3339 time or Unix seconds. */
export function parsePromTime(text: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Number(text) * 1000;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new InputError(`Cannot read ${flag} "${text}": expected an RFC 3339 time (2026-12-07T10:00:00Z) or Unix seconds`);
  return ms;
}

/** A step of about range/2,000, in whole minutes (at least the 15 s of a default scrape). */
export function defaultStepSec(rangeSec: number): number {
  const s = rangeSec / 2000;
  return s <= 15 ? 15 : Math.max(60, Math.round(s / 60) * 60);
}

export interface ClientStats {
  requests: number;
  /** Wall time waiting for Prometheus: request sent to the last byte of the body. */
  httpMs: number;
  /** Time spent turning answers into arrays. */
  parseMs: number;
  bytes: number;
  /** Values read. */
  points: number;
}

interface MatrixSeries { metric: PromLabels; values: [number, string][] }
interface VectorSample { metric: PromLabels; value: [number, string] }
interface ApiAnswer { status: string; data?: unknown; error?: string; errorType?: string }

export type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;
/** A POST with a binary body (remote read); the global fetch by default. */
export type PostLike = (url: string, body: Uint8Array<ArrayBuffer>, headers: Record<string, string>) => Promise<Response>;

export class PrometheusClient {
  readonly stats: ClientStats = { requests: 0, httpMs: 0, parseMs: 0, bytes: 0, points: 0 };
  /** Remote read: unknown until the first answer; refused (with the server's reason) turns every read to query_range. */
  remoteRead: { state: 'unknown' | 'ok' | 'refused'; reason?: string; responseType?: string } = { state: 'unknown' };
  constructor(readonly baseUrl: string, private readonly fetchImpl: FetchLike = (u) => fetch(u),
    readonly postImpl: PostLike = (u, body, headers) => fetch(u, { method: 'POST', body, headers })) {}

  async get(path: string, params: [string, string][]): Promise<unknown> {
    const qs = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const url = `${this.baseUrl}${path}?${qs}`;
    const t0 = performance.now();
    let body: string;
    let status: number;
    try {
      const r = await this.fetchImpl(url);
      status = r.status;
      body = await r.text();
    } catch (err) {
      throw new TargetError(`Cannot reach Prometheus at "${this.baseUrl}": ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    const t1 = performance.now();
    this.stats.requests++;
    this.stats.httpMs += t1 - t0;
    this.stats.bytes += body.length;
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(body) as ApiAnswer;
    } catch {
      throw new TargetError(`Prometheus at "${this.baseUrl}" answered ${path} with HTTP ${status} and no JSON: "${body.slice(0, 120)}"`);
    } finally {
      this.stats.parseMs += performance.now() - t1;
    }
    if (answer.status !== 'success') {
      throw new TargetError(`Prometheus at "${this.baseUrl}" refused ${path}: ${answer.errorType ?? `HTTP ${status}`}: ${answer.error ?? 'no reason given'}`);
    }
    return answer.data;
  }

  async labelValues(label: string, matches: string[], startSec: number, endSec: number): Promise<string[]> {
    const data = await this.get(`/api/v1/label/${label}/values`, [...matches.map((m): [string, string] => ['match[]', m]), ['start', String(startSec)], ['end', String(endSec)]]);
    return Array.isArray(data) ? data.filter((x): x is string => typeof x === 'string') : [];
  }

  /** query_range over [start, end] at step, in chunks of at most MAX_POINTS_PER_SERIES points, joined per series. */
  async queryRange(query: string, startSec: number, endSec: number, stepSec: number): Promise<MatrixSeries[]> {
    const out = new Map<string, MatrixSeries>();
    const span = stepSec * (MAX_POINTS_PER_SERIES - 1);
    for (let from = startSec; from <= endSec; from += span + stepSec) {
      const to = Math.min(endSec, from + span);
      const data = await this.get('/api/v1/query_range', [['query', query], ['start', String(from)], ['end', String(to)], ['step', String(stepSec)]]) as { result?: MatrixSeries[] };
      for (const s of data.result ?? []) {
        const id = JSON.stringify(s.metric);
        const prev = out.get(id);
        if (prev) prev.values.push(...s.values);
        else out.set(id, s);
        this.stats.points += s.values.length;
      }
    }
    return [...out.values()];
  }

  async query(query: string, timeSec: number): Promise<VectorSample[]> {
    const data = await this.get('/api/v1/query', [['query', query], ['time', String(timeSec)]]) as { result?: VectorSample[] };
    return data.result ?? [];
  }
}

export interface FleetReadOptions {
  /** Label matchers without braces (parseSelector). */
  match: string;
  startSec: number;
  endSec: number;
  stepSec: number;
  /**
   * 'remote': raw samples through remote read (falls back to query_range when the server does not speak it);
   * 'query' (default): query_range at stepSec.
   */
  read?: 'remote' | 'query';
  /** Slab caches read per instance, ranked by growth over the range (node_exporter's slabinfo collector). */
  slabTop?: number;
  /** Instances known to export node_slabinfo_* (listSlabInstances); others are not asked. Undefined: ask each. */
  slabInstances?: ReadonlySet<string>;
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const withMatch = (matchers: string, extra: string): string => (matchers === '' ? extra : extra === '' ? matchers : `${extra},${matchers}`);

/**
 * The fleet's typical scrape interval, seconds: the median over instances of 600 s / samples of MemTotal in the
 * last 10 minutes of the range, among instances scraped through all of those 10 minutes (a sample in their first
 * minute); undefined when none was.
 */
export async function scrapeIntervalSec(client: PrometheusClient, o: FleetReadOptions): Promise<number | undefined> {
  const sel = (name: string, extra = ''): string => `${name}{${withMatch(o.match, extra)}}`;
  const per = (s: string): string => `(600 / count_over_time(${s}[10m]) and count_over_time(${s}[1m] offset 9m))`;
  const r = await client.query(`quantile(0.5, ${per(sel('node_memory_MemTotal_bytes'))} or ${per(sel('memsleuth_meminfo_bytes', 'field="MemTotal"'))})`, o.endSec);
  const v = Number(r[0]?.value[1]);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Every instance with memory series in the range: node_exporter's, the memsleuth exporter's, or both. */
export async function listInstances(client: PrometheusClient, o: FleetReadOptions): Promise<string[]> {
  const sel = (name: string, extra = ''): string => `${name}{${withMatch(o.match, extra)}}`;
  const matches = [sel('node_memory_MemTotal_bytes'), sel('memsleuth_meminfo_bytes', 'field="MemTotal"'), sel('memsleuth_process_uss_bytes')];
  const names = await client.labelValues('instance', matches, o.startSec, o.endSec);
  return [...new Set(names)].sort();
}

/** Instances where node_exporter's slabinfo collector runs (one question for the fleet instead of one per instance). */
export async function listSlabInstances(client: PrometheusClient, o: FleetReadOptions): Promise<Set<string>> {
  return new Set(await client.labelValues('instance', [`node_slabinfo_objects{${o.match}}`], o.startSec, o.endSec));
}

/** How one instance was read: 'remote-read' (raw samples) or 'query_range' (at the step). */
export type ReadMethod = 'remote-read' | 'query_range';

/**
 * One instance's memory history as a SeriesTable (t = 0 at the first point where it has data). With read
 * 'remote' it asks remote read first; a server that refuses it (404, 400, 415, ...: VictoriaMetrics, Thanos
 * Query and others do) is asked through query_range from then on, and the table's notes say so.
 */
export async function readInstance(client: PrometheusClient, instance: string, o: FleetReadOptions): Promise<SeriesTable & { read: ReadMethod }> {
  const notes: string[] = [];
  if (o.read === 'remote' && client.remoteRead.state !== 'refused') {
    try {
      const slabs = await rankNodeSlabs(client, instance, o);
      const t = await readInstanceRemote(client, instance, o, slabs);
      client.remoteRead.state = 'ok';
      return { ...t, read: 'remote-read' };
    } catch (err) {
      if (!(err instanceof RemoteReadRefused)) throw err;
      client.remoteRead = { state: 'refused', reason: err.message };
    }
  }
  if (o.read === 'remote') notes.push(`raw samples were asked, but ${client.remoteRead.reason ?? 'remote read was refused'}: read through query_range at ${o.stepSec} s steps`);
  return { ...(await readInstanceQuery(client, instance, o, notes)), read: 'query_range' };
}

async function readInstanceQuery(client: PrometheusClient, instance: string, o: FleetReadOptions, notes: string[]): Promise<SeriesTable> {
  const inst = `instance=${quote(instance)}`;
  const raw: RawSeries[] = [];
  const toRaw = (metric: PromLabels, values: [number, string][]): RawSeries => ({
    name: metric['__name__'] ?? '', labels: metric, t: Float64Array.from(values, (x) => x[0]), v: Float64Array.from(values, (x) => Number(x[1])),
  });
  const main = await client.queryRange(`{__name__=~${quote(fleetNameRegex())},${withMatch(o.match, inst)}}`, o.startSec, o.endSec, o.stepSec);
  const t0 = performance.now();
  for (const s of main) raw.push(toRaw(s.metric, s.values));
  client.stats.parseMs += performance.now() - t0;
  const slabTop = o.slabTop ?? 20;
  if (slabTop > 0 && (o.slabInstances === undefined || o.slabInstances.has(instance))) {
    const caches = await rankNodeSlabs(client, instance, o);
    if (caches.length > 0) {
      const re = caches.map((c) => c.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&')).join('|');
      const rows = await client.queryRange(`{__name__=~${quote(NODE_SLAB_FAMILIES.join('|'))},${withMatch(o.match, inst)},slab=~${quote(re)}}`, o.startSec, o.endSec, o.stepSec);
      for (const r of rows) raw.push(toRaw(r.metric, r.values));
    }
  }
  // query_range answers on the step grid: one point per step from startSec, never binned.
  const t1 = performance.now();
  const table = assembleTable(raw, instance, { originSec: o.startSec, intervalSec: o.stepSec, slots: Math.floor((o.endSec - o.startSec) / o.stepSec) + 1, perPoint: 1 },
    seriesKeyOfMetric, notes, 'prometheus');
  client.stats.parseMs += performance.now() - t1;
  return table;
}

/**
 * node_exporter's slabinfo collector exports every cache (two hundred and more): only the `top` caches that grew
 * most over the range are read, by object bytes (objects x object size). An instant query ranks them.
 */
async function rankNodeSlabs(client: PrometheusClient, instance: string, o: FleetReadOptions): Promise<string[]> {
  const top = o.slabTop ?? 20;
  if (top <= 0 || (o.slabInstances !== undefined && !o.slabInstances.has(instance))) return [];
  const sel = (name: string): string => `${name}{${withMatch(o.match, `instance=${quote(instance)}`)}}`;
  const range = `${Math.round(o.endSec - o.startSec)}s`;
  const ranked = await client.query(`topk(${top}, delta(${sel('node_slabinfo_objects')}[${range}]) * on(instance, slab) group_left ${sel('node_slabinfo_object_size_bytes')})`, o.endSec);
  return ranked.map((r) => r.metric['slab']).filter((s): s is string => s !== undefined);
}

export interface FleetItem { instance: string; table?: SeriesTable; read?: ReadMethod; error?: string }

/**
 * Instances' tables in order, reading up to `prefetch` ahead of the consumer (Prometheus answers while memsleuth
 * judges). A failed instance yields its error instead of a table, and the fleet goes on.
 */
export async function* readFleet(client: PrometheusClient, instances: readonly string[], o: FleetReadOptions, prefetch = 2):
  AsyncGenerator<FleetItem> {
  const pending: Promise<FleetItem>[] = [];
  let next = 0;
  const start = (): void => {
    const instance = instances[next++] as string;
    const p = readInstance(client, instance, o).then(({ read, ...table }): FleetItem => ({ instance, table, read }), (err: Error): FleetItem => {
      // A corrupt remote read answer is not one instance's problem: the whole read stops (exit 2), saying why.
      if (err instanceof TargetError && err.code === 'remote-read-corrupt') throw err;
      return { instance, error: err.message };
    });
    // Awaited in turn below; a rejection of one read ahead, after the first has ended the run, is not unhandled.
    p.catch(() => undefined);
    pending.push(p);
  };
  while (next < instances.length && pending.length < prefetch) start();
  while (pending.length > 0) {
    const r = await (pending.shift() as Promise<FleetItem>);
    if (next < instances.length) start();
    yield r;
  }
}
