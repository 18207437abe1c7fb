/**
 * The `bpftrace` engine: runs the program of bpftrace_program.ts as a child (argv array, no shell) and
 * reads its JSON lines. bpftrace attaches through perf_event_open, so tracefs files are left untouched;
 * the child is the one thing to undo (SIGINT normally, SIGKILL from an exit handler: the BPF programs go
 * away with its file descriptors). If memsleuth dies by SIGKILL, bpftrace dies of SIGPIPE at its next
 * periodic print.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TargetError } from '../../model/errors.js';
import { killedWithUs } from '../parent_death.js';
import type { EngineContext, EngineOutcome, EngineSample } from './engine.js';
import { emptyOutput, parseBpftraceLine, bpftraceProgram, isSafeCacheName } from './bpftrace_program.js';
import type { BpftraceProgramOptions, SiteStats } from './bpftrace_program.js';
import { summarizeBySite } from './outstanding.js';
import { recursionMissesOf } from './recursion_misses.js';

/** bpftrace's version, or undefined when it is not installed. */
export function bpftraceVersion(path = 'bpftrace'): string | undefined {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return undefined;
  return /v?(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout)?.[1];
}

// On Linux >= 5.11 BPF memory is charged to the memory cgroup; 0.17 still tries RLIMIT_MEMLOCK and says so.
const HARMLESS_STDERR = /RLIMIT_MEMLOCK/;

export function programOptions(ctx: EngineContext): BpftraceProgramOptions {
  const s = ctx.settings;
  const o: BpftraceProgramOptions = { windowSec: s.windowSec, settleSec: s.settleSec, intervalSec: s.intervalSec, kmalloc: true, cache: true, stacks: s.stacks };
  if (s.cache !== undefined) {
    const km = /^kmalloc-(?:cg-|rcl-|dma-)?(\d+)(k?)$/.exec(s.cache);
    if (km !== null) {
      o.cache = false;
      o.kmallocSize = Number(km[1]) * (km[2] === 'k' ? 1024 : 1);
    } else {
      if (!isSafeCacheName(s.cache)) throw new TargetError(`Cannot trace cache "${s.cache}": not a slab cache name`);
      o.kmalloc = false;
      o.cacheName = s.cache;
    }
  }
  if (s.callSiteRange !== undefined) o.callSiteRange = s.callSiteRange;
  if (s.minBytes !== undefined) o.minBytes = s.minBytes;
  if (s.sampleEvery > 1) o.sampleEvery = s.sampleEvery;
  return o;
}

/**
 * A sampled run's outcome scaled back to every object: each tracked object stands for `every` of them.
 * Adds the sampling error in one line: with k of a site's K objects sampled (k ~ Binomial(K, 1/every)), the
 * estimate every·k has a relative standard error of sqrt((every - 1) / K) ≈ sqrt((every - 1) / (every·k)),
 * so it is within two of those of the true count with ~95% confidence. Addresses are not coin flips (a slab
 * page's objects and reused addresses fall in the same residues), so this is the error of an ideal sampler:
 * a floor, not a bound.
 */
export function scaleSampled(outcome: EngineOutcome, every: number): EngineOutcome {
  if (every <= 1) return outcome;
  const sc = (x: number): number => x * every;
  const top = [...outcome.summaries].sort((a, b) => b.bytes - a.bytes)[0];
  const k = top?.count ?? 0;
  const rel = k > 0 ? Math.sqrt((every - 1) / (every * k)) : Infinity;
  const warning = `sampled: one object in ${every} tracked (by address), counts and bytes are x${every} estimates; `
    + `a site with k sampled objects is within about ±2·sqrt(${every - 1}/(${every}·k)) of its true count (95%, ideal sampler)`
    + (k > 0 ? `: ±${Math.round(2 * rel * 100)}% for the top site (${k} sampled objects)` : '');
  return {
    ...outcome,
    summaries: outcome.summaries.map((s) => ({ ...s, bytes: sc(s.bytes), count: sc(s.count), evicted: sc(s.evicted) })),
    samples: outcome.samples.map((p) => ({ t: p.t, sites: new Map([...p.sites].map(([site, v]) => [site, { bytes: sc(v.bytes), count: sc(v.count) }])) })),
    counters: {
      allocs: sc(outcome.counters.allocs), frees: sc(outcome.counters.frees), matchedFrees: sc(outcome.counters.matchedFrees),
      replaced: sc(outcome.counters.replaced), evicted: sc(outcome.counters.evicted),
    },
    warnings: [warning, ...outcome.warnings],
  };
}

