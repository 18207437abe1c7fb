/**
 * Leave no trace (DESIGN.md, principle 6): one undo stack for everything the kernel tracer switches on
 * (a tracefs mount, our ftrace instance, a bpftrace child, any global event file we had to write), run on
 * every exit path: normal end, exception, Ctrl-C, SIGTERM, process 'exit', uncaughtException.
 * Undo actions are synchronous on purpose: an 'exit' handler cannot await.
 *
 * Also the snapshot of the tracefs state a test compares before/after:
 *   /sys/kernel/tracing/tracing_on            1
 *   /sys/kernel/tracing/current_tracer        nop
 *   /sys/kernel/tracing/events/kmem/kmalloc/filter   none
 *   /sys/kernel/tracing/events/kmem/kmalloc/trigger  # Available triggers: ...
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export interface UndoAction { label: string; run: () => void }

/** Errors met while undoing: reported, never thrown (one failing step must not skip the others). */
export interface UndoFailure { label: string; message: string }

export class UndoStack {
  private readonly actions: UndoAction[] = [];
  readonly failures: UndoFailure[] = [];
  private detachHandlers: (() => void) | undefined;

  push(label: string, run: () => void): void { this.actions.push({ label, run }); }

  get size(): number { return this.actions.length; }

  /** Pops and runs every action, last pushed first. Safe to call twice. */
  runAll(): UndoFailure[] {
    const failed: UndoFailure[] = [];
    for (let a = this.actions.pop(); a !== undefined; a = this.actions.pop()) {
      try { a.run(); } catch (err) { failed.push({ label: a.label, message: err instanceof Error ? err.message : String(err) }); }
    }
    this.failures.push(...failed);
    this.detachHandlers?.();
    this.detachHandlers = undefined;
    return failed;
  }

  /**
   * Runs the stack on 'exit', SIGTERM, SIGHUP, uncaughtException; SIGINT calls `onInterrupt` first (a
   * graceful stop) and a second SIGINT undoes and exits. Returns nothing: handlers go away in runAll().
   */
  installProcessHandlers(onInterrupt?: () => void): void {
    if (this.detachHandlers !== undefined) return;
    let interrupts = 0;
    const fatal = (code: number) => (): void => {
      const failed = this.runAll();
      for (const f of failed) process.stderr.write(`memsleuth: could not undo "${f.label}": ${f.message}\n`);
      process.exit(code);
    };
    const onTerm = fatal(128 + 15);
    const onHup = fatal(128 + 1);
    const onInt = (): void => {
      interrupts++;
      if (interrupts === 1 && onInterrupt !== undefined) { onInterrupt(); return; }
      fatal(128 + 2)();
    };
    const onExit = (): void => { this.runAll(); };
    const onUncaught = (err: Error): void => {
      this.runAll();
      process.stderr.write(`memsleuth: unexpected error: ${err.stack ?? err.message}\n`);
      process.exit(70);
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    process.on('SIGINT', onInt);
    process.on('exit', onExit);
    process.on('uncaughtException', onUncaught);
    this.detachHandlers = () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      process.off('SIGINT', onInt);
      process.off('exit', onExit);
      process.off('uncaughtException', onUncaught);
    };
  }
}

export const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

function isTracefs(dir: string): boolean {
  return existsSync(join(dir, 'events')) && existsSync(join(dir, 'tracing_on'));
}

export type TracefsLookup = { ok: true; root: string; mounted: boolean } | { ok: false; reason: string };

/**
 * Finds tracefs; when it is not mounted and `mount` is set, mounts it on /sys/kernel/tracing and pushes
 * the umount on the undo stack (bpftrace needs it too: it reads tracepoint ids and formats there).
 */
export function ensureTracefs(undo: UndoStack | undefined, mount: boolean): TracefsLookup {
  for (const c of TRACEFS_CANDIDATES) if (isTracefs(c)) return { ok: true, root: c, mounted: false };
  const target = TRACEFS_CANDIDATES[0] ?? '/sys/kernel/tracing';
  if (!mount || undo === undefined) return { ok: false, reason: `tracefs is not mounted (mount -t tracefs nodev ${target})` };
  if (!existsSync(target)) return { ok: false, reason: `"${target}" does not exist: kernel built without CONFIG_TRACING?` };
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', target], { encoding: 'utf8' });
  if (r.status !== 0 || !isTracefs(target)) {
    return { ok: false, reason: `cannot mount tracefs on "${target}": ${(r.stderr ?? '').trim() || `exit ${String(r.status)}`}` };
  }
  undo.push(`umount ${target}`, () => {
    const u = spawnSync('umount', [target], { encoding: 'utf8' });
    if (u.status !== 0) throw new Error(`umount "${target}": ${(u.stderr ?? '').trim()}`);
  });
  return { ok: true, root: target, mounted: true };
}

