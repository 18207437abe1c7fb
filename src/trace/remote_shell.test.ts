/** RemoteShell through real shells: sh, and busybox sh as on a board. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { RemoteShell } from './remote_shell.js';

for (const via of ['sh', 'busybox sh']) {
  test(`RemoteShell via "${via}": run, readFile, writeFile with hostile arguments`, { skip: via.startsWith('busybox') && !existsSync('/bin/busybox') ? 'busybox not installed' : false }, async () => {
    const shell = await RemoteShell.open(via);
    const dir = mkdtempSync(join(tmpdir(), 'memsleuth-remote-'));
    try {
      // Quotes, $(...) and ; in an argument reach the program as text, never as shell syntax.
      const hostile = `it's $(touch ${dir}/pwned); echo "x" | cat`;
      const echo = await shell.run(['echo', hostile]);
      assert.deepEqual(echo, { stdout: `${hostile}\n`, stderr: '', code: 0 });
      assert.equal(existsSync(join(dir, 'pwned')), false);
      const meminfo = await shell.readFile('/proc/meminfo');
      assert.match(meminfo ?? '', /^MemTotal:\s+\d+ kB$/m);
      assert.equal(await shell.readFile(join(dir, 'missing')), undefined);
      const target = join(dir, "a file 'with' quotes");
      await shell.writeFile(target, 'scan\n');
      assert.equal(readFileSync(target, 'utf8'), 'scan\n');
      assert.equal((await shell.run(['sh', '-c', 'exit 7'])).code, 7);
      // Calls issued together are answered in order, each with its own output.
      const [a, b] = await Promise.all([shell.run(['echo', 'one']), shell.run(['echo', 'two'])]);
      assert.deepEqual([a.stdout, b.stdout], ['one\n', 'two\n']);
    } finally {
      shell.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('RemoteShell: a command that gives no shell is a clear TargetError', async () => {
  await assert.rejects(RemoteShell.open('false'), /exited|did not answer|stopped reading/);
});
