import type { CommandSpec } from './command.js';
import { terminalWidth } from '../report/table.js';
import { count, duration } from './option_types.js';

interface KmemleakOptions {
  via?: string;
  scans: number;
  minScans: number;
  interval: number;
  scanGap: number;
  vmlinux?: string;
  json?: boolean;
  top: number;
  frames: number;
}

export const kmemleakCommand: CommandSpec = {
  name: 'kmemleak',
  define(cmd, setExitCode) {
    cmd
      .description('find kernel leaks with kmemleak: clear, wait (or run a workload), scan N times, keep objects reported by consecutive scans, rank their call sites; everything it changes is restored')
      .argument('[workload...]', 'program to run between "clear" and the scans (after --), instead of waiting --interval')
      .option('--via <cmd>', 'run on a remote target through a command that gives a shell: "ssh root@board", "adb shell"')
      .option('--scans <n>', 'scans after the wait', count('--scans'), 3)
      .option('--min-scans <n>', 'consecutive scans an object must be reported by to count', count('--min-scans'), 2)
      .option('--interval <duration>', 'wait after "clear" when no workload is given', duration('--interval', { allowZero: true }), 60)
      .option('--scan-gap <duration>', 'pause between scans (kmemleak skips objects younger than 5 s)', duration('--scan-gap', { allowZero: true }), 10)
      .option('--vmlinux <file>', 'vmlinux with debug info: add file:line to the kernel frames')
      .option('--json', 'print scans, the filter and the sites as JSON')
      .option('--top <n>', 'sites shown', count('--top'), 10)
      .option('--frames <n>', 'frames shown per site', count('--frames'), 12)
      .addHelpText('after', [
        '',
        'Needs root and a kernel built with CONFIG_DEBUG_KMEMLEAK=y (boot with kmemleak=on if it is off by default).',
        'Mounts debugfs if needed and pauses the auto-scan thread; both are restored on exit, Ctrl-C included.',
        '',
        'Examples:',
        '  memsleuth kmemleak --interval 10m            # use the machine for 10 minutes, then scan',
        '  memsleuth kmemleak --scans 3 -- ./run_driver_test.sh',
      ].join('\n'))
      .action(async (workload: string[], opts: KmemleakOptions) => {
        const { scans, minScans, top, frames, interval: intervalSec, scanGap: scanGapSec } = opts;
        const { openShell } = await import('../trace/open_shell.js');
        const shell = await openShell(opts.via);
        const { UndoStack } = await import('../trace/undo.js');
        const { runKmemleak } = await import('../trace/kmemleak.js');
        const log = (line: string): void => { process.stderr.write(`memsleuth: ${line}\n`); };
        const undo = new UndoStack({ log });
        let run;
        try {
          run = await undo.guard((u) => {
            const o: Parameters<typeof runKmemleak>[0] = { shell, undo: u, scans, minScans, intervalSec, scanGapSec, log };
            if (workload.length > 0) o.workload = workload;
            return runKmemleak(o);
          });
        } finally {
          shell.close?.();
        }

        let sites = run.sites;
        let problems: string[] = [];
        if (opts.vmlinux !== undefined) {
          const { symbolizeSites } = await import('../symbolize/index.js');
          const r = await symbolizeSites(sites, { vmlinux: opts.vmlinux });
          sites = r.sites;
          problems = r.problems;
        }
        const last = run.scans[run.scans.length - 1];
        const summary = `${run.scans.length} scan${run.scans.length === 1 ? '' : 's'}: ${last?.value.objects.length ?? 0} objects reported by the last, ` +
          `${run.filter.kept.length} of them by ${Math.min(minScans, run.scans.length)} consecutive scans (kept), ${run.filter.transient.length} left out as transient, ${run.filter.vanished} earlier reports gone`;
        if (opts.json === true) {
          const { siteWhere } = await import('../report/evidence_text.js');
          process.stdout.write(`${JSON.stringify({
            scans: run.scans.map((s) => ({ objects: s.value.objects.length, warnings: s.warnings })),
            kept: run.filter.kept, transient: run.filter.transient.length, vanished: run.filter.vanished,
            sites: sites.slice(0, top).map((s) => ({ where: siteWhere(s) ?? null, ...s })),
            workload: run.workload ?? null, notes: run.notes, problems,
          }, null, 1)}\n`);
        } else {
          const { renderEvidence } = await import('../report/evidence_text.js');
          const { colorsFor } = await import('../report/color.js');
          const c = colorsFor(process.stdout);
          for (const n of run.notes) process.stdout.write(`note: ${n}\n`);
          process.stdout.write(`${summary}\n`);
          const warnings = run.scans.flatMap((s) => s.warnings);
          const ro: Parameters<typeof renderEvidence>[2] = { top, frames };
          ro.width = terminalWidth();
          process.stdout.write(`${renderEvidence({ inputs: [{ file: '/sys/kernel/debug/kmemleak', format: 'kmemleak', sites: sites.length, warnings }], sites, problems }, c, ro)}\n`);
        }
        setExitCode(0);
      });
  },
};
