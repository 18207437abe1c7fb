/**
 * Bad input gets one line naming the file and what was wrong, exit code 2, and never a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { runCli } from './cli_helpers.js';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'memsleuth-bad-'));
const missing = join(dir, 'no-such-file.txt');
const empty = join(dir, 'empty.txt');
const binary = join(dir, 'garbage.bin');
const prose = join(dir, 'prose.txt');
writeFileSync(empty, '');
writeFileSync(binary, randomBytes(4096));
writeFileSync(prose, 'Dear colleague,\nthe board reboots every night.\nRegards\n');

const cases: { name: string; args: string[]; message: RegExp }[] = [
  { name: 'parse: missing file', args: ['parse', missing], message: /no such file/ },
  { name: 'parse: a directory', args: ['parse', dir], message: /is a directory/ },
  { name: 'parse: empty file', args: ['parse', empty], message: /is empty/ },
  { name: 'parse: binary garbage', args: ['parse', binary], message: /binary data/ },
  { name: 'parse: text of no known format', args: ['parse', prose], message: /format is not one memsleuth knows/ },
  { name: 'parse: unknown --format', args: ['parse', prose, '--format', 'nonsense'], message: /Unknown format "nonsense"/ },
  { name: 'diff: missing file', args: ['diff', missing, missing], message: /no such file/ },
  { name: 'diff: binary garbage', args: ['diff', binary, binary], message: /binary data/ },
  { name: 'diff: a log with no dump', args: ['diff', prose], message: /no memory dump recognised/ },
  { name: 'ingest: a directory', args: ['ingest', dir], message: /is a directory/ },
  { name: 'ingest: empty file', args: ['ingest', empty], message: /is empty/ },
  { name: 'ingest: bad --interval', args: ['ingest', prose, '--interval', '-3'], message: /--interval must be a duration like 60s, 5m, 1h or 500ms, not "-3"/ },
  { name: 'ps: bad sort key', args: ['ps', '--sort', 'size'], message: /--sort must be one of uss, pss, rss, vss, swap, not "size"/ },
  { name: 'unknown command', args: ['frobnicate'], message: /unknown command/ },
];

for (const c of cases) {
  test(`bad input, ${c.name}: one line, exit 2, no stack`, () => {
    const r = runCli(c.args);
    assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, c.message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('ingest: a file that is one 300 MB line is read in bounded memory, with a warning and no crash', () => {
  const big = join(dir, 'one-line.txt');
  const fd = openSync(big, 'w');
  const chunk = Buffer.alloc(1 << 20, 'a');
  for (let i = 0; i < 300; i++) writeSync(fd, chunk);
  closeSync(fd);
  const r = runCli(['ingest', big, '--json']);
  rmSync(big);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no memory dump recognised/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('parse: a file too large to hold is refused with a pointer to ingest', () => {
  const big = join(dir, 'sparse.txt');
  const fd = openSync(big, 'w');
  const lines = Buffer.from('MemTotal:       1024 kB\n'.repeat(40_000));
  for (let written = 0; written < 300 * 1024 * 1024; written += lines.length) writeSync(fd, lines);
  closeSync(fd);
  const r = runCli(['parse', big]);
  rmSync(big);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /use "memsleuth ingest"/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a reader that closes the pipe early (| head -1) ends the command quietly', () => {
  const bin = join(repoRoot, 'bin', 'memsleuth.js');
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" --help | head -1; "${process.execPath}" "${bin}" snapshot | head -1`], { encoding: 'utf8' });
  assert.equal(r.stdout.split('\n').filter(Boolean).length, 2, r.stdout);
  assert.equal(r.stderr, '');
});
