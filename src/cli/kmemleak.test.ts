import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../test/corpus.js';

const COMMAND = 'kmemleak';
const MODULE = 'kmemleak';
const EXPORT = 'kmemleakCommand';
// ---------------------------------------------------------------------------------------------
// Running the command: through bin/memsleuth.js once src/cli/index.ts registers it, else through its CommandSpec.

interface CliResult { code: number; stdout: string; stderr: string }

/** The same error-to-exit-code mapping as src/cli/index.ts, around one CommandSpec. */
const HARNESS = `
const [root, mod, name, ...args] = process.argv.slice(1);
const { Command } = await import(new URL('node_modules/commander/index.js', root).href);
const spec = (await import(new URL('dist/src/cli/' + mod + '.js', root).href))[name];
let code = 0;
const program = new Command('memsleuth').exitOverride();
spec.define(program.command(spec.name), (c) => { code = c; });
try { await program.parseAsync(['node', 'memsleuth', spec.name, ...args]); }
catch (err) {
  if (err && (err.name === 'InputError' || err.name === 'TargetError')) { process.stderr.write('memsleuth: ' + err.message + '\\n'); code = 2; }
  else if (err && err.name === 'CommanderError') code = err.exitCode === 0 ? 0 : 2;
  else { process.stderr.write(String(err && err.stack || err) + '\\n'); code = 70; }
}
process.exitCode = code;
`;

const registered = (command: string): boolean => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'memsleuth.js'), '--help'], { encoding: 'utf8' });
  return r.status === 0 && new RegExp(`^\\s+${command}\\b`, 'm').test(r.stdout);
};

function cli(args: string[]): Promise<CliResult> {
  const argv = registered(COMMAND)
    ? [join(repoRoot, 'bin', 'memsleuth.js'), COMMAND, ...args]
    : ['--input-type=module', '-e', HARNESS, pathToFileURL(`${repoRoot}/`).href, MODULE, EXPORT, ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const kernelConfig = (): string => {
  const release = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  try { return readFileSync(`/boot/config-${release}`, 'utf8'); } catch { /* not installed */ }
  return spawnSync('zcat', ['/proc/config.gz'], { encoding: 'utf8' }).stdout;
};

test('kmemleak on this machine (no CONFIG_DEBUG_KMEMLEAK): exit 2, says so and how to enable it, leaves no mount', async (t) => {
  if (!/^# CONFIG_DEBUG_KMEMLEAK is not set$/m.test(kernelConfig())) { t.skip('this kernel has kmemleak or its config is unreadable'); return; }
  const before = readFileSync('/proc/mounts', 'utf8');
  const r = await cli(['--scans', '2', '--interval', '1s']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^memsleuth: The kernel on this machine has no kmemleak: its config says "# CONFIG_DEBUG_KMEMLEAK is not set"\. To use it, build the kernel with CONFIG_DEBUG_KMEMLEAK=y .* boot with kmemleak=on/m);
  assert.equal(r.stdout, '');
  assert.equal(readFileSync('/proc/mounts', 'utf8'), before);
});

test('kmemleak: usage errors are exit 2 with one line (bad --scans, bad --interval, --via not wired yet)', async () => {
  for (const [args, re] of [
    [['--scans', '0'], /--scans must be a whole number >= 1, not "0"/],
    [['--interval', 'soon'], /--interval must be a duration like 60s/],
    [['--via', 'ssh board'], /--via is not supported by "kmemleak" yet/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
