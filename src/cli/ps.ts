import type { CommandSpec } from './command.js';
import { choice, count } from './option_types.js';
import { addRemoteOptions, remoteSnapshot, type RemoteFlags } from './target_options.js';

const SORT_KEYS = ['uss', 'pss', 'rss', 'vss', 'swap'] as const;

interface PsFlags extends RemoteFlags { sort: (typeof SORT_KEYS)[number]; limit: number; json?: boolean; proc: string }

export const psCommand: CommandSpec = {
  name: 'ps',
  define(cmd, setExitCode) {
    addRemoteOptions(cmd
      .description('processes by memory (USS/PSS/RSS/VSS/swap, as procrank and smem show them), with totals and the system line'))
      .option('--sort <key>', `sort by ${SORT_KEYS.join('|')}`, choice('--sort', SORT_KEYS), 'uss')
      .option('--limit <n>', 'rows to show', count('--limit'), 30)
      .option('--json', 'print rows, totals and meminfo as JSON')
      .option('--proc <dir>', 'read a /proc tree copied off another machine', '/proc')
      .addHelpText('after', '\nExamples:\n  memsleuth ps --sort pss --limit 10\n  memsleuth ps --via "adb shell"')
      .action(async (opts: PsFlags) => {
        const remote = await remoteSnapshot(opts, { system: ['meminfo'], rollup: true });
        const { takeLocalSnapshot } = await import('../sources/local.js');
        const { psRows, psTotals, renderPs } = await import('../report/ps_table.js');
        const snapshot = remote?.snapshot
          ?? takeLocalSnapshot({ procRoot: opts.proc, system: { slabinfo: false, vmallocinfo: false, zoneinfo: false, buddyinfo: false, vmstat: false } });
        const rows = psRows(snapshot, opts.sort);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ rows: rows.slice(0, opts.limit), totals: psTotals(rows), meminfo: snapshot.meminfo?.bytes ?? null, warnings: snapshot.warnings }, null, 1)}\n`);
        } else {
          process.stdout.write(`${renderPs(snapshot, rows, opts.limit)}\n`);
          const lost = snapshot.warnings.filter((w) => w.severity === 'data-loss');
          for (const w of lost) process.stderr.write(`memsleuth: ${w.reason}\n`);
          for (const l of remote?.lost ?? []) process.stderr.write(`memsleuth: ${l}\n`);
        }
        setExitCode(0);
      });
  },
};
