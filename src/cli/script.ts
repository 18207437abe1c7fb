import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import { duration } from './option_types.js';

export const scriptCommand: CommandSpec = {
  name: 'script',
  define(cmd, setExitCode) {
    cmd
      .description('print a busybox-compatible capture loop for boards reachable only through a terminal; `memsleuth ingest` reads its log')
      .option('--interval <duration>', 'time between samples', duration('--interval'), 5)
      .option('--files <names>', 'comma-separated: meminfo,vmstat,buddyinfo,slabinfo,zoneinfo,vmallocinfo or NAME=PATH (PATH /sys/kernel/dmabuf/buffers or /sys/class/kgsl/kgsl/proc: the tree, listed)', 'meminfo,vmstat,buddyinfo,slabinfo')
      .option('--procs', 'also print status and smaps_rollup of every process each round (bigger logs)')
      .addHelpText('after', '\nExample:\n  memsleuth script --interval 10 > loop.sh   # paste into the serial console; save the terminal log; memsleuth ingest LOG')
      .action(async (opts: { interval: number; files: string; procs?: boolean }) => {
        const { buildCaptureScript } = await import('../capture/script.js');
        const { treeCommand, treeKindOf } = await import('../sources/watch_file.js');
        const { shellQuote } = await import('../capture/shell_quote.js');
        const intervalSec = opts.interval;
        const files = opts.files.split(',').map((s) => s.trim()).filter(Boolean).map((spec) => {
          const eq = spec.indexOf('=');
          // /sys/kernel/dmabuf/buffers and /sys/class/kgsl/kgsl/proc are a directory per buffer or process: the loop
          // lists them instead of `cat`.
          const tree = eq > 0 ? treeKindOf(spec.slice(eq + 1)) : undefined;
          if (tree !== undefined) return { name: spec.slice(0, eq), path: spec.slice(eq + 1), command: treeCommand(tree, shellQuote(spec.slice(eq + 1))) };
          if (eq > 0) return { name: spec.slice(0, eq), path: spec.slice(eq + 1) };
          if (!/^[a-z_]+$/.test(spec)) throw new InputError(`--files "${spec}": use a /proc file name (meminfo) or NAME=PATH`);
          return { name: spec, path: `/proc/${spec}` };
        });
        process.stdout.write(buildCaptureScript({ intervalSec, files, ...(opts.procs ? { procs: { status: true, smapsRollup: true } } : {}) }));
        setExitCode(0);
      });
  },
};
