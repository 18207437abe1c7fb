/**
 * A fleet's verdicts for people and for Prometheus: the ranked terminal table, and the `memsleuth_leak` metrics
 * (text format) that Alertmanager pages on (docs/fleet.md; examples/prometheus/memsleuth_alerts.yml).
 */
import type { FleetRow } from '../model/fleet.js';
import type { Colors } from './color.js';
import { renderTable } from './table.js';
import { formatBytes, formatDuration, formatRate } from './units.js';
import { PromText } from './prom_text.js';
import { displayName } from './analysis_text.js';

export interface FleetRunStats {
  instances: number;
  judged: number;
  failed: number;
  workers: number;
  wallMs: number;
  prometheusMs: number;
  parseMs: number;
  analyzeMs: number;
  requests: number;
  bytes: number;
  points: number;
  step: number;
  peakRssBytes: number;
  cpuMs: number;
  /** How the history was read, one line (remote read or query_range, and why), when known. */
  read?: string;
}

const KIND: Record<string, string> = {
  'kernel-slab': 'kernel slab', 'kernel-vmalloc': 'vmalloc', 'kernel-stack': 'kernel stacks', 'kernel-pagetables': 'page tables',
  'kernel-other': 'kernel (uncounted)', user: 'user', file: 'declared file',
};

export function kindLabel(kind: string): string {
  return KIND[kind] ?? kind;
}

function sinceText(iso: string | null): string {
  return iso === null ? '-' : iso.slice(0, 16).replace('T', ' ');
}

export function forecastText(r: FleetRow): string {
  const f = r.forecast;
  if (f.status === 'oom-expected' && f.secondsToOom !== null) return f.secondsToOom <= 0 ? 'at watermark' : `OOM in ${formatDuration(f.secondsToOom)}`;
  return f.status === 'no-oom-trend' ? 'no OOM trend' : '-';
}

export function culpritText(r: FleetRow): string {
  const l = r.leaks[0];
  if (!l) return r.error ?? '';
  return l.culprit ? displayName(l.culprit) : l.subject;
}

export function renderFleetText(rows: readonly FleetRow[], stats: FleetRunStats, c: Colors, options: { width?: number; all?: boolean } = {}): string {
  const leaking = rows.filter((r) => r.verdict === 'leak');
  const undecided = rows.filter((r) => r.verdict === 'inconclusive');
  const failed = rows.filter((r) => r.verdict === 'error');
  const shown = options.all ? rows : rows.filter((r) => r.verdict !== 'no-leak');
  const head = `${stats.instances} instances: ${c.red(`${leaking.length} leaking`)}, ${c.yellow(`${undecided.length} undecided`)}, ${rows.length - leaking.length - undecided.length - failed.length} without a leak${failed.length > 0 ? `, ${failed.length} not read` : ''}`;
  const lines = [head];
  if (shown.length > 0) {
    const table = shown.map((r, i) => [
      String(i + 1),
      r.verdict === 'leak' ? c.red('leak') : r.verdict === 'inconclusive' ? c.yellow('undecided') : r.verdict,
      r.leaks[0] ? formatRate(r.leakRateBytesPerSec) : '-',
      r.leaks.map((l) => kindLabel(l.kind)).join(', ') || '-',
      sinceText(r.leaks[0]?.since ?? null),
      forecastText(r),
      r.leaks[0]?.confidence.level ?? r.confidence?.level ?? '-',
      r.instance,
      culpritText(r),
    ]);
    lines.push('', renderTable([
      { header: '#', align: 'right' }, { header: 'verdict' }, { header: 'rate', align: 'right' }, { header: 'kind' }, { header: 'since' },
      { header: 'forecast' }, { header: 'conf.' }, { header: 'instance' }, { header: 'culprit' },
    ], table, options.width));
  }
  lines.push('');
  if (stats.read !== undefined) lines.push(stats.read);
  lines.push(`read ${stats.requests} queries (${formatBytes(stats.bytes)}, ${(stats.points / 1e6).toFixed(1)} M points${stats.read === undefined ? ` at ${formatDuration(stats.step)} steps` : ''}) in ${(stats.prometheusMs / 1000).toFixed(1)} s of Prometheus time; judged on ${stats.workers} workers in ${(stats.analyzeMs / 1000).toFixed(1)} s; ${(stats.wallMs / 1000).toFixed(1)} s in all`);
  return lines.join('\n');
}

/** The leak's subject as a person reads it: the culprit's real name (kmalloc-256, "app (pid 42)"), else the kind's subject. */
function subjectOf(l: FleetRow['leaks'][number]): string {
  return l.culprit ? displayName(l.culprit) : l.subject;
}

/**
 * The verdicts as Prometheus metrics: `memsleuth_leak{instance,kind,subject,confidence} 1` per leak, its rate and
 * growth, the time to OOM, and when the analysis ran (alert on staleness). For a textfile collector or a push.
 */
export function renderFleetMetrics(rows: readonly FleetRow[], atMs: number): PromText {
  const p = new PromText();
  for (const r of rows) {
    for (const l of r.leaks) {
      p.add('memsleuth_leak', 'a statistical leak verdict: 1 per leaking instance and kind (memsleuth analyze)', { instance: r.instance, kind: l.kind, subject: subjectOf(l), confidence: l.confidence.level }, 1);
    }
  }
  for (const r of rows) {
    for (const l of r.leaks) {
      p.add('memsleuth_leak_rate_bytes_per_second', 'rate of each leak found (Theil-Sen slope)', { instance: r.instance, kind: l.kind, subject: subjectOf(l) }, l.rateBytesPerSec);
    }
  }
  for (const r of rows) {
    if (r.forecast.status === 'oom-expected' && r.forecast.secondsToOom !== null) {
      p.add('memsleuth_oom_forecast_seconds', 'expected time until the OOM killer comes, from the end of the analysed range', { instance: r.instance }, r.forecast.secondsToOom, { unit: 'seconds' });
    }
  }
  for (const r of rows) {
    for (const v of ['leak', 'no-leak', 'inconclusive', 'error'] as const) {
      p.add('memsleuth_instance_verdict', 'verdict on each instance: 1 for the current one', { instance: r.instance, verdict: v }, r.verdict === v ? 1 : 0);
    }
  }
  p.add('memsleuth_fleet_analysis_timestamp_seconds', 'when memsleuth analyze wrote these verdicts', {}, atMs / 1000, { unit: 'seconds' });
  return p;
}
