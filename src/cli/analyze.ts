/**
 * `memsleuth analyze SOURCE`: is memory leaking, where, and when will the OOM killer come. SOURCE is a
 * recording database (memsleuth record) or a capture log, ingested on the fly.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { CommandSpec } from './command.js';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import { InputError } from '../model/errors.js';
import type { SeriesTable } from '../model/series_table.js';
import type { Analysis, AttributionNode } from '../model/analysis.js';
import { FAIL_ON, choice, count, duration, type FailOn } from './option_types.js';
import { checkOutputPath, writeOutputFile } from './output_files.js';
import type { FleetFlags } from './analyze_fleet.js';

/** The flags of `analyze`; those of a fleet source (prometheus+http://...) are cli/analyze_fleet.ts's. */
export interface AnalyzeFlags extends Omit<FleetFlags, 'failOn'> {
  window?: string;
  failOn?: FailOn;
  junit?: string;
  /** Seconds (option_types.duration). */
  interval?: number;
  recording?: number;
  top?: number;
  md?: string;
}

/** "FROM..TO" with seconds or 30s/10m/2h, either side open: "10m..", "..1h", "600..1800". */
export function parseWindow(text: string | undefined): { fromSec?: number; toSec?: number } {
  if (text === undefined) return {};
  const m = /^\s*([^.]*)\.\.([^.]*)\s*$/.exec(text);
  if (!m) throw new InputError(`Cannot read --window "${text}": expected FROM..TO in seconds or with s/m/h/d, e.g. "10m..2h" or "600.."`);
  const one = (s: string): number | undefined => {
    const x = s.trim();
    if (x === '') return undefined;
    const u = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?$/.exec(x);
    if (!u) throw new InputError(`Cannot read --window "${text}": "${x}" is not a time (seconds, or a number with s, m, h or d)`);
    const mult = { s: 1, m: 60, min: 60, h: 3600, d: 86400 }[u[2] ?? 's'] ?? 1;
    return Number(u[1]) * mult;
  };
  const out: { fromSec?: number; toSec?: number } = {};
  const f = one(m[1] ?? '');
  const t = one(m[2] ?? '');
  if (f !== undefined) out.fromSec = f;
  if (t !== undefined) out.toSec = t;
  if (f !== undefined && t !== undefined && t <= f) throw new InputError(`Cannot read --window "${text}": it ends before it starts`);
  return out;
}

function isSqlite(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(16);
    const n = readSync(fd, b, 0, 16, 0);
    return n === 16 && b.toString('latin1', 0, 15) === 'SQLite format 3';
  } finally {
    closeSync(fd);
  }
}

/**
 * A capture log, streamed straight into the table's columns: the same reader and cost as `memsleuth ingest`
 * (the byte-scanning path where the log allows it), no Map or Snapshot kept per sample.
 */
