import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import { duration } from './option_types.js';
import { checkOutputPath } from './output_files.js';

interface IngestReport {
  file: string;
  samples: number;
  sectionsByKind: Record<string, number>;
  timeSources: Record<string, number>;
  firstSec?: number;
  lastSec?: number;
  /** Distinct series keys (counted up to MAX_KEYS_COUNTED) and values read. */
  series: number;
  values: number;
  /** Which reader did the work: 'fast' (byte scanner), 'generic', or 'fast+generic'. */
  path?: string;
  /** Median seconds between samples on the log's clock (the loop's period). */
  periodSec?: number;
  /** The clock: the source the axis follows, samples per source, clocks going back, repeating, jumping, reboots. */
  clock?: import('../sources/capture_file.js').ClockReport;
  /** Each sample's clock source, run-length coded: [source, from sample, to sample]. */
  clockBySample: [string, number, number][];
  /** Processes: distinct pids found, per-process files whose pid could not be found. */
  pids: { found: number; notFound: number };
  /** Lines set aside, by reason. */
  setAside: Record<string, number>;
  warnings: { line: number; severity: string; reason: string; text: string }[];
}

const MAX_KEYS_COUNTED = 1_000_000;

export const ingestCommand: CommandSpec = {
  name: 'ingest',
  define(cmd, setExitCode) {
    cmd
      .description('split a capture log (a terminal log of `cat /proc/meminfo ...` loops) into samples and report what it holds')
      .argument('<log>', 'the capture log')
      .option('--interval <duration>', 'time between samples, for logs that carry no time (the loop\'s sleep, e.g. 5s)', duration('--interval'))
      .option('--json', 'print the report as JSON')
      .option('--db <file>', 'also store the samples in a recording database (for analyze, serve, export)')
      .addHelpText('after', '\nExamples:\n  memsleuth ingest serial-console.log --interval 5\n  memsleuth ingest serial-console.log --db board.db && memsleuth analyze board.db')
      .action(async (log: string, opts: { interval?: number; json?: boolean; db?: string }) => {
        const { checkTextFile } = await import('../sources/input_file.js');
        const { ingestSeriesTyped, rowToMap, MAX_LINE_BYTES } = await import('../sources/capture_file.js');
        checkTextFile(log);
        const interval = opts.interval;
        if (opts.db !== undefined) checkOutputPath(opts.db, '--db');
        const report: IngestReport = {
          file: log, samples: 0, sectionsByKind: {}, timeSources: {}, clockBySample: [], pids: { found: 0, notFound: 0 }, setAside: {}, series: 0, values: 0, warnings: [],
        };
        const { PID_NOT_FOUND } = await import('../sources/capture_file.js');
        const pids = new Set<number>();
        const intervals: number[] = [];
        // Distinct keys, by their numbers in the ingestion's key table (one number per key string).
        let seen = new Uint8Array(1024);
        let seenCount = 0;
        const sink = opts.db !== undefined ? await openIngestSink(opts.db, log, interval ?? 1) : undefined;
        // Parsing every section into series is what finds the warnings a later analysis would trip over.
        const summary = ingestSeriesTyped(log, interval !== undefined ? { intervalSec: interval } : {}, (tSec, row, meta) => {
          report.samples++;
          for (const k of meta.kinds) report.sectionsByKind[k] = (report.sectionsByKind[k] ?? 0) + 1;
          const source = meta.timestamp.source;
          report.timeSources[source] = (report.timeSources[source] ?? 0) + 1;
          const run = report.clockBySample.at(-1);
          if (run && run[0] === source && run[2] === meta.index - 1) run[2] = meta.index;
          else if (report.clockBySample.length < 1000) report.clockBySample.push([source, meta.index, meta.index]);
          if (report.lastSec !== undefined && intervals.length < 100_000) intervals.push(tSec - report.lastSec);
          for (const p of meta.pids ?? []) if (pids.size < 1_000_000) pids.add(p);
          for (const w of meta.warnings) if (w.reason.startsWith(PID_NOT_FOUND)) report.pids.notFound++;
          report.firstSec ??= tSec;
          report.lastSec = tSec;
          report.values += row.count;
          if (sink) sink.append(tSec, rowToMap(row), meta);
          if (seenCount < MAX_KEYS_COUNTED) {
            if (seen.length < row.keys.size) {
              const s = new Uint8Array(Math.max(row.keys.size, seen.length * 2));
              s.set(seen);
              seen = s;
            }
            const ids = row.ids;
            for (let i = 0; i < row.count; i++) {
              const id = ids[i] as number;
              if (seen[id] === 0) {
                seen[id] = 1;
                seenCount++;
              }
            }
          }
          for (const w of meta.warnings) {
            if (report.warnings.length < 1000) report.warnings.push({ line: w.line, severity: w.severity, reason: w.reason, text: w.text });
          }
        });
        sink?.close();
        report.series = seenCount;
        report.path = summary.path;
        report.clock = summary.report.clock;
        report.setAside = summary.report.setAside;
        report.pids.found = pids.size;
        if (intervals.length > 0) report.periodSec = [...intervals].sort((a, b) => a - b)[Math.floor(intervals.length / 2)] as number;
        for (const c of summary.cutLines.slice(0, 10)) {
          process.stderr.write(`memsleuth: warning: line ${c.line} of "${log}" is longer than ${MAX_LINE_BYTES} bytes: its first ${MAX_LINE_BYTES} bytes were read, the other ${c.skippedBytes} skipped\n`);
        }
        if (report.samples === 0) throw new InputError(`Cannot ingest "${log}": no memory dump recognised in it (expected meminfo, slabinfo, free, ... output)`);
        if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
        else {
          const { formatDuration } = await import('../report/units.js');
          const { terminalSafe } = await import('../report/escape.js');
          const span = report.firstSec !== undefined && report.lastSec !== undefined ? report.lastSec - report.firstSec : undefined;
          process.stdout.write(`${log}: ${report.samples} samples over ${formatDuration(span)}\n`);
          process.stdout.write(`sections: ${Object.entries(report.sectionsByKind).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
          process.stdout.write(`series: ${report.series} keys, ${report.values} values\n`);
          if (report.periodSec !== undefined) process.stdout.write(`loop period: ${formatDuration(report.periodSec)} (median between samples)\n`);
          process.stdout.write(`time from: ${Object.entries(report.timeSources).map(([k, n]) => `${k} (${n} samples)`).join(', ')}\n`);
          if (report.clockBySample.length > 1) {
            process.stdout.write(`  by sample: ${report.clockBySample.slice(0, 10).map(([k, a, b]) => `${a + 1}${b > a ? `-${b + 1}` : ''} ${k}`).join(', ')}${report.clockBySample.length > 10 ? ', ...' : ''}\n`);
          }
          const ck = report.clock;
          if (ck) {
            const odd: string[] = [];
            const at = (xs: number[]): string => xs.slice(0, 5).map((i) => `#${i + 1}`).join(' ');
            if (ck.counts.backwards) odd.push(`went back ${ck.counts.backwards}x (${at(ck.backwards)})`);
            if (ck.counts.repeats) odd.push(`repeated ${ck.counts.repeats}x (${at(ck.repeats)})`);
            if (ck.counts.jumps) odd.push(`jumped ${ck.counts.jumps}x (${ck.jumps.slice(0, 3).map((j) => `#${j.index + 1} +${formatDuration(j.toSec - j.fromSec)}`).join(' ')})`);
            if (ck.counts.reboots) odd.push(`reboot ${ck.counts.reboots}x: new boot segment at ${at(ck.reboots)}`);
            if (ck.counts.unconverted) odd.push(`${ck.counts.unconverted} samples on another clock with no common sample to align it (${at(ck.unconverted)})`);
            if (ck.unknownZones.length) odd.push(`zone ${ck.unknownZones.map((z) => `"${terminalSafe(z)}"`).join(', ')} unknown: read as UTC (intervals unaffected)`);
            if (odd.length) process.stdout.write(`clock: ${odd.join('; ')}\n`);
          }
          if (report.pids.found || report.pids.notFound) {
            process.stdout.write(`processes: ${report.pids.found} pids found${report.pids.notFound ? `; ${report.pids.notFound} per-process files whose pid could not be found (skipped, never merged)` : ''}\n`);
          }
          const aside = Object.entries(report.setAside).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
          if (aside.length) process.stdout.write(`set aside: ${aside.map(([k, n]) => `${k} ${n}`).join(', ')} lines\n`);
          const serious = report.warnings.filter((w) => w.severity !== 'info');
          process.stdout.write(`warnings: ${report.warnings.length} (${serious.length} data-loss or error)\n`);
          for (const w of serious.slice(0, 20)) process.stdout.write(`  line ${w.line}: ${w.reason}${w.text ? `: ${terminalSafe(w.text)}` : ''}\n`);
          if (opts.db !== undefined) process.stdout.write(`stored in ${opts.db}; next: memsleuth analyze ${opts.db}\n`);
        }
        setExitCode(0);
      });
  },
};

/**
 * Stores an ingested log as a recording. Times: the log's own clock when it has one (date, terminal prefix),
 * else sample index x interval from now; uptime and boot_id ride along so reboots in the log become boot segments.
 * Raw text is not copied: the log file itself is the raw record.
 */
async function openIngestSink(dbPath: string, log: string, intervalSec: number) {
  const { basename } = await import('node:path');
  const { openStore } = await import('../store/store.js');
  const store = openStore(dbPath);
  let writer: import('../store/writer.js').RecordingWriter | undefined;
  let originMs: number | undefined;
  return {
    append(tSec: number, values: ReadonlyMap<string, number>, meta: import('../sources/capture_file.js').SeriesMeta): void {
      const ts = meta.timestamp;
      // A log without a wall clock is placed so that its last sample is "now"-ish; only differences matter.
      originMs ??= ts.epochMs !== undefined ? 0 : Date.now() - 1000 * tSec;
      const takenAtMs = ts.epochMs ?? originMs + tSec * 1000;
      writer ??= store.beginRecording({
        target: { name: basename(log), via: `capture log ${log}` }, startedAtMs: takenAtMs, intervalSec,
        options: { ingestedFrom: log, timeSource: ts.source },
      });
      writer.appendSample({
        takenAtMs, values,
        ...(ts.uptimeSec !== undefined ? { uptimeSec: ts.uptimeSec } : {}), ...(ts.bootId !== undefined ? { bootId: ts.bootId } : {}),
        warnings: meta.warnings.map((w) => ({ source: w.source, line: w.line, text: w.text, reason: w.reason, severity: w.severity })),
      });
    },
    close(): void {
      writer?.close();
      store.close();
    },
  };
}
