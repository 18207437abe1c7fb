/**
 * The live dashboard in a real browser (playwright-core driving Debian's chromium): charts draw, samples
 * appended to the database appear within a second, the HTML report's views (composition, attribution tree,
 * leak trends, sortable tables with sparklines) draw and refresh with each analysis, no console errors, and a
 * process named like markup shows as text. Screenshots go to test-artifacts/ (gitignored). Skipped, with the reason, without chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../src/serve/server.js';
import { makeRecording, XSS_COMM, XSS_COMM_TIGHT, type TestRecording } from '../../src/serve/testing.js';
import { processKey } from '../../src/model/series.js';
import { formatBytes } from '../../src/report/units.js';
import { displayName } from '../../src/report/analysis_text.js';
import { bundleServeClient } from '../../tools/bundle_serve_client.js';
import { repoRoot } from '../corpus.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(repoRoot, 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;
if (skip) console.log(`# dashboard browser test skipped: ${skip}`);

let rec: TestRecording;
let dash: Dashboard;
let browser: BrowserContext | undefined;
let profile: string;
let page: Page;
const consoleErrors: string[] = [];

before(async () => {
  if (skip) return;
  await bundleServeClient();
  mkdirSync(ARTIFACTS, { recursive: true });
  // The target's own name is markup too: it reaches the page header.
  rec = makeRecording(60, XSS_COMM);
  dash = await startDashboard({ dbPath: rec.dbPath, listen: '0.0.0.0', port: 0, analysisRefreshSec: 1 });
  profile = mkdtempSync(join(tmpdir(), 'memsleuth-chromium-'));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, viewport: { width: 1280, height: 1400 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  // Through 127.0.0.1 with the token URL the server printed (its host is this machine's external address).
  await page.goto(`http://127.0.0.1:${dash.port}/?token=${dash.token ?? ''}`);
});

after(async () => {
  await browser?.close();
  await dash?.close();
  rec?.cleanup();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Share of a canvas' pixels that differ from its corner (the background). */
async function inkShare(p: Page, selector: string): Promise<number[]> {
  return p.$$eval(selector, (canvases) => canvases.map((c) => {
    const cv = c as HTMLCanvasElement;
    const ctx = cv.getContext('2d');
    if (!ctx || cv.width === 0 || cv.height === 0) return 0;
    const d = ctx.getImageData(0, 0, cv.width, cv.height).data;
    const [r0, g0, b0, a0] = [d[0], d[1], d[2], d[3]];
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] !== r0 || d[i + 1] !== g0 || d[i + 2] !== b0 || d[i + 3] !== a0) ink++;
    return ink / (d.length / 4);
  }));
}

test('the dashboard draws its charts and shows the verdict', { skip }, async () => {
  await page.waitForSelector('.chart canvas', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length >= 2, undefined, { timeout: 10_000 });
  const ink = await inkShare(page, '.chart canvas');
  assert.ok(ink.length >= 2, `charts: ${ink.length}`);
  for (const [i, share] of ink.entries()) assert.ok(share > 0.005, `chart ${i} draws lines (${(share * 100).toFixed(2)}% ink)`);
  assert.equal(await page.textContent('#verdict-badge'), 'leak');
  assert.equal(await page.textContent('#sample-count'), '60');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-initial.png'), fullPage: true });
});

