/**
 * Seed 000 step 4, automated: a slab cache grows in /proc/slabinfo, so read the cache's call sites twice and
 * rank the sites whose outstanding count grew. The sites come from SLUB user tracking (slub_debug=U):
 *
 *   /sys/kernel/slab/<cache>/alloc_calls                 (kernels before 5.17)
 *   /sys/kernel/debug/slab/<cache>/alloc_traces          (5.17+, with the full stack; needs debugfs)
 *
 * Tracking is a boot-time choice (slub_debug=U,<cache>); /sys/kernel/slab/<cache>/store_user says whether it is
 * on. Nothing is switched on here; debugfs is mounted only when needed and unmounted again.
 */
import type { AllocationSite } from '../model/allocation_site.js';
import { diffSites, type SiteChange, type SiteDiff } from '../model/allocation_sites.js';
import { InputError, TargetError } from '../model/errors.js';
import type { Parsed } from '../model/parsed.js';
import { parseSlubAllocCalls, type SlubAllocCalls } from '../parse/evidence/slub_alloc_calls.js';
import { configOption, debugfsMounted, DEBUGFS, ensureDebugfs, readKernelConfig, type TargetShell } from './target_shell.js';
import type { UndoStack } from './undo.js';

// ---------------------------------------------------------------------------------------------
// The growth ranking (pure)

export interface SlabGrowth {
  /** Sites whose outstanding count grew (new ones included), most objects gained first. */
  grown: SiteChange[];
  /** The whole comparison, for the diff view. */
  diff: SiteDiff;
}

/**
 * Which call sites hold more objects in `after` than in `before` (the same cache, read twice). A site absent
 * before grew from zero. Ranked by objects gained, then bytes gained (bytes are 0 when the object size is
 * unknown). The kernel's list stops near a page of text, so a site missing from a long list is "not listed",
 * not "freed": read long lists from alloc_traces.
 */
export function slabGrowth(before: readonly AllocationSite[], after: readonly AllocationSite[]): SlabGrowth {
  const diff = diffSites(before, after);
  const grown = [...diff.added, ...diff.grown]
    .filter((ch) => ch.deltaCount > 0)
    .sort((a, b) => b.deltaCount - a.deltaCount || b.deltaBytes - a.deltaBytes);
  return { grown, diff };
}

// ---------------------------------------------------------------------------------------------
// The driver

