/**
 * End to end: a small leaking C program built here, run under valgrind (text and XML) and built with
 * -fsanitize=address / -fsanitize=leak; `memsleuth evidence --json` must name the leaking file:line.
 * Tools that are missing skip their test with the reason.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpus, corpusDir, repoRoot } from '../../test/corpus.js';
import { runCliAsync, type CliResult } from '../../test/e2e/cli_helpers.js';

/** The real CLI, as a user runs it. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCliAsync(['evidence', ...args], env);

interface JsonFrame { symbol?: string; file?: string; line?: number; module?: string; moduleOffset?: string }
interface JsonSite { where: string | null; bytes: number; count: number; kind: string; tool: string; stack: JsonFrame[] }
interface JsonOut { files: { file: string; format: string; sites: number }[]; totals: { tool: string; kind: string; bytes: number }[]; sites: JsonSite[]; problems: string[] }

async function evidenceJson(args: string[]): Promise<JsonOut> {
  const r = await cli([...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as JsonOut;
}

// ---------------------------------------------------------------------------------------------
// The program

const LEAK_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) char *make_buffer(size_t n) {
  char *p = malloc(n); /* @big */
  memset(p, 1, n);
  return p;
}

__attribute__((noinline)) char *make_small(void) {
  char *p = malloc(24); /* @small */
  strcpy(p, "a smaller leak");
  return p;
}

static void copy_maps(const char *to) {
  FILE *in = fopen("/proc/self/maps", "r");
  FILE *out = fopen(to, "w");
  char buf[4096];
  size_t n;
  if (!in || !out) exit(3);
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
}

char *sink;

