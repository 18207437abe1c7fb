/**
 * The dashboard's one HTML page: a static shell, no inline script or style (the CSP forbids both); the client
 * bundle fills it from the API. Nothing from the target is interpolated here.
 */
import { htmlEscape } from '../report/escape.js';

export interface PageAssets {
  /** The dashboard's own bundle. */
  js: string;
  css: string;
  /** The HTML report's bundle (global MemsleuthReport): loaded first, a classic script, so it is defined when the module runs. */
  reportJs: string;
  reportCss: string;
}

export function dashboardPage(assets: PageAssets, recordingId: number | null): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="memsleuth-recording" content="${recordingId === null ? '' : htmlEscape(String(recordingId))}">
<title>memsleuth live</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${htmlEscape(assets.reportCss)}">
<link rel="stylesheet" href="${htmlEscape(assets.css)}">
</head>
<body>
<header id="top">
  <h1>memsleuth <span class="live" id="live-dot" title="live">live</span></h1>
  <div id="target" class="target"></div>
  <div id="status" class="status">Loading… (if this stays, the client bundle is missing: run the build)</div>
</header>
<section id="verdict" class="verdict"></section>
<section id="charts" class="charts"></section>
<section id="latest" class="latest"></section>
<section id="composition" class="report-view" hidden><h2>Memory composition over time</h2><p class="sub">Stacked: free at the bottom, what nobody accounts for ("unexplained") on top; the top edge is MemTotal.</p><div class="chart" data-chart="composition" role="img" aria-label="memory composition"></div></section>
<section id="attribution" class="report-view" hidden></section>
<section id="leaks" class="report-view"></section>
<section id="culprits" class="report-view"></section>
<script src="${htmlEscape(assets.reportJs)}"></script>
<script type="module" src="${htmlEscape(assets.js)}"></script>
</body>
</html>
`;
}
