/**
 * The live dashboard in the browser: verdict, live charts (uPlot) of one recording, kept current by server-sent
 * events, and the HTML report's views (report_views.ts: composition, attribution tree, leak trends, culprit
 * tables), redrawn on each new analysis. Bundled by tools/bundle_serve_client.ts into dist/client/dashboard.js.
 * Every string from the target goes into the page as text (textContent), never as markup.
 */
import uPlot from 'uplot';
import type { ReportData } from '../../report/html/report_data.js';
import { formatBytes, formatDuration } from '../../report/units.js';
import type {
  AnalysisEvent, AnalysisResponse, ChartSpec, HelloEvent, RecordingsResponse, SampleEvent, SeriesResponse,
} from '../api_types.js';
import { ReportViews, reportApi } from './report_views.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const CHART_HEIGHT = 240;

interface LiveChart {
  spec: ChartSpec;
  plot: uPlot;
  /** uPlot's columns: [t in seconds, ...one per key in bytes]; null where a series is absent (drawn as a break). */
  cols: (number | null)[][];
  lastSampleId: number;
}

const $ = (id: string): HTMLElement => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

function seriesQuery(recordingId: number, keys: readonly string[]): string {
  const q = new URLSearchParams({ recording: String(recordingId) });
  for (const k of keys) q.append('key', k);
  return q.toString();
}

class Dashboard {
  private charts: LiveChart[] = [];
  private chartKeys = '';
  private source: EventSource | undefined;
  private buffered: SampleEvent[] = [];
  private loadingCharts = false;
  private readonly latest = new Map<string, number | null>();
  private readonly views = new ReportViews(reportApi());
  /** Analyses can overlap (an event while one loads): only the last one asked for is drawn. */
  private loads = 0;

  constructor(private readonly recordingId: number) {}

  async start(): Promise<void> {
    await this.loadAnalysis();
  }

  private async loadAnalysis(): Promise<void> {
    const seq = ++this.loads;
    const [a, data] = await Promise.all([
      getJson<AnalysisResponse>(`/api/analysis?recording=${this.recordingId}`),
      getJson<ReportData>(`/api/report-data?recording=${this.recordingId}`),
    ]);
    if (seq !== this.loads) return;
    renderVerdict(a);
    this.views.render(a.analysis, data);
    const keys = a.charts.map((c) => `${c.id}:${c.keys.join(',')}`).join('|');
    if (keys !== this.chartKeys) {
      this.chartKeys = keys;
      await this.buildCharts(a.charts);
    }
  }

  private async buildCharts(specs: ChartSpec[]): Promise<void> {
    this.loadingCharts = true;
    this.buffered = [];
    this.connect(specs.flatMap((s) => s.keys));
    const box = $('charts');
    for (const c of this.charts) c.plot.destroy();
    box.replaceChildren();
    this.charts = [];
    for (const spec of specs) {
      const width = Math.max(320, box.clientWidth - 16);
      const r = await getJson<SeriesResponse>(`/api/series?${seriesQuery(this.recordingId, spec.keys)}&points=${Math.round(width)}`);
      const keys = r.series.map((s) => s.key);
      const card = el('div', undefined, 'chart');
      card.dataset['chart'] = spec.id;
      card.append(el('h2', spec.title));
      const holder = el('div');
      card.append(holder);
      box.append(card);
      const cols: (number | null)[][] = [r.t.map((ms) => ms / 1000), ...r.series.map((s) => s.max)];
      const plot = new uPlot({
        width, height: CHART_HEIGHT,
        series: [{}, ...keys.map((k, i) => ({
          label: k, stroke: COLORS[i % COLORS.length] ?? '#333', width: 1.5,
          value: (_u: uPlot, v: number | null) => (v === null ? '-' : formatBytes(v)),
        }))],
        axes: [{}, { size: 80, values: (_u: uPlot, vals: number[]) => vals.map((v) => formatBytes(v)) }],
        legend: { live: true },
      }, cols as uPlot.AlignedData, holder);
      this.charts.push({ spec, plot, cols, lastSampleId: r.lastSampleId ?? 0 });
      for (const s of r.series) this.latest.set(s.key, s.max[s.max.length - 1] ?? null);
    }
    this.loadingCharts = false;
    const pending = this.buffered;
    this.buffered = [];
    for (const s of pending) this.apply(s);
    renderLatest(this.latest);
  }

