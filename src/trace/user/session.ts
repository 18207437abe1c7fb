/**
 * What every engine does around its own probes: start or attach to the target, keep its maps and RSS, a scratch
 * directory, and an UndoStack run on every exit path (return, throw, SIGINT/SIGTERM).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../model/errors.js';
import type { UserTraceOptions } from './result.js';
import { RssSampler, commOf } from './result.js';
import type { Target } from './target.js';
import { MapsKeeper, attach, launchStopped, resolveCommand } from './target.js';
import { UndoStack } from './undo.js';
import { ensureTracefsMounted } from './tracefs.js';
import { TRACE_DIR_PREFIX, sweepLeftovers } from './leftovers.js';

export interface Session {
  target: Target;
  maps: MapsKeeper;
  rss: RssSampler;
  undo: UndoStack;
  dir: string;
  comm: string | undefined;
  t0: bigint;
  problems: string[];
  notes: string[];
}

export function checkTargetOptions(o: UserTraceOptions): void {
  if ((o.pid === undefined) === (o.command === undefined || o.command.length === 0)) throw new InputError('Give either a pid ("--pid PID") or a command ("-- CMD ARGS"), not both', 'target');
  if (o.command !== undefined && o.command.length > 0) resolveCommand(o.command);
  if (o.sampleEvery !== undefined && (!Number.isInteger(o.sampleEvery) || o.sampleEvery < 1)) throw new InputError(`--sample-every must be a whole number >= 1, not "${o.sampleEvery}"`, 'sample');
}

/** Runs `body` with a session; the undo stack, the maps poller and the scratch directory go on every path. */
export async function withSession<T>(o: UserTraceOptions, launch: boolean, body: (s: Session) => Promise<T>): Promise<T> {
  checkTargetOptions(o);
  // With an abort signal the caller stops gracefully on Ctrl-C (and prints the report): the undo stack must not
  // kill the process on that first SIGINT; it still does on SIGTERM, SIGHUP and a second SIGINT.
  const undo = new UndoStack().arm(o.signal !== undefined ? { interrupt: () => undefined } : {});
  const swept = sweepLeftovers();
  if (o.engine === 'bpftrace' || o.engine === 'faults') ensureTracefsMounted(undo);
  // Named with our pid, so the next run can tell a killed run's folder from a live one's.
  const dir = o.workDir ?? mkdtempSync(join(tmpdir(), `${TRACE_DIR_PREFIX}${process.pid}-`));
  if (o.workDir === undefined) undo.push(`scratch folder ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  let maps: MapsKeeper | undefined;
  let rss: RssSampler | undefined;
  let target: Target | undefined;
  try {
    if (o.pid !== undefined) target = attach(o.pid);
    else if (launch) {
      const lo: Parameters<typeof launchStopped>[0] = { command: o.command ?? [] };
      if (o.env !== undefined) lo.env = o.env;
      if (o.cwd !== undefined) lo.cwd = o.cwd;
      if (o.stdio !== undefined) lo.stdio = o.stdio;
      target = await launchStopped(lo, undo);
    } else throw new InputError('This engine launches the command itself', 'bug');
    maps = new MapsKeeper(target.pid);
    maps.start(200);
    if (target.launched) {
      const exe = o.command?.[0] ?? '';
      const resume = target.resume.bind(target);
      const keeper = maps;
      target.resume = () => { resume(); keeper.captureAfterExec(exe); };
    }
    rss = new RssSampler(target.pid);
    const s: Session = { target, maps, rss, undo, dir, comm: commOf(target.pid), t0: process.hrtime.bigint(), problems: [], notes: [] };
    if (swept.length > 0) s.notes.push(`removed what killed memsleuth runs left: ${swept.join('; ')}`);
    return await body(s);
  } finally {
    target?.release();
    maps?.stop();
    rss?.stop();
    const failures = undo.runAll();
    undo.disarm();
    if (o.workDir === undefined) rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) process.emitWarning(`memsleuth: ${failures.join('; ')}`);
  }
}
