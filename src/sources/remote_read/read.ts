/**
 * One instance's raw samples through Prometheus' remote read (POST /api/v1/read; messages.ts has the protocol).
 * memsleuth accepts STREAMED_XOR_CHUNKS first (frames decoded as they arrive, ~1-2 bytes a sample on the wire)
 * and SAMPLES second (one snappy block, ~15 bytes a sample); Prometheus 2.13 and later stream.
 *
 * A server that does not speak remote read answers 404, 400, 405, 415 or 501, or something that is not
 * protobuf: that is RemoteReadRefused, and the caller reads through query_range instead. An answer that starts
 * as remote read and then breaks (a checksum mismatch, a stream cut inside a frame, a malformed message) is a
 * TargetError with code 'remote-read-corrupt': what it says cannot be trusted, and the run stops with exit 2.
 */
import { TargetError } from '../../model/errors.js';
import { fleetNameRegex, NODE_SLAB_FAMILIES, seriesKeyOfMetric } from '../../model/prom_names.js';
import { ANALYSIS_MAX_POINTS, type SeriesTable } from '../../model/series_table.js';
import type { FleetReadOptions, PrometheusClient } from '../prometheus.js';
import { parseMatchers } from '../prometheus_matchers.js';
import { assembleTable, type RawSeries } from '../prometheus_table.js';
import {
  decodeChunkedFrame, decodeReadResponse, encodeReadRequest, FrameSplitter, MATCH, RESPONSE_SAMPLES, RESPONSE_STREAMED_XOR_CHUNKS,
  type LabelMatcher, type ReadQuery, type SeriesSamples,
} from './messages.js';

/** The server does not do remote read (the caller falls back to query_range). */
export class RemoteReadRefused extends Error {
  constructor(message: string) { super(message); this.name = 'RemoteReadRefused'; }
}

/** One series as read: times in ms and values, in order (staleness markers and samples out of range left out). */
export interface ReadSeries { labels: Record<string, string>; t: Float64Array; v: Float64Array; query: number }

export interface RemoteReadResult {
  /** Series in the order they arrived, parts of one series joined. */
  series: ReadSeries[];
  responseType: 'STREAMED_XOR_CHUNKS' | 'SAMPLES';
  bytes: number;
  frames: number;
  /** Things read past without harm (chunks of another encoding). */
  warnings: string[];
}

const escapeRe = (s: string): string => s.replace(/[\\.^$|?*+()[\]{}]/g, '\\$&');

/**
 * Sends one ReadRequest and reads its answer. Samples outside [startMs, endMs] (whole chunks reach past the
 * range) and NaN values (Prometheus' staleness markers, which query_range never returns) are left out.
 */
