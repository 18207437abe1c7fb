/**
 * Bundles the report's browser client at build time (npm run build: tsc, then this): src/report/html/client/
 * main.ts with uPlot -> dist/client/report.js (one IIFE, global MemsleuthReport), and client/report.css with
 * uPlot's stylesheet -> dist/client/report.css. The HTML report inlines both (no CDN, no network); the
 * dashboard serves them. Type-checks the client first with its own tsconfig (DOM types).
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../test/corpus.js';

const clientDir = join(repoRoot, 'src', 'report', 'html', 'client');
const outDir = join(repoRoot, 'dist', 'client');

/** Type-checks the client (tsc -p src/report/html/client); exits on errors. */
function typeCheck(): void {
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  const r = spawnSync(tsc, ['-p', clientDir], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('bundle_client: the browser client has type errors (tsc -p src/report/html/client)');
    process.exit(1);
  }
}

export async function bundleClient(): Promise<{ js: string; css: string }> {
  const js = await build({
    entryPoints: [join(clientDir, 'main.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'MemsleuthReport',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const css = await build({
    entryPoints: [join(clientDir, 'report.css')],
    bundle: true,
    minify: true,
    write: false,
    logLevel: 'warning',
  });
  const jsText = js.outputFiles[0]?.text ?? '';
  const cssText = css.outputFiles[0]?.text ?? '';
  // Inlined into <script> and <style>: a closing tag inside would end them early.
  return { js: jsText.replace(/<\/script/gi, '<\\/script').trim(), css: cssText.replace(/<\/style/gi, '<\\/style').trim() };
}

if (process.argv[1] && process.argv[1].endsWith('bundle_client.js')) {
  if (!process.argv.includes('--no-check')) typeCheck();
  const { js, css } = await bundleClient();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'report.js'), js);
  writeFileSync(join(outDir, 'report.css'), css);
  console.log(`bundle_client: dist/client/report.js ${(js.length / 1024).toFixed(0)} KiB, report.css ${(css.length / 1024).toFixed(0)} KiB`);
}
