/**
 * The HTML report in a real browser (playwright-core driving Debian's chromium): reports made by the real CLI
 * from seed 002 and a valgrind log, and one with hostile target names. Charts draw (canvas pixels), tables fill
 * and sort, the stack tree expands, nothing logs an error, and no target string runs as script.
 * Screenshots go to test-artifacts/report/ (gitignored). Skipped, with the reason, when /usr/bin/chromium is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { corpusDir, repoRoot, seedsDir } from '../corpus.js';
import { runCli } from './cli_helpers.js';
import { XSS, XSS_KEY, QUOTED, xssAnalysis, xssSites, xssTable } from '../report_fixtures.js';
import { renderHtmlReport } from '../../src/report/html/render.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`;
if (skip) console.log(`# report_browser: skipped: ${skip}`);

const artifacts = join(repoRoot, 'test-artifacts', 'report');
const seed002 = join(seedsDir, readdirSync(seedsDir).find((n) => n.startsWith('002_')) ?? '002');
const valgrind = join(corpusDir, 'valgrind', 'local-valgrind-3.19-debian12-x86_64-leak-check-full.txt');

let context: BrowserContext | undefined;
let profile = '';

before(async () => {
  if (skip) return;
  mkdirSync(artifacts, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'memsleuth-chromium-'));
  const { chromium } = await import('playwright-core');
  // A persistent context is a fresh --user-data-dir of our own, removed after the run.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
});

async function newPage(): Promise<Page> {
  assert.ok(context, 'browser started');
  return context.newPage();
}

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

interface Opened { page: Page; errors: string[] }

async function open(file: string): Promise<Opened> {
  const page = await newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) errors.push(`network: ${r.url()}`); });
  await page.goto(pathToFileURL(file).href);
  await page.waitForLoadState('load');
  return { page, errors };
}

/** Per chart canvas: pixels that are neither transparent nor white. */
async function inkedPixels(page: Page): Promise<number[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll<HTMLCanvasElement>('.uplot canvas, canvas.spark')).map((c) => {
    const ctx = c.getContext('2d');
    if (!ctx || c.width === 0 || c.height === 0) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if ((d[i + 3] as number) > 0 && !(d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255)) n++;
    return n;
  }));
}

async function columnValues(page: Page, table: string, col: number): Promise<number[]> {
  return page.$$eval(`${table} tbody tr`, (rows, c) => rows.map((r) => Number((r as HTMLTableRowElement).cells[c as number]?.dataset['v'] ?? 'NaN')), col);
}

const sortedDesc = (v: number[]): boolean => v.every((x, i) => i === 0 || (v[i - 1] as number) >= x);
const sortedAsc = (v: number[]): boolean => v.every((x, i) => i === 0 || (v[i - 1] as number) <= x);

test('browser: seed 002 analysed by the CLI draws its charts, fills and sorts its tables', { skip }, async () => {
  const file = join(artifacts, 'seed002.html');
  const r = runCli(['analyze', seed002, '--html', file]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const { page, errors } = await open(file);
  const charts = await page.$$('.uplot');
  assert.ok(charts.length >= 3, `${charts.length} charts`);
  const ink = await inkedPixels(page);
  assert.ok(ink.length >= charts.length && ink.every((n) => n > 50), `inked pixels per canvas: ${ink.join(',')}`);
  const rows = await page.$$('#slab-table tbody tr');
  assert.ok(rows.length >= 3, `${rows.length} slab rows`);
  // growth is column 3: first click largest first, second click smallest first.
  await page.click('#slab-table thead th:nth-child(4)');
  const desc = await columnValues(page, '#slab-table', 3);
  assert.ok(sortedDesc(desc), desc.join(','));
  await page.click('#slab-table thead th:nth-child(4)');
  const asc = await columnValues(page, '#slab-table', 3);
  assert.ok(sortedAsc(asc), asc.join(','));
  assert.equal(await page.getAttribute('#slab-table thead th:nth-child(4)', 'aria-sort'), 'ascending');
  await page.click('#slab-table thead th:nth-child(4)');
  await page.screenshot({ path: join(artifacts, 'seed002.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('browser: valgrind evidence report: the stack tree expands on click', { skip }, async () => {
  const file = join(artifacts, 'valgrind.html');
  const r = runCli(['evidence', valgrind, '--html', file]);
  assert.equal(r.code, 0, r.stderr);
  const { page, errors } = await open(file);
  const summary = page.locator('#stack-tree > li > details > summary').first();
  const child = page.locator('#stack-tree > li > details > ul > li').first();
  assert.equal(await child.isVisible(), false);
  await summary.click();
  assert.equal(await child.isVisible(), true);
  assert.match(await child.innerText(), /main \(leaky\.c:28\)/);
  await page.click('button[data-tree="expand"]');
  const expanded: number = await page.$$eval('#stack-tree details', (d) => d.filter((x) => (x as HTMLDetailsElement).open).length);
  assert.ok(expanded >= 1);
  await page.click('#totals-table thead th:nth-child(1)');
  assert.ok(sortedDesc(await columnValues(page, '#totals-table', 0)));
  await page.screenshot({ path: join(artifacts, 'valgrind.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('browser: hostile process and cache names show as text and run nothing', { skip }, async () => {
  const file = join(artifacts, 'xss.html');
  const table = xssTable();
  writeFileSync(file, renderHtmlReport({ analysis: xssAnalysis(table), table, sites: xssSites(), title: `xss ${XSS}` }));
  const { page, errors } = await open(file);
  await page.waitForSelector('.uplot');
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);
  assert.equal(await page.$$eval('img, svg, iframe, object, embed', (e) => e.length), 0);
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(text.includes(XSS), 'the payload is visible as text');
  assert.ok(text.includes(QUOTED), 'the quoted cache name is visible as text');
  assert.ok(text.includes(XSS_KEY), 'the key-borne payload is visible as text');
  assert.equal(await page.title(), `xss ${XSS}`);
  // uPlot's legend shows the series title through textContent.
  assert.ok((await page.$$eval('.u-legend .u-label', (l) => l.map((x) => x.textContent ?? ''))).some((t) => t.includes(XSS)));
  const ink = await inkedPixels(page);
  assert.ok(ink.every((n) => n > 50), ink.join(','));
  await page.screenshot({ path: join(artifacts, 'xss.png'), fullPage: true });
  assert.deepEqual(errors, []);
  assert.ok(statSync(file).size < 2 * 1024 * 1024);
  await page.close();
});
