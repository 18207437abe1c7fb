import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../test/corpus.js';

const COMMAND = 'slab-calls';
const MODULE = 'slab_calls';
const EXPORT = 'slabCallsCommand';
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

test('slab-calls on this machine (SLUB user tracking off): exit 2 explaining slub_debug=U,<cache>, no mount left', async (t) => {
  const flag = '/sys/kernel/slab/kmalloc-64/store_user';
  if (!existsSync(flag) || readFileSync(flag, 'utf8').trim() !== '0') { t.skip('kmalloc-64 tracking is on, or there is no SLUB sysfs'); return; }
  const before = readFileSync('/proc/mounts', 'utf8');
  const r = await cli(['kmalloc-64', '--interval', '1s']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^memsleuth: SLUB call-site tracking is off for "kmalloc-64" on this machine .* boot with slub_debug=U,kmalloc-64 /m);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(readFileSync('/proc/mounts', 'utf8'), before);
});

test('slab-calls: an unknown cache, a path as cache name and --via are input errors (exit 2, one line)', async () => {
  for (const [args, re] of [
    [['no-such-cache-xyz'], /There is no slab cache "no-such-cache-xyz"/],
    [['../../etc'], /is not a slab cache name/],
    [['kmalloc-64', '--via', 'adb shell'], /--via is not supported by "slab-calls" yet/],
    [['kmalloc-64', '--interval', 'x'], /--interval must be a duration/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
