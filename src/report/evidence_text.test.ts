import { test } from 'node:test';
import assert from 'node:assert/strict';
import pc from 'picocolors';
import { corpus } from '../../test/corpus.js';
import type { AllocationSite, Frame } from '../model/allocation_site.js';
import { diffSites, mergeSites, rankSites } from '../model/allocation_sites.js';
import { bytes } from '../model/units.js';
import { parseValgrindText } from '../parse/evidence/valgrind.js';
import { parseKmemleak } from '../parse/evidence/kmemleak.js';
import { parseSanitizer } from '../parse/evidence/lsan.js';
import { parseOomReports } from '../parse/evidence/oom.js';
import {
  culpritFrame, evidenceTotals, formatFrame, renderEvidence, renderOomSummaries, renderSiteDiff, siteWhere, summarizeOom,
} from './evidence_text.js';

const plain = pc.createColors(false);
const file = (folder: string, name: string): string => {
  const f = corpus(folder).find((x) => x.name === name);
  assert.ok(f, `${folder}/${name}`);
  return f.text;
};

test('formatFrame: symbol (file:line), symbol+off/len [module], module+offset, bare address, inline', () => {
  const cases: [string, Frame, string][] = [
    ['symbolized user frame', { symbol: 'make_buffer', file: 'leak.c', line: 5, address: '0x1' }, 'make_buffer (leak.c:5)'],
    ['with column', { symbol: 'main', file: '/src/a.c', line: 26, column: 15 }, 'main (/src/a.c:26:15)'],
    ['kernel frame, offset kept without file', { symbol: 'kmem_cache_alloc', offset: '+0x1c0', length: '/0x3c0' }, 'kmem_cache_alloc+0x1c0/0x3c0'],
    ['kernel module', { symbol: 'mi_sys_alloc', offset: '+0x10', length: '/0x40', module: 'mi_sys' }, 'mi_sys_alloc+0x10/0x40 [mi_sys]'],
    ['sanitizer module+offset', { address: '0x55fc6c74f1b0', module: '/tmp/x/l_asan', moduleOffset: '0x11b0' }, 'l_asan+0x11b0'],
    ['shared object by name', { symbol: 'malloc', module: '/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so' }, 'malloc [vgpreload_memcheck-amd64-linux.so]'],
    ['address only', { address: '0xffffffff8123abcd' }, '0xffffffff8123abcd'],
    ['inline', { symbol: 'kmalloc', file: 'include/linux/slab.h', line: 557, inline: true }, 'kmalloc (include/linux/slab.h:557) [inline]'],
  ];
  for (const [name, f, want] of cases) assert.equal(formatFrame(f), want, name);
});

test('culprit: the first frame below the allocator that has file:line (valgrind, LSan, kmemleak with inline frames)', () => {
  const vg = rankSites(mergeSites(parseValgrindText(file('valgrind', 'local-valgrind-3.19-debian12-x86_64-leak-check-full.txt')).value.sites));
  assert.deepEqual(vg.map((s) => siteWhere(s)), vg.map((s) => {
    const f = s.stack.find((x) => x.symbol !== 'malloc' && x.symbol !== 'calloc' && x.symbol !== 'realloc' && x.file !== undefined);
    return f ? `${f.file ?? ''}:${f.line ?? ''}` : undefined;
  }));
  assert.equal(siteWhere(vg[0] as AllocationSite), 'leaky.c:16');
  const asan = rankSites(mergeSites(parseSanitizer(file('lsan', 'local-gcc12-asan-leak-debian12.txt')).value.sites));
  assert.equal(culpritFrame(asan[0] as AllocationSite)?.symbol, 'make_list');
  const km = parseKmemleak(file('kmemleak', 'syzkaller-guilty-48-many-objects.txt')).value.sites;
  // kmalloc [inline] and usb_alloc_urb's own allocation are skipped only as far as they are allocators.
  assert.equal(siteWhere(km[0] as AllocationSite), 'drivers/usb/core/urb.c:74');
});

