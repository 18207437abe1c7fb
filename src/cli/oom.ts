import { readFileSync } from 'node:fs';
import { terminalWidth } from '../report/table.js';
import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import { count } from './option_types.js';

interface OomOptions {
  json?: boolean;
  frames: number;
}

export const oomCommand: CommandSpec = {
  name: 'oom',
  define(cmd, setExitCode) {
    cmd
      .description('summarise every OOM kill and allocation failure in a console log or dmesg: who asked, who was killed, where memory was (unreclaimable slab per cache, largest tasks), and what to run next')
      .argument('<log>', 'dmesg, journalctl -k, /var/log/kern.log or a serial console capture')
      .option('--json', 'print the summaries and the parsed reports as JSON')
      .option('--frames <n>', 'frames of the invoking stack shown', count('--frames'), 8)
      .addHelpText('after', '\nExample:\n  dmesg -T > dmesg.txt; memsleuth oom dmesg.txt')
      .action(async (log: string, opts: OomOptions) => {
        const { frames } = opts;
        const { checkTextFile } = await import('../sources/input_file.js');
        checkTextFile(log);
        const text = readFileSync(log, 'utf8');
        const { parseOomReports } = await import('../parse/evidence/oom.js');
        const parsed = parseOomReports(text);
        const reports = parsed.value.reports;
        if (reports.length === 0) {
          throw new InputError(`No OOM report in "${log}": no "invoked oom-killer", "Killed process", "page allocation failure" or "vmalloc: allocation failure" line (is it the whole kernel log?)`);
        }
        const { summarizeOom, renderOomSummaries } = await import('../report/evidence_text.js');
        const summaries = reports.map((r, i) => summarizeOom(r, i));
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ file: log, summaries, reports, warnings: parsed.warnings }, null, 1)}\n`);
        } else {
          const { colorsFor } = await import('../report/color.js');
          const o: Parameters<typeof renderOomSummaries>[3] = { frames };
          o.width = terminalWidth();
          process.stdout.write(`${renderOomSummaries(log, summaries, colorsFor(process.stdout), o)}\n`);
          const bad = parsed.warnings.filter((w) => w.severity !== 'info');
          for (const w of bad) process.stdout.write(`warning: line ${w.line}: ${w.reason}\n`);
        }
        setExitCode(0);
      });
  },
};
