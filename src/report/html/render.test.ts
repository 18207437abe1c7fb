import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { jsonForScript, renderHtmlReport } from './render.js';
import type { ReportData } from './report_data.js';
import { buildStackTree } from './stack_tree.js';
import { XSS, XSS_KEY, QUOTED, xssAnalysis, xssSites, xssTable } from '../../../test/report_fixtures.js';

const assets = { js: 'window.__client = 1;', css: 'body{color:black}' };

function parts(html: string): { markup: string; json: string; script: string } {
  const j = /<script type="application\/json" id="memsleuth-data">([\s\S]*?)<\/script>/.exec(html);
  const s = /<script>([\s\S]*?)<\/script>\s*<\/body>/.exec(html);
  assert.ok(j && s, 'one data block and one script');
  return { markup: html.replace(j[0], '').replace(s[0], ''), json: j[1] as string, script: s[1] as string };
}

test('html: hostile process, cache and frame names appear only as escaped text', () => {
  const table = xssTable();
  const html = renderHtmlReport({ analysis: xssAnalysis(table), table, sites: xssSites(), title: `report ${XSS}`, assets });
  const { markup, json } = parts(html);
  // No tag of theirs in the markup, and no other script than ours.
  assert.ok(!/<img|<svg/i.test(markup), 'no <img> or <svg> element');
  assert.equal((html.match(/<script/g) ?? []).length, 2);
  // Every "<" of target text is escaped, so any tag left is ours: none carries an event handler.
  // (Quoted attribute values blanked first: an escaped name may read "onerror=" inside aria-label.)
  assert.ok(!/<[^>]*\son\w+\s*=/i.test(markup.replace(/"[^"]*"/g, '""')), 'no event-handler attribute');
  assert.ok(markup.includes('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;'));
  assert.ok(markup.includes('&quot;quoted&#39; cache'), 'the quoted cache name, escaped');
  assert.ok(markup.includes(`<title>report &lt;img`));
  // Through a series key the payload is normalized but still escaped.
  assert.ok(markup.includes('&lt;svg/onload=window[&#39;__xss&#39;]=2&gt;'), XSS_KEY);
  // The data block cannot be closed by a target string.
  assert.ok(!json.includes('<'));
  const data = JSON.parse(json) as ReportData;
  assert.equal(data.version, 1);
  assert.ok(data.leaks.some((l) => l.title === `process ${XSS}`), 'the raw title travels as JSON text');
  assert.ok(QUOTED.length > 0);
});

test('html: the CSP allows exactly the inlined script and style, and nothing from the network', () => {
  const html = renderHtmlReport({ sites: xssSites(), title: 't', assets });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1]?.replace(/&#39;/g, "'") ?? '';
  const hash = (s: string): string => createHash('sha256').update(s).digest('base64');
  assert.equal(csp, `default-src 'none'; script-src 'sha256-${hash(assets.js)}'; style-src 'sha256-${hash(assets.css)}'; img-src data:; base-uri 'none'; form-action 'none'`);
  assert.ok(html.includes(`<script>${assets.js}</script>`));
  assert.ok(html.includes(`<style>${assets.css}</style>`));
  assert.ok(!/https?:\/\//.test(html.replace(/<script type="application\/json"[\s\S]*?<\/script>/, '')), 'no URL to fetch');
});

test('html: sections top to bottom, tables with sparklines, lockstep clusters marked', () => {
  const table = xssTable();
  const a = xssAnalysis(table);
  const html = renderHtmlReport({ analysis: a, table, title: 't', assets });
  const order = ['id="verdict"', 'id="oom"', 'id="composition"', 'id="attribution"', 'id="leaks"', 'id="slab"', 'id="proc"', 'id="methods"'];
  const at = order.map((s) => html.indexOf(s));
  assert.ok(at.every((x) => x > 0), JSON.stringify(at));
  assert.deepEqual([...at].sort((x, y) => x - y), at);
  const data = JSON.parse(parts(html).json) as ReportData;
  assert.ok(data.composition && data.composition.groups.length >= 8);
  assert.deepEqual(data.composition.groups.map((g) => g.label).slice(0, 2), ['free', 'page cache + buffers']);
  assert.equal(data.composition.groups[data.composition.groups.length - 1]?.label, 'unexplained');
  assert.ok(data.leaks.find((l) => l.id === 'available'));
  const leak0 = data.leaks.find((l) => l.id === 'leak0');
  assert.ok(leak0 && leak0.trend !== null);
  const sparks = html.match(/data-spark="(\w+)"/g) ?? [];
  assert.ok(sparks.length >= a.culprits.slab.length);
  for (const s of sparks) assert.ok((data.sparklines[s.slice(12, -1)]?.length ?? 0) > 10, s);
  for (const c of a.clusters) assert.ok(html.includes(`href="#${c.id}"`));
  assert.match(html, /Methods<\/h2><ul><li>Source: /);
  assert.match(html, /Boots: unknown boot id \(samples 1-721\)/);
});

test('html: an evidence-only report has the site table and the stack tree, culprit frame first', () => {
  const html = renderHtmlReport({ sites: xssSites(), evidence: { inputs: [{ file: 'vg.log', format: 'valgrind', sites: 2, warnings: 0 }], problems: [] }, title: 'e', assets });
  assert.ok(html.includes('id="stack-tree"'));
  assert.ok(html.includes('<span class="frame">make_list (leaky.c:16)</span>'));
  assert.ok(html.includes('Read <code>vg.log</code> as valgrind: 2 sites.'));
  const tree = buildStackTree(xssSites());
  assert.deepEqual(tree.children.map((c) => [c.label, c.bytes, c.via, c.children.map((k) => k.label)]), [
    [`${XSS} ("quoted' cache.c:12)`, 4096, ['malloc'], ['main (main.c:3)']],
    ['make_list (leaky.c:16)', 131, ['malloc'], ['main (leaky.c:28)']],
  ]);
});

test('html: a day at 1 s stays small (downsampled per bucket)', () => {
  const table = xssTable();
  const html = renderHtmlReport({ analysis: xssAnalysis(table), table, title: 't', assets, chart: { buckets: 200 } });
  const data = JSON.parse(parts(html).json) as ReportData;
  assert.ok((data.composition?.t.length ?? 0) <= 2 * 200 + 10);
});

test('jsonForScript: "<" and line separators escaped, the value round-trips', () => {
  const v = { s: '</script><!-- \u2028 x' };
  const j = jsonForScript(v);
  assert.ok(!j.includes('<') && !j.includes('\u2028'));
  assert.deepEqual(JSON.parse(j), v);
});

test('html: memsleuth\'s own footprint and a reclaim probe get their sections, as the terminal shows them (real recordings)', async () => {
  const { loadRecording } = await import('../../../test/recordings.js');
  const { analyzeRecording } = await import('../../analyze/report_model.js');
  const { renderAnalysis } = await import('../analysis_text.js');
  // valgrind running a program that frees everything: valgrind is set apart as memsleuth's own footprint.
  const run = loadRecording('recording-run-valgrind-local.json').table;
  const a = analyzeRecording(run);
  assert.ok(a.own && a.own.processes.length > 0);
  const html = renderHtmlReport({ analysis: a, table: run, assets, title: 'run' });
  const own = /<section id="own">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.match(own, /<h2>memsleuth&#39;s own footprint<\/h2>/);
  for (const p of a.own.processes) assert.ok(own.includes(`(pid ${p.pid})`), `pid ${p.pid} listed`);
  assert.ok(html.includes('<a href="#own">'), 'in the navigation');
  // A recording with a reclaim probe: what fell and what stayed.
  const probe = loadRecording('recording-negdent-probe-local.json').table;
  const b = analyzeRecording(probe);
  assert.ok(b.reclaimProbe);
  const section = /<section id="reclaim">([\s\S]*?)<\/section>/.exec(renderHtmlReport({ analysis: b, table: probe, assets, title: 'probe' }))?.[1] ?? '';
  assert.match(section, /Reclaim probe \(drop_caches 2, then 3, at t=/);
  // The same lines as the terminal's (no colours), escaped for HTML.
  const { colorsFor } = await import('../color.js');
  const terminal = new Set(renderAnalysis(b, colorsFor({ isTTY: false }, {}), { width: 200 }).split('\n'));
  const unescape = (x: string): string => x.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  for (const m of section.matchAll(/<li>(.*?)<\/li>/g)) assert.ok(terminal.has(unescape(m[1] as string)), m[1]);
  assert.equal((section.match(/<li>/g) ?? []).length, b.reclaimProbe.fell.length + b.reclaimProbe.stayed.length);
});
