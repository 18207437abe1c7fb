import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import { count } from './option_types.js';
import { addRemoteOptions, remoteSnapshot, type RemoteFlags } from './target_options.js';
import { writeOutputFile } from './output_files.js';

interface SnapshotFlags extends RemoteFlags { json?: boolean; output?: string; proc: string; top: number }

export const snapshotCommand: CommandSpec = {
  name: 'snapshot',
  define(cmd, setExitCode) {
    addRemoteOptions(cmd
      .description("one look at a machine's memory: where MemTotal goes, largest slab caches and processes"))
      .option('--json', 'print the whole snapshot as JSON')
      .option('-o, --output <file>', 'write the snapshot as JSON to FILE (for a later `memsleuth diff`)')
      .option('--proc <dir>', 'read a /proc tree copied off another machine instead of /proc', '/proc')
      .option('--top <n>', 'rows per table', count('--top'), 10)
      .addHelpText('after', [
        '', 'Examples:',
        '  memsleuth snapshot -o before.json   # ... later: memsleuth snapshot -o after.json; memsleuth diff before.json after.json',
        '  memsleuth snapshot --via "ssh root@board"',
      ].join('\n'))
      .action(async (opts: SnapshotFlags) => {
        const remote = await remoteSnapshot(opts, { system: ['meminfo', 'vmstat', 'slabinfo', 'buddyinfo', 'zoneinfo', 'vmallocinfo'], rollup: true });
        const { takeLocalSnapshot } = await import('../sources/local.js');
        const snapshot = remote?.snapshot ?? takeLocalSnapshot({ procRoot: opts.proc });
        const where = remote ? (opts.via ?? opts.serial ?? '') : opts.proc;
        if (!snapshot.meminfo) throw new InputError(`Cannot read meminfo of ${remote ? `the target (${where})` : `"${where}"`}: not a /proc tree`);
        const json = `${JSON.stringify(snapshot, null, 1)}\n`;
        if (opts.output) writeOutputFile(opts.output, json, '--output');
        if (opts.json) process.stdout.write(json);
        else {
          const { renderSnapshot } = await import('../report/snapshot_text.js');
          const { colorsFor } = await import('../report/color.js');
          const { composition, vmallocSplit } = await import('../analyze/composition.js');
          const vm = vmallocSplit(snapshot.vmallocinfo?.areas);
          const comp = composition(snapshot.meminfo, vm?.total, vm?.stacks);
          // Merged slab caches are named by their aliases where this machine's /sys/kernel/slab says (local only).
          const slabAliases = remote === undefined && opts.proc === '/proc' ? (await import('../sources/slab_aliases.js')).readSlabAliases() : undefined;
          process.stdout.write(`${renderSnapshot(snapshot, comp, colorsFor(process.stdout), { top: opts.top, ...(slabAliases !== undefined ? { slabAliases } : {}) })}\n`);
          if (opts.output) process.stdout.write(`\nsnapshot written to ${opts.output}\n`);
        }
        setExitCode(0);
      });
  },
};
