/**
 * `memsleuth run [--tool T] [--fail-on leak] -- CMD ARGS`: the leak gate. Runs the command, records its memory
 * and the system's for its whole life (record/run_gate.ts), judges the command's own series, collects allocation
 * sites from the chosen tool, and prints one report. Exit 1 on a leak when asked (--fail-on leak), 3 when the
 * command itself failed and no leak gate fired, 2 on bad usage.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { terminalWidth } from '../report/table.js';
import { basename, join, resolve } from 'node:path';
import type { CommandSpec } from './command.js';
import { EXIT_LEAK, EXIT_OK } from './command.js';
import { InputError, TargetError } from '../model/errors.js';
import type { AllocationSite } from '../model/allocation_site.js';
import type { ParseWarning } from '../model/parsed.js';
import type { CommandEnd, GateReason, LaunchedCommand, RunTool } from '../record/run_gate.js';
import { choice, count, duration, size } from './option_types.js';
import { checkOutputPath, writeOutputFile } from './output_files.js';

/** The command ran and failed (non-zero exit or killed by a signal), and no leak gate fired. */
export const EXIT_COMMAND_FAILED = 3;

interface RunFlags {
  tool: RunTool;
  failOn?: 'leak';
  /** Seconds. */
  interval: number;
  db?: string;
  quiet?: boolean;
  json?: boolean;
  /** Bytes. */
  minBytes: number;
  top: number;
  frames: number;
  junit?: string;
}

const TOOLS: readonly RunTool[] = ['none', 'sampler', 'heaptrack', 'bpftrace', 'faults', 'valgrind', 'lsan'];


/** "exit 3", "killed by SIGSEGV", "exit status unknown". */
export function describeEnd(end: CommandEnd): string {
  if (end.signal !== null) return `killed by ${end.signal}`;
  if (end.exitCode !== null) return `exit ${end.exitCode}`;
  return 'exit status unknown';
}

/** One line per reason of the gate. */
function reasonText(r: GateReason, formatBytes: (n: number) => string, formatDelta: (n: number) => string): string {
  switch (r.source) {
    case 'process': return `process ${r.comm} (pid ${r.pid}) leaks: ${r.metric ?? 'memory'} grows${r.rateBytesPerSec !== null ? ` ${formatDelta(r.rateBytesPerSec)}/s` : ''}${r.test !== null ? ` (${r.test})` : ''}`;
    case 'tool': return `${r.tool}: ${formatBytes(r.bytes)} ${r.kind === 'outstanding' ? 'still allocated' : `${r.kind}ly lost`} at ${r.sites} site${r.sites === 1 ? '' : 's'}`;
    case 'growing': return `process ${r.comm} (pid ${r.pid}) grew ${formatDelta(r.growthBytes)} without a verdict: run it longer`;
    case 'unmeasured': return 'the command ended before its memory could be measured, and no tool watched it';
  }
}

const failed = (end: CommandEnd): boolean => end.signal !== null || (end.exitCode !== null && end.exitCode !== 0);

interface ToolEvidence {
  inputs: { file: string; format: string; sites: number; warnings: ParseWarning[] }[];
  sites: AllocationSite[];
  notes: string[];
  problems: string[];
}

/** The folder `run` keeps a tool's reports in: the database's path without ".db", plus ".evidence". */
export const evidenceDirOf = (dbPath: string): string => `${dbPath.replace(/\.db$/, '')}.evidence`;

/** Every valgrind and LeakSanitizer report a `run` left beside its database (for `analyze` of that database). */
export async function readRunEvidence(dbPath: string): Promise<AllocationSite[]> {
  const dir = evidenceDirOf(dbPath);
  if (!existsSync(dir)) return [];
  const end: CommandEnd = { exitCode: null, signal: null };
  const sites = [...(await readToolReports('valgrind', dir, undefined, end)).sites, ...(await readToolReports('lsan', dir, undefined, end)).sites];
  const { mergeSites, rankSites } = await import('../model/allocation_sites.js');
  return rankSites(mergeSites(sites));
}

