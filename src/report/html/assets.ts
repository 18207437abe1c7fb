/**
 * The browser client, bundled at build time by tools/bundle_client.ts (esbuild: src/report/html/client/*.ts +
 * uPlot and its CSS) into dist/client/report.js and report.css. The HTML report inlines both; a live dashboard
 * may serve them. The JS defines one global, `MemsleuthReport` (see client/main.ts for its API).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BugError } from '../../model/errors.js';

export interface ClientAssets { js: string; css: string }

/** dist/src/report/html/assets.js -> dist/client/. */
export const CLIENT_DIR = fileURLToPath(new URL('../../../client/', import.meta.url));

let cached: ClientAssets | undefined;

/** Reads the bundle once per process. */
export function clientAssets(): ClientAssets {
  if (cached) return cached;
  try {
    cached = { js: readFileSync(`${CLIENT_DIR}report.js`, 'utf8'), css: readFileSync(`${CLIENT_DIR}report.css`, 'utf8') };
  } catch (err) {
    throw new BugError(`Cannot read the report's browser bundle in "${CLIENT_DIR}": ${(err as Error).message} (run "npm run build", which bundles it)`, 'client-bundle-missing');
  }
  return cached;
}
