import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';

const SORT_KEYS = ['uss', 'pss', 'rss', 'vss', 'swap'] as const;

export const psCommand: CommandSpec = {
  name: 'ps',
  define(cmd, setExitCode) {
    cmd
      .description('processes by memory (USS/PSS/RSS/VSS/swap, as procrank and smem show them), with totals and the system line')
      .option('--sort <key>', `sort by ${SORT_KEYS.join('|')}`, 'uss')
      .option('--limit <n>', 'rows to show', '30')
      .option('--json', 'print rows, totals and meminfo as JSON')
      .option('--proc <dir>', 'read a /proc tree copied off another machine', '/proc')
      .addHelpText('after', '\nExample:\n  memsleuth ps --sort pss --limit 10')
      .action(async (opts: { sort: string; limit: string; json?: boolean; proc: string }) => {
        const sort = SORT_KEYS.find((k) => k === opts.sort);
        if (!sort) throw new InputError(`Unknown sort key "${opts.sort}": use one of ${SORT_KEYS.join(', ')}`);
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new InputError(`--limit "${opts.limit}" is not a positive integer`);
        const { takeLocalSnapshot } = await import('../sources/local.js');
        const { psRows, psTotals, renderPs } = await import('../report/ps_table.js');
        const snapshot = takeLocalSnapshot({ procRoot: opts.proc, system: { slabinfo: false, vmallocinfo: false, zoneinfo: false, buddyinfo: false, vmstat: false } });
        const rows = psRows(snapshot, sort);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ rows: rows.slice(0, limit), totals: psTotals(rows), meminfo: snapshot.meminfo?.bytes ?? null, warnings: snapshot.warnings }, null, 1)}\n`);
        } else {
          process.stdout.write(`${renderPs(snapshot, rows, limit)}\n`);
          const lost = snapshot.warnings.filter((w) => w.severity === 'data-loss');
          for (const w of lost) process.stderr.write(`memsleuth: ${w.reason}\n`);
        }
        setExitCode(0);
      });
  },
};