/** Reads the reports a valgrind or sanitizer run left in `dir`. */
async function readToolReports(tool: RunTool, dir: string, exe: string | undefined, end: CommandEnd): Promise<ToolEvidence> {
  const { EVIDENCE_PARSERS } = await import('../parse/evidence/index.js');
  const out: ToolEvidence = { inputs: [], sites: [], notes: [], problems: [] };
  const files = tool === 'valgrind'
    ? [join(dir, 'valgrind.xml')].filter((f) => existsSync(f))
    : existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('lsan.')).sort().map((f) => join(dir, f)) : [];
  const format = tool === 'valgrind' ? 'valgrind-xml' : 'lsan';
  for (const file of files) {
    const parsed = EVIDENCE_PARSERS[format](readFileSync(file, 'utf8'));
    // The parsers' own origins ("line 41", "lsan:41") become "valgrind.xml:41".
    const name = basename(file);
    const sites = parsed.value.sites.map((s) => {
      const m = /^(?:line |[\w.-]+:)(\d+)$/.exec(s.origin ?? '');
      return { ...s, origin: m ? `${name}:${m[1] ?? ''}` : s.origin !== undefined ? `${name}: ${s.origin}` : name };
    });
    out.inputs.push({ file, format, sites: sites.length, warnings: parsed.warnings });
    out.sites.push(...sites);
  }
  if (files.length > 0) return out;
  if (tool === 'valgrind') {
    out.problems.push(`valgrind wrote no XML report into "${dir}" (${end.signal !== null ? `the run was ${describeEnd(end)}` : 'did valgrind start? its own messages are on stderr'})`);
    return out;
  }
  const { hasSanitizerRuntime } = await import('../record/run_gate.js');
  if (exe === undefined || !hasSanitizerRuntime(exe)) {
    out.problems.push(`No LeakSanitizer report appeared: "${exe ?? '?'}" was not built with -fsanitize=address or -fsanitize=leak (its executable names no sanitizer runtime), so nothing checked it for leaks`);
  } else if (end.signal !== null) {
    out.problems.push(`No LeakSanitizer report appeared: the command was ${describeEnd(end)} before LeakSanitizer's check at exit`);
  } else {
    out.notes.push('LeakSanitizer ran at exit and reported no leaks');
  }
  return out;
}

/** Wraps traceUser (which launches the command itself) as a LaunchedCommand; its result is kept for the sites. */
async function launchTraced(engine: 'sampler' | 'heaptrack' | 'bpftrace' | 'faults', command: string[], quiet: boolean, sink: { result?: import('../trace/user/index.js').UserTraceResult; error?: unknown }): Promise<LaunchedCommand> {
  const { traceUser } = await import('../trace/user/index.js');
  const abort = new AbortController();
  const traced = traceUser({ engine, command, stdio: quiet ? 'ignore' : 'inherit', signal: abort.signal, minBytes: 0 });
  const ended = traced.then((r): CommandEnd => {
    sink.result = r;
    const code = r.exitCode;
    return typeof code === 'number' ? { exitCode: code, signal: null } : typeof code === 'string' ? { exitCode: null, signal: code } : { exitCode: null, signal: null };
  }, (err: unknown): CommandEnd => {
    sink.error = err;
    return { exitCode: null, signal: null };
  });
  return { ended, abort: () => abort.abort() };
}

