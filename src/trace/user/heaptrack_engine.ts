/**
 * Engine `heaptrack`: runs KDE heaptrack (Debian package `heaptrack`) on a command (LD_PRELOAD) or injects it
 * into a running process (through gdb, as `heaptrack -p` does), then reads its data with `heaptrack_print -l`
 * and parses that with parse/evidence/heaptrack.ts. Attach mode stops with heaptrack_stop() through gdb,
 * exactly like heaptrack's own cleanup, so the target never writes into a closed pipe.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, lstatSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TargetError } from '../../model/errors.js';
import { parseHeaptrackPrint } from '../../parse/evidence/heaptrack.js';
import { findTool } from '../../symbolize/addr2line.js';
import type { UserTraceOptions, UserTraceResult } from './result.js';
import { RssSampler, commOf } from './result.js';
import { MapsKeeper, attach, isAlive, sleep, within } from './target.js';
import { UndoStack } from './undo.js';
import { checkTargetOptions } from './session.js';
import { HEAPTRACK_DIR_PREFIX, scratchDir, sweepLeftovers } from './leftovers.js';

const run = promisify(execFile);

export async function traceHeaptrack(o: UserTraceOptions): Promise<UserTraceResult> {
  const heaptrack = findTool('heaptrack');
  const print = findTool('heaptrack_print');
  if (heaptrack === undefined || print === undefined) throw new TargetError('heaptrack is not installed (apt-get install heaptrack)', 'no-heaptrack');
  checkTargetOptions(o);
  if (o.pid !== undefined && findTool('gdb') === undefined) throw new TargetError('heaptrack attaches through gdb, which is not installed (apt-get install gdb)', 'no-gdb');
  // heaptrack launches the command itself (LD_PRELOAD): no start gate, the session has no target of ours then.
  // With an abort signal the first Ctrl-C stops gracefully (the report); SIGTERM and a second SIGINT undo and die.
  const undo = new UndoStack().arm(o.signal !== undefined ? { interrupt: () => undefined } : {});
  const swept = sweepLeftovers();
  // Named with our pid, on the undo stack (every exit path, signals included), swept by the next run after kill -9.
  const dir = scratchDir(HEAPTRACK_DIR_PREFIX);
  undo.push(`scratch folder ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  let heaptrackChild: ChildProcess | undefined;
  const s = { undo, dir, problems: [] as string[], maps: new MapsKeeper(o.pid ?? 0), rss: new RssSampler(o.pid ?? 0), comm: o.pid !== undefined ? commOf(o.pid) : undefined as string | undefined };
  try {
    const out = join(s.dir, 'ht');
    const args = o.pid !== undefined ? ['-o', out, '-p', String(o.pid)] : ['-o', out, ...(o.command ?? [])];
    const t0 = process.hrtime.bigint();
    // heaptrack in a process group of its own (script, interpreter, compressor, the program it launches): a
    // terminal's Ctrl-C reaches memsleuth alone, which stops them in order (report first), and the undo can end
    // the whole group, so no descendant lives on holding our stderr pipe (that kept memsleuth from exiting).
    const child = spawn(heaptrack, args, { detached: true, stdio: ['ignore', o.pid !== undefined ? 'ignore' : (o.stdio ?? 'inherit'), 'pipe'], env: { ...process.env, ...(o.env ?? {}) }, ...(o.cwd !== undefined ? { cwd: o.cwd } : {}) });
    heaptrackChild = child;
    let finished = false;
    const exited = new Promise<number | string | null>((resolve) => child.once('close', (code, sig) => { finished = true; resolve(code ?? sig); }));
    // Launched: the pid we care about is heaptrack's child (the shell script execs nothing; the app is its child).
    let pid = o.pid ?? 0;
    s.undo.push(`heaptrack ${child.pid ?? '?'}`, () => {
      if (finished || child.pid === undefined) return;
      // A program heaptrack launched for us goes with it, as the other engines' launched programs do (killing only
      // the script would leave it running, orphaned). Found as the script's descendant, so it is ours.
      // Checked again now (still a descendant of the script, same name), so a recycled pid is never hit.
      if (o.pid === undefined && pid !== 0 && childOf(child.pid, o.command?.[0] ?? '') === pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
      // The rest of its group (interpreter, compressor). The script is our unreaped child, so its pid, which is
      // the group's id, cannot have been given to anyone else.
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* none left */ }
      // Killed, its EXIT trap does not remove its pipe /tmp/heaptrack_fifo<its pid>. The pid is still our unreaped
      // child here, so that pipe is provably the one it made.
      const fifo = `/tmp/heaptrack_fifo${child.pid}`;
      try { if (lstatSync(fifo).isFIFO()) rmSync(fifo); } catch { /* none */ }
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => { stderr += c; });

    let maps = s.maps;
    let rss = s.rss;
    if (o.pid === undefined) {
      // heaptrack's script starts the program after its own set-up: seconds on a loaded machine.
      for (let i = 0; i < 6000 && pid === 0 && !finished && o.signal?.aborted !== true; i++) {
        pid = childOf(child.pid ?? -1, o.command?.[0] ?? '') ?? 0;
        if (pid === 0) await sleep(5);
      }
      if (pid !== 0) { s.comm = commOf(pid); maps = new MapsKeeper(pid); maps.start(200); rss = new RssSampler(pid); rss.start(); }
    } else rss.start();

    let ended: UserTraceResult['ended'] = 'exited';
    const target = o.pid !== undefined ? attach(o.pid) : undefined;
    let timer: NodeJS.Timeout | undefined;
    const stopper = new Promise<'duration' | 'aborted'>((resolve) => {
      if (o.durationSec !== undefined) timer = setTimeout(() => resolve('duration'), o.durationSec * 1000);
      if (o.signal?.aborted === true) resolve('aborted'); // Ctrl-C came while the program was being looked for
      o.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const first = await Promise.race([exited.then(() => 'exited' as const), stopper]);
    if (timer !== undefined) clearTimeout(timer);
    const durationSec = Number(process.hrtime.bigint() - t0) / 1e9;
    if (first !== 'exited') {
      ended = first;
      if (o.pid !== undefined && isAlive(o.pid)) {
        // heaptrack's own cleanup: stop recording inside the target, then its interpreter sees EOF and exits.
        await run('gdb', ['--batch-silent', '-n', '-iex', 'set auto-solib-add off', '-p', String(o.pid), '--eval-command=sharedlibrary libheaptrack_inject', '--eval-command=call (void) heaptrack_stop()', '--eval-command=detach'], { timeout: 60_000 }).catch(() => undefined);
      } else {
        // Stopped before the program was seen (Ctrl-C early): look once more, so it is told to end too.
        if (pid === 0 && o.pid === undefined) pid = childOf(child.pid ?? -1, o.command?.[0] ?? '') ?? 0;
        if (pid !== 0) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
        // A program stopped before heaptrack's library opened its pipe leaves heaptrack's reader blocked in open()
        // for good (seen under load): a writer that opens and closes the pipe gives it its end of file, and the
        // script finishes as usual (with little or no data). The pipe is named with the script's pid, our child.
        if (child.pid !== undefined) releaseReader(`/tmp/heaptrack_fifo${child.pid}`);
      }
      await within(exited, 30_000);
    }
    target?.kill();
    maps.stop();
    rss.stop();
    const file = readdirSync(s.dir).filter((f) => f.startsWith('ht')).map((f) => join(s.dir, f))[0];
    if (file === undefined) throw new TargetError(`heaptrack wrote no data file: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, 'heaptrack');
    const printed = await run(print, ['--print-leaks=1', '--print-peaks=0', '--print-allocators=0', '--print-temporary=0', '-f', file], { maxBuffer: 256 << 20, timeout: 300_000 });
    const parsed = parseHeaptrackPrint(printed.stdout, file);
    const problems = [...s.problems, ...parsed.warnings.filter((w) => w.severity !== 'info').map((w) => `heaptrack_print line ${w.line}: ${w.reason}`)];
    // No allocation call at all is not "no leak": heaptrack saw nothing to judge.
    if (parsed.value.totals.allocationCalls === 0) {
      problems.push('heaptrack recorded no allocation calls: the program was stopped before heaptrack\'s library was set up, or it does not allocate through the dynamic C library (a static binary ignores LD_PRELOAD); nothing here says it does not leak');
    }
    let sites = parsed.value.sites.map((site) => ({ ...site, pids: [pid] }));
    const comm = s.comm ?? commOf(pid);
    if (comm !== undefined) sites = sites.map((x) => ({ ...x, comms: [comm] }));
    if (o.minBytes !== undefined) sites = sites.filter((x) => x.bytes >= (o.minBytes ?? 0));
    sites.sort((a, b) => b.bytes - a.bytes);
    const totals = parsed.value.totals;
    const stats: Record<string, number> = {};
    if (totals.allocationCalls !== undefined) stats['allocationCalls'] = totals.allocationCalls;
    if (totals.leakedBytes !== undefined) stats['leakedBytes'] = totals.leakedBytes;
    const result: UserTraceResult = {
      engine: 'heaptrack', pid, sites, maps: maps.text, durationSec, ended, rss: rss.samples, problems,
      notes: [`heaptrack data: ${file}`, 'heaptrack reports memory not freed when recording stopped; per-object ages are not in its output'], stats,
    };
    if (swept.length > 0) result.notes.push(`removed what killed memsleuth runs left: ${swept.join('; ')}`);
    if (finished) result.exitCode = await exited;
    return result;
  } finally {
    s.maps.stop();
    s.rss.stop();
    undo.runAll();
    // Nothing of heaptrack's may keep memsleuth running once the report is out.
    heaptrackChild?.stderr?.destroy();
    heaptrackChild?.unref();
    undo.disarm();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens a FIFO for writing without blocking and closes it: a reader waiting for a writer then reads its end. */
function releaseReader(fifo: string): void {
  try {
    if (!lstatSync(fifo).isFIFO()) return;
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch { /* no reader waiting (ENXIO) or no pipe: nothing to release */ }
}

/** A child of `ppid` (or of its children) whose comm matches the command's name. */
function childOf(ppid: number, command: string): number | undefined {
  const name = command.split('/').pop()?.slice(0, 15) ?? '';
  const parents = new Set<number>([ppid]);
  for (let round = 0; round < 3; round++) {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSyncSafe(`/proc/${d}/stat`);
        const close = stat.lastIndexOf(')');
        const comm = stat.slice(stat.indexOf('(') + 1, close);
        const pp = Number(stat.slice(close + 2).split(' ')[1]);
        if (!parents.has(pp)) continue;
        if (comm === name) return Number(d);
        parents.add(Number(d));
      } catch { /* raced */ }
    }
  }
  return undefined;
}

const readFileSyncSafe = (p: string): string => readFileSync(p, 'utf8');
