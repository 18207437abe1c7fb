/**
 * TargetShell over a persistent remote shell (`--via "ssh root@board"`, `adb shell`, `sh`): every call is one
 * framed round trip, `echo '@@ms' NONCE b; CMD 2>&1; echo '@@ms' NONCE e $?`, with a fresh nonce, so an echoed
 * command line, a prompt or printk noise is never mistaken for output. Needs only sh, echo and cat on the target.
 * Arguments are single-quoted with shellQuote: no untrusted text is ever pasted into the command line.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { TargetError } from '../model/errors.js';
import { newNonce, shellQuote } from '../capture/framing.js';
import { splitShellWords } from '../sources/shell.js';
import type { RunResult, TargetShell } from './target_shell.js';

const MARK = '@@ms';

export class RemoteShell implements TargetShell {
  private buffer = '';
  private waiter: { nonce: string; resolve: (r: RunResult) => void; reject: (e: Error) => void } | undefined;
  private closed: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly child: ChildProcessWithoutNullStreams, readonly name: string, private readonly timeoutMs: number) {
    const dec = new StringDecoder('utf8');
    child.stdout.on('data', (b: Buffer) => this.onText(dec.write(b)));
    child.stderr.on('data', () => { /* the login banner and ssh warnings: not output of our commands */ });
    child.on('close', (code) => this.fail(`the shell "${name}" exited (${code ?? 'signal'})`));
    child.on('error', (e) => this.fail(`cannot start "${name}": ${e.message}`));
    // Writing to a shell that already exited fails with EPIPE: that is the link going down, not a crash.
    child.stdin.on('error', (e) => this.fail(`the shell "${name}" stopped reading: ${e.message}`));
  }

  /** Starts the --via command and waits until it answers a first framed command. */
  static async open(via: string, options: { name?: string; timeoutMs?: number } = {}): Promise<RemoteShell> {
    const argv = splitShellWords(via);
    const [file, ...args] = argv;
    if (file === undefined) throw new TargetError('--via needs a command, for example --via "ssh root@board"');
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const shell = new RemoteShell(child, options.name ?? via, options.timeoutMs ?? 0);
    const hello = await shell.raw('echo ready', 30_000);
    if (hello.code !== 0) throw new TargetError(`The shell behind "${via}" did not answer a first command: ${hello.stdout.trim()}`);
    return shell;
  }

  run(argv: string[]): Promise<RunResult> {
    if (argv.length === 0) return Promise.resolve({ stdout: '', stderr: 'empty command', code: 127 });
    return this.raw(argv.map(shellQuote).join(' '), this.timeoutMs);
  }

  async readFile(path: string): Promise<string | undefined> {
    const r = await this.raw(`cat ${shellQuote(path)}`, this.timeoutMs);
    return r.code === 0 ? r.stdout : undefined;
  }

  async writeFile(path: string, text: string): Promise<void> {
    const r = await this.raw(`echo ${shellQuote(text.replace(/\n$/, ''))} > ${shellQuote(path)}`, this.timeoutMs);
    if (r.code !== 0) throw new TargetError(`Cannot write "${path}" on "${this.name}": ${r.stdout.trim() || `exit ${r.code}`}`);
  }

  close(): void {
    if (this.closed === undefined) this.closed = 'closed';
    this.child.stdin.end('exit\n');
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }

  /** One framed round trip; calls are serialised, since the shell runs one command at a time. */
  private raw(command: string, timeoutMs: number): Promise<RunResult> {
    const next = this.queue.then(() => this.roundTrip(command, timeoutMs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private roundTrip(command: string, timeoutMs: number): Promise<RunResult> {
    if (this.closed !== undefined) return Promise.reject(new TargetError(`Cannot run on "${this.name}": ${this.closed}`));
    const nonce = newNonce();
    return new Promise<RunResult>((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => { this.waiter = undefined; resolve({ stdout: '', stderr: 'timed out', code: 124 }); }, timeoutMs) : undefined;
      this.waiter = {
        nonce,
        resolve: (r) => { if (timer) clearTimeout(timer); resolve(r); },
        reject: (e) => { if (timer) clearTimeout(timer); reject(e); },
      };
      this.child.stdin.write(`echo '${MARK}' ${nonce} b; ${command} 2>&1; echo '${MARK}' ${nonce} e $?\n`);
      this.onText('');
    });
  }

  private onText(text: string): void {
    this.buffer += text;
    const w = this.waiter;
    if (!w) { this.buffer = this.buffer.slice(-4096); return; }
    const begin = `${MARK} ${w.nonce} b\n`;
    const start = this.buffer.indexOf(begin);
    if (start < 0) return;
    const endRe = new RegExp(`(?:^|\\n)${MARK} ${w.nonce} e (\\d+)\\r?\\n`);
    const body = this.buffer.slice(start + begin.length);
    const m = endRe.exec(body);
    if (!m) return;
    // Keep the newline that ends the output's last line; the end marker starts on a line of its own.
    const cut = m.index + (m[0].startsWith('\n') ? 1 : 0);
    const output = body.slice(0, cut).replace(/\r\n/g, '\n');
    this.buffer = body.slice(m.index + m[0].length);
    this.waiter = undefined;
    w.resolve({ stdout: output, stderr: '', code: Number(m[1]) });
  }

  private fail(reason: string): void {
    this.closed ??= reason;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(new TargetError(reason));
  }
}
