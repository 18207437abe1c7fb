/**
 * Leave no trace (DESIGN.md, principle 6): every change to system state (a uprobe_events line, an enabled
 * event, an ftrace instance) is pushed here with the action that reverts it, and reverted in reverse order on
 * every exit path: normal return, a thrown error, SIGINT/SIGTERM/SIGHUP, and process exit. Actions are
 * synchronous, so they also run inside an 'exit' handler; each runs at most once.
 */
export interface UndoEntry { what: string; undo: () => void }

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class UndoStack {
  private readonly entries: UndoEntry[] = [];
  private readonly failures: string[] = [];
  private armed = false;
  /** Set by arm({ interrupt }): the first SIGINT asks for a graceful stop (the report), a second one aborts. */
  private interrupt: (() => void) | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGINT' && this.interrupt !== undefined) {
      const ask = this.interrupt;
      this.interrupt = undefined;
      process.once('SIGINT', this.onSignal);
      ask();
      return;
    }
    this.runAll();
    this.disarm();
    // Re-raise so the process dies of the signal as it would have without us (exit code 128+n for the shell).
    process.kill(process.pid, signal);
  };
  private readonly onExit = (): void => { this.runAll(); };

  /**
   * Registers the signal and exit handlers (once). With `interrupt`, the first SIGINT (Ctrl-C) calls it and
   * leaves the undo to the caller's own exit path (stop, report, return); a second SIGINT undoes and dies.
   */
  arm(options: { interrupt?: () => void } = {}): this {
    if (this.armed) return this;
    this.armed = true;
    this.interrupt = options.interrupt;
    for (const s of SIGNALS) process.once(s, this.onSignal);
    process.once('exit', this.onExit);
    return this;
  }

  disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    for (const s of SIGNALS) process.removeListener(s, this.onSignal);
    process.removeListener('exit', this.onExit);
  }

  push(what: string, undo: () => void): void {
    this.entries.push({ what, undo });
  }

  get pending(): string[] {
    return this.entries.map((e) => e.what);
  }

  /** Reverts everything, newest first; a failing step is recorded and the rest still run. */
  runAll(): string[] {
    for (let e = this.entries.pop(); e !== undefined; e = this.entries.pop()) {
      try {
        e.undo();
      } catch (err) {
        this.failures.push(`could not undo ${e.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return [...this.failures];
  }
}
