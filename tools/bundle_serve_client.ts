/**
 * Bundles the live dashboard's browser client (src/serve/client/) with esbuild into dist/client/dashboard.js
 * and dashboard.css (uPlot and its stylesheet included). Run after tsc: `node dist/tools/bundle_serve_client.js`.
 * Separate from tools/bundle_client.ts (the HTML report's client) so the two can evolve apart.
 */
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { repoRoot } from '../test/corpus.js';

export const SERVE_CLIENT_OUT = join(repoRoot, 'dist', 'client');

export async function bundleServeClient(outDir: string = SERVE_CLIENT_OUT): Promise<void> {
  const src = join(repoRoot, 'src', 'serve', 'client');
  await build({
    entryPoints: { dashboard: join(src, 'main.ts') }, outdir: outDir, bundle: true, format: 'esm', target: 'es2020',
    minify: true, sourcemap: false, legalComments: 'none', logLevel: 'warning', absWorkingDir: repoRoot,
  });
  await build({
    entryPoints: { dashboard: join(src, 'dashboard.css') }, outdir: outDir, bundle: true, minify: true, logLevel: 'warning', absWorkingDir: repoRoot,
  });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  bundleServeClient().then(() => console.log(`dashboard client: ${SERVE_CLIENT_OUT}`), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
