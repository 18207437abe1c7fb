/**
 * `memsleuth trace user --pid PID | -- CMD`: which code holds a process's heap, and which site grows.
 * The default engine (sampler) gives every site a series of live bytes; the same verdict rules that judge
 * recordings judge each one, so the report can say "heapleak.c:40 leaks 100 KiB/s since 00:10".
 */
import { Option, type Command } from 'commander';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import type { AllocationSite } from '../model/allocation_site.js';
import { InputError } from '../model/errors.js';
import { choice, count, duration, pid as pidOption, size } from './option_types.js';
import type { UserTraceResult } from '../trace/user/index.js';

/** Command-line names; `first-touch` is the page-fault engine under the name of what it measures. */
const ENGINE_NAMES = { sampler: 'sampler', 'first-touch': 'faults', faults: 'faults', bpftrace: 'bpftrace', heaptrack: 'heaptrack' } as const;
const ENGINES = Object.keys(ENGINE_NAMES) as Array<keyof typeof ENGINE_NAMES>;
const FREE_PROBES = ['tracefs', 'uprobe', 'none'] as const;

interface UserFlags {
  pid?: number; engine: keyof typeof ENGINE_NAMES; lib?: string; symbolsPrefix?: string; sampleEvery?: number;
  freeProbe: (typeof FREE_PROBES)[number]; sampleBytes: number; exact?: boolean; toolchain?: string;
  duration?: number; minBytes: number; top: number; frames: number; json?: boolean; failOn?: 'leak'; failOnLeak?: boolean;
}

/** The verdict rules' judgement of one site's live bytes over the trace. */
export interface SiteVerdict { verdict: string; rule: string; rateBytesPerSec: number; ci: [number, number]; sinceSec: number; confidence: number }

/**
 * A sampled site's series is the running sum of a sampled estimate: its noise is a random walk, which a bending
 * curve fits better than a line more often than it does a memory counter. Simulated (30 points, 4-30 s, Poisson
 * samples of 4-6 KB at 45-90 KB/s): at the default ΔBIC of 10 the saturation guard called 7-9% of real leaks
 * "still bending", at 25 1-3%; caches filling up (64-4096 entries) stayed bounded or inconclusive at both.
 */
export const SAMPLED_MIN_DELTA_BIC = 25;

/** Judges every site series of a sampler result with the rules that judge recordings (analyze/trend.ts). */
export async function judgeSites(result: UserTraceResult): Promise<Array<SiteVerdict | undefined>> {
  const { analyzeSeries } = await import('../analyze/trend.js');
  return (result.series ?? []).map((s, i) => {
    if (s.points.length < 3) return undefined;
    const f = analyzeSeries(Float64Array.from(s.points, (p) => p.t), Float64Array.from(s.points, (p) => p.value), { subject: `site ${i}`, ...(result.sampleBytes !== 0 ? { minDeltaBic: SAMPLED_MIN_DELTA_BIC } : {}) });
    return { verdict: f.verdict, rule: f.rule, rateBytesPerSec: f.rateBytesPerSec, ci: f.ci, sinceSec: f.sinceSec, confidence: f.confidence };
  });
}

