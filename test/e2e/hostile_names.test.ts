/**
 * Nothing from the user reaches the board's shell unquoted: `memsleuth script` with hostile --files names and
 * paths, run by sh for one round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli_helpers.js';

test('script --files "x;id=/tmp/a": refused with one line (exit 2); no "sec x;id" that would run id on the target', () => {
  const r = runCli(['script', '--files', 'x;id=/tmp/a']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /section name "x;id"/);
  assert.doesNotMatch(r.stdout, /x;id/);
  for (const name of ['a b', '$(id)', '`id`', "it's", 'x|y', 'a\nb']) {
    assert.equal(runCli(['script', '--files', `${name}=/proc/meminfo`]).code, 2, JSON.stringify(name));
  }
});

test('script: a hostile path is read as one file by sh, and nothing in it runs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pwned = join(dir, 'pwned');
  const path = join(dir, 'a b;touch pwned;$(touch pwned)`touch pwned`\'"');
  writeFileSync(path, 'MemTotal:       1000 kB\nMemFree:         500 kB\n');
  const r = runCli(['script', '--interval', '1', '--files', `meminfo=${path}`]);
  assert.equal(r.code, 0, r.stderr);
  // One round of the loop instead of forever.
  const once = r.stdout.replace('while true; do', 'for _ms_once in 1; do').replace(/^\s*sleep \d+$/m, '  :');
  const run = spawnSync('sh', ['-c', once], { encoding: 'utf8', timeout: 30_000, cwd: dir });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /@@ms script sec meminfo\nMemTotal:       1000 kB\nMemFree:         500 kB\n@@ms script end 0/);
  assert.equal(existsSync(pwned), false, 'a command in the path ran');
});
