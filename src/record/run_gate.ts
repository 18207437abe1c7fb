/**
 * The leak gate behind `memsleuth run -- CMD`: start a command, record this machine (the command's processes
 * with smaps_rollup every sample, the system's files as `record` reads them) for the command's whole life plus
 * one sample after it exits, then judge the command's own series and the system's.
 *
 * How the command is started is the caller's: a plain spawn (spawnCommand, also for valgrind and sanitizer
 * builds, which need only argv and environment) or a user-space tracer that launches it itself (trace/ is
 * beyond this layer, so the CLI adapts it to a LaunchedCommand). When the launcher cannot say the pid, the gate
 * finds the command among this process's descendants by its argv.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { InputError } from '../model/errors.js';
import type { AllocationSite } from '../model/allocation_site.js';
import type { Analysis, ProcessCulprit } from '../model/analysis.js';
import type { SeriesTable } from '../model/series_table.js';
import type { Snapshot } from '../model/snapshot.js';
import { LocalTarget } from '../sources/local_target.js';
import { SamplePlanner, type PlannerOptions } from '../sources/sample_planner.js';
import type { SamplePlan } from '../sources/target.js';
import { openStore } from '../store/store.js';
import { analyzeRecordingParallel } from '../analyze/report_model.js';
import { record, type SampleEvent } from './recorder.js';
import { ownMetaOf } from './own_meta.js';

export type RunTool = 'none' | 'sampler' | 'heaptrack' | 'bpftrace' | 'faults' | 'valgrind' | 'lsan';
export const RUN_TOOLS: readonly RunTool[] = ['none', 'sampler', 'heaptrack', 'bpftrace', 'faults', 'valgrind', 'lsan'];

/** How the command ended: an exit code, or the signal that killed it (null when unknown). */
export interface CommandEnd { exitCode: number | null; signal: string | null }

export interface LaunchedCommand {
  /** The command's pid, when the launcher knows it; else the gate looks for it by argv. */
  pid?: number;
  ended: Promise<CommandEnd>;
  /** Last resort: stop everything the launcher started (SIGKILL, abort a tracer). Idempotent. */
  abort(): void;
}

export interface RunGateOptions {
  /** The command as the user typed it (argv), used to recognise it among our descendants. */
  command: readonly string[];
  launch: () => Promise<LaunchedCommand>;
  intervalSec: number;
  dbPath: string;
  /** Recorded with the recording, for the report. */
  tool: RunTool;
  /** Ctrl-C: the command gets SIGINT (then SIGTERM after 5 s, SIGKILL after 10 s); the run is still reported. */
  signal?: AbortSignal;
  planner?: PlannerOptions;
  onStart?: (info: { dbPath: string; recordingId: number; intervalSec: number }) => void;
  onSample?: (e: SampleEvent, pids: readonly number[]) => void;
  onError?: (err: Error) => void;
}

export interface RunGateRecording {
  /** Root pid of the command (null when it was never seen). */
  pid: number | null;
  /** The command and every descendant seen while it ran, with the comm last seen. */
  processes: { pid: number; comm: string }[];
  end: CommandEnd;
  interrupted: boolean;
  samples: number;
  dbPath: string;
  recordingId: number;
  startedAtMs: number;
  endedAtMs: number;
}

/** Escalation after Ctrl-C, in ms after the signal: SIGINT, SIGTERM, SIGKILL (through the launcher). */
const ESCALATION: [number, NodeJS.Signals | 'abort'][] = [[200, 'SIGINT'], [5_000, 'SIGTERM'], [10_000, 'abort']];

// ---------------------------------------------------------------------------------------------
// Starting the command ourselves