export async function remoteRead(client: PrometheusClient, queries: ReadQuery[], what: string,
  accepted: number[] = [RESPONSE_STREAMED_XOR_CHUNKS, RESPONSE_SAMPLES]): Promise<RemoteReadResult> {
  const body = encodeReadRequest(queries, accepted);
  const url = `${client.baseUrl}/api/v1/read`;
  const started = performance.now();
  let decodeMs = 0;
  let r: Response;
  try {
    r = await client.postImpl(url, body, {
      'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-read-version': '0.1.0',
    });
  } catch (err) {
    throw new TargetError(`Cannot reach Prometheus at "${client.baseUrl}": ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const type = r.headers.get('content-type') ?? '';
  if (!r.ok) {
    const text = (await r.text().catch(() => '')).trim().split('\n')[0]?.slice(0, 200) ?? '';
    throw new RemoteReadRefused(`remote read (POST /api/v1/read) answered HTTP ${r.status}${text ? `: ${text}` : ''}`);
  }
  const out: RemoteReadResult = { series: [], responseType: 'SAMPLES', bytes: 0, frames: 0, warnings: [] };
  // Parts of each series as they arrive (a long series spans frames), joined once at the end.
  const parts = new Map<string, { labels: Record<string, string>; query: number; parts: SeriesSamples[] }>();
  const errors: string[] = [];
  const add = (s: SeriesSamples, query: number): void => {
    const key = `${query}\u0000${JSON.stringify(s.labels)}`;
    const row = parts.get(key);
    if (row) row.parts.push(s);
    else parts.set(key, { labels: s.labels, query, parts: [s] });
  };
  const join = (): void => {
    for (const row of parts.values()) {
      const q = queries[row.query];
      const from = q?.startMs ?? -Infinity, to = q?.endMs ?? Infinity;
      let n = 0;
      for (const p of row.parts) n += p.t.length;
      const t = new Float64Array(n), v = new Float64Array(n);
      let k = 0;
      for (const p of row.parts) {
        for (let i = 0; i < p.t.length; i++) {
          const x = p.v[i] as number, tm = p.t[i] as number;
          if (Number.isNaN(x) || tm < from || tm > to) continue;
          t[k] = tm;
          v[k++] = x;
        }
      }
      out.series.push({ labels: row.labels, query: row.query, t: t.subarray(0, k), v: v.subarray(0, k) });
    }
    parts.clear();
  };
  const fromMs = Math.min(...queries.map((q) => q.startMs)), toMs = Math.max(...queries.map((q) => q.endMs));
  if (type.startsWith('application/x-streamed-protobuf')) {
    out.responseType = 'STREAMED_XOR_CHUNKS';
    let skipped = 0;
    const frames = new FrameSplitter((data) => {
      const d0 = performance.now();
      const f = decodeChunkedFrame(data, fromMs, toMs, add);
      skipped += f.skippedChunks;
      errors.push(...f.errors);
      decodeMs += performance.now() - d0;
    });
    if (r.body) {
      const reader = r.body.getReader();
      for (;;) {
        let piece: ReadableStreamReadResult<Uint8Array>;
        try {
          piece = await reader.read();
        } catch (err) {
          errors.push(`the answer broke off: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
          break;
        }
        if (piece.done) break;
        out.bytes += piece.value.length;
        frames.push(piece.value);
        if (frames.error !== undefined) { await reader.cancel().catch(() => undefined); break; }
      }
    }
    frames.end();
    if (frames.error !== undefined) errors.unshift(frames.error);
    out.frames = frames.frames;
    if (skipped > 0) out.warnings.push(`${skipped} chunks of an encoding other than XOR (native histograms) left out`);
  } else if (type.startsWith('application/x-protobuf')) {
    const buf = new Uint8Array(await r.arrayBuffer());
    out.bytes = buf.length;
    const d0 = performance.now();
    const d = decodeReadResponse(buf, (s, qi) => add(s, qi));
    decodeMs += performance.now() - d0;
    errors.push(...d.errors);
  } else {
    throw new RemoteReadRefused(`remote read (POST /api/v1/read) answered content type "${type}", not a protobuf answer`);
  }
  const j0 = performance.now();
  join();
  decodeMs += performance.now() - j0;
  const total = performance.now() - started;
  client.stats.requests++;
  client.stats.httpMs += total - decodeMs;
  client.stats.parseMs += decodeMs;
  client.stats.bytes += out.bytes;
  for (const s of out.series) client.stats.points += s.t.length;
  if (errors.length > 0) {
    throw new TargetError(`Prometheus at "${client.baseUrl}" sent a corrupt remote read answer for ${what}: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more faults)` : ''}; \`--read query\` reads through query_range instead`, 'remote-read-corrupt');
  }
  return out;
}

/** The median gap between consecutive samples of a series, seconds (0 with fewer than two). */
function medianGap(t: Float64Array): number {
  if (t.length < 2) return 0;
  const d = new Float64Array(t.length - 1);
  for (let i = 1; i < t.length; i++) d[i - 1] = (t[i] as number) - (t[i - 1] as number);
  d.sort();
  return d[Math.floor(d.length / 2)] as number;
}

