/**
 * The HTML report's views on the live dashboard: memory composition, the attribution tree, each leak with its
 * trend, confidence band and forecast, and the culprit tables (sortable, with sparklines). The data is
 * /api/report-data (the block a report embeds) plus /api/analysis; the drawing is the report's own bundle
 * (/assets/report.js, global MemsleuthReport), loaded by the page before this module. The markup mirrors
 * src/report/html/render.ts, built with DOM calls: every string from the target is set as text.
 */
import type { Analysis, AttributionNode, SeriesVerdict } from '../../model/analysis.js';
import { displayName } from '../../report/analysis_text.js';
import { ownFootprintSection, reclaimProbeSection } from '../../report/side_sections.js';
import type { CompositionChart, LeakChart, ReportData } from '../../report/html/report_data.js';
import { formatBytes, formatDelta, formatDuration, formatRate } from '../../report/units.js';

interface Plot { destroy(): void }
interface ChartOptions { startedAtMs: number | null; height?: number }

/** What the dashboard uses of the report bundle's global (src/report/html/client/main.ts). */
export interface ReportApi {
  compositionChart(el: HTMLElement, c: CompositionChart, o: ChartOptions): Plot;
  leakChart(el: HTMLElement, c: LeakChart, o: ChartOptions): Plot;
  drawSparkline(canvas: HTMLCanvasElement, values: readonly number[], color?: string): void;
  makeSortable(table: HTMLTableElement): void;
  sortTable(table: HTMLTableElement, col: number, descending: boolean): void;
}

export function reportApi(): ReportApi {
  const api = (globalThis as { MemsleuthReport?: ReportApi }).MemsleuthReport;
  if (!api) throw new Error('the report bundle /assets/report.js did not load (run the build)');
  return api;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

const $ = (id: string): HTMLElement => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e;
};

const pct = (x: number | null): string => (x === null ? '' : `${(x * 100).toFixed(0)}%`);

function badge(v: string | null): HTMLElement | null {
  return v ? el('span', v, `badge v-${v}`) : null;
}

/** The culprit tables, as in the report: table id, title, rows. */
function tableSpecs(a: Analysis): [string, string, readonly SeriesVerdict[]][] {
  const c = a.culprits;
  return [
    ['slab', 'Slab caches', c.slab], ['proc', 'Processes', c.process], ['vmalloc', 'vmalloc callers', c.vmalloc],
    ['mapping', 'Mappings', c.mapping], ['allocinfo', 'Kernel call sites (/proc/allocinfo)', c.allocinfo], ['file', 'Declared files', c.file],
  ];
}

export class ReportViews {
  private plots: Plot[] = [];

  constructor(private readonly api: ReportApi) {}

  /** Replaces every view with this analysis and its data block; keeps the tables' sort order. */
  render(a: Analysis | null, data: ReportData): void {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    const o: ChartOptions = { startedAtMs: data.startedAtMs };
    this.composition(data, o);
    const attribution = $('attribution');
    // Nodes the reader opened or closed stay so.
    const open = new Map<string, boolean>();
    for (const d of Array.from(attribution.querySelectorAll<HTMLDetailsElement>('details[data-node]'))) open.set(d.dataset['node'] ?? '', d.open);
    attribution.replaceChildren();
    attribution.hidden = a === null;
    if (a) attribution.append(...attributionSection(a));
    for (const d of Array.from(attribution.querySelectorAll<HTMLDetailsElement>('details[data-node]'))) {
      const was = open.get(d.dataset['node'] ?? '');
      if (was !== undefined) d.open = was;
    }
    this.leaks(a, data, o);
    this.tables(a, data);
  }

  private composition(data: ReportData, o: ChartOptions): void {
    const section = $('composition');
    const old = section.querySelector<HTMLElement>('[data-chart="composition"]');
    section.hidden = data.composition === null || !old;
    if (!old) return;
    // A fresh element each time: the chart's ResizeObserver watches the old one, which then goes away with it.
    const box = old.cloneNode(false) as HTMLElement;
    old.replaceWith(box);
    if (data.composition) this.plots.push(this.api.compositionChart(box, data.composition, o));
  }

