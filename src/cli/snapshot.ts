import { writeFileSync } from 'node:fs';
import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';

export const snapshotCommand: CommandSpec = {
  name: 'snapshot',
  define(cmd, setExitCode) {
    cmd
      .description("one look at this machine's memory: where MemTotal goes, largest slab caches and processes")
      .option('--json', 'print the whole snapshot as JSON')
      .option('-o, --output <file>', 'write the snapshot as JSON to FILE (for a later `memsleuth diff`)')
      .option('--proc <dir>', 'read a /proc tree copied off another machine instead of /proc', '/proc')
      .option('--top <n>', 'rows per table', '10')
      .addHelpText('after', '\nExample:\n  memsleuth snapshot -o before.json   # ... later: memsleuth snapshot -o after.json; memsleuth diff before.json after.json')
      .action(async (opts: { json?: boolean; output?: string; proc: string; top: string }) => {
        const { takeLocalSnapshot } = await import('../sources/local.js');
        const snapshot = takeLocalSnapshot({ procRoot: opts.proc });
        if (!snapshot.meminfo) throw new InputError(`Cannot read "${opts.proc}/meminfo": not a /proc tree`);
        const json = `${JSON.stringify(snapshot, null, 1)}\n`;
        if (opts.output) writeFileSync(opts.output, json);
        if (opts.json) process.stdout.write(json);
        else {
          const { renderSnapshot } = await import('../report/snapshot_text.js');
          const { colorsFor } = await import('../report/color.js');
          const { composition, vmallocBytes } = await import('../analyze/composition.js');
          const comp = composition(snapshot.meminfo, vmallocBytes(snapshot.vmallocinfo?.areas));
          process.stdout.write(`${renderSnapshot(snapshot, comp, colorsFor(process.stdout), { top: Number(opts.top) || 10 })}\n`);
          if (opts.output) process.stdout.write(`\nsnapshot written to ${opts.output}\n`);
        }
        setExitCode(0);
      });
  },
};
