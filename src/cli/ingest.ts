import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';

interface IngestReport {
  file: string;
  samples: number;
  sectionsByKind: Record<string, number>;
  timeSources: Record<string, number>;
  firstSec?: number;
  lastSec?: number;
  warnings: { line: number; severity: string; reason: string; text: string }[];
}

export const ingestCommand: CommandSpec = {
  name: 'ingest',
  define(cmd, setExitCode) {
    cmd
      .description('split a capture log (a terminal log of `cat /proc/meminfo ...` loops) into samples and report what it holds')
      .argument('<log>', 'the capture log')
      .option('--interval <seconds>', 'seconds between samples, for logs that carry no time (the loop\'s sleep)')
      .option('--json', 'print the report as JSON')
      .addHelpText('after', '\nExample:\n  memsleuth ingest serial-console.log --interval 5')
      .action(async (log: string, opts: { interval?: string; json?: boolean }) => {
        const { checkTextFile } = await import('../sources/input_file.js');
        const { readCaptureFile } = await import('../sources/capture_file.js');
        const { toSnapshot } = await import('../sources/capture_file.js');
        checkTextFile(log);
        const interval = opts.interval !== undefined ? Number(opts.interval) : undefined;
        if (interval !== undefined && !(interval > 0)) throw new InputError(`--interval "${opts.interval}" is not a positive number of seconds`);
        const report: IngestReport = { file: log, samples: 0, sectionsByKind: {}, timeSources: {}, warnings: [] };
        for (const sample of readCaptureFile(log, interval !== undefined ? { intervalSec: interval } : {})) {
          report.samples++;
          for (const s of sample.sections) report.sectionsByKind[s.kind] = (report.sectionsByKind[s.kind] ?? 0) + 1;
          report.timeSources[sample.timestamp.source] = (report.timeSources[sample.timestamp.source] ?? 0) + 1;
          report.firstSec ??= sample.timestamp.sec;
          report.lastSec = sample.timestamp.sec;
          // Parsing every section is what finds the warnings a later analysis would trip over.
          for (const w of toSnapshot(sample).warnings) {
            if (report.warnings.length < 1000) report.warnings.push({ line: w.line, severity: w.severity, reason: w.reason, text: w.text });
          }
        }
        if (report.samples === 0) throw new InputError(`Cannot ingest "${log}": no memory dump recognised in it (expected meminfo, slabinfo, free, ... output)`);
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
        else {
          const { formatDuration } = await import('../report/units.js');
          const { terminalSafe } = await import('../report/escape.js');
          const span = report.firstSec !== undefined && report.lastSec !== undefined ? report.lastSec - report.firstSec : undefined;
          process.stdout.write(`${log}: ${report.samples} samples over ${formatDuration(span)}\n`);
          process.stdout.write(`sections: ${Object.entries(report.sectionsByKind).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
          process.stdout.write(`time from: ${Object.entries(report.timeSources).map(([k, n]) => `${k} (${n} samples)`).join(', ')}\n`);
          const serious = report.warnings.filter((w) => w.severity !== 'info');
          process.stdout.write(`warnings: ${report.warnings.length} (${serious.length} data-loss or error)\n`);
          for (const w of serious.slice(0, 20)) process.stdout.write(`  line ${w.line}: ${w.reason}${w.text ? `: ${terminalSafe(w.text)}` : ''}\n`);
        }
        setExitCode(0);
      });
  },
};
