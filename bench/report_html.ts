/**
 * Size and time of the HTML report for a 24-hour recording at 1 s (86,400 samples): a generated SeriesTable
 * (analyze/testing_tables: meminfo, slab caches, processes, a slab leak), analysed, then rendered. The issue's
 * budget: under 2 MB for a week. Prints one line per step; `--days N` and `--out FILE` to change or keep it.
 *   node dist/bench/report_html.js [--days 7] [--out /tmp/report.html]
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { makeTable } from '../src/analyze/testing_tables.js';
import { analyzeRecordingParallel } from '../src/analyze/report_model.js';
import { summarySentence } from '../src/report/analysis_text.js';
import { renderHtmlReport } from '../src/report/html/render.js';
import { renderMarkdown } from '../src/report/markdown.js';
import { clientAssets } from '../src/report/html/assets.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const days = Number(arg('--days') ?? '1');
const out = arg('--out');

const ms = (a: number, b: number): string => `${(b - a).toFixed(0)} ms`;
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(2)} MB`;

const t0 = performance.now();
const table = makeTable({ name: `${days} d at 1 s`, leak: 'kernel-slab', ratePerHour: 0.001, noise: ['ar1', 'cache-churn', 'sawtooth'], seconds: days * 86400, dt: 1, seed: 42 });
table.startedAtMs = Date.UTC(2025, 0, 1);
const t1 = performance.now();
const analysis = await analyzeRecordingParallel(table);
analysis.summary = summarySentence(analysis);
const t2 = performance.now();
clientAssets();
const t3 = performance.now();
const html = renderHtmlReport({ analysis, table, title: `memsleuth bench: ${days} d at 1 s` });
const t4 = performance.now();
const md = renderMarkdown(analysis);
const t5 = performance.now();
const bytes = Buffer.byteLength(html);
const dataBlock = /<script type="application\/json" id="memsleuth-data">([\s\S]*?)<\/script>/.exec(html)?.[1]?.length ?? 0;
console.log(`report_html: ${table.t.length} samples x ${table.series.size} series (${days} d at 1 s)`);
console.log(`  generate table   ${ms(t0, t1)}`);
console.log(`  analyse          ${ms(t1, t2)}  (${analysis.verdict}, ${analysis.leaks.length} leaks)`);
console.log(`  render html      ${ms(t3, t4)}  -> ${mb(bytes)} (data block ${mb(dataBlock)}, client ${mb(clientAssets().js.length + clientAssets().css.length)}); budget 2 MB: ${bytes < 2 * 1024 * 1024 ? 'ok' : 'OVER'}`);
console.log(`  render markdown  ${ms(t4, t5)}  -> ${md.length} bytes`);
if (out !== undefined) writeFileSync(out, html);
