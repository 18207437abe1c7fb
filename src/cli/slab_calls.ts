import type { CommandSpec } from './command.js';
import { count, duration } from './option_types.js';

interface SlabCallsOptions {
  via?: string;
  interval: number;
  json?: boolean;
  top: number;
  frames: number;
}

export const slabCallsCommand: CommandSpec = {
  name: 'slab-calls',
  define(cmd, setExitCode) {
    cmd
      .description("rank a slab cache's call sites by growth: read its SLUB alloc_calls (or alloc_traces) twice and show the sites whose outstanding objects grew")
      .argument('<cache>', 'slab cache name as in /proc/slabinfo, e.g. kmalloc-2k')
      .argument('[workload...]', 'program to run between the two reads (after --), instead of waiting --interval')
      .option('--via <cmd>', 'run on a remote target through a command that gives a shell: "ssh root@board", "adb shell"')
      .option('--interval <duration>', 'time between the two reads', duration('--interval', { allowZero: true }), 60)
      .option('--json', 'print both reads and the growth as JSON')
      .option('--top <n>', 'sites shown', count('--top'), 10)
      .option('--frames <n>', 'frames shown per site', count('--frames'), 8)
      .addHelpText('after', [
        '',
        'Needs SLUB user tracking for the cache: boot with slub_debug=U,<cache> (CONFIG_SLUB_DEBUG=y).',
        '',
        'Examples:',
        '  memsleuth slab-calls kmalloc-2k --interval 5m',
        '  memsleuth slab-calls kmalloc-64 -- ./stress_driver.sh',
      ].join('\n'))
      .action(async (cache: string, workload: string[], opts: SlabCallsOptions) => {
        const { top, frames, interval: intervalSec } = opts;
        const { openShell } = await import('../trace/open_shell.js');
        const shell = await openShell(opts.via);
        const { UndoStack } = await import('../trace/undo.js');
        const { runSlabCalls } = await import('../trace/slab_calls.js');
        const log = (line: string): void => { process.stderr.write(`memsleuth: ${line}\n`); };
        const undo = new UndoStack({ log });
        let run;
        try {
          run = await undo.guard((u) => {
            const o: Parameters<typeof runSlabCalls>[0] = { shell, undo: u, cache, intervalSec, log };
            if (workload.length > 0) o.workload = workload;
            return runSlabCalls(o);
          });
        } finally {
          shell.close?.();
        }
        if (opts.json === true) {
          const { siteWhere } = await import('../report/evidence_text.js');
          process.stdout.write(`${JSON.stringify({
            cache: run.cache, path: run.path, objectSize: run.objectSize ?? null,
            before: { sites: run.before.value.sites.length, warnings: run.before.warnings },
            after: { sites: run.after.value.sites.length, warnings: run.after.warnings },
            grown: run.growth.grown.slice(0, top).map((g) => ({ where: siteWhere(g.site) ?? null, deltaCount: g.deltaCount, deltaBytes: g.deltaBytes, site: g.site, before: g.before ?? null })),
            workload: run.workload ?? null,
          }, null, 1)}\n`);
        } else {
          const { renderSiteDiff } = await import('../report/evidence_text.js');
          const { colorsFor } = await import('../report/color.js');
          const c = colorsFor(process.stdout);
          const d = run.growth.diff;
          const growthOnly = { added: d.added.filter((x) => x.deltaCount > 0), grown: d.grown, shrunk: [], gone: [] };
          process.stdout.write(`${renderSiteDiff(growthOnly, { a: `${run.path} (first read)`, b: 'second read' }, c, { top, frames, title: `memsleuth slab-calls ${run.cache}` })}\n`);
          if (d.shrunk.length + d.gone.length > 0) process.stdout.write(`(${d.shrunk.length} sites shrank, ${d.gone.length} are no longer listed)\n`);
        }
        setExitCode(0);
      });
  },
};
