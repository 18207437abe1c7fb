/**
 * Runs every compiled *.test.js under dist/ with Node's own runner (Node 20's --test takes no globs).
 * `node dist/tools/run_tests.js parse/ store` runs only files whose path contains one of the arguments.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../test/corpus.js';

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const dist = join(repoRoot, 'dist');
const filters = process.argv.slice(2);
const files = walk(dist, [])
  .filter((f) => filters.length === 0 || filters.some((s) => relative(dist, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`No test files under ${dist} match ${JSON.stringify(filters)}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...files], { stdio: 'inherit', cwd: repoRoot });
process.exit(result.status ?? 1);