export async function runBpftraceEngine(ctx: EngineContext, bpftracePath: string): Promise<EngineOutcome> {
  const s = ctx.settings;
  const program = bpftraceProgram(programOptions(ctx));
  const [cmd, ...args] = killedWithUs([bpftracePath, '--no-warnings', '-f', 'json', '-e', program]);
  const child = spawn(cmd as string, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(s.maxTracked), BPFTRACE_STRLEN: '32' },
  });
  let exited = false;
  const exitPromise = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, sig) => { exited = true; resolve({ code, sig }); });
    child.on('error', (err) => { exited = true; stderr.push(err.message); resolve({ code: -1, sig: null }); });
  });
  ctx.undo.push(`stop bpftrace (pid ${String(child.pid)})`, () => {
    if (!exited && child.pid !== undefined) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ } }
  });
  const out = emptyOutput();
  const stderr: string[] = [];
  const warnings: string[] = [];
  let interrupted = false;
  let attachedReported = false;
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
  // Read at every sample and at the final dump while bpftrace still holds its programs (by the time its last
  // line is read it may be gone: then the reading before stands, at most one interval early, so a floor).
  let misses: number | undefined;
  let readings = 0;
  rl.on('line', (line) => {
    parseBpftraceLine(out, line);
    const marks = out.samples.length + (out.finalNs !== undefined ? 1 : 0);
    if (marks !== readings && child.pid !== undefined) {
      readings = marks;
      misses = recursionMissesOf(child.pid) ?? misses;
    }
    // bpftrace prints attached_probes before attaching; BEGIN (memsleuth-start) runs once all are attached.
    if (!attachedReported && out.startNs !== undefined) {
      attachedReported = true;
      ctx.progress(`bpftrace attached ${String(out.attachedProbes ?? '?')} probes: tracking allocations for ${s.windowSec} s, then matching frees for ${s.settleSec} s`);
    }
  });
  const rlClosed = new Promise<void>((resolve) => rl.on('close', () => resolve()));
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (l) => { if (!HARMLESS_STDERR.test(l) && l.trim() !== '') stderr.push(l); });
  const onAbort = (): void => { interrupted = true; if (!exited) child.kill('SIGINT'); };
  ctx.signal.addEventListener('abort', onAbort);
  // bpftrace exits by itself after window + settle; a generous guard covers a wedged child.
  const guard = setTimeout(() => { if (!exited) { warnings.push('bpftrace did not exit in time: killed'); child.kill('SIGKILL'); } }, (s.windowSec + s.settleSec + 60) * 1000);
  try {
    const { code, sig } = await exitPromise;
    await rlClosed;
    if (out.finalNs === undefined) {
      const why = stderr.slice(0, 8).join('\n') || `exit ${String(code ?? sig)}`;
      throw new TargetError(`bpftrace failed before its final report: ${why}`);
    }
  } finally {
    clearTimeout(guard);
    ctx.signal.removeEventListener('abort', onAbort);
  }
  warnings.push(...stderr.slice(0, 20).map((l) => `bpftrace: ${l}`));
  for (const m of out.messages.slice(0, 20)) warnings.push(`bpftrace: ${m}`);

  const startNs = out.startNs ?? out.samples[0]?.ns ?? 0;
  const finalNs = out.finalNs ?? startNs;
  const samples: EngineSample[] = out.samples.map((smp) => ({ t: (smp.ns - startNs) / 1e9, sites: outstandingBySite(smp.allocs, smp.frees) }));
  samples.push({ t: (finalNs - startNs) / 1e9, sites: outstandingBySite(out.finalAllocs, out.finalFrees) });
  const summaries = summarizeBySite(out.objects, finalNs, s.minAgeSec);
  let stacks: Map<number, string> | undefined;
  if (s.stacks) {
    const counts = new Map<number, Map<string, number>>();
    for (const o of out.objects) {
      if (o.stack === undefined) continue;
      const m = counts.get(o.site) ?? new Map<string, number>();
      m.set(o.stack, (m.get(o.stack) ?? 0) + 1);
      counts.set(o.site, m);
    }
    stacks = new Map([...counts].map(([site, m]) => [site, [...m].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '']));
  }
  let allocs = 0;
  let frees = 0;
  for (const v of out.finalAllocs.values()) allocs += v.count;
  for (const v of out.finalFrees.values()) frees += v.count;
  // Allocations the bounded map could not hold: their frees cannot be matched and they have no age.
  const untracked = Math.max(0, allocs - frees - out.objects.length);
  const full = out.objects.length >= s.maxTracked * 0.98;
  const lost = { total: (full ? untracked : 0) + out.lostEvents, detail: [] as string[] };
  if (full) lost.detail.push(`bpftrace map full (${s.maxTracked} objects, raise --max-tracked): ${untracked} allocations not tracked`);
  if (out.lostEvents > 0) lost.detail.push(`bpftrace output: ${out.lostEvents} lost events`);
  if (misses !== undefined && misses > 0) {
    lost.total += misses;
    lost.detail.push(`at least ${misses} kmem events skipped by the kernel because a BPF program was already running on that CPU `
      + '(e.g. an RCU free in softirq): each skipped free leaves a freed object counted as outstanding, so a site is a leak only by objects well beyond this count');
  }
  if (!full && untracked > 0) warnings.push(`${untracked} allocations were seen allocated again before a free (a free path without a kmem tracepoint)`);
  const outcome: EngineOutcome = {
    summaries,
    caches: out.caches,
    samples,
    lost,
    counters: { allocs, frees: frees, matchedFrees: frees, replaced: full ? 0 : untracked, evicted: full ? untracked : 0 },
    interrupted,
    warnings,
  };
  if (stacks !== undefined) outcome.stacks = stacks;
  return scaleSampled(outcome, s.sampleEvery);
}

function outstandingBySite(allocs: Map<number, SiteStats>, frees: Map<number, SiteStats>): Map<number, { bytes: number; count: number }> {
  const out = new Map<number, { bytes: number; count: number }>();
  for (const [site, a] of allocs) {
    const f = frees.get(site);
    out.set(site, { bytes: a.total - (f?.total ?? 0), count: a.count - (f?.count ?? 0) });
  }
  return out;
}
