/**
 * `traceKernel(options)`: outstanding kernel slab allocations by call site over a window, a settle period
 * in which frees keep being matched, then AllocationSite[] (kind 'outstanding', tool 'trace') and a
 * per-site series of outstanding bytes/objects. Everything switched on is undone on every exit path.
 */
import { InputError, TargetError } from '../../model/errors.js';
import type { EngineContext, EngineOutcome, EngineSettings } from './engine.js';
import type { KernelEngineName, KernelSeries, KernelTraceOptions, KernelTraceResult } from './options.js';
import { callSiteRange, loadKernelSymbols, seriesKey, siteLabel, toAllocationSites } from './sites.js';
import { UndoStack, ensureTracefs, guardGlobalEvents } from './tracefs_state.js';

export type { KernelTraceOptions, KernelTraceResult, KernelSeries, KernelEngineName, LostEvents } from './options.js';

const KMEM_EVENTS = ['kmem/kmalloc', 'kmem/kfree', 'kmem/kmem_cache_alloc', 'kmem/kmem_cache_free'];

export async function chooseEngine(wanted: KernelTraceOptions['engine'], bpftracePath: string): Promise<{ engine: KernelEngineName; reason: string }> {
  const { bpftraceVersion } = await import('./bpftrace_engine.js');
  if (wanted === 'ftrace') return { engine: 'ftrace', reason: 'asked for' };
  const version = bpftraceVersion(bpftracePath);
  if (wanted === 'bpftrace') {
    if (version === undefined) throw new TargetError(`Cannot run "${bpftracePath}": bpftrace is not installed (apt-get install bpftrace)`);
    return { engine: 'bpftrace', reason: `asked for (bpftrace ${version})` };
  }
  return version !== undefined
    ? { engine: 'bpftrace', reason: `bpftrace ${version} found: aggregates in the kernel, no event buffer to overflow` }
    : { engine: 'ftrace', reason: 'bpftrace not found on PATH: using ftrace (expect lost events under heavy load; install bpftrace)' };
}