export async function tableFromCaptureLog(path: string, intervalSec?: number): Promise<SeriesTable> {
  const { ingestSeriesTyped } = await import('../sources/capture_file.js');
  const { TableBuilder } = await import('../sources/series_table_builder.js');
  const { createProgress } = await import('../report/progress.js');
  const progress = createProgress({ label: `ingesting ${path}`, unit: 'samples' });
  const builder = new TableBuilder(intervalSec ?? 1);
  const sources = new Map<string, number>();
  let warnings = 0;
  const summary = ingestSeriesTyped(path, intervalSec !== undefined ? { intervalSec } : {}, (tSec, row, meta) => {
    const ts = meta.timestamp;
    sources.set(ts.source, (sources.get(ts.source) ?? 0) + 1);
    const time: import('../sources/series_table_builder.js').SampleTime = { tSec };
    if (ts.epochMs !== undefined) time.takenAtMs = ts.epochMs;
    if (ts.bootId !== undefined) time.bootId = ts.bootId;
    if (ts.reboot) time.reboot = true;
    builder.addRow(time, row);
    if (meta.zones) builder.zones(meta.zones);
    warnings += meta.warnings.length;
    if ((builder.size & 255) === 0) progress.update(builder.size);
  });
  progress.done();
  if (summary.samples === 0) throw new InputError(`Cannot analyze "${path}": no memory dumps found in it (meminfo, slabinfo, free, ...)`);
  const timeSource = [...sources.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'index';
  const notes: string[] = [];
  if (warnings > 0) notes.push(`${warnings} parse warnings while reading the log (memsleuth ingest shows them)`);
  return builder.finish({ source: path, intervalSec: intervalSec ?? 1, timeSource, notes });
}

/**
 * One recording of a store, every series on the recording's timeline, binned to at most ANALYSIS_MAX_POINTS
 * points (model/series_table.ts): read in one streamed pass, in memory bounded whatever the recording's length.
 * The window (seconds since the recording's first sample) is applied while reading, so bins cover only it.
 */
export async function tableFromStore(path: string, recordingId?: number, window: { fromSec?: number; toSec?: number } = {}, maxPoints?: number): Promise<SeriesTable> {
  const { openStore } = await import('../store/store.js');
  const { ownMetaOf } = await import('../record/own_meta.js');
  const { ANALYSIS_MAX_POINTS } = await import('../model/series_table.js');
  const store = openStore(path, { readonly: true });
  try {
    const recs = store.listRecordings();
    const notes: string[] = [];
    let rec = recordingId !== undefined ? recs.find((r) => r.id === recordingId) : recs[recs.length - 1];
    if (!rec) {
      throw new InputError(recordingId !== undefined
        ? `Cannot analyze recording "${recordingId}" of "${path}": no such recording (there are ${recs.map((r) => r.id).join(', ') || 'none'})`
        : `Cannot analyze "${path}": it holds no recording`);
    }
    if (recordingId === undefined && rec.sampleCount === 0) {
      // A recorder killed before its first sample leaves an empty recording last: the one before it is meant.
      const empty = rec.id;
      rec = [...recs].reverse().find((r) => r.sampleCount > 0) ?? rec;
      if (rec.id !== empty) notes.push(`recording ${empty} has no samples (stopped before its first); analysing recording ${rec.id}, the last with samples`);
    }
    if (rec.firstSampleMs === undefined || rec.sampleCount === 0) throw new InputError(`Cannot analyze recording ${rec.id} of "${path}": it has no samples yet`);
    const t0 = store.timeline(rec.id).t[0] as number;
    const range = {
      ...(window.fromSec !== undefined ? { fromMs: t0 + window.fromSec * 1000 } : {}),
      ...(window.toSec !== undefined ? { toMs: t0 + window.toSec * 1000 } : {}),
    };
    const b = store.readBinned(rec.id, { maxBins: maxPoints ?? ANALYSIS_MAX_POINTS, ...range });
    const t = Float64Array.from(b.tMs, (ms) => (ms - t0) / 1000);
    const binned = b.samples > b.tMs.length;
    if (binned) {
      const per = b.samples / b.tMs.length;
      notes.push(`${b.samples} samples read as ${b.tMs.length} bin means of ~${per.toFixed(0)} consecutive samples (~${((t[t.length - 1] ?? 0) / Math.max(1, t.length - 1)).toFixed(0)} s): trend tests and their intervals are computed on the bin means`);
    }
    const table: SeriesTable = {
      t, series: b.series, startedAtMs: t0, gaps: store.gaps(rec.id).map((g) => ({ fromSec: (g.fromMs - t0) / 1000, toSec: (g.toMs - t0) / 1000, reason: g.reason })),
      boots: store.bootSegments(rec.id).map((s) => ({ ...(s.bootId !== undefined ? { bootId: s.bootId } : {}), fromIndex: 0, toIndex: t.length - 1 })),
      meta: { source: `${path} (recording ${rec.id})`, intervalSec: rec.intervalSec, timeSource: 'host', notes, ...ownMetaOf(rec.options) },
      ...(binned ? { binCounts: b.counts } : {}),
    };
    return table;
  } finally {
    store.close();
  }
}

export async function loadSource(path: string, flags: AnalyzeFlags, window: { fromSec?: number; toSec?: number } = {}): Promise<SeriesTable> {
  const { checkTextFile } = await import('../sources/input_file.js');
  let sqlite = false;
  try {
    sqlite = isSqlite(path);
  } catch {
    sqlite = false;
  }
  if (sqlite) return tableFromStore(path, flags.recording, window);
  if (flags.recording !== undefined) throw new InputError(`--recording selects a recording of a database; "${path}" is a capture log`);
  checkTextFile(path);
  return tableFromCaptureLog(path, flags.interval);
}

/** Whether --fail-on matched: "leak" fails on a leak, "inconclusive" on a leak or an undecided recording. */
export function failOnMatched(failOn: FailOn | undefined, a: Analysis): boolean {
  if (failOn === 'leak') return a.verdict === 'leak';
  if (failOn === 'inconclusive') return a.verdict === 'leak' || a.verdict === 'inconclusive';
  return false;
}

/** The library call behind the command: SOURCE -> Analysis (summary sentence filled in). */
export async function runAnalyze(source: string, flags: AnalyzeFlags): Promise<Analysis> {
  return (await analyzeSource(source, flags)).analysis;
}

/** SOURCE -> the recording as a SeriesTable and its Analysis (the HTML report draws both). */
export async function analyzeSource(source: string, flags: AnalyzeFlags): Promise<{ analysis: Analysis; table: SeriesTable }> {
  for (const [file, flag] of [[flags.html, '--html'], [flags.md, '--md'], [flags.junit, '--junit']] as const) {
    if (file !== undefined) checkOutputPath(file, flag);
  }
  const window = parseWindow(flags.window);
  const table = await loadSource(source, flags, window);
  const { analyzeRecordingParallel } = await import('../analyze/report_model.js');
  const top = flags.top;
  const { withProgress } = await import('../report/progress.js');
  const analysis = await withProgress(`analysing ${table.series.size} series x ${table.t.length} samples`,
    () => analyzeRecordingParallel(table, { ...window, ...(top !== undefined ? { top } : {}) }));
  if (analysis.window.samples === 0) throw new InputError(`Cannot analyze "${source}": no samples in the window "${flags.window ?? ''}"`);
  const { summarySentence } = await import('../report/analysis_text.js');
  analysis.summary = summarySentence(analysis);
  return { analysis, table };
}

/**
 * A slab cache that grows may be a merged one (UNIX sockets grow "signal_cache" on 6.x): when the recording was
 * made in this boot of this machine, /sys/kernel/slab names what was merged into each culprit cache, in the tree
 * and in a note. Another machine's (or another boot's) merges are not this one's, so nothing is said then.
 */
async function nameMergedCaches(analysis: Analysis, table: SeriesTable): Promise<void> {
  let boot: string;
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return;
  }
  if (!table.boots.some((b) => b.bootId === boot)) return;
  const { readSlabAliases } = await import('../sources/slab_aliases.js');
  const aliases = readSlabAliases();
  if (aliases === undefined) return;
  const { decodeKeyPart } = await import('../model/series.js');
  const said = new Set<string>();
  const walk = (n: AttributionNode): void => {
    const m = /^slab\.(.+)\.bytes$/.exec(n.id);
    const name = m ? decodeKeyPart(m[1] as string) : undefined;
    const a = name !== undefined ? aliases[name] : undefined;
    if (name !== undefined && a !== undefined && a.length > 0) {
      n.label = `${n.label} (merged: ${a.slice(0, 4).join(', ')}${a.length > 4 ? `, +${a.length - 4} more` : ''})`;
      if (!said.has(name)) {
        said.add(name);
        analysis.notes.push(`slab cache ${name} is a merged cache on this kernel: it also holds ${a.join(', ')} (/sys/kernel/slab); slabinfo shows them all under ${name}`);
      }
    }
    n.children.forEach(walk);
  };
  walk(analysis.attribution.root);
}

