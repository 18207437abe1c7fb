/**
 * The HTML report: one file that opens offline from a mail attachment. Scripts and styles are inlined (the
 * client bundle of tools/bundle_client.ts: uPlot, sortable tables, sparklines, the stack tree), the data is one
 * JSON block, and a strict Content-Security-Policy allows only those two inlined hashes: no network, no other
 * script. Every string from a target is escaped here (htmlEscape) or set with textContent by the client; the
 * JSON block escapes "<" as \u003c, so no process name can close it.
 *
 * Top to bottom: verdict and time to OOM; memory composition over time; the attribution tree; each leaking
 * series with trend, band and forecast; slab caches, processes (and vmalloc, mappings, allocinfo) as sortable
 * tables with sparklines; lockstep clusters; allocation sites as a stack tree; how it was measured.
 */
import { createHash } from 'node:crypto';
import type { Analysis, AttributionNode, LockstepCluster, SeriesVerdict } from '../../model/analysis.js';
import type { AllocationSite } from '../../model/allocation_site.js';
import type { SeriesTable } from '../../model/series_table.js';
import { htmlEscape as h } from '../escape.js';
import { formatBytes, formatDelta, formatDuration, formatRate } from '../units.js';
import { displayName, summarySentence } from '../analysis_text.js';
import { ownFootprintSection, reclaimProbeSection } from '../side_sections.js';
import { evidenceTotals, siteWhere } from '../evidence_text.js';
import { clientAssets, type ClientAssets } from './assets.js';
import { buildChartData, type ChartDataOptions } from './chart_data.js';
import type { LeakChart, ReportData } from './report_data.js';
import { buildStackTree, type StackNode } from './stack_tree.js';
import { decodeKeyPart } from '../../model/series.js';

export interface EvidenceInputSummary { file: string; format: string; sites: number; warnings: number }

export interface HtmlReportInput {
  /** The analysis of a recording; absent for an evidence-only report. */
  analysis?: Analysis;
  /** The recording the analysis was made from (charts, sparklines, methods). */
  table?: SeriesTable;
  /** Allocation sites (memsleuth evidence), ranked largest first. */
  sites?: readonly AllocationSite[];
  /** Evidence files read, for the methods section. */
  evidence?: { inputs: EvidenceInputSummary[]; problems: string[] };
  title: string;
  /** The browser bundle; read from dist/client/ when absent. */
  assets?: ClientAssets;
  chart?: ChartDataOptions;
  /** Wall-clock time the report was made, ISO; omitted from the page when absent (reproducible output). */
  generatedAt?: string;
}

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** JSON that is safe inside <script type="application/json">: "<" can never start "</script>" or "<!--". */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const pct = (x: number | null): string => (x === null ? '' : `${(x * 100).toFixed(0)}%`);

function verdictBadge(v: string | null): string {
  return v ? `<span class="badge v-${h(v)}">${h(v)}</span>` : '';
}

// ---------------------------------------------------------------------------------------------
// Header

function oomLine(a: Analysis): string {
  const f = a.forecast;
  if (f.status === 'oom-expected' && f.secondsToOom !== null) {
    if (f.secondsToOom <= 0) return 'Memory is already at the OOM watermark.';
    const iv = f.interval;
    const range = iv[0] !== null || iv[1] !== null ? ` (interval ${formatDuration(iv[0] ?? undefined)} to ${iv[1] === null ? 'never' : formatDuration(iv[1])})` : '';
    const when = a.window.timeSource === 'index'
      ? `~${(f.secondsToOom / (a.window.intervalSec ?? 1)).toPrecision(2)} sample intervals (the log has no clock)`
      : `~${formatDuration(f.secondsToOom)}`;
    return `Time to OOM: ${when}${range}${f.at ? `, at ${f.at}` : ''}; ${f.confidence.level} confidence (${f.confidence.reason}).`;
  }
  if (f.status === 'too-short') return `Time to OOM: not forecast (${f.confidence.reason}).`;
  return f.status === 'no-oom-trend' ? 'Time to OOM: no OOM trend (available memory is not falling).' : 'Time to OOM: unknown.';
}

