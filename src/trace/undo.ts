/**
 * One undo stack per tracing run (DESIGN.md principle 6, "leave no trace"): every state change a driver makes
 * on the target pushes the step that reverses it; the steps run last-in first-out on every exit path, normal
 * return, thrown error, SIGINT and SIGTERM. A failing step does not stop the others; each failure is reported
 * with the command to run by hand.
 */

export type UndoSignal = 'SIGINT' | 'SIGTERM';

/** Where signal handlers go: `process` by default, a plain EventEmitter in tests. */
export interface SignalHost {
  once(event: UndoSignal, listener: () => void): unknown;
  off(event: UndoSignal, listener: () => void): unknown;
}

export interface UndoStep {
  /** What the step restores, in words ("unmount debugfs from /sys/kernel/debug"). */
  label: string;
  /** The command a user would type to do it by hand, shown when the step fails. */
  byHand: string;
  run: () => Promise<void>;
}

export interface UndoOptions {
  signals?: SignalHost;
  /**
   * Called after the undo that a signal started has finished. Default: remove our handlers and send the signal
   * again, so the process ends the way an interrupted program does (exit 130 / 143).
   */
  afterSignal?: (signal: UndoSignal) => void;
  /** Progress and failure lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export class UndoStack {
  private readonly steps: UndoStep[] = [];
  private running: Promise<string[]> | undefined;
  private readonly signals: SignalHost;
  private readonly log: (line: string) => void;
  private readonly afterSignal: (signal: UndoSignal) => void;
  private readonly handlers = new Map<UndoSignal, () => void>();

  constructor(options: UndoOptions = {}) {
    this.signals = options.signals ?? process;
    this.log = options.log ?? ((): void => undefined);
    this.afterSignal = options.afterSignal ?? ((signal): void => {
      this.detach();
      process.kill(process.pid, signal);
    });
  }

  get size(): number {
    return this.steps.length;
  }

  push(step: UndoStep): void {
    this.steps.push(step);
  }

  /**
   * Runs every step, newest first, once; later calls wait for the same run. Returns the failures, one line each,
   * with the command that finishes the job by hand.
   */
  undoAll(): Promise<string[]> {
    this.running ??= (async () => {
      const failures: string[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop();
        if (step === undefined) break;
        try {
          await step.run();
          this.log(`restored: ${step.label}`);
        } catch (err) {
          const msg = `could not ${step.label}: ${err instanceof Error ? err.message : String(err)}; do it by hand: ${step.byHand}`;
          failures.push(msg);
          this.log(msg);
        }
      }
      return failures;
    })();
    return this.running;
  }

  /**
   * Runs `body` with SIGINT/SIGTERM handlers installed (process.once), then undoes everything whatever happened.
   * Undo failures are logged; they do not hide the body's own error.
   */
  async guard<T>(body: (undo: UndoStack) => Promise<T>): Promise<T> {
    this.attach();
    try {
      return await body(this);
    } finally {
      await this.undoAll();
      this.detach();
    }
  }

  private attach(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => {
        this.handlers.delete(signal);
        this.log(`${signal}: undoing ${this.steps.length} change${this.steps.length === 1 ? '' : 's'} before exit`);
        void this.undoAll().then(() => this.afterSignal(signal));
      };
      this.handlers.set(signal, handler);
      this.signals.once(signal, handler);
    }
  }

  private detach(): void {
    for (const [signal, handler] of this.handlers) this.signals.off(signal, handler);
    this.handlers.clear();
  }
}

