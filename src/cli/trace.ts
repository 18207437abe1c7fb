/**
 * `memsleuth trace kernel`: outstanding kernel slab allocations by call site (bpftrace or ftrace engine).
 * `memsleuth trace user`: outstanding user-space allocations by stack (heaptrack, bpftrace, page faults).
 */
import { Option, type Command } from 'commander';
import type { CommandSpec } from './command.js';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import { formatBytes } from '../report/units.js';
import { terminalSafe } from '../report/escape.js';
import { defineTraceUser } from './trace_user.js';
import { choice, count, duration, size } from './option_types.js';

const fmtBytes = formatBytes;
const ENGINES = ['auto', 'bpftrace', 'ftrace'] as const;

interface KernelFlags {
  engine: (typeof ENGINES)[number]; cache?: string; callSite?: string; minBytes?: number; minAge: number; duration: number; settle: number;
  interval: number; maxTracked: number; sample: number; stacks?: boolean; vmlinux?: string; top: number; json?: boolean; failOn?: 'leak'; failOnLeak?: boolean;
}

/** --cache must name a cache of this kernel: one in /proc/slabinfo, or a merged alias under /sys/kernel/slab. */
async function checkCacheName(name: string): Promise<void> {
  const { existsSync, readFileSync } = await import('node:fs');
  let slabinfo: string;
  try {
    slabinfo = readFileSync('/proc/slabinfo', 'latin1');
  } catch {
    return; // not readable (not root): the tracer says what it can and cannot see
  }
  const names = slabinfo.split('\n').slice(2).map((l) => l.split(/\s+/, 1)[0] ?? '').filter((n) => n !== '');
  if (names.includes(name) || (!name.includes('/') && existsSync(`/sys/kernel/slab/${name}`))) return;
  const close = names.filter((n) => n.includes(name) || name.includes(n)).slice(0, 5);
  throw new InputError(`--cache "${name}": no such slab cache on this kernel${close.length > 0 ? ` (similar: ${close.join(', ')})` : ' (see /proc/slabinfo)'}`);
}

