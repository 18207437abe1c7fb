/**
 * "Where MemTotal goes" on real captures of this machine: before and while 9,000 threads sleep
 * (test/fixtures/threads.c; meminfo and vmallocinfo read one after the other, see test/fixtures/SOURCES.md).
 * Each thread's 16 KiB kernel stack is a vmalloc area (CONFIG_VMAP_STACK): in VmallocUsed and KernelStack both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseMeminfo } from '../parse/meminfo.js';
import { parseVmallocinfo } from '../parse/vmallocinfo.js';
import { COMPOSITION_GROUPS, composition, vmallocSplit } from './composition.js';
import type { Composition } from './composition.js';

const MiB = 1024 * 1024;

function load(tag: string): { c: Composition; vmallocUsed: number; kernelStack: number; stacks: number } {
  const [m] = fixtures(new RegExp(`^meminfo-${tag}-local\\.txt$`));
  const [v] = fixtures(new RegExp(`^vmallocinfo-${tag}-local\\.txt$`));
  assert.ok(m && v, tag);
  const meminfo = parseMeminfo(m.text).value;
  const vm = vmallocSplit(parseVmallocinfo(v.text).value.areas);
  assert.ok(vm);
  return { c: composition(meminfo, vm.total, vm.stacks), vmallocUsed: meminfo.bytes['VmallocUsed'] ?? NaN, kernelStack: meminfo.bytes['KernelStack'] ?? NaN, stacks: vm.stacks };
}

test('9,000 threads: kernel stacks counted once (as kernel stacks, not again as vmalloc), every group >= 0, the groups add up to MemTotal', () => {
  const before = load('before-threads');
  const many = load('9000-threads');
  for (const { c } of [before, many]) {
    const sum = COMPOSITION_GROUPS.reduce((n, g) => n + (c[g] ?? 0), 0);
    assert.equal(sum, c.total);
    for (const g of COMPOSITION_GROUPS) assert.ok((c[g] ?? 0) >= 0, `${g} = ${c[g]}`);
  }
  // vmallocinfo's stack areas (pages=4 each, caller kernel_clone) are KernelStack, within a few threads' worth.
  assert.ok(Math.abs(many.stacks - many.kernelStack) < 2 * MiB, `${many.stacks} vs ${many.kernelStack}`);
  // The vmalloc group is VmallocUsed without the stacks (pages, not sizes: no guard pages).
  assert.ok(Math.abs((many.c.vmalloc ?? 0) - (many.vmallocUsed - many.kernelStack)) < 2 * MiB, `${many.c.vmalloc} vs ${many.vmallocUsed} - ${many.kernelStack}`);
  // Starting 9,000 threads moved kernel stacks by ~140 MiB and vmalloc (without stacks) by next to nothing:
  // summing vmallocinfo sizes, stacks and guard pages included, had put +177 MiB into vmalloc as well.
  const dStacks = (many.c.kernelStack ?? 0) - (before.c.kernelStack ?? 0);
  const dVmalloc = (many.c.vmalloc ?? 0) - (before.c.vmalloc ?? 0);
  assert.ok(dStacks > 130 * MiB, `kernel stacks +${dStacks / MiB} MiB`);
  assert.ok(Math.abs(dVmalloc) < 2 * MiB, `vmalloc ${dVmalloc / MiB} MiB`);
});

test('without vmallocinfo, stacks are taken as vmalloc\'d when VmallocUsed holds them', () => {
  const [m] = fixtures(/^meminfo-9000-threads-local\.txt$/);
  assert.ok(m);
  const meminfo = parseMeminfo(m.text).value;
  const c = composition(meminfo);
  assert.equal(c.vmalloc, (meminfo.bytes['VmallocUsed'] ?? 0) - (meminfo.bytes['KernelStack'] ?? 0));
  assert.equal(COMPOSITION_GROUPS.reduce((n, g) => n + (c[g] ?? 0), 0), c.total);
});

test('Android (Pixel 3, 4.9): ION_heap and ION_page_pool are their own group, not "unexplained"', () => {
  const [f] = corpus('meminfo', /^android12-pixel3/);
  assert.ok(f);
  const m = parseMeminfo(f.text).value;
  const c = composition(m);
  assert.equal(c.ion, (172672 + 55872) * 1024);
  assert.equal(COMPOSITION_GROUPS.reduce((n, g) => n + (c[g] ?? 0), 0), c.total);
  // A machine without ION has no such group at all.
  const [local] = fixtures(/^meminfo-local\.txt$/);
  assert.ok(local);
  assert.equal(composition(parseMeminfo(local.text).value).ion, undefined);
});