export async function traceKernel(options: KernelTraceOptions = {}): Promise<KernelTraceResult> {
  const settings: EngineSettings = {
    windowSec: options.durationSec ?? 30,
    settleSec: options.settleSec ?? 5,
    intervalSec: options.intervalSec ?? 1,
    minAgeSec: options.minAgeSec ?? 0,
    maxTracked: options.maxTracked ?? 262_144,
    stacks: options.stacks === true,
    sampleEvery: options.sampleEvery ?? 1,
  };
  for (const [k, v] of Object.entries({ duration: settings.windowSec, settle: settings.settleSec, interval: settings.intervalSec, 'min-age': settings.minAgeSec })) {
    if (!Number.isFinite(v) || v < 0) throw new InputError(`Invalid --${k} "${String(v)}": expected a non-negative number of seconds`);
  }
  if (!Number.isInteger(settings.maxTracked) || settings.maxTracked < 1) throw new InputError(`Invalid --max-tracked "${String(settings.maxTracked)}"`);
  if (!Number.isInteger(settings.sampleEvery) || settings.sampleEvery < 1 || settings.sampleEvery > 65536) throw new InputError(`Invalid --sample "${String(settings.sampleEvery)}": expected a whole number from 1 to 65536`);
  if (settings.sampleEvery > 1 && options.engine === 'ftrace') throw new InputError('--sample needs the bpftrace engine (ftrace hands every event to user space; sampling there saves nothing)');
  if (options.cache !== undefined) settings.cache = options.cache;
  if (options.minBytes !== undefined) settings.minBytes = options.minBytes;
  if (process.getuid?.() !== 0) throw new TargetError('Cannot trace kernel allocations: tracefs and BPF need root (run as root)');

  const progress = options.onProgress ?? ((): void => undefined);
  const bpftracePath = options.bpftracePath ?? 'bpftrace';
  const { engine, reason } = await chooseEngine(options.engine ?? 'auto', bpftracePath);
  if (settings.sampleEvery > 1 && engine !== 'bpftrace') throw new InputError(`--sample needs the bpftrace engine: ${reason}`);
  const symbols = loadKernelSymbols();
  if (options.callSite !== undefined) {
    const r = callSiteRange(symbols, options.callSite);
    if (r === undefined) throw new InputError(`Unknown call site "${options.callSite}": not in /proc/kallsyms`);
    settings.callSiteRange = r;
  }

  const undo = new UndoStack();
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort();
  options.signal?.addEventListener('abort', onOuterAbort);
  if (options.signal?.aborted === true) abort.abort();
  if (options.handleSignals !== false) undo.installProcessHandlers(() => { progress('interrupted: stopping, report follows (Ctrl-C again to quit now)'); abort.abort(); });
  let outcome: EngineOutcome;
  try {
    const tfs = ensureTracefs(undo, options.mountTracefs !== false);
    if (!tfs.ok) throw new TargetError(`Cannot trace kernel allocations: ${tfs.reason}`);
    if (tfs.mounted) progress(`mounted tracefs on ${tfs.root} (unmounted again at the end)`);
    guardGlobalEvents(undo, tfs.root, KMEM_EVENTS);
    const ctx: EngineContext = { settings, undo, tracefsRoot: tfs.root, signal: abort.signal, progress };
    if (engine === 'bpftrace') {
      const { runBpftraceEngine } = await import('./bpftrace_engine.js');
      outcome = await runBpftraceEngine(ctx, bpftracePath);
    } else {
      const { runFtraceEngine } = await import('./ftrace_engine.js');
      outcome = await runFtraceEngine(ctx);
    }
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    undo.runAll();
  }

  const sites = await toAllocationSites(symbols, outcome.summaries, {
    top: options.top ?? 20,
    caches: outcome.caches,
    ...(outcome.stacks !== undefined ? { stacks: outcome.stacks } : {}),
    ...(options.vmlinux !== undefined ? { vmlinux: options.vmlinux } : {}),
    origin: `trace kernel (${engine})`,
  });
  const series = toSeries(outcome, (k) => siteLabel(symbols, k), settings.windowSec);
  const warnings = [...symbols.warnings, ...outcome.warnings];
  for (const f of undo.failures) warnings.push(`could not undo "${f.label}": ${f.message}`);
  return {
    engine,
    engineReason: reason,
    windowSec: settings.windowSec,
    settleSec: settings.settleSec,
    minAgeSec: settings.minAgeSec,
    sites,
    series,
    lost: outcome.lost,
    counters: outcome.counters,
    interrupted: outcome.interrupted,
    warnings,
    undoFailures: [...undo.failures],
  };
}

/** Series for the sites that were outstanding at any sample, bytes and objects; at most 50 sites. */
function toSeries(o: EngineOutcome, label: (site: number) => string, windowSec: number): KernelSeries[] {
  const peak = new Map<number, number>();
  for (const smp of o.samples) for (const [site, v] of smp.sites) peak.set(site, Math.max(peak.get(site) ?? 0, v.bytes));
  const chosen = [...peak].filter(([, b]) => b > 0).sort((a, b) => b[1] - a[1]).slice(0, 50).map(([s]) => s);
  const out: KernelSeries[] = [];
  for (const site of chosen) {
    const name = label(site);
    const b: KernelSeries = { key: seriesKey(name, 'bytes'), site: name, unit: 'bytes', points: [] };
    const c: KernelSeries = { key: seriesKey(name, 'objs'), site: name, unit: 'objects', points: [] };
    for (const smp of o.samples) {
      if (smp.t > windowSec + 1e-9 && smp !== o.samples[o.samples.length - 1]) continue;
      const v = smp.sites.get(site);
      b.points.push({ t: round3(smp.t), value: v?.bytes ?? 0 });
      c.points.push({ t: round3(smp.t), value: v?.count ?? 0 });
    }
    out.push(b, c);
  }
  return out;
}

function round3(n: number): number { return Math.round(n * 1000) / 1000; }