function defineKernel(cmd: Command, setExitCode: (code: number) => void): void {
  cmd
    .description('outstanding kernel slab allocations (kmalloc, kmem_cache) by call site over a window, then a settle period')
    .option('--engine <name>', 'auto | bpftrace (aggregates in the kernel) | ftrace (no dependency; may lose events)', choice('--engine', ENGINES), 'auto')
    .option('--cache <name>', 'only this slab cache (filp, sock_inode_cache, kmalloc-256)')
    .option('--call-site <fn>', 'only allocations from this kernel function (or 0x address)')
    .option('--min-bytes <size>', 'only allocations of at least this size (e.g. 256, 4K)', size('--min-bytes'))
    .option('--min-age <dur>', 'report only objects at least this old at the end', duration('--min-age', { allowZero: true }), 0)
    .option('--duration <dur>', 'window in which allocations are tracked', duration('--duration'), 30)
    .option('--settle <dur>', 'keep matching frees this long after the window (RCU, deferred fput)', duration('--settle', { allowZero: true }), 5)
    .option('--interval <dur>', 'sample period of the per-site series', duration('--interval'), 1)
    .option('--max-tracked <n>', 'bound on tracked objects', count('--max-tracked'), 262144)
    .option('--stacks', 'also record a kernel stack per object (bpftrace engine)')
    .option('--sample <n>', 'track one object in N by address and scale up (bpftrace engine; for very busy machines; states its error)', count('--sample'), 1)
    .option('--vmlinux <file>', 'unstripped vmlinux of this kernel: call sites to file:line')
    .option('--top <n>', 'sites to report', count('--top'), 20)
    .option('--json', 'print the result as JSON')
    .option('--fail-on <what>', 'exit 1 on "leak": a site still has objects outstanding after the settle period', choice('--fail-on', ['leak'] as const))
    .addOption(new Option('--fail-on-leak', 'old spelling of --fail-on leak').hideHelp())
    .addHelpText('after', '\nExamples:\n  memsleuth trace kernel --duration 60s --min-age 30s\n  memsleuth trace kernel --cache filp --duration 2m --engine ftrace')
    .action(async (opts: KernelFlags) => {
      const { traceKernel } = await import('../trace/kernel/index.js');
      if (opts.cache !== undefined) await checkCacheName(opts.cache);
      const result = await traceKernel({
        engine: opts.engine,
        durationSec: opts.duration,
        settleSec: opts.settle,
        minAgeSec: opts.minAge,
        intervalSec: opts.interval,
        maxTracked: opts.maxTracked,
        top: opts.top,
        stacks: opts.stacks === true,
        sampleEvery: opts.sample,
        ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
        ...(opts.callSite !== undefined ? { callSite: opts.callSite } : {}),
        ...(opts.minBytes !== undefined ? { minBytes: opts.minBytes } : {}),
        ...(opts.vmlinux !== undefined ? { vmlinux: opts.vmlinux } : {}),
        onProgress: (m) => process.stderr.write(`memsleuth: ${m}\n`),
      });
      // Growth per call site over the window is a series like any other: the same verdict rules judge it
      // (growing without bound, a bounded pool, or too short to tell).
      const { analyzeSeries } = await import('../analyze/trend.js');
      const verdicts = new Map<string, { verdict: string; rateBytesPerSec: number; ci: [number, number]; rule: string }>();
      for (const s of result.series) {
        if (s.unit !== 'bytes' || s.points.length < 2) continue;
        const f = analyzeSeries(Float64Array.from(s.points, (p) => p.t), Float64Array.from(s.points, (p) => p.value), { subject: s.site });
        verdicts.set(s.site, { verdict: f.verdict, rateBytesPerSec: f.rateBytesPerSec, ci: f.ci, rule: f.rule });
      }
      // Series are keyed by the label sites.ts gives a call site: "symbol+0xoff [module]".
      const verdictOf = (site: { stack: { symbol?: string; offset?: string; module?: string; address?: string }[] }): string => {
        const f = site.stack[0];
        if (!f) return '';
        const label = f.symbol !== undefined ? `${f.symbol}${f.offset ?? ''}${f.module !== undefined && f.module !== 'vmlinux' ? ` [${f.module}]` : ''}` : f.address ?? '';
        return verdicts.get(label)?.verdict ?? '';
      };
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, verdicts: Object.fromEntries(verdicts) }, null, 1)}\n`);
      else {
        const out: string[] = [];
        out.push(`engine ${result.engine} (${result.engineReason}); window ${result.windowSec} s, settle ${result.settleSec} s${result.minAgeSec > 0 ? `, objects older than ${result.minAgeSec} s` : ''}${result.interrupted ? ' (interrupted: no settle period)' : ''}`);
        if (result.lost.total > 0) {
          const remedy = result.engine === 'bpftrace' ? '--sample N' : '--engine bpftrace';
          out.push(`LOST EVENTS: ${result.lost.total} - outstanding counts below are unreliable (use ${remedy} or narrow with --cache/--call-site/--min-bytes)`);
          for (const d of result.lost.detail) out.push(`  ${d}`);
        } else out.push('lost events: 0');
        out.push(`allocations ${result.counters.allocs}, matched frees ${result.counters.matchedFrees}`);
        out.push('');
        out.push(`${'outstanding'.padStart(12)} ${'objects'.padStart(8)} ${'age min/max s'.padStart(14)}  ${'trend'.padEnd(12)}  ${'cache'.padEnd(20)} call site`);
        for (const s of result.sites) {
          const f = s.stack[0];
          const where = f ? `${f.symbol ?? f.address ?? '?'}${f.offset ?? ''}${f.file !== undefined ? ` (${f.file}:${f.line ?? '?'})` : ''}` : '?';
          const age = s.ageSec ? `${s.ageSec.min.toFixed(1)}/${s.ageSec.max.toFixed(1)}` : '';
          out.push(`${fmtBytes(s.bytes).padStart(12)} ${String(s.count).padStart(8)} ${age.padStart(14)}  ${verdictOf(s).padEnd(12)}  ${terminalSafe(s.cache ?? '').padEnd(20)} ${terminalSafe(where)}`);
        }
        if (result.sites.length === 0) out.push('  (nothing outstanding)');
        for (const w of result.warnings) out.push(`warning: ${w}`);
        process.stdout.write(`${out.join('\n')}\n`);
      }
      const failOnLeak = opts.failOn !== undefined || opts.failOnLeak === true;
      setExitCode(failOnLeak && result.sites.length > 0 ? EXIT_LEAK : EXIT_OK);
    });
}

export const traceCommand: CommandSpec = {
  name: 'trace',
  define(cmd, setExitCode) {
    cmd.description('trace allocations as they happen: `trace kernel` (slab call sites), `trace user` (a process\'s heap)');
    defineKernel(cmd.command('kernel'), setExitCode);
    defineTraceUser(cmd.command('user'), setExitCode);
  },
};