int main(int argc, char **argv) {
  if (argc > 1) copy_maps(argv[1]);
  for (int i = 0; i < 3; i++) sink = make_buffer(1000);
  sink = make_small();
  sink = 0;
  return 0;
}
`;

const lineOf = (marker: string): number => LEAK_C.split('\n').findIndex((l) => l.includes(marker)) + 1;
const BIG = lineOf('@big');
const SMALL = lineOf('@small');

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'memsleuth-evidence-'));
  writeFileSync(join(dir, 'leak.c'), LEAK_C);
});
after(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }); });

function build(cc: string, out: string, flags: string[]): void {
  execFileSync(cc, ['-g', '-O0', '-fno-omit-frame-pointer', ...flags, '-o', out, 'leak.c'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Runs a program; its stderr (where the sanitizers and valgrind report) goes to `log`. */
function runTo(log: string, argv: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const [file, ...args] = argv;
  const r = spawnSync(file ?? '', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  writeFileSync(join(dir, log), r.stderr);
  return { status: r.status, stderr: r.stderr };
}

function assertNamesLeak(out: JsonOut, tool: string, file = /(?:^|\/)leak\.c$/): void {
  const top = out.sites[0];
  assert.ok(top, `no sites: ${JSON.stringify(out)}`);
  assert.equal(top.tool, tool);
  assert.match(top.where ?? '', new RegExp(`leak\\.c:${BIG}$`), JSON.stringify(top.stack));
  assert.equal(top.bytes, 3000);
  assert.equal(top.count, 3);
  const culprit = top.stack.find((f) => f.file !== undefined && file.test(f.file));
  assert.deepEqual([culprit?.symbol, culprit?.line], ['make_buffer', BIG]);
  const small = out.sites.find((s) => s.where !== null && s.where.endsWith(`leak.c:${SMALL}`));
  assert.ok(small, `the smaller leak at leak.c:${SMALL} is listed too`);
  assert.equal(small.bytes, 24);
}

test('valgrind --leak-check=full, text and --xml=yes: the top site is leak.c:@big', async (t) => {
  if (!has('gcc')) { t.skip('gcc not installed'); return; }
  if (!has('valgrind')) { t.skip('valgrind not installed'); return; }
  build('gcc', 'leak_plain', []);
  runTo('vg.txt', ['valgrind', '--leak-check=full', './leak_plain']);
  runTo('vg-xml.stderr', ['valgrind', '--leak-check=full', '--xml=yes', '--xml-file=vg.xml', './leak_plain']);
  const text = await evidenceJson([join(dir, 'vg.txt')]);
  assert.equal(text.files[0]?.format, 'valgrind');
  assertNamesLeak(text, 'valgrind');
  const xml = await evidenceJson([join(dir, 'vg.xml')]);
  assert.equal(xml.files[0]?.format, 'valgrind-xml');
  assertNamesLeak(xml, 'valgrind');
  // both reports at once (two runs of one program): the same leak is one site, counted once, seen in both
  const both = await evidenceJson([join(dir, 'vg.txt'), join(dir, 'vg.xml')]);
  assert.deepEqual(both.sites.slice(0, 2).map((s) => [s.bytes, s.where?.replace(/^.*\//, '')]), [[3000, `leak.c:${BIG}`], [24, `leak.c:${SMALL}`]]);
  assert.deepEqual(both.totals.map((x) => [x.tool, x.kind, x.bytes]), [['valgrind', 'definite', 3000 + 24]]);
});

test('-fsanitize=leak (LSan), and -fsanitize=address: the top site is leak.c:@big', async (t) => {
  if (!has('gcc') && !has('clang')) { t.skip('neither gcc nor clang installed'); return; }
  let cc = has('gcc') ? 'gcc' : 'clang';
  let lsan: { status: number | null; stderr: string } | undefined;
  try {
    build(cc, 'leak_lsan', ['-fsanitize=leak']);
    lsan = runTo('lsan.txt', ['./leak_lsan']);
  } catch { /* gcc's LSan runtime missing: try clang */ }
  if (lsan === undefined || !/LeakSanitizer/.test(lsan.stderr)) {
    if (cc === 'gcc' && has('clang')) {
      cc = 'clang';
      build(cc, 'leak_lsan', ['-fsanitize=leak']);
      lsan = runTo('lsan.txt', ['./leak_lsan']);
    }
  }
  if (lsan === undefined || !/LeakSanitizer/.test(lsan.stderr)) {
    t.skip(`LeakSanitizer does not run here (${cc}: ${lsan?.stderr.split('\n')[0] ?? 'build failed'}); ptrace-restricted sandboxes stop it`);
    return;
  }
  const l = await evidenceJson([join(dir, 'lsan.txt')]);
  assert.equal(l.files[0]?.format, 'lsan');
  assertNamesLeak(l, 'lsan');

  build(cc, 'leak_asan', ['-fsanitize=address']);
  const asan = runTo('asan.txt', ['./leak_asan']);
  assert.match(asan.stderr, /AddressSanitizer: \d+ byte\(s\) leaked/);
  assertNamesLeak(await evidenceJson([join(dir, 'asan.txt')]), 'lsan');
});

test('ASan with symbolize=0 and the captured /proc/PID/maps: --symbolize --maps turns addresses into leak.c:@big', async (t) => {
  if (!has('gcc')) { t.skip('gcc not installed'); return; }
  if (!has('addr2line')) { t.skip('addr2line (binutils) not installed'); return; }
  build('gcc', 'leak_asan_raw', ['-fsanitize=address']);
  const r = runTo('asan-raw.txt', ['./leak_asan_raw', join(dir, 'maps.txt')], { ASAN_OPTIONS: 'symbolize=0' });
  if (!/LeakSanitizer/.test(r.stderr)) { t.skip(`ASan leak detection does not run here: ${r.stderr.split('\n')[0] ?? ''}`); return; }
  assert.ok(existsSync(join(dir, 'maps.txt')));
  const raw = await evidenceJson([join(dir, 'asan-raw.txt')]);
  assert.equal(raw.sites[0]?.bytes, 3000);
  assert.equal(raw.sites[0]?.stack.some((f) => f.file !== undefined && f.file.endsWith('leak.c')), false, 'no file:line before symbolizing');
  const sym = await evidenceJson([join(dir, 'asan-raw.txt'), '--symbolize', '--maps', join(dir, 'maps.txt')]);
  assertNamesLeak(sym, 'lsan');
});

test('human output: header, totals, the stack tree with the culprit; --diff shows what grew', async (t) => {
  const vg = corpus('valgrind').find((f) => f.name === 'local-valgrind-3.19-debian12-x86_64-leak-check-full.txt');
  assert.ok(vg);
  const r = await cli([vg.path, '--top', '2', '--frames', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^memsleuth evidence: .*local-valgrind-3\.19-debian12-x86_64-leak-check-full\.txt: \d+ sites$/m);
  assert.match(r.stdout, /^Totals by tool and kind$/m);
  assert.match(r.stdout, /^#1 {2}131 B in 5 objects {2}indirect {2}valgrind/m);
  assert.match(r.stdout, /^ {4}├─ make_list \(leaky\.c:16\)$/m);
  const km = join(corpusDir, 'kmemleak');
  const d = await cli([join(km, 'syzkaller-guilty-48-many-objects.txt'), '--diff', join(km, 'syzkaller-report-151-two-objects.txt')]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^ {2}1 new, 0 grown, 0 shrunk, 2 gone$/m);
  assert.match(d.stdout, /^#1 {2}\+960 B, \+5 objects {2}unreferenced {2}kmemleak/m);
  void t;
});

test('every corpus evidence file goes through `evidence --json` with exit 0 and at least one file entry', async () => {
  for (const folder of ['kmemleak', 'lsan', 'valgrind', 'valgrind-xml', 'slub_alloc_calls', 'oom', 'dmalloc', 'mtrace', 'page_owner']) {
    const files = corpus(folder);
    if (files.length === 0) continue;
    const r = await cli([...files.map((f) => f.path), '--json']);
    // a few corpus files are other sanitizer reports or summaries: the command must still answer
    assert.equal(r.code, 0, `${folder}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as JsonOut;
    assert.equal(out.files.length, files.length, folder);
  }
});

