import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import { choice, count } from './option_types.js';
import { readableKey } from '../model/series.js';

/** CSV fields are quoted when they hold a separator, a quote or a line break (RFC 4180). */
const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export const exportCommand: CommandSpec = {
  name: 'export',
  define(cmd, setExitCode) {
    cmd
      .description('write a recording\'s series as CSV (one column per series) or JSON')
      .requiredOption('--db <file>', 'the recording database')
      .option('--format <fmt>', 'csv or json', choice('--format', ['csv', 'json'] as const), 'csv')
      .option('--series <glob>', 'only series whose key matches (* and ?), e.g. "slab.*.bytes"', '*')
      .option('--recording <id>', 'recording id inside the database (default: the last one)', count('--recording'))
      .addHelpText('after', '\nExample:\n  memsleuth export --db board.db --series "meminfo.*" > meminfo.csv')
      .action(async (opts: { db: string; format: 'csv' | 'json'; series: string; recording?: number }) => {
        const { existsSync } = await import('node:fs');
        if (!existsSync(opts.db)) throw new InputError(`Cannot read "${opts.db}": no such file`);
        const { openStore } = await import('../store/store.js');
        const store = openStore(opts.db, { readonly: true });
        try {
          const recordings = store.listRecordings();
          const rec = opts.recording !== undefined ? recordings.find((r) => r.id === opts.recording) : recordings[recordings.length - 1];
          if (!rec) throw new InputError(`"${opts.db}" has no recording${opts.recording !== undefined ? ` with id "${opts.recording}"` : ''}`);
          // The glob matches the key as stored or as people read it ("proc.Web Content:*" and "proc.Web%20Content:*").
          const { globToRegExp } = await import('../store/reader.js');
          const re = globToRegExp(opts.series);
          const keys = store.listSeries(rec.id).map((s) => s.key).filter((k) => re.test(k) || re.test(readableKey(k)));
          if (keys.length === 0) throw new InputError(`No series in recording ${rec.id} matches "${opts.series}"`);
          const columns = keys.map((k) => store.readSeries(rec.id, k));
          const t = columns[0]!.t;
          if (opts.format === 'json') {
            const series: Record<string, (number | null)[]> = {};
            for (const c of columns) series[c.key] = Array.from(c.v, (v) => (Number.isNaN(v) ? null : v));
            // Keys as stored (percent-encoded parts, unambiguous to split) and the names people read.
            const names = Object.fromEntries(keys.filter((k) => readableKey(k) !== k).map((k) => [k, readableKey(k)]));
            process.stdout.write(`${JSON.stringify({ recording: rec, t: Array.from(t), series, names })}\n`);
          } else {
            // Rows stream out so a week of samples does not become one string.
            // The header names the series as people read them (a process "Web Content", a library "libc.so.6").
            process.stdout.write(`time_ms,${keys.map((k) => csvField(readableKey(k))).join(',')}\n`);
            let buf = '';
            for (let i = 0; i < t.length; i++) {
              buf += `${t[i]}`;
              for (const c of columns) { const v = c.v[i]!; buf += Number.isNaN(v) ? ',' : `,${v}`; }
              buf += '\n';
              if (buf.length > 1 << 16) { process.stdout.write(buf); buf = ''; }
            }
            process.stdout.write(buf);
          }
        } finally {
          store.close();
        }
        setExitCode(0);
      });
  },
};