/** Spawns argv with inherited or ignored output; resolves once the exec succeeded (or rejects with why not). */
export function spawnCommand(argv: readonly string[], o: { env?: NodeJS.ProcessEnv; quiet?: boolean; cwd?: string; stdoutToStderr?: boolean } = {}): Promise<LaunchedCommand> {
  const [exe, ...args] = argv;
  if (exe === undefined) return Promise.reject(new InputError('No command to run: give one after "--"'));
  const child = spawn(exe, args, {
    // stdoutToStderr: our own stdout carries JSON, the command's output must not mix into it.
    stdio: ['inherit', o.quiet === true ? 'ignore' : o.stdoutToStderr === true ? 2 : 'inherit', o.quiet === true ? 'ignore' : 'inherit'],
    env: o.env ?? process.env,
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
  });
  let done = false;
  const ended = new Promise<CommandEnd>((resolve) => {
    child.once('exit', (code, sig) => { done = true; resolve({ exitCode: code, signal: sig }); });
  });
  const abort = (): void => { if (!done) child.kill('SIGKILL'); };
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve({ ...(child.pid !== undefined ? { pid: child.pid } : {}), ended, abort }));
    child.once('error', (err: NodeJS.ErrnoException) => {
      done = true;
      const why = err.code === 'ENOENT' ? 'no such file or command' : err.code === 'EACCES' ? 'permission denied (not executable?)' : err.message;
      reject(new InputError(`Cannot run "${exe}": ${why}`, 'spawn'));
    });
  });
}

/** `valgrind --leak-check=full ... --xml-file=FILE -- CMD`: definite, indirect and possible leaks with stacks. */
export function valgrindArgv(command: readonly string[], xmlFile: string, valgrind = 'valgrind'): string[] {
  return [valgrind, '--leak-check=full', '--show-leak-kinds=definite,indirect,possible', '--xml=yes', `--xml-file=${xmlFile}`, '--', ...command];
}

/**
 * LSAN_OPTIONS / ASAN_OPTIONS with our report path: a sanitizer build writes `<dir>/lsan.<pid>` at exit.
 * `exitcode=0` keeps the command's own exit status (the sanitizer would turn a leak into exit 23); the gate
 * reports the leak itself. The user's options come first, ours win.
 */
export function sanitizerEnv(env: NodeJS.ProcessEnv, logDir: string): NodeJS.ProcessEnv {
  const ours = `detect_leaks=1:exitcode=0:log_path=${join(logDir, 'lsan')}`;
  const join2 = (old: string | undefined): string => (old !== undefined && old.trim() !== '' ? `${old}:${ours}` : ours);
  return { ...env, LSAN_OPTIONS: join2(env['LSAN_OPTIONS']), ASAN_OPTIONS: join2(env['ASAN_OPTIONS']) };
}

/** The file `exe` runs, looked up in PATH like a shell does (undefined when not found). */
export function resolveExecutable(exe: string, path = process.env['PATH'] ?? ''): string | undefined {
  const isFile = (p: string): boolean => { try { return statSync(p).isFile(); } catch { return false; } };
  if (exe.includes('/')) return isFile(exe) ? exe : undefined;
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, exe);
    if (isFile(p)) return p;
  }
  return undefined;
}

/**
 * Whether an executable carries a sanitizer runtime: gcc links liblsan.so/libasan.so (named in the dynamic
 * section), clang links it statically (its "LeakSanitizer" strings are in the binary). Reads at most 512 MB.
 */