  private connect(keys: string[]): void {
    this.source?.close();
    const es = new EventSource(`/events?${seriesQuery(this.recordingId, [...new Set(keys)])}`);
    this.source = es;
    es.addEventListener('hello', (e) => {
      const h = JSON.parse((e as MessageEvent<string>).data) as HelloEvent;
      setLive(true, `connected; polling every ${h.pollMs} ms`);
    });
    es.addEventListener('sample', (e) => {
      const s = JSON.parse((e as MessageEvent<string>).data) as SampleEvent;
      if (this.loadingCharts) this.buffered.push(s); else this.apply(s);
    });
    es.addEventListener('analysis', (e) => {
      JSON.parse((e as MessageEvent<string>).data) as AnalysisEvent;
      this.loadAnalysis().catch(showError);
    });
    es.onerror = () => setLive(false, 'reconnecting…');
  }

  private apply(s: SampleEvent): void {
    for (const c of this.charts) {
      if (s.sampleId <= c.lastSampleId) continue;
      c.lastSampleId = s.sampleId;
      (c.cols[0] as (number | null)[]).push(s.takenAtMs / 1000);
      c.spec.keys.forEach((k, i) => (c.cols[i + 1] as (number | null)[] | undefined)?.push(s.values[k] ?? null));
      c.plot.setData(c.cols as uPlot.AlignedData);
    }
    for (const [k, v] of Object.entries(s.values)) this.latest.set(k, v);
    $('sample-count').textContent = String(s.sampleCount);
    $('last-sample').textContent = new Date(s.takenAtMs).toLocaleTimeString();
    renderLatest(this.latest);
  }
}

function setLive(on: boolean, title: string): void {
  const dot = $('live-dot');
  dot.classList.toggle('off', !on);
  dot.title = title;
}

function showError(e: unknown): void {
  const box = $('status');
  box.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
  box.classList.add('error');
}

function renderHeader(r: RecordingsResponse, id: number): void {
  const rec = r.recordings.find((x) => x.id === id);
  const t = $('target');
  t.replaceChildren();
  if (!rec) return;
  t.append(el('strong', rec.target.name), document.createTextNode(` · recording ${rec.id} · every ${rec.intervalSec} s`));
  if (rec.target.via !== null) t.append(document.createTextNode(` · via ${rec.target.via}`));
  const status = $('status');
  status.replaceChildren(
    document.createTextNode('samples: '), el('span', String(rec.sampleCount)),
    document.createTextNode(' · last sample: '), el('span', rec.lastSampleMs === null ? '-' : new Date(rec.lastSampleMs).toLocaleTimeString()),
  );
  const spans = status.querySelectorAll('span');
  (spans[0] as HTMLSpanElement).id = 'sample-count';
  (spans[1] as HTMLSpanElement).id = 'last-sample';
}

function renderVerdict(r: AnalysisResponse): void {
  const box = $('verdict');
  box.replaceChildren();
  const a = r.analysis;
  if (!a) {
    box.append(el('p', r.error !== null ? `Analysis failed: ${r.error}` : 'No samples yet.'));
    return;
  }
  const badge = el('span', a.verdict, `badge ${a.verdict}`);
  badge.id = 'verdict-badge';
  box.append(badge, el('span', ` ${a.summary}`, 'summary'));
  box.append(el('p', `confidence ${a.confidence.level}: ${a.confidence.reason} · analysed ${new Date(r.computedAtMs).toLocaleTimeString()}, every ${r.refreshSec} s at most`, 'muted'));
  if (a.forecast.secondsToOom !== null) box.append(el('p', `OOM expected in ${formatDuration(a.forecast.secondsToOom)}`, 'oom'));
}

function table(title: string, head: string[], rows: string[][]): HTMLElement {
  const wrap = el('div', undefined, 'table');
  wrap.append(el('h2', title));
  const t = el('table');
  const tr = el('tr');
  for (const h of head) tr.append(el('th', h));
  t.append(tr);
  for (const r of rows) {
    const row = el('tr');
    for (const c of r) row.append(el('td', c));
    t.append(row);
  }
  wrap.append(t);
  return wrap;
}

function renderLatest(latest: ReadonlyMap<string, number | null>): void {
  const box = $('latest');
  const rows = [...latest.entries()].map(([k, v]) => [k, v === null ? '-' : formatBytes(v)]);
  box.replaceChildren(table('Latest values', ['series', 'value'], rows));
}

async function main(): Promise<void> {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="memsleuth-recording"]')?.content ?? '';
  const recs = await getJson<RecordingsResponse>('/api/recordings');
  const id = meta !== '' ? Number(meta) : recs.current;
  if (id === null) {
    $('status').textContent = 'No recording in this file yet: reload when the recorder has started.';
    return;
  }
  renderHeader(recs, id);
  await new Dashboard(id).start();
}

main().catch(showError);