/**
 * One instance's raw samples as a SeriesTable: the grid is the scrape interval (the median gap of its most
 * sampled series), each sample at its nearest slot; beyond ANALYSIS_MAX_POINTS slots, points are means of
 * consecutive slots (binCounts says how many), so a week at 15 s (40,320 samples a series) is held as 10,080
 * points, as the store path reads a long recording.
 */
export async function readInstanceRemote(client: PrometheusClient, instance: string, o: FleetReadOptions, slabCaches: readonly string[]): Promise<SeriesTable> {
  const common: LabelMatcher[] = [{ type: MATCH.EQ, name: 'instance', value: instance }, ...parseMatchers(o.match)];
  const startMs = Math.round(o.startSec * 1000), endMs = Math.round(o.endSec * 1000);
  const queries: ReadQuery[] = [{ startMs, endMs, matchers: [{ type: MATCH.RE, name: '__name__', value: fleetNameRegex() }, ...common] }];
  if (slabCaches.length > 0) {
    queries.push({ startMs, endMs, matchers: [
      { type: MATCH.RE, name: '__name__', value: NODE_SLAB_FAMILIES.join('|') }, { type: MATCH.RE, name: 'slab', value: slabCaches.map(escapeRe).join('|') }, ...common,
    ] });
  }
  const answer = await remoteRead(client, queries, `instance "${instance}"`);
  client.remoteRead.responseType = answer.responseType;
  const t0 = performance.now();
  const raw: RawSeries[] = [];
  let samples = 0;
  for (const s of answer.series.splice(0)) {
    for (let i = 0; i < s.t.length; i++) s.t[i] = (s.t[i] as number) / 1000;
    raw.push({ name: s.labels['__name__'] ?? '', labels: s.labels, t: s.t, v: s.v });
    samples += s.t.length;
  }
  const notes = [...answer.warnings];
  let ref: RawSeries | undefined;
  let minT = Infinity, maxT = -Infinity;
  for (const s of raw) {
    if (s.t.length === 0) continue;
    if (!ref || s.t.length > ref.t.length) ref = s;
    minT = Math.min(minT, s.t[0] as number);
    maxT = Math.max(maxT, s.t[s.t.length - 1] as number);
  }
  const gap = ref ? medianGap(ref.t) : 0;
  if (!ref || !(gap > 0)) {
    client.stats.parseMs += performance.now() - t0;
    const table = assembleTable([], instance, { originSec: o.startSec, intervalSec: o.stepSec, slots: 0, perPoint: 1 }, seriesKeyOfMetric, notes, 'prometheus');
    return table;
  }
  // Slots from the reference series' first sample, reaching back far enough for every series.
  const interval = Math.round(gap * 1000) / 1000;
  const refFirst = ref.t[0] as number;
  // One slot of slack at each end: a series half an interval out of phase may round either way (empty slots at the
  // ends are trimmed).
  const back = Math.max(0, Math.ceil((refFirst - minT) / interval - 0.5)) + 1;
  const originSec = refFirst - back * interval;
  const slots = Math.round((maxT - originSec) / interval) + 2;
  const perPoint = slots > ANALYSIS_MAX_POINTS ? Math.ceil(slots / ANALYSIS_MAX_POINTS) : 1;
  notes.push(`read through remote read (${answer.responseType}): ${samples} raw samples of ${raw.length} series, scraped every ${interval} s`);
  const refSamples = ref.t.length;
  const table = assembleTable(raw, instance, { originSec, intervalSec: interval, slots, perPoint, alignPhase: true }, seriesKeyOfMetric, notes, 'prometheus');
  if (perPoint > 1) {
    notes.push(`${refSamples} samples a series read as ${table.t.length} means of ${perPoint} consecutive samples (~${(perPoint * interval).toFixed(0)} s): trend tests and their intervals are computed on the means`);
  }
  client.stats.parseMs += performance.now() - t0;
  return table;
}
