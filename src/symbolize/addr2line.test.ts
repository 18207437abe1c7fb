import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Addr2Line, findTool, GdbBatch, installHint, parseAddr2lineAnswer, parseGdbInfoLine, symbolExpression } from './addr2line.js';
import { childProcessNames, gcc, lineOf, sleep, tempDir, writeSource } from './test_programs.js';

const SRC = `static inline __attribute__((always_inline)) int twice(int x) {
  return x * 2; /* @inlined */
}
int callee(int y) {
  int r = twice(y); /* @caller */
  return r + 1;
}
int main(void) { return callee(1); }
`;

/** Builds SRC with -g -O0 and returns the file and nm's address of `callee`. */
function build(dir: string): { file: string; callee: bigint } {
  writeSource(dir, 'a.c', SRC);
  gcc(['-g', '-O0', '-o', 'a', 'a.c'], dir);
  const file = join(dir, 'a');
  const m = /^([0-9a-f]+) T callee$/m.exec(execFileSync('nm', [file], { encoding: 'utf8' }));
  return { file, callee: BigInt(`0x${m?.[1] ?? '0'}`) };
}

/** The first address inside callee() whose line is the inlined body, found by asking addr2line for each byte. */
async function inlinedAddress(a2l: Addr2Line, callee: bigint): Promise<bigint | undefined> {
  const addrs = Array.from({ length: 48 }, (_, i) => callee + BigInt(i));
  const results = await a2l.lookup(addrs);
  const i = results.findIndex((r) => r.frames.length === 2);
  return i < 0 ? undefined : addrs[i];
}

test('parseAddr2lineAnswer: pairs, inline chain, discriminators and ?? spellings', () => {
  assert.deepEqual(parseAddr2lineAnswer(['twice', '/s/a.c:2', 'callee', '/s/a.c:5 (discriminator 3)']), [
    { inline: true, symbol: 'twice', file: '/s/a.c', line: 2 },
    { inline: false, symbol: 'callee', file: '/s/a.c', line: 5, discriminator: 3 },
  ]);
  assert.deepEqual(parseAddr2lineAnswer(['??', '??:0']), [{ inline: false }]);
  assert.deepEqual(parseAddr2lineAnswer(['main', '??:?']), [{ inline: false, symbol: 'main' }]);
});

test('parseGdbInfoLine: "Line N of" and "No line number information"', () => {
  assert.deepEqual(parseGdbInfoLine('Line 2 of "e.c" starts at address 0xd <f+13> and ends at 0x12 <f+18>.\n'),
    { found: true, frames: [{ inline: false, file: 'e.c', line: 2, symbol: 'f' }] });
  assert.deepEqual(parseGdbInfoLine('Line 7 of "x.c" is at address 0x40 <g> but contains no code.'),
    { found: true, frames: [{ inline: false, file: 'x.c', line: 7, symbol: 'g' }] });
  assert.deepEqual(parseGdbInfoLine('No line number information available for address 0x1149 <h+4>'), { found: false, frames: [{ inline: false, symbol: 'h' }] });
  assert.deepEqual(parseGdbInfoLine(''), { found: false, frames: [] });
});

test('symbolExpression: only plain identifiers reach gdb; clone suffixes are quoted', () => {
  assert.equal(symbolExpression('mi_sys_ringpool_AppendTailContentTailRecord', 0x176n), '*(mi_sys_ringpool_AppendTailContentTailRecord+0x176)');
  assert.equal(symbolExpression('dump_header.constprop.3', 0x45n), "*('dump_header.constprop.3'+0x45)");
  assert.equal(symbolExpression('x)\nshell touch /tmp/pwned', 1n), undefined);
  assert.equal(symbolExpression("a'b", 1n), undefined);
});

test('installHint: names the Debian package of the prefixed tool', () => {
  assert.equal(installHint('arm-linux-gnueabihf-', 'addr2line'), 'binutils-arm-linux-gnueabihf');
  assert.equal(installHint('/opt/tc/bin/aarch64-linux-gnu-', 'addr2line'), 'binutils-aarch64-linux-gnu');
  assert.equal(installHint('', 'addr2line'), 'binutils');
  assert.match(installHint('arm-linux-gnueabihf-', 'gdb'), /gdb-multiarch/);
});