export function readTrim(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

/** Writes a tracefs file after remembering its value; the undo writes the old value back if it changed. */
export function writeWithUndo(undo: UndoStack, path: string, value: string, restoreAs: (old: string) => string = (o) => o): void {
  const old = readTrim(path);
  writeFileSync(path, value);
  if (old === undefined) return;
  undo.push(`restore ${path}`, () => {
    if (readTrim(path) !== old) writeFileSync(path, restoreAs(old));
  });
}

/** Lines of a trigger file that are triggers (the file lists "# Available triggers:" when empty). */
export function activeTriggers(text: string | undefined): string[] {
  return (text ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** What the test compares before and after, and what restoreEvents() puts back. */
export interface TracefsState {
  tracingOn?: string;
  currentTracer?: string;
  bufferSizeKb?: string;
  setEvent: string[];
  instances: string[];
  /** "system/event" -> enable ("0", "1", "0*", "1*"), filter, triggers, for the systems asked. */
  events: Record<string, { enable?: string; filter?: string; triggers: string[] }>;
}

export function captureTracefsState(root: string, systems: readonly string[] = ['kmem', 'vmalloc']): TracefsState {
  const state: TracefsState = { setEvent: [], instances: [], events: {} };
  const on = readTrim(join(root, 'tracing_on'));
  if (on !== undefined) state.tracingOn = on;
  const tracer = readTrim(join(root, 'current_tracer'));
  if (tracer !== undefined) state.currentTracer = tracer;
  const size = readTrim(join(root, 'buffer_size_kb'));
  if (size !== undefined) state.bufferSizeKb = size;
  state.setEvent = (readTrim(join(root, 'set_event')) ?? '').split('\n').filter((l) => l !== '').sort();
  try { state.instances = readdirSync(join(root, 'instances')).sort(); } catch { /* no instances dir: old kernel */ }
  for (const sys of systems) {
    let names: string[];
    try { names = readdirSync(join(root, 'events', sys)); } catch { continue; }
    for (const ev of names.sort()) {
      const dir = join(root, 'events', sys, ev);
      if (!existsSync(join(dir, 'format'))) continue;
      const entry: TracefsState['events'][string] = { triggers: activeTriggers(readTrim(join(dir, 'trigger'))) };
      const enable = readTrim(join(dir, 'enable'));
      if (enable !== undefined) entry.enable = enable;
      const filter = readTrim(join(dir, 'filter'));
      if (filter !== undefined) entry.filter = filter;
      state.events[`${sys}/${ev}`] = entry;
    }
  }
  return state;
}

/**
 * Safety net for the global event files of `events` ("kmem/kmalloc"): remembers enable, filter and triggers
 * now and undoes any difference later, whoever made it through us. Our engines never write them (the ftrace
 * engine works in its own instance), so this normally finds nothing to do.
 */
export function guardGlobalEvents(undo: UndoStack, root: string, events: readonly string[]): void {
  for (const ev of events) {
    const dir = join(root, 'events', ev);
    if (!existsSync(join(dir, 'enable'))) continue;
    const enable = readTrim(join(dir, 'enable'));
    const filter = readTrim(join(dir, 'filter'));
    const triggers = activeTriggers(readTrim(join(dir, 'trigger')));
    undo.push(`restore global ${ev}`, () => {
      const nowTriggers = activeTriggers(readTrim(join(dir, 'trigger')));
      for (const t of nowTriggers) {
        // "hist:keys=...:size=2048 [active]" reads back with annotations; removing takes the bare command.
        if (!triggers.includes(t)) writeFileSync(join(dir, 'trigger'), `!${t.replace(/\s+\[.*\]$/, '').replace(/\s+if\s.*$/, '')}`);
      }
      const f = readTrim(join(dir, 'filter'));
      if (filter !== undefined && f !== filter) writeFileSync(join(dir, 'filter'), filter === 'none' ? '0' : filter);
      const e = readTrim(join(dir, 'enable'));
      if (enable !== undefined && e !== enable) writeFileSync(join(dir, 'enable'), enable.startsWith('1') ? '1' : '0');
    });
  }
}