  private leaks(a: Analysis | null, data: ReportData, o: ChartOptions): void {
    const box = $('leaks');
    box.replaceChildren();
    if (!a) return;
    box.append(el('h2', 'Leaking series'));
    const charts: [HTMLElement, LeakChart][] = [];
    const avail = data.leaks.find((c) => c.id === 'available');
    if (avail) {
      const card = el('div', undefined, 'leak');
      const h3 = el('h3', `${avail.title} `);
      h3.append(el('code', avail.key));
      card.append(h3);
      for (const e of a.forecast.evidence) card.append(el('p', e, 'evidence'));
      const chart = chartBox('available', avail.title);
      card.append(chart);
      charts.push([chart, avail]);
      box.append(card);
    }
    if (a.leaks.length === 0) box.append(el('p', 'No leaking series.'));
    a.leaks.forEach((l, i) => {
      const card = el('div', undefined, 'leak');
      card.id = `leak${i}`;
      const h3 = el('h3', `${l.subject} `);
      h3.append(el('code', l.key));
      card.append(h3);
      const few = l.ci[0] === null && l.ci[1] === null;
      const rate = few ? `${formatDelta(l.growthBytes)} between the samples that show it` : formatRate(l.rateBytesPerSec);
      const p = el('p');
      p.append(el('b', rate), document.createTextNode(`${l.since ? `, since ${l.since}` : l.sinceSec > a.window.fromSec ? `, since t=${formatDuration(l.sinceSec)}` : ''}; ${l.confidence.level} confidence (${l.confidence.reason})`));
      card.append(p);
      if (l.culprits.length) card.append(el('p', `Culprits: ${l.culprits.slice(0, 8).map(displayName).join(', ')}`));
      for (const e of l.evidence) card.append(el('p', e, 'evidence'));
      if (l.nextStep) {
        const next = el('p', 'Next: ', 'next');
        next.append(el('code', l.nextStep));
        card.append(next);
      }
      const c = data.leaks.find((x) => x.id === `leak${i}`);
      if (c) {
        const chart = chartBox(c.id, l.subject);
        card.append(chart);
        charts.push([chart, c]);
      }
      box.append(card);
    });
    // Drawn once in the page, so the charts take their width from the layout.
    for (const [chart, c] of charts) this.plots.push(this.api.leakChart(chart, c, o));
  }

  private tables(a: Analysis | null, data: ReportData): void {
    const box = $('culprits');
    // The order a reader chose survives the refresh: table id -> [column, descending].
    const sorted = new Map<string, [number, boolean]>();
    for (const th of Array.from(box.querySelectorAll<HTMLTableCellElement>('th[aria-sort]'))) {
      const t = th.closest('table');
      if (t) sorted.set(t.id, [th.cellIndex, th.getAttribute('aria-sort') === 'descending']);
    }
    box.replaceChildren();
    if (!a) return;
    const clusterOf = new Map<string, string>();
    for (const c of a.clusters) for (const m of c.members) clusterOf.set(m.key, c.id);
    for (const [id, title, rows] of tableSpecs(a)) {
      if (rows.length === 0) continue;
      const section = el('section');
      section.id = id;
      section.append(el('h2', title));
      const table = culpritTable(id, rows, clusterOf);
      section.append(table);
      box.append(section);
      this.api.makeSortable(table);
      const s = sorted.get(table.id);
      if (s) this.api.sortTable(table, s[0], s[1]);
      for (const cv of Array.from(table.querySelectorAll<HTMLCanvasElement>('canvas[data-spark]'))) {
        const v = data.sparklines[cv.dataset['spark'] ?? ''];
        if (v) this.api.drawSparkline(cv, v);
      }
    }
    // As in the report: what a reclaim probe showed, and memsleuth's own footprint set apart.
    for (const sec of [reclaimProbeSection(a), ownFootprintSection(a)]) {
      if (!sec) continue;
      const section = el('section');
      section.id = sec.id;
      section.append(el('h2', sec.title), el('p', sec.note, 'sub'));
      const ul = el('ul');
      for (const line of sec.lines) ul.append(el('li', line));
      section.append(ul);
      box.append(section);
    }
  }
}

function chartBox(id: string, label: string): HTMLElement {
  const d = el('div', undefined, 'chart');
  d.dataset['leak'] = id;
  d.setAttribute('role', 'img');
  d.setAttribute('aria-label', label);
  return d;
}

