import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { corpus, repoRoot } from '../../test/corpus.js';
import { runCliAsync, type CliResult } from '../../test/e2e/cli_helpers.js';

/** The real CLI, as a user runs it. */
const cli = (args: string[]): Promise<CliResult> => runCliAsync(['oom', ...args]);

interface Summary { trigger: string; victim?: { pid: number; comm: string; rss: number }; side: string; reason: string; topCaches: { name: string }[] }

/** The kill lines as the text prints them, found without the parser: "Killed process PID (COMM)" / old "Kill process PID (COMM) score". */
function killsInText(text: string): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const m of text.matchAll(/(?:Killed process|Kill process) (\d+) \((.*?)\)/g)) {
    const k = { pid: Number(m[1]), comm: m[2] ?? '' };
    const prev = out[out.length - 1];
    // 3.10 prints "Kill process 6576 (mysqld) score ..." then "Killed process 6576 (mysqld) ...": one kill
    if (prev === undefined || prev.pid !== k.pid || prev.comm !== k.comm) out.push(k);
  }
  return out;
}

test('oom on every corpus file: the victims found are exactly the kill lines of the text, exit 0', async () => {
  const files = corpus('oom');
  assert.ok(files.length >= 10);
  for (const f of files) {
    const r = await cli([f.path, '--json']);
    assert.equal(r.code, 0, `${f.name}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { summaries: Summary[] };
    assert.ok(out.summaries.length > 0, f.name);
    const victims = out.summaries.flatMap((s) => (s.victim ? [{ pid: s.victim.pid, comm: s.victim.comm }] : []));
    assert.deepEqual(victims, killsInText(f.text), f.name);
    for (const s of out.summaries) assert.notEqual(s.reason, '', f.name);
  }
});

test('oom text output: the Arch 6.1 doxygen kill, the largest tasks, the invoking stack and what to run next', async () => {
  const f = corpus('oom').find((x) => x.name === 'oomanalyser-example-archlinux-6.1.1.txt');
  assert.ok(f);
  const r = await cli([f.path, '--frames', '3']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0] ?? '', /^memsleuth oom: .*oomanalyser-example-archlinux-6\.1\.1\.txt: 1 report, 1 kill$/);
  assert.ok(lines.includes('#1 doxygen[473206] invoked the OOM killer (line 1)'), r.stdout);
  assert.ok(lines.includes('  killed: doxygen[473206] RSS 8.81 GiB, oom_score_adj 0'), r.stdout);
  assert.ok(lines.some((l) => /^ {4}8\.81 GiB {2}473206 {2}doxygen$/.test(l)), r.stdout);
  assert.ok(lines.includes('    ├─ dump_stack_lvl+0x48/0x60'), r.stdout);
  assert.ok(lines.some((l) => l.startsWith('  next: find the call site: valgrind --leak-check=full')), r.stdout);
});

test('oom: the proxmox cgroup kill is a memcg-limit verdict; the 4.15 vmalloc failure kills nobody', async () => {
  const pick = (s: string) => corpus('oom').find((x) => x.name.includes(s));
  const memcg = pick('proxmox-memcg');
  const vm = pick('198-vmalloc-failure');
  assert.ok(memcg && vm);
  const a = JSON.parse((await cli([memcg.path, '--json'])).stdout) as { summaries: Summary[] };
  assert.deepEqual(a.summaries.map((s) => [s.side, s.victim?.comm]), [['memcg-limit', 'php-fpm']]);
  const b = JSON.parse((await cli([vm.path, '--json'])).stdout) as { summaries: Summary[] };
  assert.deepEqual(b.summaries.map((s) => [s.trigger, s.side, s.victim]), [['vmalloc-failure', 'allocation-failure', undefined]]);
});

test('oom: a log without any OOM report, a missing file and a directory are input errors (exit 2, one line)', async () => {
  const noOom = corpus('kmemleak')[0];
  assert.ok(noOom);
  for (const [args, re] of [
    [[noOom.path], /No OOM report in/],
    [['/nonexistent/dmesg.txt'], /no such file/],
    [[join(repoRoot, 'src')], /is a directory/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
