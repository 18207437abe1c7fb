/**
 * The layer table of DESIGN.md, checked rather than hoped for (STYLE.md, rule 11).
 * Reads every non-test .ts file under src/ and fails when a layer imports one it may not.
 * Amendment to DESIGN.md: sources/ may use parse/ (a source hands back parsed Snapshots, as the local reader must).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { repoRoot } from '../test/corpus.js';

const ALLOWED: Record<string, string[]> = {
  model: [],
  parse: ['model'],
  capture: ['model'],
  symbolize: ['model'],
  store: ['model'],
  analyze: ['model'],
  report: ['model'],
  sources: ['model', 'capture', 'parse'],
  trace: ['model', 'sources', 'capture', 'parse', 'symbolize'],
  serve: ['model', 'store', 'analyze', 'report'],
  // The recording loop joins a live source to the store (amendment: neither may import the other).
  record: ['model', 'sources', 'store', 'analyze'],
  cli: ['*'],
};

/** Node builtins and packages each layer may use; parsers and the model stay free of I/O. */
const PACKAGES_FORBIDDEN: Record<string, RegExp> = {
  model: /^(node:)?(fs|child_process|net|http|worker_threads)$|^better-sqlite3$/,
  parse: /^(node:)?(fs|child_process|net|http)$|^better-sqlite3$/,
};

const srcDir = join(repoRoot, 'src');

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const layerOf = (file: string): string => relative(srcDir, file).split(sep)[0] ?? '';

export function checkImports(): string[] {
  const problems: string[] = [];
  for (const file of walk(srcDir)) {
    const layer = layerOf(file);
    const allowed = ALLOWED[layer];
    if (!allowed) { problems.push(`${relative(repoRoot, file)}: folder "${layer}" is not in the layer table`); continue; }
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
    for (const spec of specifiers) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(srcDir + sep)) continue; // test helpers, tools
        const targetLayer = layerOf(target);
        if (targetLayer === layer || allowed.includes('*') || allowed.includes(targetLayer)) continue;
        problems.push(`${relative(repoRoot, file)}: layer "${layer}" may not import "${spec}" (layer "${targetLayer}")`);
      } else if (PACKAGES_FORBIDDEN[layer]?.test(spec)) {
        problems.push(`${relative(repoRoot, file)}: layer "${layer}" must stay free of I/O but imports "${spec}"`);
      }
    }
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const problems = checkImports();
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? 'layers: ok' : `layers: ${problems.length} violations`);
  process.exit(problems.length === 0 ? 0 : 1);
}