export function hasSanitizerRuntime(file: string): boolean {
  const needles = ['liblsan.so', 'libasan.so', 'LeakSanitizer', 'AddressSanitizer'].map((s) => Buffer.from(s, 'latin1'));
  let fd: number;
  try { fd = openSync(file, 'r'); } catch { return false; }
  try {
    const chunk = Buffer.alloc(4 << 20);
    const overlap = 32;
    let pos = 0;
    let carry = Buffer.alloc(0);
    while (pos < 512 << 20) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n <= 0) break;
      const buf = Buffer.concat([carry, chunk.subarray(0, n)]);
      if (needles.some((x) => buf.includes(x))) return true;
      carry = Buffer.from(buf.subarray(Math.max(0, buf.length - overlap)));
      pos += n;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Finding the command and its children

function cmdlineOf(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return text === '' ? undefined : text.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Same program (by file name) and the same arguments; or trace/'s start gate `sh -c '... exec "$0" "$@"' CMD ARGS`. */
export function isCommandLine(argv: readonly string[], command: readonly string[]): boolean {
  const same = (a: readonly string[]): boolean => a.length === command.length && a.length > 0
    && basename(a[0] as string) === basename(command[0] as string) && a.slice(1).every((x, i) => x === command[i + 1]);
  if (same(argv)) return true;
  return argv.length >= 3 && argv[1] === '-c' && /exec "\$0" "\$@"/.test(argv[2] ?? '') && same(argv.slice(3));
}

/** Children by parent, from the status files a snapshot read. */
function childrenByParent(snap: Snapshot): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const p of snap.processes) {
    const pp = p.status?.ppid;
    if (pp === undefined) continue;
    const list = kids.get(pp);
    if (list) list.push(p.pid); else kids.set(pp, [p.pid]);
  }
  return kids;
}

/** `root` and every process below it (breadth first). */
export function descendantsOf(root: number, kids: ReadonlyMap<number, readonly number[]>): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const c of kids.get(out[i] as number) ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

/** The shallowest of our descendants that runs `command` (a tracer launched it, so no pid was handed back). */
function findCommand(snap: Snapshot, command: readonly string[]): number | undefined {
  const kids = childrenByParent(snap);
  const ours = descendantsOf(process.pid, kids).slice(1);
  for (const pid of ours) {
    const argv = cmdlineOf(pid);
    if (argv !== undefined && isCommandLine(argv, command)) return pid;
  }
  return undefined;
}

/**
 * The planner of `record`, plus smaps_rollup of the command's processes every sample. Rollup rather than full
 * smaps: an exiting process (mm released, not yet reaped) reads as an empty file, which the rollup path skips
 * (absent) where the smaps path would record zeros.
 */
class CommandPlanner extends SamplePlanner {
  constructor(private readonly pids: () => readonly number[], options: PlannerOptions) {
    super(options);
  }

  override plan(): SamplePlan {
    const p = super.plan();
    if (p.rollup === 'all') return p;
    const have = new Set([...p.rollup, ...p.smaps]);
    const extra = this.pids().filter((pid) => !have.has(pid));
    return extra.length === 0 ? p : { ...p, rollup: [...p.rollup, ...extra].sort((a, b) => a - b) };
  }
}

// ---------------------------------------------------------------------------------------------
// The run

