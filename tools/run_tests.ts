/**
 * Runs every compiled *.test.js under dist/ with Node's own runner (Node 20's --test takes no globs).
 * `node dist/tools/run_tests.js parse/ store` runs only files whose path contains one of the arguments.
 *
 * The raw TAP (thousands of lines) goes to dist/test-results.tap; the terminal gets one line per test file,
 * every failure with its diagnostics, and a closing summary: failed and skipped tests by name, then the
 * runner's own `# tests`, `# pass`, `# fail`, `# skipped` lines, which CI reads.
 *
 * The tests run with TMPDIR set to a folder of this run's own, removed at the end: a test (or the code it
 * drives) that leaves files behind is named in the summary instead of littering /tmp.
 */
import { createWriteStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from '../test/corpus.js';
import { TapSummary } from './tap_summary.js';

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

const runTmp = mkdtempSync(join(tmpdir(), 'memsleuth-test-run-'));
const tapPath = join(dist, 'test-results.tap');
const tapFile = createWriteStream(tapPath);
const summary = new TapSummary((line) => process.stdout.write(`${line}\n`));
const child = spawn(process.execPath, ['--test', '--test-reporter=tap', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot, env: { ...process.env, TMPDIR: runTmp },
});
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => { tapFile.write(`${line}\n`); summary.line(line); });
// Ctrl-C reaches the child through the process group; the summary still prints what ran.
process.on('SIGINT', () => {});

const status: number = await new Promise((done) => child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0))));
await new Promise((done) => tapFile.end(done));

const leftovers = readdirSync(runTmp);
rmSync(runTmp, { recursive: true, force: true });
for (const line of summary.closing(leftovers, tapPath)) process.stdout.write(`${line}\n`);
process.exit(status !== 0 || summary.failed.length > 0 ? 1 : 0);