export const analyzeCommand: CommandSpec = {
  name: 'analyze',
  define(cmd, setExitCode) {
    cmd
      .description('is memory leaking, where (kernel or user; which cache, caller, process) and when the OOM killer comes')
      .argument('<source>', 'a recording database (memsleuth record), a capture log, or a fleet: prometheus+http://HOST:9090')
      .option('--window <from..to>', 'analyse only this part, in seconds from the start or with s/m/h/d (e.g. "10m..2h", "600..")')
      .option('--json', 'print the analysis as JSON (schema memsleuth.analysis/1, docs/analysis-schema.md)')
      .option('--fail-on <what>', 'exit 1 on "leak", or on "inconclusive" (leak or undecided)', choice('--fail-on', FAIL_ON))
      .option('--junit <file>', 'write the verdicts as JUnit XML to FILE (for CI)')
      .option('--interval <duration>', 'time between samples when a capture log has no clock (default 1s)', duration('--interval'))
      .option('--recording <id>', 'which recording of a database (default: the last with samples)', count('--recording'))
      .option('--top <n>', 'culprit rows per family (default 20)', count('--top'))
      .option('--html <file>', 'write a self-contained HTML report (charts, tables, methods) to FILE')
      .option('--md <file>', 'write a short Markdown summary for a bug tracker to FILE')
      .option('--match <selector>', 'fleet: only instances whose series match these label matchers, e.g. \'{job="cameras"}\'')
      .option('--range <duration>', 'fleet: how far back to read (default 7d)')
      .option('--step <duration>', 'fleet: query resolution (default range/2000 in whole minutes: 5m for 7d)')
      .option('--end <time>', 'fleet: end of the range, RFC 3339 or Unix seconds (default now)')
      .option('--metrics-out <file>', 'fleet: write memsleuth_leak{instance,kind,subject} metrics to FILE (textfile collector, push)')
      .option('--push <url>', 'fleet: PUT the same metrics to a Pushgateway, e.g. http://pushgateway:9091/metrics/job/memsleuth')
      .option('--workers <n>', 'fleet: analysis threads (default: one per core)')
      .option('--slab-top <n>', 'fleet: slab caches read per instance from node_slabinfo, by growth (default 20)')
      .option('--read <how>', 'fleet: "remote" raw samples through remote read (query_range where the server refuses it), "query" query_range at --step, "auto" (default: remote when --step is at or below the scrape interval)')
      .option('--all', 'fleet: list instances without a leak too')
      .addHelpText('after', '\nExamples:\n  memsleuth analyze board.log --interval 7\n  memsleuth analyze prometheus+http://prom:9090 --match \'{job="cameras"}\' --range 7d --html fleet.html --fail-on leak\n  memsleuth analyze .memsleuth/cam-01-20250101-101500.db --window 10m.. --fail-on leak --junit leaks.xml\n  memsleuth analyze board.log --html report.html --md summary.md')
      .action(async (source: string, flags: AnalyzeFlags) => {
        const { prometheusBaseUrl } = await import('../sources/prometheus.js');
        const fleet = prometheusBaseUrl(source);
        if (fleet !== undefined) {
          const { runFleetAnalyze } = await import('./analyze_fleet.js');
          setExitCode(await runFleetAnalyze(fleet, source, flags));
          return;
        }
        const { analysis, table } = await analyzeSource(source, flags);
        await nameMergedCaches(analysis, table);
        if (flags.html) {
          const { renderHtmlReport } = await import('../report/html/render.js');
          writeOutputFile(flags.html, renderHtmlReport({ analysis, table, title: `memsleuth: ${source}`, generatedAt: new Date().toISOString() }), '--html');
        }
        if (flags.md) {
          const { renderMarkdown } = await import('../report/markdown.js');
          writeOutputFile(flags.md, renderMarkdown(analysis), '--md');
        }
        // A `run` recording keeps its leak tool's reports beside the database: lost memory there is a leak too.
        const { readRunEvidence, evidenceDirOf } = await import('./run.js');
        const { leakingSites } = await import('../record/run_gate.js');
        const runSites = source.endsWith('.db') ? await readRunEvidence(source) : [];
        const lost = leakingSites(runSites, Infinity);
        if (flags.junit) {
          const { renderJunit } = await import('../report/junit.js');
          writeOutputFile(flags.junit, renderJunit(analysis, runSites), '--junit');
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(analysis, null, 1)}\n`);
        else {
          const { renderAnalysis } = await import('../report/analysis_text.js');
          const { colorsFor } = await import('../report/color.js');
          const { terminalWidth } = await import('../report/table.js');
          process.stdout.write(`${renderAnalysis(analysis, colorsFor(process.stdout), { width: terminalWidth() })}\n`);
          if (lost.length > 0) {
            const { formatBytes } = await import('../report/units.js');
            const { terminalSafe } = await import('../report/escape.js');
            const total = lost.reduce((n, x) => n + x.bytes, 0);
            process.stdout.write(`\nLeak tool reports of this run (${terminalSafe(evidenceDirOf(source))}): ${formatBytes(total)} lost at ${lost.length} site${lost.length === 1 ? '' : 's'} (memsleuth evidence ${terminalSafe(evidenceDirOf(source))}/* lists them)\n`);
          }
        }
        setExitCode(failOnMatched(flags.failOn, analysis) || (flags.failOn !== undefined && lost.length > 0) ? EXIT_LEAK : EXIT_OK);
      });
  },
};
