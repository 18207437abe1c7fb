/**
 * Nothing from the user reaches the board's shell unquoted: `memsleuth script` with hostile --files names and
 * paths, run by sh for one round; and a target's names come back whole in what people read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('export: a process named "Web Content.x" is recorded and exported under its real name (CSV header, JSON names, --series either way)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-names-'));
  const program = join(dir, 'Web Content.x');
  copyFileSync('/bin/sleep', program);
  chmodSync(program, 0o755);
  const child = spawn(program, ['60'], { stdio: 'ignore' });
  t.after(() => { child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  const pid = child.pid as number;
  // The kernel's own name for it, the source of truth (comm: the file name, at most 15 bytes).
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd();
  assert.equal(comm, 'Web Content.x');
  const db = join(dir, 'names.db');
  const r = runCli(['record', '--pid', String(pid), '--interval', '1s', '--duration', '2.5s', '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  for (const glob of [`proc.${comm}:${pid}.*`, `proc.Web%20Content%2Ex:${pid}.*`]) {
    const csv = runCli(['export', '--db', db, '--series', glob]);
    assert.equal(csv.code, 0, csv.stderr);
    const header = csv.stdout.split('\n')[0] ?? '';
    assert.ok(header.includes(`proc.${comm}:${pid}.rss`), header);
    assert.doesNotMatch(header, /%20|%2E/);
  }
  const json = runCli(['export', '--db', db, '--format', 'json', '--series', `proc.${comm}:${pid}.rss`]);
  const parsed = JSON.parse(json.stdout) as { series: Record<string, unknown>; names: Record<string, string> };
  const [key] = Object.keys(parsed.series);
  assert.equal(parsed.names[key ?? ''], `proc.${comm}:${pid}.rss`);
});
