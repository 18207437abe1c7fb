/** `memsleuth trace user --pid PID | -- CMD`: outstanding allocations of one process by stack, aged. */
import { Option, type Command } from 'commander';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import { choice, count, duration, pid as pidOption, size } from './option_types.js';

const ENGINES = ['faults', 'bpftrace', 'heaptrack'] as const;
const FREE_PROBES = ['tracefs', 'uprobe', 'none'] as const;

interface UserFlags {
  pid?: number; engine: (typeof ENGINES)[number]; lib?: string; symbolsPrefix?: string; sampleEvery?: number;
  freeProbe: (typeof FREE_PROBES)[number]; duration?: number; minBytes: number; top: number; frames: number; json?: boolean;
  failOn?: 'leak'; failOnLeak?: boolean;
}

export function defineTraceUser(cmd: Command, setExitCode: (code: number) => void): void {
  cmd
    .description('outstanding allocations of a process by user stack: attach with --pid or launch after --')
    .argument('[command...]', 'command to launch and trace (after --)')
    .option('--pid <pid>', 'attach to this running process', pidOption('--pid'))
    .option('--engine <name>', 'faults (first touch of new pages; cheap, attaches) | bpftrace (malloc/free uprobes) | heaptrack', choice('--engine', ENGINES), 'faults')
    .option('--lib <path>', 'library holding the allocator (default: the C library the process maps)')
    .option('--symbols-prefix <p>', 'prefix of the allocator symbols, e.g. je_ for jemalloc')
    .option('--sample-every <n>', 'bpftrace: record one allocation in N', count('--sample-every'))
    .option('--free-probe <how>', 'bpftrace: tracefs (a probe past free\'s first instruction) | uprobe | none', choice('--free-probe', FREE_PROBES), 'tracefs')
    .option('--duration <dur>', 'stop after this long (default: when the process exits or on Ctrl-C)', duration('--duration'))
    .option('--min-bytes <size>', 'drop sites holding less (e.g. 64K)', size('--min-bytes'), 0)
    .option('--top <n>', 'sites to show', count('--top'), 10)
    .option('--frames <n>', 'frames per site', count('--frames'), 8)
    .option('--json', 'print the result as JSON')
    .option('--fail-on <what>', 'exit 1 on "leak": anything is still outstanding', choice('--fail-on', ['leak'] as const))
    .addOption(new Option('--fail-on-leak', 'old spelling of --fail-on leak').hideHelp())
    .addHelpText('after', '\nExamples:\n  memsleuth trace user --pid 1234 --duration 5m\n  memsleuth trace user --engine heaptrack -- ./server --port 8080')
    .action(async (command: string[], opts: UserFlags) => {
      const { engine, freeProbe, pid } = opts;
      if ((pid === undefined) === (command.length === 0)) throw new InputError('Give --pid PID or a command after --, not both');
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      const { traceUser } = await import('../trace/user/index.js');
      let result;
      try {
        result = await traceUser({
          engine, freeProbe, signal: abort.signal, minBytes: opts.minBytes,
          ...(pid !== undefined ? { pid } : { command }),
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
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, sites: result.sites.map((s) => ({ ...s, rateBytesPerSec: rateOf(s.bytes) })) }, null, 1)}\n`);
      else {
        const { colorsFor } = await import('../report/color.js');
        const { renderEvidence } = await import('../report/evidence_text.js');
        const { formatDuration } = await import('../report/units.js');
        const c = colorsFor(process.stdout);
        process.stdout.write(`trace user: engine ${result.engine}, pid ${result.pid}, ${formatDuration(result.durationSec)} (${result.ended})\n`);
        for (const n of result.notes) process.stdout.write(`  ${n}\n`);
        if (result.sites.length > 0 && result.durationSec > 0) {
          const { formatBytes, formatDelta } = await import('../report/units.js');
          const { renderTable } = await import('../report/table.js');
          const { culpritFrame, formatFrame } = await import('../report/evidence_text.js');
          const { terminalSafe } = await import('../report/escape.js');
          process.stdout.write(`\nOutstanding growth per site over the ${formatDuration(result.durationSec)} traced\n`);
          process.stdout.write(`${renderTable(
            [{ header: 'rate', align: 'right' }, { header: 'outstanding', align: 'right' }, { header: 'objects', align: 'right' }, { header: 'site' }],
            result.sites.slice(0, opts.top).map((s) => { const f = culpritFrame(s) ?? s.stack[0]; return [`${formatDelta(rateOf(s.bytes) ?? 0)}/s`, formatBytes(s.bytes), String(s.count), terminalSafe(f !== undefined ? formatFrame(f) : '?')]; }),
            process.stdout.columns,
          )}\n\n`);
        }
        process.stdout.write(`${renderEvidence({ inputs: [], sites: result.sites, problems: [] }, c, { top: opts.top, frames: opts.frames })}\n`);
        for (const p of result.problems) process.stdout.write(c.yellow(`problem: ${p}\n`));
      }
      const failOnLeak = opts.failOn !== undefined || opts.failOnLeak === true;
      setExitCode(failOnLeak && result.sites.length > 0 ? EXIT_LEAK : EXIT_OK);
    });
}
