/**
 * `memsleuth trace kernel`: outstanding kernel slab allocations by call site (bpftrace or ftrace engine).
 * `memsleuth trace user`: outstanding user-space allocations by stack (heaptrack, bpftrace, page faults).
 */
import type { Command } from 'commander';
import type { CommandSpec } from './command.js';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import { parseDuration } from './durations.js';
import { formatBytes } from '../report/units.js';
import { terminalSafe } from '../report/escape.js';
import { defineTraceUser } from './trace_user.js';

const parseDurationSec = (text: string, flag: string): number => parseDuration(text, flag, { allowZero: true });
const fmtBytes = formatBytes;

interface KernelFlags {
  engine: string; cache?: string; callSite?: string; minBytes?: string; minAge: string; duration: string; settle: string;
  interval: string; maxTracked: string; stacks?: boolean; vmlinux?: string; top: string; json?: boolean; failOnLeak?: boolean;
}

function defineKernel(cmd: Command, setExitCode: (code: number) => void): void {
  cmd
    .description('outstanding kernel slab allocations (kmalloc, kmem_cache) by call site over a window, then a settle period')
    .option('--engine <name>', 'auto | bpftrace (aggregates in the kernel) | ftrace (no dependency; may lose events)', 'auto')
    .option('--cache <name>', 'only this slab cache (filp, sock_inode_cache, kmalloc-256)')
    .option('--call-site <fn>', 'only allocations from this kernel function (or 0x address)')
    .option('--min-bytes <n>', 'only allocations of at least N bytes')
    .option('--min-age <dur>', 'report only objects at least this old at the end', '0s')
    .option('--duration <dur>', 'window in which allocations are tracked', '30s')
    .option('--settle <dur>', 'keep matching frees this long after the window (RCU, deferred fput)', '5s')
    .option('--interval <dur>', 'sample period of the per-site series', '1s')
    .option('--max-tracked <n>', 'bound on tracked objects', '262144')
    .option('--stacks', 'also record a kernel stack per object (bpftrace engine)')
    .option('--vmlinux <file>', 'unstripped vmlinux of this kernel: call sites to file:line')
    .option('--top <n>', 'sites to report', '20')
    .option('--json', 'print the result as JSON')
    .option('--fail-on-leak', 'exit 1 when any site still has objects outstanding after the settle period')
    .addHelpText('after', '\nExamples:\n  memsleuth trace kernel --duration 60s --min-age 30s\n  memsleuth trace kernel --cache filp --duration 2m --engine ftrace')
    .action(async (opts: KernelFlags) => {
      const { traceKernel } = await import('../trace/kernel/index.js');
      if (!['auto', 'bpftrace', 'ftrace'].includes(opts.engine)) throw new InputError(`Unknown --engine "${opts.engine}": expected auto, bpftrace or ftrace`);
      const int = (v: string, flag: string): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new InputError(`Invalid ${flag} "${v}": expected a whole number`);
        return n;
      };
      const result = await traceKernel({
        engine: opts.engine as 'auto' | 'bpftrace' | 'ftrace',
        durationSec: parseDurationSec(opts.duration, '--duration'),
        settleSec: parseDurationSec(opts.settle, '--settle'),
        minAgeSec: parseDurationSec(opts.minAge, '--min-age'),
        intervalSec: parseDurationSec(opts.interval, '--interval'),
        maxTracked: int(opts.maxTracked, '--max-tracked'),
        top: int(opts.top, '--top'),
        stacks: opts.stacks === true,
        ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
        ...(opts.callSite !== undefined ? { callSite: opts.callSite } : {}),
        ...(opts.minBytes !== undefined ? { minBytes: int(opts.minBytes, '--min-bytes') } : {}),
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
          out.push(`LOST EVENTS: ${result.lost.total} - outstanding counts below are unreliable (use --engine bpftrace or narrow with --cache/--call-site/--min-bytes)`);
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
      setExitCode(opts.failOnLeak === true && result.sites.length > 0 ? EXIT_LEAK : EXIT_OK);
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