test('bad input: one line, exit 2 (missing file, directory, unknown format, not a leak report)', async () => {
  const cases: [string, string[], RegExp][] = [
    ['missing', [join(tmpdir(), 'memsleuth-no-such-file.txt')], /Cannot read ".*memsleuth-no-such-file\.txt": no such file/],
    ['directory', [tmpdir()], /it is a directory/],
    ['unknown --format', [join(corpusDir, 'valgrind', 'local-valgrind-3.19-debian12-quiet.txt'), '--format', 'nope'], /Unknown evidence format "nope"/],
    ['not a report', [join(repoRoot, 'package.json')], /Cannot tell which leak tool wrote/],
    ['bad --top', [join(corpusDir, 'valgrind', 'local-valgrind-3.19-debian12-quiet.txt'), '--top', '0'], /--top must be a whole number/],
  ];
  for (const [name, args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, re, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, name);
  }
});

test("kernel addresses: a kmemleak report with bare addresses, symbolized with this machine's /proc/kallsyms", async (t) => {
  let kallsyms = '';
  try { kallsyms = readFileSync('/proc/kallsyms', 'utf8'); } catch { /* not Linux, or hidden */ }
  const pick = (name: string): bigint | undefined => {
    const m = new RegExp(`^([0-9a-f]+) [Tt] ${name}$`, 'm').exec(kallsyms);
    return m?.[1] !== undefined ? BigInt(`0x${m[1]}`) : undefined;
  };
  const chosen = ['kstrdup', 'vfs_read'].map((n) => [n, pick(n)] as const);
  if (chosen.some(([, a]) => a === undefined || a === 0n)) { t.skip('/proc/kallsyms is unreadable, zeroed (kptr_restrict) or lacks kstrdup/vfs_read'); return; }
  const frames = chosen.map(([, a]) => { const x = ((a ?? 0n) + 0x10n).toString(16); return `    [<${x}>] 0x${x}`; });
  const report = [
    'unreferenced object 0xffff888104f2a3c0 (size 64):',
    '  comm "insmod", pid 4242, jiffies 4294892296 (age 12.340s)',
    '  backtrace:',
    ...frames,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'kmemleak-raw.txt'), report);
  const raw = await evidenceJson([join(dir, 'kmemleak-raw.txt')]);
  assert.equal(raw.sites[0]?.stack[0]?.symbol, undefined);
  const sym = await evidenceJson([join(dir, 'kmemleak-raw.txt'), '--kallsyms', '/proc/kallsyms']);
  assert.deepEqual(sym.sites[0]?.stack.map((f) => [f.symbol, (f as { offset?: string }).offset]), [['kstrdup', '+0x10'], ['vfs_read', '+0x10']]);
  // kstrdup is an allocator: the site is "in" its caller
  assert.match(sym.sites[0]?.where ?? '', /^vfs_read\+0x10\/0x[0-9a-f]+$/);
});

test('LEAK_C markers are where the test thinks they are', () => {
  assert.equal(readFileSync(join(dir, 'leak.c'), 'utf8').split('\n')[BIG - 1]?.includes('malloc(n)'), true);
});

