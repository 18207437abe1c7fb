/**
 * Metrics as text for Prometheus: the classic text format 0.0.4 and OpenMetrics 1.0
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, https://github.com/prometheus/OpenMetrics).
 * Names are checked, never rewritten silently: a family name must match [a-zA-Z_:][a-zA-Z0-9_:]* and a label name
 * [a-zA-Z_][a-zA-Z0-9_]*, or add() throws (they are ours, so a bad one is a bug). Label values are anything and are
 * escaped (\\, \", newline), so a process called `my "app"\n` arrives as it is.
 * Each family is printed once, its samples together, HELP and TYPE (and UNIT in OpenMetrics) first.
 */
import { BugError } from '../model/errors.js';

export const PROMETHEUS_TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type PromFormat = 'prometheus' | 'openmetrics';

interface Family { help: string; type: 'gauge' | 'counter'; unit: string; samples: { labels: [string, string][]; value: number }[] }

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Which format a scraper asked for: OpenMetrics when its Accept header names it, else the classic text. */
export function negotiateFormat(accept: string | undefined): PromFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export class PromText {
  private readonly families = new Map<string, Family>();

  /**
   * One sample. `unit` ("bytes", "seconds") must be the name's last suffix (OpenMetrics requires it); counters are
   * named without `_total`, which is added to the sample.
   */
  add(name: string, help: string, labels: Record<string, string>, value: number, o: { type?: 'gauge' | 'counter'; unit?: string } = {}): void {
    if (!METRIC_NAME.test(name)) throw new BugError(`metric name "${name}" is not valid`);
    const entries = Object.entries(labels);
    for (const [k] of entries) if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new BugError(`label name "${k}" of ${name} is not valid`);
    const unit = o.unit ?? '';
    if (unit !== '' && !name.endsWith(`_${unit}`)) throw new BugError(`metric "${name}" has unit ${unit} but does not end in _${unit}`);
    let f = this.families.get(name);
    if (!f) { f = { help, type: o.type ?? 'gauge', unit, samples: [] }; this.families.set(name, f); }
    f.samples.push({ labels: entries, value });
  }

  get size(): number {
    let n = 0;
    for (const f of this.families.values()) n += f.samples.length;
    return n;
  }

  text(format: PromFormat = 'prometheus'): string {
    const out: string[] = [];
    const om = format === 'openmetrics';
    for (const [name, f] of this.families) {
      const help = om ? f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
      const sampleName = f.type === 'counter' ? `${name}_total` : name;
      // The classic format names a counter's family by its sample name; OpenMetrics by the name without _total.
      const head = om ? name : sampleName;
      out.push(`# HELP ${head} ${help}`, `# TYPE ${head} ${f.type}`);
      if (om && f.unit !== '') out.push(`# UNIT ${name} ${f.unit}`);
      for (const s of f.samples) {
        const labels = s.labels.length === 0 ? '' : `{${s.labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
        out.push(`${sampleName}${labels} ${number(s.value)}`);
      }
    }
    if (om) out.push('# EOF');
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}
