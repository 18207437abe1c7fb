import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bpftraceString, bpftraceSymbol } from './bpftrace_quote.js';
import { bpftraceScript } from './user/bpftrace_engine.js';
import { tempDir } from '../symbolize/test_programs.js';

/** Library folders a target could map its libc from; each must reach bpftrace as one literal. */
const HOSTILE = ['/tmp/evil{lib}', '/tmp/a b/"q"', '/tmp/$(id)`id`', "/tmp/it's;x", '/tmp/x} uprobe /bin/sh main {'];

test('bpftraceString: hostile names become one literal, quotes escaped; backslash and controls refused', () => {
  assert.equal(bpftraceString('/tmp/evil{lib}/libc.so.6', 'p'), '"/tmp/evil{lib}/libc.so.6"');
  assert.equal(bpftraceString('/a"b', 'p'), '"/a\\"b"');
  for (const bad of ['/a\\b', '/a\nb', '/a\0b', '/a\rb', '/a\x1bb']) assert.throws(() => bpftraceString(bad, 'p'), /bpftrace program/);
  assert.equal(bpftraceString('a:b', 'p'), '"a:b"');
  assert.throws(() => bpftraceString('/a:b', 'p', 'attach-point'), /colon/);
  assert.throws(() => bpftraceSymbol('malloc { system("id") }'), /not a C identifier/);
  assert.equal(bpftraceSymbol('__libc_malloc'), '__libc_malloc');
});

test('trace user: the bpftrace program quotes the library path; bpftrace attaches to libc under each hostile folder name', (t) => {
  const libc = '/lib/x86_64-linux-gnu/libc.so.6';
  const symbols = new Map(['malloc', 'calloc', 'valloc', 'memalign', 'aligned_alloc', 'realloc', 'posix_memalign', 'free'].map((n) => [n, { symbol: n }]));
  const lib = (path: string) => ({ path, flavor: 'glibc', symbols }) as unknown as Parameters<typeof bpftraceScript>[0];
  const prog = bpftraceScript(lib('/tmp/evil{lib}/libc.so.6'), { pid: 1, sampleEvery: 1, stackDepth: 8, freeProbe: 'uprobe' });
  assert.match(prog, /^uprobe:"\/tmp\/evil\{lib\}\/libc\.so\.6":malloc /m);
  assert.throws(() => bpftraceScript(lib('/tmp/a\\b/libc.so.6'), { pid: 1, sampleEvery: 1, stackDepth: 8, freeProbe: 'none' }), /backslash/);
  assert.throws(() => bpftraceScript(lib('/tmp/a:b/libc.so.6'), { pid: 1, sampleEvery: 1, stackDepth: 8, freeProbe: 'none' }), /colon/);
  if (process.getuid?.() !== 0 || spawnSync('bpftrace', ['--version']).status !== 0) return t.skip('needs root and bpftrace');
  if (spawnSync('test', ['-f', libc]).status !== 0) return t.skip(`${libc} is not here`);
  const { dir, cleanup } = tempDir('bpftrace-quote');
  t.after(cleanup);
  for (const name of HOSTILE) {
    const folder = join(dir, name.slice('/tmp/'.length));
    mkdirSync(folder, { recursive: true });
    copyFileSync(libc, join(folder, 'libc.so.6'));
    const text = bpftraceScript(lib(join(folder, 'libc.so.6')), { pid: 1, sampleEvery: 1, stackDepth: 8, freeProbe: 'uprobe' });
    // The same program, ended at once: it must parse and attach (a pasted path breaks the parse or probes elsewhere).
    const r = spawnSync('bpftrace', ['-e', `${text}interval:ms:1 { exit(); }`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, /Attaching \d+ probes/, name);
    assert.doesNotMatch(r.stderr, /ERROR: (?!Unknown error -1: couldn't set RLIMIT_MEMLOCK)/, name);
  }
});
