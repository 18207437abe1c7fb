/**
 * A fleet's memory history read back from Prometheus (or anything speaking its HTTP API: Thanos, VictoriaMetrics,
 * Mimir), one instance at a time, as the SeriesTable analysis takes (DESIGN.md, "prometheus (fleet) -> series").
 *
 *   instances: GET /api/v1/label/instance/values?match[]=node_memory_MemTotal_bytes{SEL}&match[]=...
 *   per instance: GET /api/v1/query_range?query={__name__=~"node_memory_(MemTotal|...)_bytes|memsleuth_...",instance="X",SEL}
 *                 and, where node_exporter's slabinfo collector runs, the top caches by growth over the range
 *                 (an instant query), then their object counts.
 *
 * Prometheus returns at most 11,000 points per series and query: longer ranges are asked in chunks and joined.
 * The default step is range/2,000 rounded to whole minutes (5 min for 7 days): a week's trend does not need every
 * scrape, and at 15 s a thousand instances are 40 times the bytes to move. Each instance's table is kept only
 * until the caller is done with it, and at most `prefetch` instances are read ahead.
 */
import { InputError, TargetError } from '../model/errors.js';
import { fleetNameRegex, NODE_SLAB_FAMILIES, seriesKeyOfMetric, type PromLabels } from '../model/prom_names.js';
import { keyPart } from '../model/series.js';
import type { SeriesTable } from '../model/series_table.js';

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