export const runCommand: CommandSpec = {
  name: 'run',
  define(cmd, setExitCode) {
    cmd
      .description('leak gate: run a command, record its memory (and the system\'s) for its whole life, collect allocation sites with a tool, report once')
      .argument('[command...]', 'the command to run, after --')
      .option('--tool <name>', `allocation sites from: ${TOOLS.join(', ')}`, choice('--tool', TOOLS), 'none')
      .option('--fail-on <what>', 'exit 1 on "leak": a process of the command leaks, or the tool reports lost memory', choice('--fail-on', ['leak'] as const))
      .option('--interval <duration>', 'time between samples', duration('--interval'), 1)
      .option('--db <file>', 'database file (default: ./.memsleuth/run-<command>-<start>.db)')
      .option('--quiet', 'discard the command\'s own output')
      .option('--junit <file>', 'write the gate, each process and each leaking site as JUnit XML to FILE (for CI): definitely/indirectly lost memory is a failure')
      .option('--json', 'print {command, exitCode, signal, verdict, leaks, sites, db, ...} as JSON (the command\'s output goes to stderr)')
      .option('--min-bytes <size>', 'outstanding memory (sampler, heaptrack, bpftrace) at a site below this is not a leak', size('--min-bytes'), 64 * 1024)
      .option('--top <n>', 'allocation sites shown', count('--top'), 5)
      .option('--frames <n>', 'frames shown per site', count('--frames'), 8)
      .addHelpText('after', [
        '',
        'Tools: valgrind runs the command under memcheck (--leak-check=full, XML report); lsan sets LSAN_OPTIONS and',
        'ASAN_OPTIONS so a binary built with -fsanitize=address or -fsanitize=leak writes its report (exitcode=0 keeps',
        'the command\'s own exit status); sampler (memsleuth\'s sampling heap profiler, LD_PRELOAD), heaptrack, bpftrace and',
        'faults (first touch of pages: never a leak by itself) launch it through `memsleuth trace user`.',
        'Reports of valgrind and LeakSanitizer are kept in a folder beside the database, named after it without .db',
        '(.memsleuth/run-app-<start>.db -> .memsleuth/run-app-<start>.evidence/); `memsleuth analyze` of that database',
        'reads them back, and `memsleuth evidence DIR/valgrind.xml` reads one.',
        '',
        'Exit codes:',
        '  0  no leak gate fired and the command succeeded (or was stopped with Ctrl-C)',
        '  1  --fail-on leak, and a process of the command leaks or the tool reports definitely/indirectly lost',
        '     memory, or outstanding memory of at least --min-bytes at a site',
        '  2  bad usage (no command, unknown tool, tool not installed)',
        '  3  the command itself failed (non-zero exit or killed by a signal) and no leak gate fired',
        '',
        'Examples:',
        '  memsleuth run --fail-on leak -- ./server --selftest',
        '  memsleuth run --tool valgrind --fail-on leak -- ./unit_tests',
        '  memsleuth run --tool lsan --fail-on leak -- ./built-with-fsanitize-leak',
        '  memsleuth run --tool heaptrack --json -- ./app input.dat',
        '  memsleuth run --tool valgrind --junit leaks.xml -- ./unit_tests',
      ].join('\n'))
      .action(async (command: string[], flags: RunFlags) => {
        if (command.length === 0) throw new InputError('No command to run: give it after "--", e.g. memsleuth run -- ./app --selftest');
        const { tool, interval: intervalSec, minBytes, top, frames } = flags;
        if (flags.db !== undefined) checkOutputPath(flags.db, '--db');
        if (flags.junit !== undefined) checkOutputPath(flags.junit, '--junit');
        const quiet = flags.quiet === true;

        const gate = await import('../record/run_gate.js');
        const exe = gate.resolveExecutable(command[0] as string);
        if (exe === undefined) throw new InputError(`Cannot run "${command[0] ?? ''}": no such file or command`);
        const toolExe = tool === 'valgrind' ? 'valgrind' : tool === 'heaptrack' || tool === 'bpftrace' ? tool : undefined;
        if (toolExe !== undefined && gate.resolveExecutable(toolExe) === undefined) throw new TargetError(`--tool ${tool}: "${toolExe}" is not installed (apt-get install ${toolExe})`, `no-${toolExe}`);

        const { newRecordingPath } = await import('../store/store.js');
        const dbPath = resolve(newRecordingPath(flags.db, `run-${basename(command[0] as string)}`, Date.now()));
        const evidenceDir = evidenceDirOf(dbPath);
        if (tool === 'valgrind' || tool === 'lsan') {
          mkdirSync(evidenceDir, { recursive: true });
          for (const f of readdirSync(evidenceDir)) if (f === 'valgrind.xml' || f.startsWith('lsan.')) rmSync(join(evidenceDir, f), { force: true });
        }

        const traced: { result?: import('../trace/user/index.js').UserTraceResult; error?: unknown } = {};
        const own = { quiet, stdoutToStderr: flags.json === true };
        const launch = (): Promise<LaunchedCommand> => {
          if (tool === 'sampler' || tool === 'heaptrack' || tool === 'bpftrace' || tool === 'faults') return launchTraced(tool, command, quiet, traced);
          if (tool === 'valgrind') return gate.spawnCommand(gate.valgrindArgv(command, join(evidenceDir, 'valgrind.xml')), own);
          if (tool === 'lsan') return gate.spawnCommand(command, { ...own, env: gate.sanitizerEnv(process.env, evidenceDir) });
          return gate.spawnCommand(command, own);
        };

        const abort = new AbortController();
        const stop = (): void => abort.abort();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        let rec;
        try {
          rec = await gate.recordCommandRun({
            command, launch, intervalSec, dbPath, tool, signal: abort.signal,
            onStart: (i) => process.stderr.write(`memsleuth: running ${command.join(' ')}${tool !== 'none' ? ` under ${tool}` : ''}; recording every ${i.intervalSec} s into ${i.dbPath}; Ctrl-C stops it\n`),
            onError: (err) => process.stderr.write(`memsleuth: sample failed: ${err.message}\n`),
          });
        } finally {
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
        }
        if (traced.error !== undefined) {
          const e = traced.error;
          if (e instanceof InputError || e instanceof TargetError) throw new TargetError(`--tool ${tool} failed: ${e.message} (the recording is in ${rec.dbPath})`, e.code);
          throw e;
        }

        const judged = await gate.judgeRun(rec);
        if (judged) {
          const { summarySentence } = await import('../report/analysis_text.js');
          judged.analysis.summary = summarySentence(judged.analysis);
        }
        const processes = judged?.processes ?? [];

        let evidence: ToolEvidence = { inputs: [], sites: [], notes: [], problems: [] };
        if (tool === 'valgrind' || tool === 'lsan') evidence = await readToolReports(tool, evidenceDir, exe, rec.end);
        else if (traced.result !== undefined) {
          const r = traced.result;
          evidence = { inputs: [{ file: `trace user --engine ${r.engine} (pid ${r.pid})`, format: r.engine, sites: r.sites.length, warnings: [] }], sites: r.sites, notes: r.notes, problems: r.problems };
        }
        const { mergeSites, rankSites } = await import('../model/allocation_sites.js');
        const sites = rankSites(mergeSites(evidence.sites));
        const decision = gate.decideGate(processes, sites, minBytes, tool !== 'none');
        const commandFailed = !rec.interrupted && failed(rec.end);
        const { siteWhere } = await import('../report/evidence_text.js');
        if (flags.junit !== undefined) {
          const { renderRunJunit } = await import('../report/junit.js');
          const { formatBytes, formatDelta } = await import('../report/units.js');
          writeOutputFile(flags.junit, renderRunJunit({
            command: command.join(' '), verdict: decision.verdict, reasons: decision.reasons.map((r) => reasonText(r, formatBytes, formatDelta)),
            processes: processes.map((p) => ({ pid: p.pid, comm: p.comm, verdict: p.verdict, rateBytesPerSec: p.rateBytesPerSec, test: p.test })),
            sites, minBytes, seconds: (rec.endedAtMs - rec.startedAtMs) / 1000,
          }), '--junit');
        }

        if (flags.json) {
          const leaks = [
            ...processes.filter((p) => p.verdict === 'leak').map((p) => ({ source: 'process' as const, pid: p.pid, comm: p.comm, metric: p.metric, rateBytesPerSec: p.rateBytesPerSec, ci: p.ci, growthBytes: p.growthBytes, test: p.test })),
            ...decision.leakingSites.map((s) => ({ source: 'tool' as const, tool: s.tool, kind: s.kind, bytes: s.bytes, count: s.count, where: siteWhere(s) ?? null })),
          ];
          process.stdout.write(`${JSON.stringify({
            command, tool, pid: rec.pid, exitCode: rec.end.exitCode, signal: rec.end.signal, interrupted: rec.interrupted, commandFailed,
            verdict: decision.verdict, reasons: decision.reasons, leaks, processes, sites,
            system: judged ? { verdict: judged.analysis.verdict, summary: judged.analysis.summary } : null,
            own: judged?.analysis.own ?? null,
            samples: rec.samples, durationSec: (rec.endedAtMs - rec.startedAtMs) / 1000, db: rec.dbPath,
            evidence: evidence.inputs.map((i) => i.file), notes: evidence.notes, problems: evidence.problems,
          }, null, 1)}\n`);
        } else {
          const { colorsFor } = await import('../report/color.js');
          const { formatBytes, formatDelta, formatDuration } = await import('../report/units.js');
          const { terminalSafe } = await import('../report/escape.js');
          const { renderEvidence } = await import('../report/evidence_text.js');
          const c = colorsFor(process.stdout);
          const out: string[] = [];
          const secs = (rec.endedAtMs - rec.startedAtMs) / 1000;
          out.push(c.bold(`memsleuth run: ${terminalSafe(command.join(' '))}`) + c.dim(` (pid ${rec.pid ?? '?'}, tool ${tool}, ${formatDuration(secs)}, ${rec.samples} sample${rec.samples === 1 ? '' : 's'})`));
          if (rec.interrupted) out.push(c.yellow(`interrupted (Ctrl-C): the command was stopped, ${describeEnd(rec.end)}`));
          else if (commandFailed) out.push(c.red(`the command itself failed: ${describeEnd(rec.end)}`) + c.dim(' (its own failure, not a leak)'));
          else out.push(`the command ${describeEnd(rec.end) === 'exit status unknown' ? 'ended, exit status unknown' : `succeeded (${describeEnd(rec.end)})`}`);
          const label = decision.verdict === 'leak' ? c.red(c.bold('LEAK')) : decision.verdict === 'no-leak' ? c.green('no leak') : c.yellow('inconclusive');
          out.push('', `${c.bold('Verdict:')} ${label}`);
          for (const r of decision.reasons) out.push(`  ${terminalSafe(reasonText(r, formatBytes, formatDelta))}`);
          out.push('', c.bold('Processes of the command'));
          if (processes.length === 0) out.push('  (none measured: the command was gone before the first sample)');
          for (const p of processes) {
            const rate = p.rateBytesPerSec !== null && p.verdict !== 'stable' && p.footprint === null ? `, ${formatDelta(p.rateBytesPerSec)}/s` : '';
            const ci = p.ci[0] !== null && p.ci[1] !== null && p.ciLevel !== null ? ` (${Math.round(p.ciLevel * 100)}% CI ${formatDelta(p.ci[0])} to ${formatDelta(p.ci[1])}/s)` : '';
            const size = p.firstBytes !== null ? ` ${p.metric ?? ''} ${formatBytes(p.firstBytes)} -> ${formatBytes(p.lastBytes ?? undefined)}` : '';
            const how = p.test !== null ? `; ${p.points} samples, ${p.test}${p.confidence !== null ? `, ${p.confidence}` : ''}` : '';
            if (p.footprint !== null) {
              out.push(`  ${terminalSafe(p.comm)} (pid ${p.pid}): memsleuth's own footprint (${terminalSafe(p.footprint)})${size}${rate}; its growth is the tool's, not judged as the program's${tool === 'valgrind' ? ': memcheck\'s report below judges the program' : ''}`);
            } else out.push(`  ${terminalSafe(p.comm)} (pid ${p.pid}): ${p.verdict}${size}${rate}${ci}${how}`);
          }
          const own = judged?.analysis.own;
          const others = own ? own.processes.filter((o) => !processes.some((p) => p.pid === o.pid)) : [];
          if (own && (others.length > 0 || own.kernel.length > 0)) {
            out.push('', c.bold('memsleuth\'s own footprint') + c.dim(' (set apart: never a culprit)'));
            for (const o of others) {
              const v = own.verdicts.find((r) => r.pid === o.pid);
              out.push(`  ${terminalSafe(o.comm)} (pid ${o.pid}): ${terminalSafe(o.role)}${v ? `, ${v.metric} ${formatBytes(v.firstBytes)} -> ${formatBytes(v.lastBytes)}` : ''}`);
            }
            for (const k of own.kernel) out.push(`  ${terminalSafe(k.key)}: ${formatBytes(k.firstBytes)} -> ${formatBytes(k.lastBytes)} (kernel memory of memsleuth's tracer)`);
          }
          if (judged) out.push('', `${c.bold('Machine')} ${c.dim('(not the command; memsleuth\'s own footprint set apart):')} ${judged.analysis.verdict}: ${terminalSafe(judged.analysis.summary)}`);
          if (tool !== 'none') {
            out.push('');
            out.push(renderEvidence({ inputs: evidence.inputs.map((i) => ({ ...i, warnings: i.warnings.map((w) => ({ ...w })) })), sites, problems: [] }, c, { top, frames, width: terminalWidth() }));
            for (const n of evidence.notes) out.push(c.dim(`  ${terminalSafe(n)}`));
            for (const p of evidence.problems) out.push(c.yellow(`problem: ${terminalSafe(p)}`));
          }
          out.push('', `Database: ${terminalSafe(rec.dbPath)}  (next: memsleuth analyze ${terminalSafe(rec.dbPath)})`);
          process.stdout.write(`${out.join('\n')}\n`);
        }
        if (commandFailed && !(flags.failOn === 'leak' && decision.verdict === 'leak')) {
          process.stderr.write(`memsleuth: the command itself failed: ${describeEnd(rec.end)} (exit code ${EXIT_COMMAND_FAILED})\n`);
        }
        setExitCode(flags.failOn === 'leak' && decision.verdict === 'leak' ? EXIT_LEAK : commandFailed ? EXIT_COMMAND_FAILED : EXIT_OK);
      });
  },
};