test('Addr2Line: one process answers a batch in order, expands inlining, caches, and reports ?? as not-found', async (t) => {
  const { dir, cleanup } = tempDir('a2l');
  t.after(cleanup);
  const { file, callee } = build(dir);
  const a2l = new Addr2Line(file, { hasDebugInfo: true });
  t.after(() => a2l.close());
  const inl = await inlinedAddress(a2l, callee);
  assert.ok(inl !== undefined, 'an address inside the inlined twice()');
  const [entry, inside, bogus, again] = await a2l.lookup([callee, inl, 0x7fffff00n, callee]);
  const src = join(dir, 'a.c');
  assert.deepEqual(entry, { status: 'ok', file, query: `0x${callee.toString(16)}`, tool: 'addr2line',
    frames: [{ inline: false, symbol: 'callee', file: src, line: lineOf(SRC, 'int callee') }] });
  assert.deepEqual(inside?.frames, [
    { inline: true, symbol: 'twice', file: src, line: lineOf(SRC, '@inlined') },
    { inline: false, symbol: 'callee', file: src, line: lineOf(SRC, '@caller') },
  ]);
  assert.equal(bogus?.status, 'not-found');
  assert.deepEqual(again, entry);
  assert.equal(childProcessNames().filter((n) => n === 'addr2line').length, 1, 'one long-lived addr2line for the binary');
  a2l.close();
  await sleep(100);
  assert.deepEqual(childProcessNames().filter((n) => n === 'addr2line'), [], 'close() leaves no process behind');
});

test('Addr2Line: a stripped binary is named no-debug-info, the function still comes from .symtab', async (t) => {
  const { dir, cleanup } = tempDir('a2l-strip');
  t.after(cleanup);
  const { file, callee } = build(dir);
  const stripped = join(dir, 'a.nodebug');
  execFileSync('objcopy', ['--strip-debug', file, stripped]);
  const a2l = new Addr2Line(stripped, { hasDebugInfo: false });
  t.after(() => a2l.close());
  const [r] = await a2l.lookup([callee]);
  assert.deepEqual(r, { status: 'no-debug-info', file: stripped, query: `0x${callee.toString(16)}`, tool: 'addr2line', frames: [{ inline: false, symbol: 'callee' }] });
});

test('Addr2Line: falls back to gdb -batch "info line" when addr2line is not on PATH', async (t) => {
  const { dir, cleanup } = tempDir('a2l-gdb');
  t.after(cleanup);
  const gdb = findTool('gdb');
  if (gdb === undefined) { t.skip('gdb is not installed here'); return; }
  const { file, callee } = build(dir);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(gdb, join(bin, 'gdb'));
  const a2l = new Addr2Line(file, { searchPath: bin, hasDebugInfo: true });
  t.after(() => a2l.close());
  assert.equal(a2l.tool, undefined);
  const [r, bogus] = await a2l.lookup([callee, 0x7fffff00n]);
  assert.equal(r?.status, 'ok');
  assert.equal(r?.tool, 'gdb');
  assert.deepEqual(r?.frames, [{ inline: false, symbol: 'callee', file: join(dir, 'a.c'), line: lineOf(SRC, 'int callee') }]);
  assert.equal(bogus?.status, 'not-found');
});

test('cross prefix: arm-linux-gnueabihf- is used for both tools, and their absence names the package', async (t) => {
  const { dir, cleanup } = tempDir('a2l-cross');
  t.after(cleanup);
  const prefix = 'arm-linux-gnueabihf-';
  if (findTool(`${prefix}addr2line`) !== undefined || findTool(`${prefix}gdb`) !== undefined || findTool('gdb-multiarch') !== undefined) {
    t.skip(`${prefix}addr2line/gdb or gdb-multiarch is installed here; this test proves the missing-tool report`);
    return;
  }
  const { file, callee } = build(dir);
  const a2l = new Addr2Line(file, { toolchainPrefix: prefix });
  t.after(() => a2l.close());
  const [r] = await a2l.lookup([callee]);
  assert.equal(r?.status, 'tool-missing');
  assert.equal(r?.tool, `${prefix}addr2line`);
  assert.match(r?.detail ?? '', /"arm-linux-gnueabihf-addr2line" nor "arm-linux-gnueabihf-gdb" is installed: install binutils-arm-linux-gnueabihf/);
  // The prefix is honoured, not silently replaced by the host tool: a fake prefixed addr2line is the one run.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const host = findTool('addr2line');
  if (host === undefined) return;
  copyFileSync(host, join(bin, `${prefix}addr2line`));
  execFileSync('chmod', ['+x', join(bin, `${prefix}addr2line`)]);
  const fake = new Addr2Line(file, { toolchainPrefix: prefix, searchPath: bin, hasDebugInfo: true });
  t.after(() => fake.close());
  const [ok] = await fake.lookup([callee]);
  assert.equal(ok?.status, 'ok');
  assert.equal(ok?.tool, `${prefix}addr2line`);
});

test('GdbBatch: a missing tool is reported for every query, nothing is spawned', async () => {
  const g = new GdbBatch('/nonexistent', { toolchainPrefix: 'mips-linux-gnu-', searchPath: '/nonexistent-dir' });
  const r = await g.lookup(['*0x10', '*0x20']);
  assert.deepEqual(r.map((x) => x.status), ['tool-missing', 'tool-missing']);
  assert.match(r[0]?.detail ?? '', /binutils-mips-linux-gnu/);
});
