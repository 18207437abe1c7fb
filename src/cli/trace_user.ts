/** `memsleuth trace user --pid PID | -- CMD`: outstanding allocations of one process by stack, aged. */
import type { Command } from 'commander';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import { parseDuration } from './durations.js';

interface UserFlags {
  pid?: string; engine: string; lib?: string; symbolsPrefix?: string; sampleEvery?: string; freeProbe: string;
  duration?: string; minBytes: string; top: string; frames: string; json?: boolean; failOnLeak?: boolean;
}

const ENGINES = ['faults', 'bpftrace', 'heaptrack'] as const;
const FREE_PROBES = ['tracefs', 'uprobe', 'none'] as const;

export function defineTraceUser(cmd: Command, setExitCode: (code: number) => void): void {
  cmd
    .description('outstanding allocations of a process by user stack: attach with --pid or launch after --')
    .argument('[command...]', 'command to launch and trace (after --)')
    .option('--pid <pid>', 'attach to this running process')
    .option('--engine <name>', 'faults (first touch of new pages; cheap, attaches) | bpftrace (malloc/free uprobes) | heaptrack', 'faults')
    .option('--lib <path>', 'library holding the allocator (default: the C library the process maps)')
    .option('--symbols-prefix <p>', 'prefix of the allocator symbols, e.g. je_ for jemalloc')
    .option('--sample-every <n>', 'bpftrace: record one allocation in N')
    .option('--free-probe <how>', 'bpftrace: tracefs (a probe past free\'s first instruction) | uprobe | none', 'tracefs')
    .option('--duration <dur>', 'stop after this long (default: when the process exits or on Ctrl-C)')
    .option('--min-bytes <n>', 'drop sites holding less', '0')
    .option('--top <n>', 'sites to show', '10')
    .option('--frames <n>', 'frames per site', '8')
    .option('--json', 'print the result as JSON')
    .option('--fail-on-leak', 'exit 1 when anything is still outstanding')
    .addHelpText('after', '\nExamples:\n  memsleuth trace user --pid 1234 --duration 5m\n  memsleuth trace user --engine heaptrack -- ./server --port 8080')
    .action(async (command: string[], opts: UserFlags) => {
      const engine = ENGINES.find((e) => e === opts.engine);
      if (!engine) throw new InputError(`Unknown --engine "${opts.engine}": expected ${ENGINES.join(', ')}`);
      const freeProbe = FREE_PROBES.find((e) => e === opts.freeProbe);
      if (!freeProbe) throw new InputError(`Unknown --free-probe "${opts.freeProbe}": expected ${FREE_PROBES.join(', ')}`);
      const pid = opts.pid !== undefined ? Number(opts.pid) : undefined;
      if (pid !== undefined && !(Number.isInteger(pid) && pid > 0)) throw new InputError(`--pid "${opts.pid}" is not a process id`);
      if ((pid === undefined) === (command.length === 0)) throw new InputError('Give --pid PID or a command after --, not both');
      const whole = (v: string, flag: string): number => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new InputError(`Invalid ${flag} "${v}": expected a whole number`);
        return n;
      };
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      const { traceUser } = await import('../trace/user/index.js');
      let result;
      try {
        result = await traceUser({
          engine, freeProbe, signal: abort.signal, minBytes: whole(opts.minBytes, '--min-bytes'),
          ...(pid !== undefined ? { pid } : { command }),
          ...(opts.lib !== undefined ? { lib: opts.lib } : {}),
          ...(opts.symbolsPrefix !== undefined ? { symbolsPrefix: opts.symbolsPrefix } : {}),
          ...(opts.sampleEvery !== undefined ? { sampleEvery: whole(opts.sampleEvery, '--sample-every') } : {}),
          ...(opts.duration !== undefined ? { durationSec: parseDuration(opts.duration, '--duration') } : {}),
        });
      } finally {
        process.removeListener('SIGINT', stop);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
      else {
        const { colorsFor } = await import('../report/color.js');
        const { renderEvidence } = await import('../report/evidence_text.js');
        const { formatDuration } = await import('../report/units.js');
        const c = colorsFor(process.stdout);
        process.stdout.write(`trace user: engine ${result.engine}, pid ${result.pid}, ${formatDuration(result.durationSec)} (${result.ended})\n`);
        for (const n of result.notes) process.stdout.write(`  ${n}\n`);
        process.stdout.write(`${renderEvidence({ inputs: [], sites: result.sites, problems: [] }, c, { top: whole(opts.top, '--top'), frames: whole(opts.frames, '--frames') })}\n`);
        for (const p of result.problems) process.stdout.write(c.yellow(`problem: ${p}\n`));
      }
      setExitCode(opts.failOnLeak === true && result.sites.length > 0 ? EXIT_LEAK : EXIT_OK);
    });
}
