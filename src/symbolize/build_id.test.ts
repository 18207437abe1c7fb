import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findDebugFile, readBuildId } from './build_id.js';
import { gcc, tempDir, writeSource } from './test_programs.js';

/** A -g binary, its stripped copy and the split-off debug file (objcopy --only-keep-debug), as distros ship them. */
function split(dir: string): { full: string; stripped: string; debug: string; id: string } {
  writeSource(dir, 'p.c', 'int main(void) { return 0; }\n');
  gcc(['-g', '-O0', '-Wl,--build-id', '-o', 'p', 'p.c'], dir);
  const full = join(dir, 'p');
  const debug = join(dir, 'p.debug');
  const stripped = join(dir, 'p.stripped');
  execFileSync('objcopy', ['--only-keep-debug', full, debug]);
  execFileSync('objcopy', ['--strip-debug', full, stripped]);
  const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', full], { encoding: 'utf8' }))?.[1] ?? '';
  return { full, stripped, debug, id };
}

function place(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

test('readBuildId: matches readelf -n for the binary, its stripped copy and its debug file; undefined for non-ELF', (t) => {
  const { dir, cleanup } = tempDir('bid');
  t.after(cleanup);
  const s = split(dir);
  assert.match(s.id, /^[0-9a-f]{40}$/);
  assert.equal(readBuildId(s.full), s.id);
  assert.equal(readBuildId(s.stripped), s.id);
  assert.equal(readBuildId(s.debug), s.id);
  assert.equal(readBuildId(join(dir, 'p.c')), undefined);
  assert.equal(readBuildId(join(dir, 'absent')), undefined);
});

test('findDebugFile: build-id layout, <path>.debug, debuglink, self, no-debug-info, missing', (t) => {
  const { dir, cleanup } = tempDir('dbg');
  t.after(cleanup);
  const s = split(dir);
  const dbgA = join(dir, 'dbgA');
  const byId = join(dbgA, '.build-id', s.id.slice(0, 2), `${s.id.slice(2)}.debug`);
  place(s.debug, byId);
  assert.deepEqual(findDebugFile({ path: s.stripped, debugDirs: [dbgA] }),
    { status: 'found', hostPath: s.stripped, debugPath: byId, via: 'build-id', buildId: s.id });

  const dbgB = join(dir, 'dbgB');
  const byPath = join(dbgB, `${s.stripped}.debug`);
  place(s.debug, byPath);
  assert.deepEqual(findDebugFile({ path: s.stripped, debugDirs: [dbgB] }),
    { status: 'found', hostPath: s.stripped, debugPath: byPath, via: 'debug-path', buildId: s.id });

  const linked = join(dir, 'p.linked');
  execFileSync('objcopy', [`--add-gnu-debuglink=${s.debug}`, s.stripped, linked]);
  assert.deepEqual(findDebugFile({ path: linked, debugDirs: [join(dir, 'none')] }),
    { status: 'found', hostPath: linked, debugPath: s.debug, via: 'debuglink', buildId: s.id });

  assert.deepEqual(findDebugFile({ path: s.full, debugDirs: [join(dir, 'none')] }),
    { status: 'found', hostPath: s.full, debugPath: s.full, via: 'self', buildId: s.id });

  const none = findDebugFile({ path: s.stripped, debugDirs: [join(dir, 'none')] });
  assert.equal(none.status, 'no-debug-info');
  assert.ok(none.status === 'no-debug-info' && none.tried.includes(join(dir, 'none', '.build-id', s.id.slice(0, 2), `${s.id.slice(2)}.debug`)), 'names where it looked');

  assert.deepEqual(findDebugFile({ path: join(dir, 'absent') }), { status: 'missing', hostPath: join(dir, 'absent'), tried: [join(dir, 'absent')] });
});

test('findDebugFile: a stale debug file with another build-id is refused', (t) => {
  const { dir, cleanup } = tempDir('stale');
  t.after(cleanup);
  mkdirSync(join(dir, 'a'));
  const a = split(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  writeSource(join(dir, 'b'), 'p.c', 'int main(void) { return 1; }\n');
  gcc(['-g', '-O0', '-Wl,--build-id', '-o', 'p', 'p.c'], join(dir, 'b'));
  const dbg = join(dir, 'dbg');
  place(join(dir, 'b', 'p'), join(dbg, `${a.stripped}.debug`)); // same path, different build
  assert.equal(findDebugFile({ path: a.stripped, debugDirs: [dbg] }).status, 'no-debug-info');
});

test('findDebugFile: target paths resolve under --sysroot, debug files under <sysroot>/usr/lib/debug', (t) => {
  const { dir, cleanup } = tempDir('sysroot');
  t.after(cleanup);
  const s = split(dir);
  const sysroot = join(dir, 'rootfs');
  place(s.stripped, join(sysroot, 'customer/mixer'));
  const byId = join(sysroot, 'usr/lib/debug/.build-id', s.id.slice(0, 2), `${s.id.slice(2)}.debug`);
  place(s.debug, byId);
  assert.deepEqual(findDebugFile({ path: '/customer/mixer', sysroot }),
    { status: 'found', hostPath: join(sysroot, 'customer/mixer'), debugPath: byId, via: 'build-id', buildId: s.id });
  const missing = findDebugFile({ path: '/lib/libmi_sys.so', sysroot });
  assert.equal(missing.status, 'missing');
  assert.equal(missing.hostPath, join(sysroot, 'lib/libmi_sys.so'));
});
