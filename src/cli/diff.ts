import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { count, duration } from './option_types.js';

export const diffCommand: CommandSpec = {
  name: 'diff',
  define(cmd, setExitCode) {
    cmd
      .description('what changed between two samples: meminfo grouped, slab caches, vmalloc callers and processes ranked by growth')
      .argument('<a>', 'snapshot JSON, raw dump, or capture log (LOG#N = its N-th sample); alone: a log\'s first vs last sample')
      .argument('[b]', 'the later sample, same kinds as A')
      .option('--json', 'print the comparison as JSON')
      .option('--top <n>', 'rows per ranking', count('--top'), 10)
      .option('--interval <duration>', 'time between samples of a log that carries no time (e.g. 5s)', duration('--interval'))
      .addHelpText('after', '\nExamples:\n  memsleuth diff before.json after.json\n  memsleuth diff capture.log            # first vs last sample\n  memsleuth diff capture.log#2 capture.log#40')
      .action(async (a: string, b: string | undefined, opts: { json?: boolean; top: number; interval?: number }) => {
        const { loadSamples, parseSampleRef } = await import('../sources/load.js');
        const { diffSnapshots } = await import('../analyze/snapshot_diff.js');
        const interval = opts.interval;
        let before: Snapshot | undefined, after: Snapshot | undefined;
        let labels: { a: string; b: string };
        if (b === undefined) {
          const refA = parseSampleRef(a);
          const s = loadSamples(refA, interval);
          if (s.count < 2) throw new InputError(`"${a}" holds ${s.count} sample; diff needs two (give a second file)`);
          const full = s.fullCount >= 2;
          before = full ? s.firstFull : s.first;
          after = full ? s.lastFull : s.last;
          labels = full
            ? { a: `${refA.path} (first full dump)`, b: `${refA.path} (last of ${s.fullCount} full dumps)` }
            : { a: `${refA.path}#1`, b: `${refA.path}#${s.count}` };
        } else {
          const refA = parseSampleRef(a), refB = parseSampleRef(b);
          const sa = loadSamples(refA, interval), sb = loadSamples(refB, interval);
          before = refA.index !== undefined ? sa.picked : sa.last;
          after = refB.index !== undefined ? sb.picked : sb.last;
          labels = { a, b };
        }
        const d = diffSnapshots(before!, after!);
        if (opts.json) process.stdout.write(`${JSON.stringify({ a: labels.a, b: labels.b, ...d }, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v), 1)}\n`);
        else {
          const { renderDiff } = await import('../report/diff_text.js');
          const { colorsFor } = await import('../report/color.js');
          process.stdout.write(`${renderDiff(d, labels, colorsFor(process.stdout), opts.top)}\n`);
        }
        setExitCode(0);
      });
  },
};