test('renderEvidence: header, per-file line, totals by tool and kind, stack trees, no colour codes when off', () => {
  const parsed = parseValgrindText(file('valgrind', 'local-valgrind-3.19-debian12-x86_64-leak-check-full.txt'));
  const sites = rankSites(mergeSites(parsed.value.sites));
  const text = renderEvidence({ inputs: [{ file: 'vg.txt', format: 'valgrind', sites: sites.length, warnings: parsed.warnings }], sites, problems: [] }, plain, { top: 2, frames: 3, width: 120 });
  const lines = text.split('\n');
  assert.equal(lines[0], `memsleuth evidence: vg.txt: ${sites.length} sites`);
  assert.equal(lines[1], `  vg.txt: valgrind, ${sites.length} sites`);
  assert.ok(lines.includes('Totals by tool and kind'));
  assert.ok(lines.some((l) => /^131 B\s+5\s+1\s+indirect\s+valgrind$/.test(l)), text);
  assert.ok(lines.includes('Top sites (2 of 4, largest first)') || lines.some((l) => l.startsWith('Top sites (2 of')), text);
  const first = lines.findIndex((l) => l.startsWith('#1  '));
  assert.match(lines[first] ?? '', /^#1 {2}131 B in 5 objects {2}indirect {2}valgrind/);
  assert.deepEqual(lines.slice(first + 1, first + 4), [
    '    ├─ malloc [vgpreload_memcheck-amd64-linux.so]',
    '    ├─ make_list (leaky.c:16)',
    '    └─ main (leaky.c:28)',
  ]);
  assert.doesNotMatch(text, /\u001b/);
});

test('every string from the input is made terminal-safe (a process may name itself an escape sequence)', () => {
  const evil = '\u001b]0;pwned\u0007\u001b[2J';
  const site: AllocationSite = {
    stack: [{ symbol: `f${evil}`, file: `a${evil}.c`, line: 1 }], bytes: bytes(10), count: 1, kind: 'definite', tool: 'valgrind',
    comms: [evil], pids: [1], cache: evil, origin: `x${evil}:1`,
  };
  const text = renderEvidence({ inputs: [{ file: `in${evil}`, format: 'valgrind', sites: 1, warnings: [{ line: 1, text: evil, reason: evil, severity: 'data-loss' }] }], sites: [site], problems: [evil] }, plain, { top: 5, frames: 5 });
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/);
  assert.match(text, /\\x1b\]0;pwned\\x07\\x1b\[2J/);
  const d = renderSiteDiff(diffSites([], [site]), { a: evil, b: 'b' }, plain, { top: 5, frames: 5 });
  assert.doesNotMatch(d, /[\u0000-\u0008\u000b-\u001f\u007f]/);
});

test('evidenceTotals: per tool and kind, largest first', () => {
  const s = (tool: AllocationSite['tool'], kind: AllocationSite['kind'], b: number, count: number): AllocationSite => ({ stack: [{ symbol: `${tool}${kind}${b}` }], bytes: bytes(b), count, kind, tool });
  assert.deepEqual(evidenceTotals([s('lsan', 'definite', 10, 1), s('valgrind', 'definite', 100, 2), s('lsan', 'definite', 5, 3), s('lsan', 'indirect', 1, 1)]), [
    { tool: 'valgrind', kind: 'definite', sites: 1, count: 2, bytes: 100 },
    { tool: 'lsan', kind: 'definite', sites: 2, count: 4, bytes: 15 },
    { tool: 'lsan', kind: 'indirect', sites: 1, count: 1, bytes: 1 },
  ]);
});

