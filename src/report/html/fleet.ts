/**
 * The fleet page of the HTML report: every instance ranked by leak rate, with kind, culprit, since, forecast and a
 * sparkline of memory not available (MemTotal - MemAvailable) over the range, each leaking or undecided instance
 * linked to its own full report (drill-down). No script at all: sparklines are inline SVG drawn here, and the
 * Content-Security-Policy allows only the one inlined stylesheet. Instance names and culprits are escaped here.
 */
import { createHash } from 'node:crypto';
import type { FleetRow } from '../../model/fleet.js';
import { htmlEscape as h } from '../escape.js';
import { formatBytes, formatRate } from '../units.js';
import { culpritText, forecastText, kindLabel, type FleetRunStats } from '../fleet.js';

export interface FleetPageInput {
  title: string;
  source: string;
  rows: readonly FleetRow[];
  stats: FleetRunStats;
  /** instance -> relative link of its own report. */
  links: ReadonlyMap<string, string>;
  generatedAt?: string;
  range: { from: string; to: string; stepSec: number };
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}
table{border-collapse:collapse}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
td.num{text-align:right;font-variant-numeric:tabular-nums}.v-leak{color:#b03a2e;font-weight:600}.v-inconclusive{color:#9a7d0a}
.v-error{color:#777}.muted{color:#666}svg{display:block}`;

/** A sparkline as inline SVG: the shape of the series, its last point marked. */
export function sparklineSvg(values: readonly number[], width = 120, height = 24, color = '#c0392b'): string {
  if (values.length === 0) return '';
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo || 1;
  const x = (i: number): number => (values.length === 1 ? width / 2 : 1 + (i / (values.length - 1)) * (width - 4));
  const y = (v: number): number => height - 2 - ((v - lo) / span) * (height - 4);
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const last = values[values.length - 1] as number;
  return `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="memory not available, ${h(formatBytes(lo))} to ${h(formatBytes(hi))}">`
    + `<polyline fill="none" stroke="${color}" stroke-width="1.25" points="${pts}"/><circle cx="${x(values.length - 1).toFixed(1)}" cy="${y(last).toFixed(1)}" r="1.8" fill="${color}"/></svg>`;
}

export function renderFleetPage(input: FleetPageInput): string {
  const styleHash = `'sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}'`;
  const rows = input.rows;
  const leaking = rows.filter((r) => r.verdict === 'leak').length;
  const undecided = rows.filter((r) => r.verdict === 'inconclusive').length;
  const body = rows.map((r, i) => {
    const link = input.links.get(r.instance);
    const name = link ? `<a href="${h(link)}">${h(r.instance)}</a>` : h(r.instance);
    const verdict = r.verdict === 'inconclusive' ? 'undecided' : r.verdict;
    return `<tr id="i-${i + 1}"><td class="num">${i + 1}</td><td>${name}</td><td class="v-${h(r.verdict)}">${h(verdict)}</td>`
      + `<td class="num">${r.leaks.length > 0 ? h(formatRate(r.leakRateBytesPerSec)) : ''}</td><td>${h(r.leaks.map((l) => kindLabel(l.kind)).join(', '))}</td>`
      + `<td>${h(culpritText(r))}</td><td>${h(r.leaks[0]?.since?.slice(0, 16).replace('T', ' ') ?? '')}</td><td>${h(forecastText(r))}</td>`
      + `<td>${h(r.leaks[0]?.confidence.level ?? r.confidence?.level ?? '')}</td><td class="num">${h(formatBytes(r.memTotalBytes ?? undefined))}</td>`
      + `<td>${sparklineSvg(r.spark, 120, 24, r.verdict === 'leak' ? '#c0392b' : '#2c6e9b')}</td></tr>`;
  }).join('\n');
  const s = input.stats;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${styleHash}; img-src 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(input.title)}</title><style>${CSS}</style></head>
<body><h1>${h(input.title)}</h1>
<p id="summary">${rows.length} instances from ${h(input.source)}, ${h(input.range.from)} to ${h(input.range.to)} at ${input.range.stepSec} s steps:
<span class="v-leak">${leaking} leaking</span>, <span class="v-inconclusive">${undecided} undecided</span>, ${rows.length - leaking - undecided} others.
Ranked by leak rate; each leaking or undecided instance links to its own report.</p>
<table id="fleet"><thead><tr><th>#</th><th>instance</th><th>verdict</th><th>rate</th><th>kind</th><th>culprit</th><th>since</th><th>forecast</th><th>confidence</th><th>MemTotal</th><th>not available (MemTotal - MemAvailable)</th></tr></thead>
<tbody>
${body}
</tbody></table>
<p class="muted">Read ${s.points.toLocaleString('en')} points in ${s.requests} queries (${(s.prometheusMs / 1000).toFixed(1)} s in Prometheus); judged on ${s.workers} workers in ${(s.analyzeMs / 1000).toFixed(1)} s.${s.read !== undefined ? ` ${h(s.read)}.` : ''}${input.generatedAt ? ` Made ${h(input.generatedAt)}.` : ''}</p>
</body></html>
`;
}