/** Starts the command, records until it has exited (plus one sample), and says how it ended. */
export async function recordCommandRun(o: RunGateOptions): Promise<RunGateRecording> {
  const startedAtMs = Date.now();
  const store = openStore(o.dbPath);
  const options = { run: { command: [...o.command], tool: o.tool } as { command: string[]; tool: RunTool; pid?: number }, ownPid: process.pid };
  const writer = store.beginRecording({ target: { name: 'localhost' }, startedAtMs, intervalSec: o.intervalSec, options });
  // The command's pid, once known, goes with the recording: `analyze` then tells the program under test from memsleuth's own tree.
  const notePid = (pid: number): void => { if (options.run.pid === undefined) { options.run.pid = pid; writer.setOptions(options); } };
  const target = new LocalTarget();
  let root: number | undefined;
  let tracked: number[] = [];
  const seen = new Map<number, string>();
  const planner = new CommandPlanner(() => tracked, o.planner ?? {});
  const stopRecording = new AbortController();
  let endedAtMs: number | undefined;
  let interrupted = false;
  const timers: NodeJS.Timeout[] = [];
  let launched: LaunchedCommand | undefined;

  const onSample = (e: SampleEvent): void => {
    if (root === undefined && launched !== undefined) root = launched.pid ?? findCommand(e.snapshot, o.command);
    if (root !== undefined) {
      notePid(root);
      const alive = new Set(e.snapshot.processes.map((p) => p.pid));
      tracked = alive.has(root) ? descendantsOf(root, childrenByParent(e.snapshot)) : [];
      const comms = new Map(e.snapshot.processes.map((p) => [p.pid, p.comm]));
      for (const pid of tracked) seen.set(pid, comms.get(pid) ?? seen.get(pid) ?? String(pid));
    }
    o.onSample?.(e, tracked);
    // One last sample begun after the command's exit: what it left behind (children, system memory). A tracer
    // reports the exit only after its own post-processing, so the root's absence counts too.
    if ((endedAtMs !== undefined && e.snapshot.takenAtMs >= endedAtMs) || (root !== undefined && tracked.length === 0)) stopRecording.abort();
  };

  const interrupt = (): void => {
    interrupted = true;
    for (const [ms, sig] of ESCALATION) {
      timers.push(setTimeout(() => {
        if (endedAtMs !== undefined) return;
        if (sig === 'abort' || root === undefined) { launched?.abort(); return; }
        try { process.kill(root, sig); } catch { /* gone */ }
      }, ms));
    }
  };
  if (o.signal?.aborted === true) interrupt();
  else o.signal?.addEventListener('abort', interrupt, { once: true });

  let recording: Promise<{ samples: number }> | undefined;
  try {
    launched = await o.launch();
    if (launched.pid !== undefined) { root = launched.pid; tracked = [root]; notePid(root); }
    o.onStart?.({ dbPath: o.dbPath, recordingId: writer.recordingId, intervalSec: o.intervalSec });
    recording = record({
      target, planner, writer, intervalSec: o.intervalSec, signal: stopRecording.signal, onSample,
      ...(o.onError ? { onError: o.onError } : {}),
    });
    const end = await launched.ended;
    endedAtMs = Date.now();
    // Should no sample come (a stuck read), stop anyway after two intervals.
    timers.push(setTimeout(() => stopRecording.abort(), 2 * o.intervalSec * 1000 + 1000));
    const summary = await recording;
    return {
      pid: root ?? null, processes: [...seen].map(([pid, comm]) => ({ pid, comm })), end, interrupted,
      samples: summary.samples, dbPath: o.dbPath, recordingId: writer.recordingId, startedAtMs, endedAtMs,
    };
  } finally {
    stopRecording.abort();
    launched?.abort();
    if (recording !== undefined) await recording.catch(() => undefined);
    for (const t of timers) clearTimeout(t);
    o.signal?.removeEventListener('abort', interrupt);
    writer.close();
    store.close();
    await target.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The judgement

const PROC_KEY = /^proc\..+:(\d+)\./;

/** Whether a series belongs in the gate's analysis: system series, and process series of these pids only. */
export function keepSeries(key: string, pids: ReadonlySet<number>): boolean {
  if (!key.startsWith('proc.')) return true;
  const m = PROC_KEY.exec(key);
  return m !== null && pids.has(Number(m[1]));
}

/** The recording as a SeriesTable, other processes' series left out. */
export function loadRunTable(dbPath: string, recordingId: number, pids: ReadonlySet<number>): SeriesTable | undefined {
  const store = openStore(dbPath, { readonly: true });
  try {
    const tl = store.timeline(recordingId);
    if (tl.t.length === 0) return undefined;
    const t0 = tl.t[0] as number;
    const t = Float64Array.from(tl.t, (ms) => (ms - t0) / 1000);
    const series = new Map<string, Float64Array>();
    const rec = store.listRecordings().find((r) => r.id === recordingId);
    const own = ownMetaOf(rec?.options ?? {});
    // memsleuth's own tree (the recorder's descendants: a tracer, valgrind) is kept too, to be set apart by name.
    const keep = new Set(pids);
    const ownPid = own.own?.[0]?.pid;
    if (ownPid !== undefined) {
      const kids = new Map<number, number[]>();
      for (const s of store.listSeries(recordingId)) {
        const m = /^proc\..+:(\d+)\.ppid$/.exec(s.key);
        if (!m) continue;
        const v = store.readSeries(recordingId, s.key).v;
        let parent: number | undefined;
        for (let i = v.length - 1; i >= 0 && parent === undefined; i--) if (Number.isFinite(v[i] as number)) parent = v[i] as number;
        if (parent === undefined) continue;
        const list = kids.get(parent);
        if (list) list.push(Number(m[1])); else kids.set(parent, [Number(m[1])]);
      }
      for (const pid of descendantsOf(ownPid, kids)) keep.add(pid);
    }
    for (const s of store.listSeries(recordingId)) {
      if (!keepSeries(s.key, keep)) continue;
      const d = store.readSeries(recordingId, s.key);
      series.set(s.key, d.v.length === t.length ? d.v : Float64Array.from(t, (_, i) => d.v[i] ?? NaN));
    }
    return {
      t, series, startedAtMs: t0,
      gaps: store.gaps(recordingId).map((g) => ({ fromSec: (g.fromMs - t0) / 1000, toSec: (g.toMs - t0) / 1000, reason: g.reason })),
      boots: store.bootSegments(recordingId).map((b) => ({ ...(b.bootId !== undefined ? { bootId: b.bootId } : {}), fromIndex: 0, toIndex: t.length - 1 })),
      meta: { source: `${dbPath} (recording ${recordingId})`, intervalSec: rec?.intervalSec ?? 1, timeSource: 'host', notes: [], ...own },
    };
  } finally {
    store.close();
  }
}

/** One process of the command as judged: the analysis's row, or "stable" when its memory did not move at all. */
export interface CommandProcessVerdict {
  pid: number;
  comm: string;
  verdict: ProcessCulprit['verdict'] | 'unmeasured';
  metric: ProcessCulprit['metric'] | null;
  rateBytesPerSec: number | null;
  ci: [number | null, number | null];
  ciLevel: number | null;
  firstBytes: number | null;
  lastBytes: number | null;
  growthBytes: number | null;
  points: number;
  test: string | null;
  confidence: string | null;
  evidence: string[];
  /** memsleuth's own role when the process is its tool (valgrind hosting the program): its growth is the tool's, not a leak. */
  footprint: string | null;
}

const METRICS = ['anon', 'uss', 'pss', 'rss'] as const;

/** Verdicts on the command's processes, root first, from the analysis of the restricted table. */
export function commandVerdicts(analysis: Analysis, table: SeriesTable, processes: readonly { pid: number; comm: string }[]): CommandProcessVerdict[] {
  return processes.map(({ pid, comm }) => {
    const footprint = analysis.own?.processes.find((p) => p.pid === pid)?.role ?? null;
    const row = analysis.culprits.process.find((r) => r.pid === pid) ?? analysis.own?.verdicts.find((r) => r.pid === pid);
    if (row) {
      return {
        pid, comm: row.comm, verdict: row.verdict, metric: row.metric, rateBytesPerSec: row.rateBytesPerSec, ci: row.ci, ciLevel: row.ciLevel,
        firstBytes: row.firstBytes, lastBytes: row.lastBytes, growthBytes: row.growthBytes, points: row.points, test: row.test,
        confidence: `${row.level}${row.pValue !== null ? ` (p=${row.pValue.toExponential(1)})` : ''}`, evidence: row.evidence, footprint,
      };
    }
    // Not judged: its series did not move (flat), or it was never measured (gone before the first smaps read).
    for (const metric of METRICS) {
      const values = [...table.series].filter(([k]) => k.endsWith(`:${pid}.${metric}`) && k.startsWith('proc.')).map(([, v]) => v);
      const finite = values.flatMap((v) => [...v].filter((x) => Number.isFinite(x)));
      if (finite.length === 0) continue;
      const first = finite[0] as number;
      const last = finite[finite.length - 1] as number;
      return {
        pid, comm, verdict: 'stable', metric, rateBytesPerSec: 0, ci: [null, null], ciLevel: null, firstBytes: first, lastBytes: last,
        growthBytes: last - first, points: finite.length, test: 'flat', confidence: null, evidence: [`${metric} did not move enough to need a test`], footprint,
      };
    }
    return {
      pid, comm, verdict: 'unmeasured', metric: null, rateBytesPerSec: null, ci: [null, null], ciLevel: null, firstBytes: null, lastBytes: null,
      growthBytes: null, points: 0, test: null, confidence: null, evidence: ['no sample read its memory (it ended before the first sample, or between two)'], footprint,
    };
  });
}

export type GateVerdict = 'leak' | 'no-leak' | 'inconclusive';

/** Why the gate decided as it did, one entry per fact; the report words them. */
export type GateReason =
  | { source: 'process'; pid: number; comm: string; metric: string | null; rateBytesPerSec: number | null; test: string | null }
  | { source: 'tool'; tool: string; kind: string; bytes: number; sites: number }
  | { source: 'growing'; pid: number; comm: string; growthBytes: number }
  | { source: 'unmeasured' };

export interface GateDecision {
  verdict: GateVerdict;
  reasons: GateReason[];
  /** Tool sites that count as leaks (definite, indirect; outstanding at or above minBytes). */
  leakingSites: AllocationSite[];
}

/** Sites that count as leaks: definite or indirect losses; outstanding memory from minBytes up. */
export function leakingSites(sites: readonly AllocationSite[], minBytes: number): AllocationSite[] {
  return sites.filter((s) => s.kind === 'definite' || s.kind === 'indirect' || (s.kind === 'outstanding' && s.bytes > 0 && s.bytes >= minBytes));
}

/**
 * The gate: a leak when a process of the command leaks, or a tool reports lost memory (see leakingSites);
 * inconclusive when a process grew without a verdict, or nothing measured the command at all.
 */
export function decideGate(processes: readonly CommandProcessVerdict[], sites: readonly AllocationSite[], minBytes: number, toolRan: boolean): GateDecision {
  const reasons: GateReason[] = [];
  for (const p of processes) {
    if (p.verdict === 'leak' && p.footprint === null) reasons.push({ source: 'process', pid: p.pid, comm: p.comm, metric: p.metric, rateBytesPerSec: p.rateBytesPerSec, test: p.test });
  }
  const leaking = leakingSites(sites, minBytes);
  const byTool = new Map<string, Extract<GateReason, { source: 'tool' }>>();
  for (const s of leaking) {
    const k = `${s.tool}|${s.kind}`;
    const t = byTool.get(k) ?? { source: 'tool', tool: s.tool, kind: s.kind, bytes: 0, sites: 0 };
    t.bytes += s.bytes;
    t.sites++;
    byTool.set(k, t);
  }
  reasons.push(...byTool.values());
  if (reasons.length > 0) return { verdict: 'leak', reasons, leakingSites: leaking };
  const growing = processes.filter((p) => p.verdict === 'inconclusive' && (p.growthBytes ?? 0) > 0 && p.footprint === null);
  if (growing.length > 0) {
    return { verdict: 'inconclusive', reasons: growing.map((p) => ({ source: 'growing', pid: p.pid, comm: p.comm, growthBytes: p.growthBytes ?? 0 })), leakingSites: [] };
  }
  if (!toolRan && processes.every((p) => p.verdict === 'unmeasured')) return { verdict: 'inconclusive', reasons: [{ source: 'unmeasured' }], leakingSites: [] };
  return { verdict: 'no-leak', reasons: [], leakingSites: [] };
}

export interface RunJudgement {
  analysis: Analysis;
  table: SeriesTable;
  processes: CommandProcessVerdict[];
}

/** The recording judged with only the command's process series (and every system series); undefined without samples. */
export async function judgeRun(rec: RunGateRecording): Promise<RunJudgement | undefined> {
  const table = loadRunTable(rec.dbPath, rec.recordingId, new Set(rec.processes.map((p) => p.pid)));
  if (table === undefined) return undefined;
  const analysis = await analyzeRecordingParallel(table, {});
  return { analysis, table, processes: commandVerdicts(analysis, table, rec.processes) };
}
