/**
 * Prometheus text exposition (format 0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/)
 * of a recording: the latest value of every series and the current leak verdicts, as gauges. Pure.
 *
 * Series keys (DESIGN.md, "Series keys") become a metric family named after their shape, with the variable
 * parts as labels and the whole key in `key`, so a scrape maps back to `memsleuth analyze` output. The families
 * are the exporter's (model/prom_names.ts: one naming, whichever command serves /metrics, and the fleet reader
 * reads either back):
 *   slab.kmalloc-64.bytes      -> memsleuth_slab_bytes{cache="kmalloc-64",key="slab.kmalloc-64.bytes"}
 *   proc.sshd:412.uss          -> memsleuth_process_uss_bytes{comm="sshd",pid="412",key="proc.sshd:412.uss"}
 *   anything not recognised    -> memsleuth_series{key="..."}
 * Rules kept: names match [a-zA-Z_:][a-zA-Z0-9_:]*; label values escape \ " and newline; HELP escapes \ and
 * newline; every family appears once, HELP and TYPE first; NaN/Inf spelled NaN, +Inf, -Inf.
 */
import type { Analysis, SeriesVerdict } from '../model/analysis.js';
import { decodeKeyPart } from '../model/series.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string>;

interface Family { help: string; type: 'gauge' | 'counter'; samples: { labels: Labels; value: number }[] }

/** A metric name: invalid characters become '_', and a leading digit gets a '_' in front. */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[a-zA-Z_:]/.test(s) ? s : `_${s}`;
}

/** A label name: like a metric name without ':'; names starting with "__" are reserved, so they get a prefix. */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (!/^[a-zA-Z_]/.test(s)) s = `_${s}`;
  return s.startsWith('__') ? `l${s}` : s;
}

/**
 * Label values and HELP carry process and cache names a target chose. Besides the format's own escapes (\\, \",
 * \n), every other control character (ESC, BEL: a terminal that curls /metrics would obey them) is written as the
 * visible text \xNN (its backslash escaped, so a scrape reads back "\x1b", four characters).
 */
// eslint-disable-next-line no-control-regex
const OTHER_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
const visible = (c: string): string => `\\\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(OTHER_CONTROLS, visible);
}

export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(OTHER_CONTROLS, visible);
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Collects samples into families and prints them grouped, in first-seen family order. */
export class Exposition {
  private readonly families = new Map<string, Family>();

  add(name: string, help: string, labels: Labels, value: number, type: Family['type'] = 'gauge'): void {
    const n = sanitizeMetricName(name);
    let f = this.families.get(n);
    if (!f) { f = { help, type, samples: [] }; this.families.set(n, f); }
    f.samples.push({ labels, value });
  }

  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`);
      for (const s of f.samples) {
        const entries = Object.entries(s.labels);
        const labels = entries.length === 0 ? ''
          : `{${entries.map(([k, v]) => `${sanitizeLabelName(k)}="${escapeLabelValue(v)}"`).join(',')}}`;
        out.push(`${name}${labels} ${formatValue(s.value)}`);
      }
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}

interface KeyMetric { name: string; help: string; labels: Labels }

const PROC = /^proc\.([^.]*):(\d+)\.(.+)$/;
/** Per-process series in bytes (model/series.ts); the others (threads, fdsize, ppid) are counts. */
const PROCESS_BYTES = new Set(['uss', 'pss', 'rss', 'swap', 'vss', 'swap_pss', 'anon']);