function attributionSection(a: Analysis): HTMLElement[] {
  const at = a.attribution;
  const sub = at.basis === 'none'
    ? 'No meminfo in the recording.'
    : `From ${at.basis}; MemAvailable ${formatDelta(at.memAvailableDeltaBytes ?? undefined)}, MemFree ${formatDelta(at.memFreeDeltaBytes ?? undefined)}; shares of the ${formatBytes(at.grossGrowthBytes)} that grew between t=${formatDuration(at.fromSec)} and t=${formatDuration(at.toSec)}.`;
  const ul = el('ul', undefined, 'atree');
  ul.id = 'attribution-tree';
  ul.append(attributionNode(at.root, 0));
  return [el('h2', 'Where the change went'), el('p', sub, 'sub'), ul, el('p', '* overlaps the groups above: shown, not added', 'sub')];
}

function attributionNode(n: AttributionNode, depth: number): HTMLLIElement {
  const kids = n.children.filter((k) => k.deltaBytes !== 0 || k.children.length > 0);
  const share = n.share === null ? 0 : Math.max(0, Math.min(1, n.share));
  const row = el('div', undefined, `arow${n.additive ? '' : ' overlap'}`);
  row.append(el('span', formatDelta(n.deltaBytes), `delta ${n.deltaBytes > 0 ? 'up' : n.deltaBytes < 0 ? 'down' : ''}`));
  const shareBox = el('span', undefined, 'share');
  const meter = el('meter');
  meter.min = 0;
  meter.max = 1;
  meter.value = share;
  shareBox.append(meter, document.createTextNode(` ${pct(n.share)}`));
  row.append(shareBox, el('span', formatBytes(n.endBytes ?? undefined), 'now'));
  const label = el('span', n.label, 'label');
  if (!n.additive) {
    const star = el('i', '*');
    star.title = 'overlaps the groups above: shown, not added';
    label.append(document.createTextNode(' '), star);
  }
  row.append(label);
  const b = badge(n.verdict);
  if (b) row.append(b);
  if (n.note) row.append(el('span', n.note, 'note'));
  const li = el('li');
  if (kids.length === 0) {
    li.append(row);
    return li;
  }
  const details = el('details');
  details.dataset['node'] = n.id;
  details.open = depth < 2;
  const summary = el('summary');
  summary.append(row);
  const ul = el('ul');
  for (const k of kids) ul.append(attributionNode(k, depth + 1));
  details.append(summary, ul);
  li.append(details);
  return li;
}

const HEAD = ['name', 'lockstep', 'rate', 'growth', 'now', 'verdict', 'conf.', 'n', 'trend'];
const NUMERIC = new Set(['rate', 'growth', 'now', 'conf.', 'n']);

function numCell(text: string, v: number | string): HTMLTableCellElement {
  const td = el('td', text, 'num');
  td.dataset['v'] = String(v);
  return td;
}

/** render.ts culpritTable, as DOM: sparkline ids are table id + row index, as buildReportData numbers them. */
function culpritTable(id: string, rows: readonly SeriesVerdict[], clusterOf: ReadonlyMap<string, string>): HTMLTableElement {
  const table = el('table', undefined, 'sortable');
  table.id = `${id}-table`;
  const head = el('tr');
  for (const c of HEAD) {
    const th = el('th', c);
    th.scope = 'col';
    if (NUMERIC.has(c)) { th.dataset['type'] = 'num'; th.className = 'num'; }
    if (c === 'trend') th.dataset['nosort'] = '';
    head.append(th);
  }
  table.createTHead().append(head);
  const body = table.createTBody();
  rows.forEach((r, i) => {
    const tr = el('tr');
    if (r.verdict === 'leak') tr.className = 'is-leak';
    const name = el('td', id === 'file' ? r.key : displayName(r.key), 'name');
    name.title = r.key;
    const cl = clusterOf.get(r.key);
    const lock = el('td');
    if (cl) lock.append(el('span', cl, 'badge cluster'));
    const few = r.rule === 'few-samples';
    const now = r.lastBytes;
    const verdict = el('td');
    const b = badge(r.verdict);
    if (b) verdict.append(b);
    const trend = el('td');
    const cv = el('canvas', undefined, 'spark');
    cv.width = 120;
    cv.height = 24;
    cv.dataset['spark'] = `${id}${i}`;
    trend.append(cv);
    tr.append(
      name, lock, numCell(few ? '-' : formatRate(r.rateBytesPerSec), few ? '' : r.rateBytesPerSec),
      numCell(formatDelta(r.growthBytes), r.growthBytes), numCell(formatBytes(now), now), verdict,
      numCell(r.level, r.confidence), numCell(String(r.points), r.points), trend,
    );
    body.append(tr);
  });
  return table;
}