export interface SlabCallsOptions {
  shell: TargetShell;
  undo: UndoStack;
  cache: string;
  /** Seconds between the two reads when there is no workload. */
  intervalSec: number;
  /** Program to run (argv) between the two reads, instead of waiting. */
  workload?: string[];
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface SlabCallsRun {
  cache: string;
  /** Where the sites were read. */
  path: string;
  objectSize?: number;
  before: Parsed<SlubAllocCalls>;
  after: Parsed<SlubAllocCalls>;
  growth: SlabGrowth;
  workload?: { argv: string[]; code: number };
}

/** How to switch tracking on for one cache, in words a user can act on. */
export function slubTrackingHint(cache: string): string {
  return `boot with slub_debug=U,${cache} on the kernel command line (U stores the allocating call site of every object; ` +
    `it costs memory and some speed for that cache only) and run memsleuth slab-calls ${cache} again (it reads ` +
    `/sys/kernel/slab/${cache}/alloc_calls, or ${DEBUGFS}/slab/${cache}/alloc_traces on 5.17+); the kernel needs CONFIG_SLUB_DEBUG=y. A kmalloc-N cache may be merged with ` +
    'others: add slab_nomerge, or name the cache it is merged into (ls -l /sys/kernel/slab)';
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Finds the cache, checks tracking, and picks the file to read (mounting debugfs, with undo, when 5.17+). */
interface Located {
  path: string;
  objectSize?: number;
  hz?: number;
  /** The text of alloc_calls when finding the file already read it: the first read. */
  first?: string;
}

async function locate(o: SlabCallsOptions, log: (line: string) => void): Promise<Located> {
  const { shell, cache } = o;
  if (cache === '' || cache.includes('/') || cache === '.' || cache === '..') throw new InputError(`"${cache}" is not a slab cache name (see /proc/slabinfo)`);
  const dir = `/sys/kernel/slab/${cache}`;
  const size = await shell.readFile(`${dir}/object_size`);
  if (size === undefined) {
    const slabinfo = await shell.readFile('/proc/slabinfo');
    if (slabinfo === undefined) throw new TargetError(`Cannot read "/sys/kernel/slab" on ${shell.name}: the kernel has no SLUB sysfs (CONFIG_SLUB and CONFIG_SYSFS needed), or memsleuth is not root`, 'no-slub');
    const names = slabinfo.split('\n').slice(2).map((l) => l.split(/\s+/)[0] ?? '').filter((n) => n !== '');
    const near = names.filter((n) => n.includes(cache)).slice(0, 5);
    throw new InputError(`There is no slab cache "${cache}" on ${shell.name}${near.length > 0 ? ` (similar: ${near.join(', ')})` : ''} (see the names in /proc/slabinfo)`);
  }
  const objectSize = Number(size.trim());
  const config = await readKernelConfig(shell);
  const hzText = /^CONFIG_HZ=(\d+)$/m.exec(config ?? '')?.[1];
  const located: Located = { path: '' };
  if (Number.isFinite(objectSize) && objectSize > 0) located.objectSize = objectSize;
  if (hzText !== undefined) located.hz = Number(hzText);

  const storeUser = await shell.readFile(`${dir}/store_user`);
  if (storeUser === undefined) {
    const why = configOption(config, 'CONFIG_SLUB_DEBUG') === 'n' ? 'the kernel is built without CONFIG_SLUB_DEBUG' : `"${dir}/store_user" cannot be read`;
    throw new TargetError(`SLUB call-site tracking is not available for "${cache}" on ${shell.name}: ${why}. To use it, ${slubTrackingHint(cache)}.`, 'slub-tracking-off');
  }
  if (storeUser.trim() !== '1') {
    throw new TargetError(`SLUB call-site tracking is off for "${cache}" on ${shell.name} (${dir}/store_user is ${storeUser.trim() || 'empty'}), so the kernel keeps no alloc_calls for it. To use it, ${slubTrackingHint(cache)}.`, 'slub-tracking-off');
  }
  const first = await shell.readFile(`${dir}/alloc_calls`);
  if (first !== undefined) {
    located.path = `${dir}/alloc_calls`;
    located.first = first;
    return located;
  }
  await ensureDebugfs(shell, await debugfsMounted(shell), o.undo, log);
  located.path = `${DEBUGFS}/slab/${cache}/alloc_traces`;
  return located;
}

export async function runSlabCalls(o: SlabCallsOptions): Promise<SlabCallsRun> {
  const log = o.log ?? ((): void => undefined);
  const sleep = o.sleep ?? defaultSleep;
  const where = await locate(o, log);
  let pending = where.first;
  const read = async (label: string): Promise<Parsed<SlubAllocCalls>> => {
    const text = pending ?? await o.shell.readFile(where.path);
    pending = undefined;
    if (text === undefined) throw new TargetError(`Cannot read "${where.path}" (${label}) on ${o.shell.name}: tracking is on but the file is missing (cache merged into another? see ls -l /sys/kernel/slab/${o.cache})`, 'slab-calls-read');
    const opts: Parameters<typeof parseSlubAllocCalls>[1] = { direction: 'alloc', cache: o.cache };
    if (where.objectSize !== undefined) opts.objectSize = where.objectSize;
    if (where.hz !== undefined) opts.hz = where.hz;
    const parsed = parseSlubAllocCalls(text, opts);
    log(`${label}: ${parsed.value.sites.length} call sites, ${parsed.value.sites.reduce((n, s) => n + s.count, 0)} objects`);
    return parsed;
  };
  const before = await read('first read');
  let workload: SlabCallsRun['workload'];
  if (o.workload !== undefined && o.workload.length > 0) {
    log(`running the workload: ${o.workload.join(' ')}`);
    const w = await o.shell.run(o.workload);
    workload = { argv: o.workload, code: w.code };
    log(`workload exited with ${w.code}`);
  } else {
    log(`waiting ${o.intervalSec} s before the second read (Ctrl-C stops cleanly)`);
    await sleep(o.intervalSec * 1000);
  }
  const after = await read('second read');
  const run: SlabCallsRun = { cache: o.cache, path: where.path, before, after, growth: slabGrowth(before.value.sites, after.value.sites) };
  if (where.objectSize !== undefined) run.objectSize = where.objectSize;
  if (workload !== undefined) run.workload = workload;
  return run;
}