function header(a: Analysis | undefined, input: HtmlReportInput): string {
  const out = [`<header><h1>${h(input.title)}</h1>`];
  if (a) {
    const sentence = a.summary || summarySentence(a);
    out.push(`<p class="verdict verdict-${h(a.verdict)}" id="verdict">${h(sentence)}</p>`);
    out.push(`<p class="oom" id="oom">${h(oomLine(a))}</p>`);
    const w = a.window;
    out.push(`<p class="meta">${h(a.source)}: ${w.samples} samples over ${h(formatDuration(w.toSec - w.fromSec))}${w.startedAt ? `, from ${h(w.startedAt)}` : ''}${w.timeSource ? `, time from ${h(w.timeSource)}` : ''}; verdict <b>${h(a.verdict)}</b>, ${h(a.confidence.level)} confidence (${h(a.confidence.reason)})</p>`);
  } else if (input.sites) {
    const total = input.sites.reduce((n, s) => n + s.bytes, 0);
    out.push(`<p class="verdict" id="verdict">${input.sites.length} allocation site${input.sites.length === 1 ? '' : 's'} holding ${h(formatBytes(total))}.</p>`);
  }
  out.push('</header>');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Attribution tree

function attributionNode(n: AttributionNode, depth: number): string {
  const kids = n.children.filter((k) => k.deltaBytes !== 0 || k.children.length > 0);
  const share = n.share === null ? 0 : Math.max(0, Math.min(1, n.share));
  const row = `<div class="arow${n.additive ? '' : ' overlap'}"><span class="delta ${n.deltaBytes > 0 ? 'up' : n.deltaBytes < 0 ? 'down' : ''}">${h(formatDelta(n.deltaBytes))}</span>`
    + `<span class="share"><meter min="0" max="1" value="${share.toFixed(3)}"></meter> ${h(pct(n.share))}</span>`
    + `<span class="now">${h(formatBytes(n.endBytes ?? undefined))}</span>`
    + `<span class="label">${h(n.label)}${n.additive ? '' : ' <i title="overlaps the groups above: shown, not added">*</i>'}</span>${verdictBadge(n.verdict)}`
    + `${n.note ? `<span class="note">${h(n.note)}</span>` : ''}</div>`;
  if (kids.length === 0) return `<li>${row}</li>`;
  return `<li><details${depth < 2 ? ' open' : ''}><summary>${row}</summary><ul>${kids.map((k) => attributionNode(k, depth + 1)).join('')}</ul></details></li>`;
}

function attributionSection(a: Analysis): string {
  const at = a.attribution;
  return `<section id="attribution"><h2>Where the change went</h2>
<p class="sub">${at.basis === 'none' ? 'No meminfo in the recording.' : `From ${h(at.basis)}; MemAvailable ${h(formatDelta(at.memAvailableDeltaBytes ?? undefined))}, MemFree ${h(formatDelta(at.memFreeDeltaBytes ?? undefined))}; shares of the ${h(formatBytes(at.grossGrowthBytes))} that grew between t=${h(formatDuration(at.fromSec))} and t=${h(formatDuration(at.toSec))}.`}</p>
<ul class="atree">${attributionNode(at.root, 0)}</ul><p class="sub">* overlaps the groups above: shown, not added</p></section>`;
}

// ---------------------------------------------------------------------------------------------
// Leaks and their charts

function ciText(r: { ci: [number | null, number | null]; ciLevel: number | null }): string {
  const [lo, hi] = r.ci;
  if (lo === null || hi === null || r.ciLevel === null) return '';
  return ` (${Math.round(r.ciLevel * 100)}% CI ${formatRate(lo).replace('/h', '')} to ${formatRate(hi)})`;
}

function leaksSection(a: Analysis, charts: LeakChart[]): string {
  const out = ['<section id="leaks"><h2>Leaking series</h2>'];
  const avail = charts.find((c) => c.id === 'available');
  if (avail) {
    out.push(`<div class="leak"><h3>${h(avail.title)} <code>${h(avail.key)}</code></h3><p>${h(oomLine(a))}</p>`);
    for (const e of a.forecast.evidence) out.push(`<p class="evidence">${h(e)}</p>`);
    out.push(`<div class="chart" data-leak="available" role="img" aria-label="${h(avail.title)}"></div></div>`);
  }
  if (a.leaks.length === 0) out.push('<p>No leaking series.</p>');
  a.leaks.forEach((l, i) => {
    const few = l.ci[0] === null && l.ci[1] === null;
    const rate = few ? `${formatDelta(l.growthBytes)} between the samples that show it` : `${formatRate(l.rateBytesPerSec)}${ciText(l)}`;
    out.push(`<div class="leak" id="leak${i}"><h3>${h(l.subject)} <code>${h(l.key)}</code></h3>`);
    out.push(`<p><b>${h(rate)}</b>${l.since ? `, since ${h(l.since)}` : l.sinceSec > a.window.fromSec ? `, since t=${h(formatDuration(l.sinceSec))}` : ''}; ${h(l.confidence.level)} confidence (${h(l.confidence.reason)})</p>`);
    if (l.culprits.length) out.push(`<p>Culprits: ${l.culprits.slice(0, 8).map((k) => `<code>${h(displayName(k))}</code>`).join(', ')}${l.clusters.length ? ` (lockstep ${l.clusters.map((c) => `<a href="#${h(c)}">${h(c)}</a>`).join(', ')})` : ''}</p>`);
    if (l.owners.length) out.push(`<p>Owner: ${l.owners.map((o) => `${h(o.comm)} (pid ${o.pid}, ${h(o.counter)} climbs with it)`).join('; ')}</p>`);
    for (const e of l.evidence) out.push(`<p class="evidence">${h(e)}</p>`);
    if (l.nextStep) out.push(`<p class="next">Next: <code>${h(l.nextStep)}</code></p>`);
    if (charts.some((c) => c.id === `leak${i}`)) out.push(`<div class="chart" data-leak="leak${i}" role="img" aria-label="${h(l.subject)}"></div>`);
    out.push('</div>');
  });
  out.push('</section>');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Culprit tables

interface TableSpec { id: string; title: string; rows: readonly SeriesVerdict[]; name: (r: SeriesVerdict) => string }

function culpritTable(spec: TableSpec, clusters: ReadonlyMap<string, string>, spark: Map<string, string>, last: (key: string) => number | undefined): string {
  if (spec.rows.length === 0) return '';
  const head = ['name', 'lockstep', 'rate', 'growth', 'now', 'verdict', 'conf.', 'n', 'trend'];
  const numeric = new Set(['rate', 'growth', 'now', 'conf.', 'n']);
  const out = [`<section id="${spec.id}"><h2>${h(spec.title)}</h2><table class="sortable" id="${spec.id}-table"><thead><tr>`];
  for (const c of head) out.push(`<th${numeric.has(c) ? ' data-type="num" class="num"' : ''}${c === 'trend' ? ' data-nosort=""' : ''} scope="col">${h(c)}</th>`);
  out.push('</tr></thead><tbody>');
  spec.rows.forEach((r, i) => {
    const sparkId = `${spec.id}${i}`;
    spark.set(sparkId, r.key);
    const cl = clusters.get(r.key);
    const now = last(r.key) ?? r.lastBytes;
    const few = r.rule === 'few-samples';
    out.push(`<tr${r.verdict === 'leak' ? ' class="is-leak"' : ''}>`
      + `<td class="name" title="${h(r.key)}">${h(spec.name(r))}</td>`
      + `<td>${cl ? `<a class="badge cluster" href="#${h(cl)}">${h(cl)}</a>` : ''}</td>`
      + `<td class="num" data-v="${few ? '' : r.rateBytesPerSec}">${h(few ? '-' : formatRate(r.rateBytesPerSec))}</td>`
      + `<td class="num" data-v="${r.growthBytes}">${h(formatDelta(r.growthBytes))}</td>`
      + `<td class="num" data-v="${now}">${h(formatBytes(now))}</td>`
      + `<td>${verdictBadge(r.verdict)}</td>`
      + `<td class="num" data-v="${r.confidence}">${h(r.level)}</td>`
      + `<td class="num" data-v="${r.points}">${r.points}</td>`
      + `<td><canvas class="spark" width="120" height="24" data-spark="${sparkId}"></canvas></td></tr>`);
  });
  out.push('</tbody></table></section>');
  return out.join('');
}

function clustersSection(list: readonly LockstepCluster[]): string {
  if (list.length === 0) return '';
  const items = list.map((k) => `<li id="${h(k.id)}"><b>${h(k.id)}</b>: ${k.members.map((m) => `<code>${h(displayName(m.key))}</code> ${h(formatDelta(m.growthBytes))}`).join(', ')}; ${h(k.method)}, ${h(formatRate(k.rateBytesPerSec))}, ${h(k.confidence.level)} confidence (${h(k.confidence.reason)})</li>`);
  return `<section id="clusters"><h2>Series growing in lockstep</h2><p class="sub">One cause seen through several counters (three caches filled by one allocation path).</p><ul>${items.join('')}</ul></section>`;
}

// ---------------------------------------------------------------------------------------------
// Allocation sites

const MAX_CHILDREN = 25;

function stackNodeHtml(n: StackNode, total: number, depth: number): string {
  const share = total > 0 ? n.bytes / total : 0;
  const info = `<span class="sbytes">${h(formatBytes(n.bytes))}</span><span class="scount">${n.count} obj</span><span class="sbar"><i data-w="${(share * 100).toFixed(1)}"></i></span>`
    + `<span class="frame">${h(n.label)}</span>`
    + (n.where && !n.label.includes(n.where) ? ` <span class="where">${h(n.where)}</span>` : '')
    + (n.via.length ? ` <span class="via">via ${h(n.via.join(', '))}</span>` : '')
    + (n.notes.length ? ` <span class="note">${h(n.notes.join('; '))}</span>` : '')
    + (depth === 0 ? ` <span class="note">${h(n.kinds.join(', '))} · ${h(n.tools.join(', '))}${n.sites > 1 ? ` · ${n.sites} sites` : ''}</span>` : '');
  const kids = n.children.slice(0, MAX_CHILDREN);
  if (kids.length === 0) return `<li class="leaf"><div class="snode">${info}</div></li>`;
  const more = n.children.length - kids.length;
  return `<li><details><summary class="snode">${info}</summary><ul>${kids.map((k) => stackNodeHtml(k, total, depth + 1)).join('')}${more > 0 ? `<li class="more">... ${more} more callers</li>` : ''}</ul></details></li>`;
}

function sitesSection(sites: readonly AllocationSite[]): string {
  if (sites.length === 0) return '<section id="sites"><h2>Allocation sites</h2><p>No allocation sites: the reports list no leaked or outstanding memory.</p></section>';
  const root = buildStackTree(sites);
  const totals = evidenceTotals(sites);
  const top = root.children.slice(0, 60);
  const tot = `<table class="sortable" id="totals-table"><thead><tr><th data-type="num" class="num">bytes</th><th data-type="num" class="num">objects</th><th data-type="num" class="num">sites</th><th>kind</th><th>tool</th></tr></thead><tbody>${
    totals.map((t) => `<tr><td class="num" data-v="${t.bytes}">${h(formatBytes(t.bytes))}</td><td class="num" data-v="${t.count}">${t.count}</td><td class="num" data-v="${t.sites}">${t.sites}</td><td>${h(t.kind)}</td><td>${h(t.tool)}</td></tr>`).join('')}</tbody></table>`;
  const where = sites.slice(0, 10).map((s, i) => `<li>#${i + 1} ${h(formatBytes(s.bytes))} in ${s.count} ${h(s.kind)} (${h(s.tool)}): <code>${h(siteWhere(s) ?? '(no stack)')}</code>${s.origin ? ` <span class="note">${h(s.origin)}</span>` : ''}</li>`).join('');
  return `<section id="sites"><h2>Allocation sites</h2>${tot}
<h3>Top sites</h3><ol class="plain">${where}</ol>
<h3>Stack tree <span class="sub">(culprit frame first, then its callers; click to expand)</span></h3>
<p><button type="button" data-tree="expand">expand all</button> <button type="button" data-tree="collapse">collapse all</button></p>
<ul class="stree" id="stack-tree">${top.map((n) => stackNodeHtml(n, root.bytes, 0)).join('')}${root.children.length > top.length ? `<li class="more">... ${root.children.length - top.length} more sites</li>` : ''}</ul></section>`;
}

// ---------------------------------------------------------------------------------------------
// Methods

function familyCounts(table: SeriesTable): string[] {
  const procs = new Set<string>();
  let meminfo = 0; let slab = 0; let vmalloc = 0; let files = 0; let allocinfo = 0;
  for (const k of table.series.keys()) {
    if (k.startsWith('meminfo.')) meminfo++;
    else if (k.startsWith('slab.') && k.endsWith('.bytes')) slab++;
    else if (k.startsWith('vmalloc.caller.') && k.endsWith('.bytes')) vmalloc++;
    else if (k.startsWith('allocinfo.')) allocinfo++;
    else if (k.startsWith('file.')) files++;
    else if (k.startsWith('proc.')) { const m = /^proc\.(.+?:\d+)\./.exec(k); if (m) procs.add(decodeKeyPart(m[1] as string)); }
  }
  const parts = [`${table.series.size} series`];
  if (meminfo) parts.push(`${meminfo} meminfo fields`);
  if (slab) parts.push(`${slab} slab caches`);
  if (vmalloc) parts.push(`${vmalloc} vmalloc callers`);
  if (procs.size) parts.push(`${procs.size} processes`);
  if (allocinfo) parts.push(`${allocinfo} allocinfo sites`);
  if (files) parts.push(`${files} declared-file series`);
  return parts;
}

function methodsSection(input: HtmlReportInput, buckets: number): string {
  const a = input.analysis;
  const t = input.table;
  const li: string[] = [];
  if (a) {
    const w = a.window;
    li.push(`Source: <code>${h(a.source)}</code>.`);
    li.push(`Sampled: ${w.samples} samples between t=${h(formatDuration(w.fromSec))} and t=${h(formatDuration(w.toSec))}${w.intervalSec !== null ? `, every ${h(String(w.intervalSec))} s` : ''}${w.timeSource ? `; time from ${h(w.timeSource)}` : ''}${w.startedAt ? `; started ${h(w.startedAt)}` : ''}.`);
    const verdicts: SeriesVerdict[] = [...a.system, ...a.culprits.slab, ...a.culprits.vmalloc, ...a.culprits.process, ...a.culprits.mapping, ...a.culprits.allocinfo, ...a.culprits.file];
    const tests = new Map<string, number>();
    for (const v of verdicts) tests.set(`${v.test} (rule ${v.rule})`, (tests.get(`${v.test} (rule ${v.rule})`) ?? 0) + 1);
    if (tests.size) li.push(`Tests: ${[...tests].map(([k, n]) => `${h(k)} × ${n}`).join('; ')}.`);
    const levels = [...new Set(verdicts.map((v) => v.ciLevel).filter((x): x is number => x !== null))];
    if (levels.length) li.push(`Thresholds: confidence intervals at ${levels.map((l) => `${Math.round(l * 1000) / 10}%`).join(', ')} (significance level ${levels.map((l) => (1 - l).toPrecision(2)).join(', ')}); a series is a leak only when the interval excludes zero growth and the policy rules (page cache, reclaimable slab, warm-up, sawtooth, bounded pool) do not explain it.`);
    li.push(`Judged ${a.stats.seriesJudged} series, skipped ${a.stats.seriesSkippedFlat} as flat, of ${a.stats.seriesTotal}, in ${a.stats.elapsedMs} ms.`);
    if (a.forecast.watermarkSource) li.push(`OOM watermark from ${h(a.forecast.watermarkSource)}.`);
  }
  if (t) {
    li.push(`Recorded: ${familyCounts(t).map(h).join(', ')}.`);
    li.push(`Boots: ${t.boots.length === 0 ? 'none recorded' : t.boots.map((b) => `${b.bootId ? `<code>${h(b.bootId)}</code>` : 'unknown boot id'} (samples ${b.fromIndex + 1}-${b.toIndex + 1})`).join(', ')}.`);
    li.push(`Gaps: ${t.gaps.length === 0 ? 'none' : t.gaps.map((g) => `${h(formatDuration(g.fromSec))} to ${h(formatDuration(g.toSec))}: ${h(g.reason)}`).join('; ')}.`);
    li.push(`Charts: min and max per ${buckets} time buckets of the ${t.t.length} samples (shape kept; the full data stays in the recording).`);
    for (const n of t.meta.notes) li.push(h(n));
  }
  if (a) for (const n of a.notes) li.push(h(n));
  if (input.evidence) {
    for (const i of input.evidence.inputs) li.push(`Read <code>${h(i.file)}</code> as ${h(i.format)}: ${i.sites} sites${i.warnings ? `, ${i.warnings} warnings` : ''}.`);
    for (const p of input.evidence.problems) li.push(`Symbolization: ${h(p)}`);
  }
  if (input.sites) li.push('Sites merged by normalized stack, tool and kind; the stack tree starts at the first frame below the allocator.');
  if (input.generatedAt) li.push(`Generated ${h(input.generatedAt)} by memsleuth.`);
  return `<section id="methods"><h2>Methods</h2><ul>${li.map((x) => `<li>${x}</li>`).join('')}</ul></section>`;
}

// ---------------------------------------------------------------------------------------------

/**
 * The data block renderHtmlReport embeds (`#memsleuth-data`), on its own: the live dashboard serves it. Sparkline
 * ids are the ones the culprit tables give their rows (table id + row index, in the analysis' order).
 */
export function buildReportData(a: Analysis | undefined, table: SeriesTable | undefined, chart?: ChartDataOptions): ReportData {
  const spark = new Map<string, string>();
  if (a) {
    const c = a.culprits;
    for (const [id, rows] of [['slab', c.slab], ['proc', c.process], ['vmalloc', c.vmalloc], ['mapping', c.mapping], ['allocinfo', c.allocinfo], ['file', c.file]] as const) {
      rows.forEach((r, i) => spark.set(`${id}${i}`, r.key));
    }
    return buildChartData(a, table, spark, chart);
  }
  if (table) return buildChartData(undefined, table, spark, chart);
  return { version: 1, startedAtMs: null, composition: null, leaks: [], sparklines: {} };
}

export function renderHtmlReport(input: HtmlReportInput): string {
  const a = input.analysis;
  const table = input.table;
  const assets = input.assets ?? clientAssets();
  const buckets = input.chart?.buckets ?? 1000;
  const spark = new Map<string, string>();
  const body: string[] = [header(a, input)];
  const nav: [string, string][] = [];
  let data: ReportData = { version: 1, startedAtMs: table?.startedAtMs ?? null, composition: null, leaks: [], sparklines: {} };
  if (a) {
    const clusterOf = new Map<string, string>();
    for (const c of a.clusters) for (const m of c.members) clusterOf.set(m.key, c.id);
    const lastOf = (key: string): number | undefined => {
      const v = table?.series.get(key);
      if (!v) return undefined;
      for (let i = v.length - 1; i >= 0; i--) if (Number.isFinite(v[i] as number)) return v[i] as number;
      return undefined;
    };
    const tables = [
      culpritTable({ id: 'slab', title: 'Slab caches', rows: a.culprits.slab, name: (r) => displayName(r.key) }, clusterOf, spark, lastOf),
      culpritTable({ id: 'proc', title: 'Processes', rows: a.culprits.process, name: (r) => displayName(r.key) }, clusterOf, spark, lastOf),
      culpritTable({ id: 'vmalloc', title: 'vmalloc callers', rows: a.culprits.vmalloc, name: (r) => displayName(r.key) }, clusterOf, spark, lastOf),
      culpritTable({ id: 'mapping', title: 'Mappings', rows: a.culprits.mapping, name: (r) => displayName(r.key) }, clusterOf, spark, lastOf),
      culpritTable({ id: 'allocinfo', title: 'Kernel call sites (/proc/allocinfo)', rows: a.culprits.allocinfo, name: (r) => displayName(r.key) }, clusterOf, spark, lastOf),
      culpritTable({ id: 'file', title: 'Declared files', rows: a.culprits.file, name: (r) => r.key }, clusterOf, spark, lastOf),
    ];
    data = buildChartData(a, table, spark, input.chart);
    if (data.composition) {
      body.push('<section id="composition"><h2>Memory composition over time</h2><p class="sub">Stacked: free at the bottom, what nobody accounts for ("unexplained") on top; the top edge is MemTotal.</p><div class="chart" data-chart="composition" role="img" aria-label="memory composition"></div></section>');
      nav.push(['composition', 'Composition']);
    }
    body.push(attributionSection(a));
    nav.push(['attribution', 'Attribution']);
    body.push(leaksSection(a, data.leaks));
    nav.push(['leaks', 'Leaks']);
    const ids = ['slab', 'proc', 'vmalloc', 'mapping', 'allocinfo', 'file'];
    const titles = ['Slab caches', 'Processes', 'vmalloc', 'Mappings', 'allocinfo', 'Files'];
    tables.forEach((t, i) => {
      if (t === '') return;
      body.push(t);
      nav.push([ids[i] as string, titles[i] as string]);
    });
    const cl = clustersSection(a.clusters);
    if (cl) { body.push(cl); nav.push(['clusters', 'Lockstep']); }
    for (const sec of [reclaimProbeSection(a), ownFootprintSection(a)]) {
      if (!sec) continue;
      body.push(`<section id="${sec.id}"><h2>${h(sec.title)}</h2><p class="sub">${h(sec.note)}</p><ul>${sec.lines.map((l) => `<li>${h(l)}</li>`).join('')}</ul></section>`);
      nav.push([sec.id, sec.id === 'own' ? 'Own footprint' : 'Reclaim probe']);
    }
  } else if (table) {
    data = buildChartData(undefined, table, spark, input.chart);
  }
  if (input.sites) { body.push(sitesSection(input.sites)); nav.push(['sites', 'Allocation sites']); }
  body.push(methodsSection(input, buckets));
  nav.push(['methods', 'Methods']);

  const js = assets.js;
  const css = assets.css;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="memsleuth">
<title>${h(input.title)}</title>
<style>${css}</style>
</head><body>
<nav class="toc">${nav.map(([id, label]) => `<a href="#${id}">${h(label)}</a>`).join('')}</nav>
<main>
${body.join('\n')}
</main>
<script type="application/json" id="memsleuth-data">${jsonForScript(data)}</script>
<script>${js}</script>
</body></html>
`;
}