test("the report's views: composition, attribution tree, leak trends, tables with sparklines", { skip }, async () => {
  await page.waitForSelector('[data-chart="composition"] canvas', { timeout: 10_000 });
  assert.equal(await page.$eval('#composition', (e) => (e as HTMLElement).hidden), false);
  const comp = await inkShare(page, '[data-chart="composition"] canvas');
  assert.ok(comp.length >= 1 && comp.some((x) => x > 0.05), `composition draws stacked areas (${comp.map((x) => (x * 100).toFixed(1)).join(', ')}% ink)`);
  const leaks = await inkShare(page, '#leaks [data-leak] canvas');
  assert.ok(leaks.length >= 1, 'leak charts with trend and forecast');
  assert.ok(leaks.some((x) => x > 0.005), 'leak charts draw');
  const tree = await page.$$eval('#attribution-tree .arow', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.ok(tree.length >= 3, `attribution rows: ${tree.length}`);
  assert.ok(tree.some((r) => r.includes('anonymous') || r.includes('anon')), `anon memory in the tree: ${tree.join(' | ')}`);
  assert.ok((await page.$$('#slab-table.sortable tbody tr')).length >= 1, 'slab table');
  assert.ok((await page.$$('#proc-table.sortable tbody tr')).length >= 2, 'process table');
  const sparks = await inkShare(page, '#culprits canvas.spark');
  assert.ok(sparks.length >= 3 && sparks.every((x) => x > 0), `sparklines draw (${sparks.length})`);
});

test('the culprit tables sort on a header click, and keep their order across a refresh', { skip }, async () => {
  const table = (await page.$$('#slab-table tbody tr')).length >= 2 ? '#slab-table' : '#proc-table';
  const growth = (): Promise<number[]> => page.$$eval(`${table} tbody tr`, (rows) => rows.map((r) => Number((r as HTMLTableRowElement).cells[3]?.dataset['v'])));
  await page.click(`${table} th:nth-child(4)`);
  assert.equal(await page.getAttribute(`${table} th:nth-child(4)`, 'aria-sort'), 'descending');
  const down = await growth();
  assert.deepStrictEqual(down, [...down].sort((a, b) => b - a));
  await page.click(`${table} th:nth-child(4)`);
  assert.equal(await page.getAttribute(`${table} th:nth-child(4)`, 'aria-sort'), 'ascending');
  const up = await growth();
  assert.deepStrictEqual(up, [...up].sort((a, b) => a - b));
  await page.click(`${table} th:nth-child(1)`);
  const names = await page.$$eval(`${table} tbody td.name`, (tds) => tds.map((t) => (t.textContent ?? '').trim().toLowerCase()));
  assert.deepStrictEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
});

test('samples appended to the database appear without a reload', { skip }, async () => {
  for (let k = 0; k < 3; k++) {
    const id = rec.append();
    const want = String(rec.n);
    const value = formatBytes(rec.store.valuesAt(id).get('meminfo.MemAvailable') as number);
    // Pushed live; how fast is a bench figure (a loaded machine may take seconds), that it comes is the test.
    await page.waitForFunction((n) => document.getElementById('sample-count')?.textContent === n, want, { timeout: 30_000, polling: 50 });
    const latest = await page.$$eval('#latest tr', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.ok(latest.some((r) => r.startsWith('meminfo.MemAvailable') && r.endsWith(value)), `latest MemAvailable ${value} in ${latest.join(' | ')}`);
  }
  // The charts grew by the new points: uPlot redrew with them.
  const ink = await inkShare(page, '#charts .chart canvas');
  for (const share of ink) assert.ok(share > 0.005);
  // The next analyses (at most every second here) redraw the report's views from the new samples, up to the
  // last one: a sample that lands while an analysis runs gets a trailing one.
  await page.waitForFunction((n) => Array.from(document.querySelectorAll<HTMLTableCellElement>('#proc-table tbody tr td:nth-child(8)'))
    .some((td) => Number(td.dataset['v']) >= n), rec.n, { timeout: 30_000 });
  assert.ok((await inkShare(page, '[data-chart="composition"] canvas')).some((x) => x > 0.05), 'composition redrawn');
  assert.equal(await page.getAttribute('#proc-table th[aria-sort], #slab-table th[aria-sort]', 'aria-sort') !== null, true, 'sort order kept');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
});

test('target strings are text: a process named like markup shows as itself and runs nothing', { skip }, async () => {
  await page.waitForFunction(() => document.querySelectorAll('#culprits td').length > 0, undefined, { timeout: 30_000 });
  const cells = await page.$$eval('#culprits td, .chart .u-legend th, .chart .u-legend td, #target strong', (es) => es.map((e) => e.textContent ?? ''));
  const titles = await page.$$eval('#culprits td.name', (es) => es.map((e) => e.getAttribute('title') ?? ''));
  const views = await page.$$eval('#leaks h3, #leaks p, #attribution .label', (es) => es.map((e) => e.textContent ?? ''));
  for (const comm of [XSS_COMM, XSS_COMM_TIGHT]) {
    const pid = comm === XSS_COMM ? 4242 : 4343;
    const key = `${processKey(comm, pid)}.uss`;
    assert.ok(cells.some((c) => c.includes(key)), `${key} shown as text (live chart legend)`);
    assert.ok(titles.includes(key), `${key} as the name cell's title`);
    assert.ok(cells.some((c) => c === displayName(key)), `${displayName(key)} shown as text in the process table`);
  }
  const shown = displayName(`${processKey(XSS_COMM, 4242)}.uss`).replace(/ \(pid.*$/, '');
  assert.ok(views.some((v) => v.includes(shown)), `the leak and attribution views show "${shown}" as text`);
  assert.equal(await page.textContent('#target strong'), XSS_COMM, 'target name as text');
  assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0, 'no <img> element was created');
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-xss.png'), fullPage: false });
});

test('no console errors', { skip }, () => {
  assert.deepStrictEqual(consoleErrors, []);
});
