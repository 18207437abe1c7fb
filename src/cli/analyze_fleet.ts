/**
 * `memsleuth analyze prometheus+http://HOST:9090 [--match SELECTOR] [--range 7d] [--step 5m]`: every instance of a
 * fleet judged from Prometheus' history, one at a time on all cores, ranked by leak rate.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, TargetError } from '../model/errors.js';
import type { Analysis } from '../model/analysis.js';
import type { SeriesTable } from '../model/series_table.js';
import type { FleetRow } from '../model/fleet.js';
import type { FleetRunStats } from '../report/fleet.js';
import { EXIT_LEAK, EXIT_OK } from './command.js';

export interface FleetFlags {
  match?: string;
  range?: string;
  step?: string;
  end?: string;
  json?: boolean;
  failOn?: string;
  html?: string;
  metricsOut?: string;
  push?: string;
  workers?: string;
  slabTop?: string;
  all?: boolean;
  read?: string;
}

/** A file name for an instance's own report: "cam-01:9100" -> "cam-01_9100.html". */
export function instanceFileName(instance: string, taken: Set<string>): string {
  const base = instance.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'instance';
  let name = `${base}.html`;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}.html`;
  taken.add(name);
  return name;
}

export async function runFleetAnalyze(baseUrl: string, source: string, flags: FleetFlags): Promise<number> {
  if (flags.failOn !== undefined && flags.failOn !== 'leak' && flags.failOn !== 'inconclusive') {
    throw new InputError(`Cannot read --fail-on "${flags.failOn}": expected "leak" or "inconclusive"`);
  }
  const src = await import('../sources/prometheus.js');
  const rangeSec = src.parsePromDuration(flags.range ?? '7d', '--range');
  const stepSec = flags.step !== undefined ? src.parsePromDuration(flags.step, '--step') : src.defaultStepSec(rangeSec);
  const endMs = flags.end !== undefined ? src.parsePromTime(flags.end, '--end') : Date.now();
  const workers = flags.workers !== undefined ? Number(flags.workers) : undefined;
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new InputError(`Cannot read --workers "${flags.workers}": expected a whole number (0: judge on the main thread)`);
  const slabTop = flags.slabTop !== undefined ? Number(flags.slabTop) : 20;
  if (!(Number.isInteger(slabTop) && slabTop >= 0)) throw new InputError(`Cannot read --slab-top "${flags.slabTop}": expected a whole number`);
  // query_range answers on a grid aligned to the step; raw samples need no alignment (whole seconds).
  const endSec = flags.read === 'remote' ? Math.floor(endMs / 1000) : Math.floor(endMs / 1000 / stepSec) * stepSec;
  const o: import('../sources/prometheus.js').FleetReadOptions = { match: src.parseSelector(flags.match), startSec: endSec - rangeSec, endSec, stepSec, slabTop };
  const asked = flags.read ?? 'auto';
  if (asked !== 'auto' && asked !== 'remote' && asked !== 'query') throw new InputError(`Cannot read --read "${flags.read}": expected "remote" (raw samples through remote read), "query" (query_range at --step) or "auto"`);
  const started = performance.now();
  const client = new src.PrometheusClient(baseUrl);
  const instances = await src.listInstances(client, o);
  if (instances.length === 0) {
    throw new InputError(`Cannot analyze "${source}": no instance has node_memory_MemTotal_bytes or memsleuth series${o.match ? ` matching {${o.match}}` : ''} between ${new Date(o.startSec * 1000).toISOString()} and ${new Date(o.endSec * 1000).toISOString()}`);
  }
  if (slabTop > 0) o.slabInstances = await src.listSlabInstances(client, o);
  // auto: raw samples when the step asked for is at or below the fleet's scrape interval (no sample to skip).
  let scrapeSec: number | undefined;
  if (asked === 'auto' && flags.step !== undefined) scrapeSec = await src.scrapeIntervalSec(client, o);
  o.read = asked === 'remote' || (asked === 'auto' && scrapeSec !== undefined && stepSec <= scrapeSec * 1.1) ? 'remote' : 'query';
  const { createProgress } = await import('../report/progress.js');
  const progress = createProgress({ label: `analysing ${instances.length} instances from ${baseUrl}`, unit: 'instances', total: instances.length });
  const { analyzeFleet } = await import('../analyze/fleet.js');
  const { summarySentence } = await import('../report/analysis_text.js');

  // Drill-down: each leaking or undecided instance gets its own report, written while its table is in memory.
  const links = new Map<string, string>();
  const taken = new Set<string>();
  let drillDir: string | undefined;
  let render: ((a: Analysis, t: SeriesTable, title: string) => string) | undefined;
  if (flags.html) {
    drillDir = join(dirname(flags.html), `${basename(flags.html).replace(/\.html?$/i, '')}_instances`);
    const { renderHtmlReport } = await import('../report/html/render.js');
    const { clientAssets } = await import('../report/html/assets.js');
    const assets = clientAssets();
    render = (analysis, table, title) => renderHtmlReport({ analysis, table, title, assets });
  }
  let done = 0;
  const onInstance = (row: FleetRow, analysis: Analysis | null, table: SeriesTable | null): void => {
    progress.update(++done);
    if (!render || !drillDir || !analysis || !table || (row.verdict !== 'leak' && row.verdict !== 'inconclusive')) return;
    analysis.summary = summarySentence(analysis);
    mkdirSync(drillDir, { recursive: true });
    const file = instanceFileName(row.instance, taken);
    writeFileSync(join(drillDir, file), render(analysis, table, `memsleuth: ${row.instance}`));
    links.set(row.instance, `${basename(drillDir)}/${file}`);
  };
  const { rows, stats } = await analyzeFleet(src.readFleet(client, instances, o, (workers ?? 2) + 1), {
    ...(workers !== undefined ? { workers } : {}), onInstance,
  });
  progress.done();
  const byRead = { remote: rows.filter((r) => r.read === 'remote-read').length, query: rows.filter((r) => r.read === 'query_range').length };
  const read = {
    asked, used: byRead.remote > 0 && byRead.query > 0 ? 'mixed' : byRead.remote > 0 ? 'remote-read' : 'query_range',
    ...(client.remoteRead.responseType !== undefined ? { responseType: client.remoteRead.responseType } : {}),
    ...(client.remoteRead.state === 'refused' ? { fallback: client.remoteRead.reason ?? 'refused' } : {}),
    ...(scrapeSec !== undefined ? { scrapeIntervalSec: scrapeSec } : {}),
    instances: byRead,
  };
  const readLine = read.used === 'query_range'
    ? `read through query_range at ${stepSec} s steps${read.fallback !== undefined ? ` (raw samples were asked, but ${read.fallback})` : asked === 'auto' && flags.step !== undefined ? (scrapeSec === undefined ? ' (scrape interval unknown: --read remote asks raw samples)' : ` (coarser than the ~${scrapeSec.toFixed(1)} s scrape interval)`) : ''}`
    : `read raw samples through remote read (${read.responseType ?? 'remote read'}) for ${byRead.remote} instances${byRead.query > 0 ? `, query_range at ${stepSec} s steps for ${byRead.query}` : ''}`;
  const cpu = process.cpuUsage();
  const run: FleetRunStats = {
    instances: stats.instances, judged: stats.judged, failed: stats.failed, workers: stats.workers,
    wallMs: performance.now() - started, prometheusMs: client.stats.httpMs, parseMs: client.stats.parseMs, analyzeMs: stats.analyzeMs,
    requests: client.stats.requests, bytes: client.stats.bytes, points: client.stats.points, step: stepSec,
    peakRssBytes: process.resourceUsage().maxRSS * 1024, cpuMs: (cpu.user + cpu.system) / 1000,
    ...(asked !== 'query' || read.used !== 'query_range' ? { read: readLine } : {}),
  };
  const range = { from: new Date(o.startSec * 1000).toISOString(), to: new Date(o.endSec * 1000).toISOString(), stepSec };
  if (flags.html) {
    const { renderFleetPage } = await import('../report/html/fleet.js');
    writeFileSync(flags.html, renderFleetPage({ title: `memsleuth fleet: ${baseUrl}`, source: baseUrl, rows, stats: run, links, range, generatedAt: new Date().toISOString() }));
  }
  if (flags.metricsOut) {
    const { renderFleetMetrics } = await import('../report/fleet.js');
    const tmp = `${flags.metricsOut}.tmp`;
    // Written aside and renamed, so a textfile collector never reads half a file.
    writeFileSync(tmp, renderFleetMetrics(rows, Date.now()).text());
    const { renameSync } = await import('node:fs');
    renameSync(tmp, flags.metricsOut);
  }
  if (flags.push) {
    // Pushgateway protocol: PUT replaces the group's metrics (e.g. http://pushgateway:9091/metrics/job/memsleuth).
    const { renderFleetMetrics } = await import('../report/fleet.js');
    const { PROMETHEUS_TEXT_TYPE } = await import('../report/prom_text.js');
    let r: Response;
    try {
      r = await fetch(flags.push, { method: 'PUT', headers: { 'content-type': PROMETHEUS_TEXT_TYPE }, body: renderFleetMetrics(rows, Date.now()).text() });
    } catch (err) {
      throw new TargetError(`Cannot push the verdicts to "${flags.push}": ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    if (!r.ok) throw new TargetError(`Cannot push the verdicts to "${flags.push}": HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ schema: 'memsleuth.fleet/1', source: baseUrl, match: o.match, range, read, instances: rows, stats: run }, null, 1)}\n`);
  } else {
    const { renderFleetText } = await import('../report/fleet.js');
    const { colorsFor } = await import('../report/color.js');
    process.stdout.write(`${renderFleetText(rows, run, colorsFor(process.stdout), { width: process.stdout.columns ?? 140, all: flags.all === true })}\n`);
  }
  const failing = flags.failOn === 'leak' ? rows.some((r) => r.verdict === 'leak')
    : flags.failOn === 'inconclusive' ? rows.some((r) => r.verdict === 'leak' || r.verdict === 'inconclusive') : false;
  return failing ? EXIT_LEAK : EXIT_OK;
}