test('one leak in valgrind text, valgrind XML and LSan reports (local fixtures) is one site, its bytes counted once', async () => {
  const fx = (n: string): string => join(repoRoot, 'test', 'fixtures', n);
  const out = await evidenceJson([fx('valgrind-memcheck-local.txt'), fx('valgrind-memcheck-local.xml'), fx('lsan-gcc12-asan-local.txt')]);
  type Seen = JsonSite & { seenIn?: { tool: string; bytes: number }[]; indirectBytes?: number };
  const sites = out.sites as Seen[];
  const line = (s: Seen): number | undefined => s.stack.find((f) => f.file?.endsWith('leaky_heap.c') === true)?.line;
  assert.deepEqual(sites.map((s) => [s.kind, line(s), s.bytes, s.indirectBytes, (s.seenIn ?? []).map((x) => x.tool).join(',')]), [
    ['definite', 29, 640, undefined, 'valgrind,valgrind,lsan'],
    ['definite', 24, 100, undefined, 'valgrind,valgrind,lsan'],
    ['reachable', 37, 48, undefined, 'valgrind,valgrind'], // LSan does not report still-reachable blocks
    ['indirect', 15, 32, undefined, 'valgrind,valgrind,lsan'],
    ['indirect', 16, 30, undefined, 'valgrind,valgrind,lsan'],
    ['definite', 15, 16, 62, 'valgrind,valgrind,lsan'],
  ]);
  // Totals are those of any one report (LSan: "SUMMARY: AddressSanitizer: 818 byte(s) leaked"), not three times them.
  assert.deepEqual(out.totals.map((t) => [t.kind, t.tool, t.bytes]), [['definite', 'valgrind+lsan', 756], ['indirect', 'valgrind+lsan', 62], ['reachable', 'valgrind', 48]]);
});

test('mtrace raw log of a program started as "./leaky_mtrace": --symbolize finds it next to the log, or says why not', async (t) => {
  if (!has('gcc')) { t.skip('gcc not installed'); return; }
  if (!has('addr2line')) { t.skip('addr2line (binutils) not installed'); return; }
  const debugLib = '/lib/x86_64-linux-gnu/libc_malloc_debug.so.0';
  if (!existsSync(debugLib)) { t.skip(`${debugLib} missing (glibc < 2.34 or not x86_64 Debian): mtrace lives in libc there`); return; }
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-mtrace-'));
  try {
    const fx = (n: string): string => join(repoRoot, 'test', 'fixtures', n);
    execFileSync('gcc', ['-g', '-O0', '-o', 'leaky_mtrace', fx('leaky_heap.c'), fx('mtrace_on.c')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('./leaky_mtrace', ['0'], { cwd: dir, env: { ...process.env, MALLOC_TRACE: join(dir, 'trace.log'), LD_PRELOAD: debugLib } });
    assert.match(readFileSync(join(dir, 'trace.log'), 'utf8'), /^@ \.\/leaky_mtrace:\[0x[0-9a-f]+\] \+ /m);
    const found = await evidenceJson([join(dir, 'trace.log'), '--symbolize']);
    assert.deepEqual(found.sites.map((s) => s.stack[0]?.line), [29, 24, 15, 37, 44]);
    assert.ok(found.problems.some((p) => p.includes(`taken as "${join(dir, 'leaky_mtrace')}"`)), found.problems.join('\n'));
    const elsewhere = await evidenceJson([join(dir, 'trace.log'), '--program-dir', tmpdir()]);
    assert.equal(elsewhere.sites[0]?.stack[0]?.line, undefined);
    assert.ok(elsewhere.problems.some((p) => /program "\.\/leaky_mtrace" was started by a relative path .*--program-dir/.test(p)), elsewhere.problems.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('never "no leaks" from a report that says otherwise or was not read: heaptrack_print without -l, a wrong --format, a bad --toolchain', async () => {
  const fx = (n: string): string => join(repoRoot, 'test', 'fixtures', n);
  const noL = await cli([fx('heaptrack_print-default-local.txt')]);
  assert.equal(noL.code, 2);
  assert.match(noL.stderr, /total memory leaked: 866B" but lists no leak sites .*run heaptrack_print -l -f ht\.zst/);
  assert.doesNotMatch(noL.stdout + noL.stderr, /No allocation sites/);
  // beside a report that has sites, the file is listed with its reason instead
  const beside = await cli([fx('heaptrack_print-default-local.txt'), fx('lsan-gcc12-asan-local.txt')]);
  assert.equal(beside.code, 0, beside.stderr);
  assert.match(beside.stdout, /heaptrack_print-default-local\.txt: heaptrack, 0 sites, 1 warning\n.*run heaptrack_print -l -f ht\.zst/);
  const wrong = await cli(['--format', 'valgrind', fx('lsan-gcc12-asan-local.txt')]);
  assert.deepEqual([wrong.code, wrong.stderr.trim().split('\n').length], [2, 1]);
  assert.match(wrong.stderr, /is not a valgrind report \(it reads as lsan: use --format lsan/);
  const tool = await cli(['--toolchain', 'no-such-triplet-', fx('mtrace-raw-relative-local.txt')]);
  assert.equal(tool.code, 2);
  assert.match(tool.stderr, /--toolchain "no-such-triplet-": neither "no-such-triplet-addr2line" nor "no-such-triplet-gdb" is on PATH/);
});
