/**
 * The dashboard's one HTML page: a static shell, no inline script or style (the CSP forbids both); the client
 * bundle fills it from the API. Nothing from the target is interpolated here.
 */
import { htmlEscape } from '../report/escape.js';

export function dashboardPage(assets: { js: string; css: string }, recordingId: number | null): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="memsleuth-recording" content="${recordingId === null ? '' : htmlEscape(String(recordingId))}">
<title>memsleuth live</title>
<link rel="icon" href="data:,">
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
<section id="leaks" class="tables"></section>
<section id="culprits" class="tables"></section>
<script type="module" src="${htmlEscape(assets.js)}"></script>
</body>
</html>
`;
}
