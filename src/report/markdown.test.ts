import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown } from './markdown.js';
import { QUOTED, xssAnalysis, xssSites, xssTable } from '../../test/report_fixtures.js';

test('markdown: verdict, OOM line, leak table and evidence; hostile names escaped', () => {
  const md = renderMarkdown(xssAnalysis(xssTable()), xssSites());
  assert.match(md, /^### memsleuth\n/);
  assert.match(md, /- Verdict: \*\*leak\*\*/);
  assert.match(md, /- Time to OOM: /);
  assert.match(md, /\| leak \| series \| rate \| growth \| confidence \|/);
  assert.match(md, /\| --- \| --- \| ---: \| ---: \| --- \|/);
  // Outside code fences (shown literally by every Markdown renderer) no raw HTML.
  assert.equal(md.replace(/```[\s\S]*?```/g, '').match(/(^|[^\\])<img/), null, 'no raw HTML tag');
  assert.ok(md.includes('\\<img src=x onerror="window.\\_\\_xss=1"\\>'), 'the payload is shown as text');
  assert.ok(md.includes(`owner: \\<img`));
  // Every table row has as many cells as its header.
  const rows = md.split('\n').filter((l) => l.startsWith('|'));
  for (const r of rows) assert.equal(r.replace(/\\\|/g, '').split('|').length >= 5, true);
  assert.ok(md.includes('make_list (leaky.c:16)') || md.includes('leaky.c:16'));
  assert.ok(md.includes(QUOTED.replace(/_/g, '\\_')) || md.includes('quoted'));
});

test('markdown: evidence only, with the largest stack in a fence', () => {
  const md = renderMarkdown(undefined, xssSites());
  assert.match(md, /\*\*2 allocation sites holding 4\.13 KiB\*\*/);
  assert.match(md, /\| 1 \| 4\.00 KiB \| 4 \| definite \(valgrind\) \| "quoted' cache\.c:12 \|/);
  assert.match(md, /```\n  malloc \[libc\.so\.6\]\n/);
  assert.equal(renderMarkdown(undefined, []), '### memsleuth\n\nNo allocation sites: the reports list no leaked or outstanding memory.\n');
});
