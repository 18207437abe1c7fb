/**
 * Progress on long work (ingesting a large log, analysing a long recording, symbolizing many frames): one line
 * on stderr, redrawn in place at most every `throttleMs`, only when stderr is a terminal, so pipes, CI logs and
 * `2> file` stay clean. Sized to the terminal; erased when the work ends.
 *
 *   ingesting board.log  [#########...........]  45%  12,345/27,000 samples  3.1 s
 *   analysing 4,200 series x 86,400 samples  ⠋ 2.4 s
 */

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  label: string;
  /** Total units when known (a bar); absent: a counter and a spinner. */
  total?: number;
  unit?: string;
  stream?: ProgressStream;
  env?: NodeJS.ProcessEnv;
  throttleMs?: number;
  now?: () => number;
}

export interface Progress {
  /** Whether anything is drawn (stderr is a terminal and TERM is not dumb). */
  readonly active: boolean;
  update(done: number, total?: number): void;
  /** Erases the line. */
  done(): void;
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** One progress line, at most `width` characters. Pure. */
export function progressLine(o: { label: string; done: number; total?: number; unit?: string; elapsedMs: number; width: number; frame?: number }): string {
  const unit = o.unit ? ` ${o.unit}` : '';
  const time = seconds(o.elapsedMs);
  let line: string;
  if (o.total !== undefined && o.total > 0) {
    const f = Math.max(0, Math.min(1, o.done / o.total));
    const tail = `  ${String(Math.floor(f * 100)).padStart(3)}%  ${count(o.done)}/${count(o.total)}${unit}  ${time}`;
    const barWidth = Math.max(0, Math.min(30, o.width - o.label.length - tail.length - 4));
    const filled = Math.round(f * barWidth);
    const bar = barWidth >= 5 ? `  [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : '';
    line = `${o.label}${bar}${tail}`;
  } else {
    const spin = SPIN[(o.frame ?? 0) % SPIN.length] ?? '';
    line = `${o.label}  ${spin}${o.done > 0 ? ` ${count(o.done)}${unit}` : ''}  ${time}`;
  }
  return line.length > o.width ? `${line.slice(0, Math.max(0, o.width - 1))}~` : line;
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const env = o.env ?? process.env;
  const active = stream.isTTY === true && env['TERM'] !== 'dumb';
  const now = o.now ?? Date.now;
  const start = now();
  const throttle = o.throttleMs ?? 100;
  let last = -Infinity;
  let frame = 0;
  let total = o.total;
  let drawn = false;
  return {
    active,
    update(done: number, t?: number): void {
      if (t !== undefined) total = t;
      if (!active) return;
      const at = now();
      if (at - last < throttle) return;
      last = at;
      const width = Math.max(20, (stream.columns || 80) - 1);
      const line = progressLine({ label: o.label, done, ...(total !== undefined ? { total } : {}), ...(o.unit !== undefined ? { unit: o.unit } : {}), elapsedMs: at - start, width, frame: frame++ });
      stream.write(`\r\u001b[K${line}`);
      drawn = true;
    },
    done(): void {
      if (active && drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}

/** Shows a spinner while a promise runs (work with no progress of its own to report). */
export async function withProgress<T>(label: string, work: Promise<T> | (() => Promise<T>), o: Omit<ProgressOptions, 'label'> = {}): Promise<T> {
  const p = createProgress({ ...o, label });
  if (!p.active) return typeof work === 'function' ? work() : work;
  p.update(0);
  const timer = setInterval(() => p.update(0), Math.max(50, o.throttleMs ?? 100));
  timer.unref();
  try {
    return await (typeof work === 'function' ? work() : work);
  } finally {
    clearInterval(timer);
    p.done();
  }
}
