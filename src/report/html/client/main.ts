/**
 * Entry of the browser bundle (global `MemsleuthReport`). On a report page it reads the JSON block
 * `#memsleuth-data` and draws: composition chart, leak charts, sparklines, sortable tables, stack tree.
 * A live dashboard calls the same functions with its own elements and data.
 * Target strings never pass through innerHTML here: the server escaped the page, uPlot sets textContent.
 */
import type { ReportData } from '../report_data.js';
import { compositionChart, leakChart, type ChartOptions } from './charts.js';
import { drawSparkline } from './sparkline.js';
import { makeSortable, sortTable } from './sortable.js';
import { initStackTree } from './tree.js';
import { formatBytes, formatDuration } from './format.js';

export { compositionChart, leakChart, drawSparkline, makeSortable, sortTable, initStackTree, formatBytes, formatDuration };
export type { ChartOptions };

export function readReportData(doc: Document = document): ReportData | null {
  const el = doc.getElementById('memsleuth-data');
  if (!el || !el.textContent) return null;
  return JSON.parse(el.textContent) as ReportData;
}

/** Draws everything a report page asks for; safe to call on a page with only some of the parts. */
export function renderReport(doc: Document = document, data: ReportData | null = readReportData(doc)): void {
  for (const t of Array.from(doc.querySelectorAll<HTMLTableElement>('table.sortable'))) makeSortable(t);
  const tree = doc.getElementById('stack-tree');
  if (tree) initStackTree(tree, tree.parentElement ?? doc);
  if (!data) return;
  const o: ChartOptions = { startedAtMs: data.startedAtMs };
  const comp = doc.querySelector<HTMLElement>('[data-chart="composition"]');
  if (comp && data.composition) compositionChart(comp, data.composition, o);
  for (const el of Array.from(doc.querySelectorAll<HTMLElement>('[data-leak]'))) {
    const c = data.leaks.find((l) => l.id === el.dataset['leak']);
    if (c) leakChart(el, c, o);
  }
  for (const cv of Array.from(doc.querySelectorAll<HTMLCanvasElement>('canvas[data-spark]'))) {
    const v = data.sparklines[cv.dataset['spark'] ?? ''];
    if (v) drawSparkline(cv, v);
  }
}

if (typeof document !== 'undefined' && document.getElementById('memsleuth-data')) {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => renderReport());
  else renderReport();
}
