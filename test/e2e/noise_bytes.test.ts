/**
 * A serial console emits NUL bytes at connect: a log with a few of them is read (with a warning), not refused;
 * only a file that is mostly binary is. The log is a real capture (test/fixtures/capture-seed-loop-local.txt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from './cli_helpers.js';
import { fixturesDir } from '../corpus.js';

test('ingest and analyze: a few NUL bytes in a capture log are noise set aside with a warning (it was refused, exit 2)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-nul-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clean = readFileSync(join(fixturesDir, 'capture-seed-loop-local.txt'));
  const noisy = join(dir, 'noisy.log');
  const lines = clean.toString('latin1').split('\n');
  // NULs at connect, and one burst inside the log between two lines.
  lines.splice(Math.floor(lines.length / 2), 0, '\0\0\0\0');
  writeFileSync(noisy, Buffer.concat([Buffer.from([0, 0, 0xff, 0, 0x00]), Buffer.from(lines.join('\n'), 'latin1')]));
  const cleanPath = join(dir, 'clean.log');
  writeFileSync(cleanPath, clean);

  const want = JSON.parse(runCli(['ingest', cleanPath, '--json']).stdout) as { samples: number };
  const got = runCli(['ingest', noisy, '--json']);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stderr, /NUL or control bytes? in the first \d+ bytes .* set aside/);
  assert.equal((JSON.parse(got.stdout) as { samples: number }).samples, want.samples);
  const a = runCli(['analyze', noisy, '--json']);
  assert.equal(a.code, 0, a.stderr);
});

test('a mostly binary file is still refused with one line (exit 2)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'random.bin');
  writeFileSync(bin, randomBytes(8192));
  for (const cmd of ['ingest', 'analyze', 'parse']) {
    const r = runCli([cmd, bin]);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /binary data/);
  }
});