export class PrometheusClient {
  readonly stats: ClientStats = { requests: 0, httpMs: 0, parseMs: 0, bytes: 0, points: 0 };
  constructor(readonly baseUrl: string, private readonly fetchImpl: FetchLike = (u) => fetch(u)) {}

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
  /** Slab caches read per instance, ranked by growth over the range (node_exporter's slabinfo collector). */
  slabTop?: number;
  /** Instances known to export node_slabinfo_* (listSlabInstances); others are not asked. Undefined: ask each. */
  slabInstances?: ReadonlySet<string>;
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
const withMatch = (matchers: string, extra: string): string => (matchers === '' ? extra : extra === '' ? matchers : `${extra},${matchers}`);

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

/** One instance's memory history as a SeriesTable (t = 0 at the first step where it has data). */
export async function readInstance(client: PrometheusClient, instance: string, o: FleetReadOptions): Promise<SeriesTable> {
  const inst = `instance=${quote(instance)}`;
  const steps = Math.floor((o.endSec - o.startSec) / o.stepSec) + 1;
  const series = new Map<string, Float64Array>();
  const notes: string[] = [];
  const put = (key: string, values: [number, string][], scale = 1): void => {
    let v = series.get(key);
    if (!v) { v = new Float64Array(steps).fill(NaN); series.set(key, v); }
    for (const [ts, x] of values) {
      const i = Math.round((ts - o.startSec) / o.stepSec);
      if (i >= 0 && i < steps) v[i] = Number(x) * scale;
    }
  };
  const main = await client.queryRange(`{__name__=~${quote(fleetNameRegex())},${withMatch(o.match, inst)}}`, o.startSec, o.endSec, o.stepSec);
  const t0 = performance.now();
  let boot: [number, string][] | undefined;
  for (const s of main) {
    const name = s.metric['__name__'] ?? '';
    if (name === 'node_boot_time_seconds' || name === 'memsleuth_boot_time_seconds') { if (!boot) boot = s.values; continue; }
    const key = seriesKeyOfMetric(name, s.metric);
    // memsleuth's own meminfo and node_exporter's may both be there: the first one read wins, they are the same file.
    if (key !== undefined && !series.has(key)) put(key, s.values);
  }
  client.stats.parseMs += performance.now() - t0;
  const slabTop = o.slabTop ?? 20;
  if (slabTop > 0 && (o.slabInstances === undefined || o.slabInstances.has(instance))) await readNodeSlabs(client, inst, o, slabTop, put);

  // Trim to the steps where the instance has data, and start at its last boot when it rebooted in the range.
  let first = steps, last = -1;
  for (const v of series.values()) {
    for (let i = 0; i < steps; i++) if (Number.isFinite(v[i] as number)) { if (i < first) first = i; break; }
    for (let i = steps - 1; i >= 0; i--) if (Number.isFinite(v[i] as number)) { if (i > last) last = i; break; }
  }
  if (boot && boot.length > 1) {
    let prev = Number(boot[0]?.[1]);
    let boots = 1;
    for (const [ts, x] of boot) {
      const b = Number(x);
      if (Math.abs(b - prev) > 60) {
        boots++;
        const i = Math.round((ts - o.startSec) / o.stepSec);
        if (i > first) first = i;
      }
      prev = b;
    }
    if (boots > 1) notes.push(`${boots} boots in the range (the boot time changed): only the last boot is analysed`);
  }
  if (last < first) return { t: new Float64Array(0), series: new Map(), boots: [], gaps: [], meta: { source: instance, intervalSec: o.stepSec, timeSource: 'prometheus', notes } };
  const n = last - first + 1;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = i * o.stepSec;
  for (const [k, v] of series) series.set(k, v.slice(first, last + 1));
  return {
    t, series, startedAtMs: (o.startSec + first * o.stepSec) * 1000, boots: [{ fromIndex: 0, toIndex: n - 1 }], gaps: [],
    meta: { source: instance, intervalSec: o.stepSec, timeSource: 'prometheus', notes },
  };
}

/**
 * node_exporter's slabinfo collector exports every cache (two hundred and more): only the `top` caches that grew
 * most over the range are read, by object bytes (objects x object size).
 */
async function readNodeSlabs(client: PrometheusClient, inst: string, o: FleetReadOptions, top: number,
  put: (key: string, values: [number, string][], scale?: number) => void): Promise<void> {
  const sel = (name: string): string => `${name}{${withMatch(o.match, inst)}}`;
  const range = `${Math.round(o.endSec - o.startSec)}s`;
  const ranked = await client.query(`topk(${top}, delta(${sel('node_slabinfo_objects')}[${range}]) * on(instance, slab) group_left ${sel('node_slabinfo_object_size_bytes')})`, o.endSec);
  if (ranked.length === 0) return;
  const caches = ranked.map((r) => r.metric['slab']).filter((s): s is string => s !== undefined);
  const re = caches.map((c) => c.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&')).join('|');
  const rows = await client.queryRange(`{__name__=~${quote(NODE_SLAB_FAMILIES.join('|'))},${withMatch(o.match, inst)},slab=~${quote(re)}}`, o.startSec, o.endSec, o.stepSec);
  const size = new Map<string, number>();
  for (const r of rows) {
    if (r.metric['__name__'] === 'node_slabinfo_object_size_bytes') {
      const last = r.values[r.values.length - 1];
      if (last) size.set(r.metric['slab'] ?? '', Number(last[1]));
    }
  }
  for (const r of rows) {
    const cache = r.metric['slab'] ?? '';
    const name = r.metric['__name__'];
    const bytes = size.get(cache);
    if (bytes === undefined) continue;
    const base = `slab.${keyPart(cache)}`;
    if (name === 'node_slabinfo_objects') put(`${base}.bytes`, r.values, bytes);
    else if (name === 'node_slabinfo_active_objects') { put(`${base}.active_bytes`, r.values, bytes); put(`${base}.objs`, r.values); }
  }
}

/**
 * Instances' tables in order, reading up to `prefetch` ahead of the consumer (Prometheus answers while memsleuth
 * judges). A failed instance yields its error instead of a table, and the fleet goes on.
 */
export async function* readFleet(client: PrometheusClient, instances: readonly string[], o: FleetReadOptions, prefetch = 2):
  AsyncGenerator<{ instance: string; table?: SeriesTable; error?: string }> {
  const pending: Promise<{ instance: string; table?: SeriesTable; error?: string }>[] = [];
  let next = 0;
  const start = (): void => {
    const instance = instances[next++] as string;
    pending.push(readInstance(client, instance, o).then((table) => ({ instance, table }), (err: Error) => ({ instance, error: err.message })));
  };
  while (next < instances.length && pending.length < prefetch) start();
  while (pending.length > 0) {
    const r = await (pending.shift() as Promise<{ instance: string; table?: SeriesTable; error?: string }>);
    if (next < instances.length) start();
    yield r;
  }
}