/** Family name and labels of one series key (the key itself is added as `key` by the caller). */
export function metricOfKey(key: string): KeyMetric {
  let m: RegExpExecArray | null;
  if ((m = /^meminfo\.([^.]+)$/.exec(key))) {
    // /proc/meminfo's only fields without "kB" are the HugePages_* counts.
    if ((m[1] ?? '').startsWith('HugePages_')) return { name: 'memsleuth_meminfo_pages', help: '/proc/meminfo unitless field (HugePages_*), pages', labels: { field: m[1] ?? '' } };
    return { name: 'memsleuth_meminfo_bytes', help: '/proc/meminfo field, bytes', labels: { field: m[1] ?? '' } };
  }
  if ((m = /^vmstat\.([^.]+)$/.exec(key))) return { name: 'memsleuth_vmstat', help: '/proc/vmstat counter', labels: { field: m[1] ?? '' } };
  if ((m = /^slab\.([^.]+)\.([^.]+)$/.exec(key))) {
    const what = m[2] === 'objs' ? 'active_objects' : m[2] ?? '';
    return { name: `memsleuth_slab_${what}`, help: `slab cache ${what.replace('_', ' ')} from /proc/slabinfo`, labels: { cache: decodeKeyPart(m[1] ?? '') } };
  }
  if ((m = /^vmalloc\.caller\.([^.]+)\.([^.]+)$/.exec(key))) {
    return { name: `memsleuth_vmalloc_${m[2] ?? ''}`, help: `vmalloc ${m[2] ?? ''} by caller from /proc/vmallocinfo`, labels: { caller: decodeKeyPart(m[1] ?? '') } };
  }
  if ((m = /^free\.([^.]+)\.([^.]+)$/.exec(key))) {
    return { name: 'memsleuth_free_bytes', help: 'output of free(1), bytes', labels: { row: m[1] ?? '', column: m[2] ?? '' } };
  }
  if ((m = /^allocinfo\.([^.]+)\.bytes$/.exec(key))) {
    return { name: 'memsleuth_allocinfo_bytes', help: 'bytes by allocation site from /proc/allocinfo', labels: { site: decodeKeyPart(m[1] ?? '') } };
  }
  if ((m = /^file\.([^.]+)\.([^.]+)$/.exec(key))) {
    return { name: 'memsleuth_file', help: 'field of a user-declared vendor file', labels: { file: decodeKeyPart(m[1] ?? ''), field: decodeKeyPart(m[2] ?? '') } };
  }
  if ((m = PROC.exec(key))) {
    const proc = { comm: decodeKeyPart(m[1] ?? ''), pid: m[2] ?? '' };
    const rest = m[3] ?? '';
    let r: RegExpExecArray | null;
    if ((r = /^status\.([^.]+)$/.exec(rest))) {
      return { name: 'memsleuth_process_status_bytes', help: 'process /proc/PID/status field, bytes', labels: { ...proc, field: r[1] ?? '' } };
    }
    if ((r = /^statm\.([^.]+)$/.exec(rest))) {
      return { name: 'memsleuth_process_statm_bytes', help: 'process /proc/PID/statm field, bytes', labels: { ...proc, field: r[1] ?? '' } };
    }
    if (rest === 'maps.count') return { name: 'memsleuth_process_mappings', help: 'process mappings in /proc/PID/maps', labels: proc };
    if (rest === 'maps.vss') return { name: 'memsleuth_process_maps_vss_bytes', help: 'process address space the mappings of /proc/PID/maps span, bytes', labels: proc };
    if ((r = /^map\.([^.]+)\.([^.]+)$/.exec(rest))) {
      return { name: `memsleuth_process_mapping_${r[2] ?? ''}_bytes`, help: `process mapping ${r[2] ?? ''} from /proc/PID/smaps, bytes`, labels: { ...proc, mapping: decodeKeyPart(r[1] ?? '') } };
    }
    if (PROCESS_BYTES.has(rest)) return { name: `memsleuth_process_${rest}_bytes`, help: `process ${rest.toUpperCase().replace('_', ' ')}, bytes`, labels: proc };
    if (/^[a-z_]+$/.test(rest)) return { name: `memsleuth_process_${rest}`, help: `process ${rest}`, labels: proc };
  }
  return { name: 'memsleuth_series', help: 'a memsleuth series without a more specific family', labels: {} };
}

export interface MetricsInput {
  recording: { id: number; target: string; sampleCount: number; lastSampleMs: number | null };
  /** Latest value of every series present at the last sample. */
  latest: ReadonlyMap<string, number>;
  analysis: Analysis | null;
  /** When the analysis was computed, ms since the epoch. */
  analysisAtMs: number | null;
}

const VERDICTS: readonly Analysis['verdict'][] = ['leak', 'no-leak', 'inconclusive'];
const SERIES_VERDICTS: readonly SeriesVerdict['verdict'][] = ['leak', 'bounded', 'reclaimable', 'stable', 'inconclusive'];

export function renderMetrics(input: MetricsInput): string {
  const e = new Exposition();
  const rec = { recording: String(input.recording.id), target: input.recording.target };
  e.add('memsleuth_recording_samples', 'samples stored in the recording', rec, input.recording.sampleCount);
  if (input.recording.lastSampleMs !== null) {
    e.add('memsleuth_last_sample_timestamp_seconds', 'wall-clock time of the latest sample', rec, input.recording.lastSampleMs / 1000);
  }
  for (const key of [...input.latest.keys()].sort()) {
    const m = metricOfKey(key);
    e.add(m.name, m.help, { ...m.labels, key }, input.latest.get(key) as number);
  }
  const a = input.analysis;
  if (a) {
    if (input.analysisAtMs !== null) e.add('memsleuth_analysis_timestamp_seconds', 'when the verdicts below were computed', rec, input.analysisAtMs / 1000);
    for (const v of VERDICTS) {
      e.add('memsleuth_verdict', 'system verdict: 1 for the current one (leak, no-leak, inconclusive)', { ...rec, verdict: v }, a.verdict === v ? 1 : 0);
    }
    for (const l of a.leaks) {
      const labels = { kind: l.kind, subject: l.subject, key: l.key, confidence: l.confidence.level };
      e.add('memsleuth_leak_rate_bytes_per_second', 'rate of each leak found', labels, l.rateBytesPerSec);
    }
    for (const l of a.leaks) {
      e.add('memsleuth_leak_growth_bytes', 'growth of each leak over the analysed window', { kind: l.kind, subject: l.subject, key: l.key, confidence: l.confidence.level }, l.growthBytes);
    }
    const c = a.culprits;
    const rows: SeriesVerdict[] = [...a.system, ...c.slab, ...c.vmalloc, ...c.process, ...c.mapping, ...c.allocinfo, ...c.file];
    const seen = new Set<string>();
    const judged = rows.filter((r) => (seen.has(r.key) ? false : (seen.add(r.key), true)));
    for (const r of judged) {
      for (const v of SERIES_VERDICTS) {
        e.add('memsleuth_series_verdict', 'verdict on a judged series: 1 for the current one', { key: r.key, verdict: v }, r.verdict === v ? 1 : 0);
      }
    }
    for (const r of judged) e.add('memsleuth_series_rate_bytes_per_second', 'trend of a judged series', { key: r.key }, r.rateBytesPerSec);
    if (a.forecast.secondsToOom !== null) {
      e.add('memsleuth_oom_forecast_seconds', 'expected time until the OOM killer comes, from now', rec, a.forecast.secondsToOom);
    }
  }
  return e.text();
}