/** "00:10", "1:02:03": time since the trace started. */
export function clock(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const two = (n: number): string => String(n).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

export function defineTraceUser(cmd: Command, setExitCode: (code: number) => void): void {
  cmd
    .description('which code holds a process\'s heap and which site grows: attach with --pid or launch after --')
    .argument('[command...]', 'command to launch and trace (after --)')
    .option('--pid <pid>', 'attach to this running process (it runs on, unchanged, after the trace)', pidOption('--pid'))
    .option('--engine <name>', 'sampler (sampling heap profiler, preloaded or injected) | first-touch (page faults: who touched new memory first; frees unseen) | bpftrace (malloc/free uprobes) | heaptrack', choice('--engine', ENGINES), 'sampler')
    .option('--sample-bytes <size>', 'sampler: largest mean sampling interval (Poisson; each thread starts at 1K and widens it only while it takes over 1,000 samples a second)', size('--sample-bytes'), 256 * 1024)
    .option('--exact', 'sampler: record every allocation (slower)')
    .option('--toolchain <prefix>', 'sampler: build it with PREFIXgcc (e.g. aarch64-linux-gnu-) and symbolize with PREFIXaddr2line')
    .option('--lib <path>', 'bpftrace: library holding the allocator (default: the C library the process maps)')
    .option('--symbols-prefix <p>', 'bpftrace: prefix of the allocator symbols, e.g. je_ for jemalloc')
    .option('--sample-every <n>', 'bpftrace: record one allocation in N', count('--sample-every'))
    .option('--free-probe <how>', 'bpftrace: tracefs (a probe past free\'s first instruction) | uprobe | none', choice('--free-probe', FREE_PROBES), 'tracefs')
    .option('--duration <dur>', 'stop after this long (default: when the process exits or on Ctrl-C)', duration('--duration'))
    .option('--min-bytes <size>', 'drop sites holding less (e.g. 64K)', size('--min-bytes'), 0)
    .option('--top <n>', 'sites to show', count('--top'), 10)
    .option('--frames <n>', 'frames per site', count('--frames'), 8)
    .option('--json', 'print the result as JSON')
    .option('--fail-on <what>', 'exit 1 on "leak": a site leaks (sampler: its verdict is leak; other engines: anything outstanding)', choice('--fail-on', ['leak'] as const))
    .addOption(new Option('--fail-on-leak', 'old spelling of --fail-on leak').hideHelp())
    .addHelpText('after', '\nExamples:\n  memsleuth trace user --pid 1234 --duration 5m\n  memsleuth trace user -- ./server --port 8080\n  memsleuth trace user --engine heaptrack -- ./server --port 8080')
    .action(async (command: string[], opts: UserFlags) => {
      const engine = ENGINE_NAMES[opts.engine];
      const { freeProbe, pid, top, frames } = opts;
      if ((pid === undefined) === (command.length === 0)) throw new InputError('Give --pid PID or a command after --, not both');
      if (opts.sampleBytes < 1) throw new InputError('--sample-bytes must be at least 1 byte (use --exact to record every allocation)');
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      const { traceUser } = await import('../trace/user/index.js');
      let result;
      try {
        result = await traceUser({
          engine, freeProbe, signal: abort.signal, minBytes: opts.minBytes,
          ...(pid !== undefined ? { pid } : { command }),
          ...(engine === 'sampler' ? { sampleBytes: opts.sampleBytes, exact: opts.exact === true } : {}),
          ...(opts.toolchain !== undefined ? { toolchain: opts.toolchain } : {}),
          ...(opts.lib !== undefined ? { lib: opts.lib } : {}),
          ...(opts.symbolsPrefix !== undefined ? { symbolsPrefix: opts.symbolsPrefix } : {}),
          ...(opts.sampleEvery !== undefined ? { sampleEvery: opts.sampleEvery } : {}),
          ...(opts.duration !== undefined ? { durationSec: opts.duration } : {}),
        });
      } finally {
        process.removeListener('SIGINT', stop);
      }
      // Outstanding bytes over the traced time: the net rate each site held on to memory while watched (the tracer
      // sees only allocations made while it was attached, so everything outstanding accumulated in durationSec).
      const rateOf = (bytes: number): number | null => (result.durationSec > 0 ? bytes / result.durationSec : null);
      const verdicts = result.series !== undefined ? await judgeSites(result) : [];
      const leaking = verdicts.some((v) => v?.verdict === 'leak');
      if (opts.json && result.series !== undefined) process.stdout.write(`${JSON.stringify({ ...result, verdicts }, null, 1)}\n`);
      else if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, sites: result.sites.map((s) => ({ ...s, rateBytesPerSec: rateOf(s.bytes) })) }, null, 1)}\n`);
      else if (result.series !== undefined) process.stdout.write(await renderSampled(result, verdicts, top, frames));
      else {
        const { colorsFor } = await import('../report/color.js');
        const { renderEvidence } = await import('../report/evidence_text.js');
        const { formatDuration } = await import('../report/units.js');
        const c = colorsFor(process.stdout);
        const label = result.engine === 'faults' ? 'first-touch (page faults)' : result.engine;
        process.stdout.write(`trace user: engine ${label}, pid ${result.pid}, ${formatDuration(result.durationSec)} (${result.ended})\n`);
        for (const n of result.notes) process.stdout.write(`  ${n}\n`);
        if (result.sites.length > 0 && result.durationSec > 0) {
          const { formatBytes, formatDelta } = await import('../report/units.js');
          const { renderTable } = await import('../report/table.js');
          const { culpritFrame, formatFrame } = await import('../report/evidence_text.js');
          const { terminalSafe } = await import('../report/escape.js');
          process.stdout.write(`\n${result.engine === 'faults' ? 'First-touched pages' : 'Outstanding growth'} per site over the ${formatDuration(result.durationSec)} traced\n`);
          process.stdout.write(`${renderTable(
            [{ header: 'rate', align: 'right' }, { header: result.engine === 'faults' ? 'touched' : 'outstanding', align: 'right' }, { header: 'objects', align: 'right' }, { header: 'site' }],
            result.sites.slice(0, top).map((s) => { const f = culpritFrame(s) ?? s.stack[0]; return [`${formatDelta(rateOf(s.bytes) ?? 0)}/s`, formatBytes(s.bytes), String(s.count), terminalSafe(f !== undefined ? formatFrame(f) : '?')]; }),
            process.stdout.columns,
          )}\n\n`);
        }
        process.stdout.write(`${renderEvidence({ inputs: [], sites: result.sites, problems: [] }, c, { top, frames })}\n`);
        for (const p of result.problems) process.stdout.write(c.yellow(`problem: ${p}\n`));
      }
      const failed = result.series !== undefined ? leaking : result.sites.some((s) => s.kind === 'outstanding');
      const failOnLeak = opts.failOn !== undefined || opts.failOnLeak === true;
      setExitCode(failOnLeak && failed ? EXIT_LEAK : EXIT_OK);
    });
}

/** The sampler's report: one sentence per leaking site, then the table of sites with their evidence. */
async function renderSampled(result: UserTraceResult, verdicts: Array<SiteVerdict | undefined>, top: number, frames: number): Promise<string> {
  const { colorsFor } = await import('../report/color.js');
  const { formatBytes, formatDuration } = await import('../report/units.js');
  const { siteWhere, formatFrame } = await import('../report/evidence_text.js');
  const { terminalSafe } = await import('../report/escape.js');
  const c = colorsFor(process.stdout);
  const out: string[] = [];
  const rate = (n: number): string => `${formatBytes(n)}/s`;
  const where = (s: AllocationSite): string => terminalSafe(siteWhere(s) ?? '?');
  out.push(`trace user: engine sampler, pid ${result.pid}, ${formatDuration(result.durationSec)} (${result.ended}${result.exitCode !== undefined ? `, exit ${String(result.exitCode)}` : ''})`);
  for (const n of result.notes) out.push(`  ${n}`);
  const leaks = result.sites.map((s, i) => ({ s, v: verdicts[i], se: result.series?.[i]?.liveBytesSe ?? 0 })).filter((x) => x.v?.verdict === 'leak');
  out.push('');
  if (leaks.length === 0) out.push('No site leaks: no site\'s live bytes grow over the trace.');
  for (const { s, v, se } of leaks) {
    if (v === undefined) continue;
    out.push(c.bold(`${where(s)} leaks ${rate(v.rateBytesPerSec)} since ${clock(v.sinceSec)}`) +
      ` (95% CI ${formatBytes(v.ci[0])}-${formatBytes(v.ci[1])}/s; ${formatBytes(s.bytes)} live ± ${formatBytes(se)})`);
  }
  out.push('');
  out.push(`${'live'.padStart(10)} ${'± se'.padStart(10)} ${'blocks'.padStart(8)} ${'growth/s'.padStart(11)}  ${'verdict'.padEnd(12)} ${'since'.padEnd(6)} site`);
  result.sites.slice(0, top).forEach((s, i) => {
    const v = verdicts[i];
    const se = result.series?.[i]?.liveBytesSe ?? 0;
    out.push(`${formatBytes(s.bytes).padStart(10)} ${formatBytes(se).padStart(10)} ${String(Math.round(s.count)).padStart(8)} ${(v !== undefined ? rate(v.rateBytesPerSec) : '-').padStart(11)}  ${(v?.verdict ?? '-').padEnd(12)} ${(v?.verdict === 'leak' ? clock(v.sinceSec) : '').padEnd(6)} ${where(s)}`);
    for (const f of s.stack.slice(0, frames)) out.push(`${' '.repeat(14)}${terminalSafe(formatFrame(f))}`);
  });
  if (result.sites.length === 0) out.push('  (no sampled allocation is live)');
  for (const p of result.problems) out.push(c.yellow(`problem: ${p}`));
  return `${out.join('\n')}\n`;
}