test('renderSiteDiff: new / grown / shrunk / gone sections with deltas (two real kmemleak reports)', () => {
  const before = parseKmemleak(file('kmemleak', 'syzkaller-report-151-two-objects.txt')).value.sites;
  const after = parseKmemleak(file('kmemleak', 'syzkaller-guilty-48-many-objects.txt')).value.sites;
  const grownSite: AllocationSite = { ...(before[1] as AllocationSite), bytes: bytes(96 * 3), count: 3 };
  const text = renderSiteDiff(diffSites(before, [...after, grownSite]), { a: 'before.txt', b: 'after.txt' }, plain, { top: 5, frames: 2 });
  const heads = text.split('\n').filter((l) => /^(?:New sites|Grown|Shrunk|Gone) \(/.test(l) || l.startsWith('#'));
  assert.deepEqual(heads, [
    'New sites (1)',
    '#1  +960 B, +5 objects  unreferenced  kmemleak  kworker/1:2[3705]  age 14 s',
    'Grown (1)',
    '#1  +192 B, +2 objects (was 96 B in 1 object, now 288 B in 3 objects)  unreferenced  kmemleak  syz-executor1[4094]  age 15 s',
    'Gone (1)',
    '#1  -944 B, -1 object  unreferenced  kmemleak  syz-executor1[4094]  age 15 s',
  ]);
  assert.match(text, /^ {2}1 new, 1 grown, 0 shrunk, 1 gone$/m);
});

test('summarizeOom: every corpus OOM report gets a verdict; the killed task is the one the kill line names', () => {
  const want: Record<string, string> = {
    'boom-rhel9-5.14.0-362-dmesg-T-fr.txt': 'user-process',
    'boom-rhel9-5.14.0-611-openstack-dmesg-T-fr.txt': 'user-process',
    'oomanalyser-example-archlinux-6.1.1.txt': 'user-process',
    'oomanalyser-example-proxmox-memcg-dmesg-T-de.txt': 'memcg-limit',
    'oomanalyser-example-rhel7-3.10.0-514.txt': 'user-process',
    'oomanalyser-example-ubuntu2110-5.13.txt': 'manual',
    'syzkaller-report-198-vmalloc-failure-meminfo-4.15.txt': 'allocation-failure',
    'syzkaller-report-199-page-alloc-failure-meminfo-4.9.txt': 'unknown,allocation-failure',
    'syzkaller-report-206-interleaved-rcu-warning.txt': 'allocation-failure',
    'syzkaller-report-334-oom-killer-in-panic-4.20.txt': 'unknown',
  };
  for (const f of corpus('oom')) {
    const summaries = parseOomReports(f.text).value.reports.map((r, i) => summarizeOom(r, i));
    assert.equal(summaries.map((s) => s.side).join(','), want[f.name], f.name);
    for (const s of summaries) assert.notEqual(s.reason, '', f.name);
  }
  const arch = parseOomReports(file('oom', 'oomanalyser-example-archlinux-6.1.1.txt')).value.reports[0];
  assert.ok(arch);
  const s = summarizeOom(arch, 0);
  assert.deepEqual([s.victim?.comm, s.victim?.pid, s.victim?.rss, s.topTasks[0]?.name, s.topTasks.length], ['doxygen', 473206, (9234320 + 4) * 1024, 'doxygen', 5]);
  const text = renderOomSummaries('arch.txt', [s], plain, { frames: 4 });
  assert.match(text, /^ {2}killed: doxygen\[473206\] RSS 8\.81 GiB, oom_score_adj 0$/m);
  assert.match(text, /^ {2}verdict: user-process: doxygen\[473206\] held 8\.81 GiB of RSS \(56% of RAM\)/m);
});

test('summarizeOom: a report whose unreclaimable slab dominates points at slab-calls and kmemleak for its largest cache', () => {
  const r = parseOomReports(file('oom', 'oomanalyser-example-archlinux-6.1.1.txt')).value.reports[0];
  assert.ok(r);
  const slabby = { ...r, memInfo: { ...r.memInfo, slab_unreclaimable: bytes(10 * 2 ** 30) }, unreclaimableSlab: [{ name: 'kmalloc-2k', used: bytes(9 * 2 ** 30), total: bytes(9 * 2 ** 30) }] };
  const s = summarizeOom(slabby, 0);
  assert.equal(s.side, 'kernel-slab');
  assert.deepEqual(s.topCaches, [{ name: 'kmalloc-2k', used: 9 * 2 ** 30 }]);
  assert.match(s.nextSteps[0] ?? '', /^memsleuth slab-calls kmalloc-2k .*slub_debug=U,kmalloc-2k/);
  assert.match(s.nextSteps[1] ?? '', /^memsleuth kmemleak/);
});
