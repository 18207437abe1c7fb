/**
 * A target on a serial console (`--serial /dev/ttyUSB0 --baud 115200 [--login user[:password]]`), through the
 * `serialport` package. Same protocol as a shell (shell.ts, FramedTarget): one framed round trip per sample.
 *
 * What a console adds:
 *   - a login prompt: "login:" and "Password:" are answered from --login; a second "login:" means refused;
 *   - echo of what is sent: `stty -echo` when the target has stty, otherwise tolerated (the echoed command holds
 *     "'@@ms' NONCE", quoted, never the marker "@@ms NONCE");
 *   - the prompt: PS1/PS2 are emptied while recording (and restored on close) so markers start their line;
 *   - kernel printk on the console: a whole line shaped "[  123.456789] ..." or "<6>[...]" inside a frame is
 *     dropped by FrameParser (capture/terminal_noise.ts isPrintk). Risk accepted: none of the kernel files read
 *     here has a line starting "[ digits.digits]", but a --watch-file vendor dump could, and such a line would
 *     be dropped too. A printk that lands in the middle of a line (the console driver does not wait for our
 *     newline) corrupts that one line: its parser reports it in the sample's warnings.
 */
import { SerialPort } from 'serialport';
import { StringDecoder } from 'node:string_decoder';
import { InputError, TargetError } from '../model/errors.js';
import { FramedTarget, type FramedTargetOptions, type Link, type LinkHandlers } from './shell.js';

export interface Login { user: string; password?: string }

/** "--login user[:password]": the first ":" separates, so a password may hold colons. */
export function parseLogin(spec: string): Login {
  const at = spec.indexOf(':');
  const user = at < 0 ? spec : spec.slice(0, at);
  if (user === '' || /\s/.test(user)) throw new InputError(`Cannot use --login "${spec}": expected user[:password]`);
  return at < 0 ? { user } : { user, password: spec.slice(at + 1) };
}

export interface SerialTargetOptions extends Omit<FramedTargetOptions, 'name'> {
  path: string;
  baudRate?: number;
  login?: Login;
  name?: string;
  /** The probe is re-sent this often until a shell answers (a console may drop the first bytes). */
  probeEveryMs?: number;
}

const LOGIN_RE = /(?:^|\n)[^\n]*login:\s*$/i;
const PASSWORD_RE = /password:\s*$/i;
const REFUSED_RE = /login incorrect|authentication fail|permission denied/i;

class PortLink implements Link {
  private lastError = '';
  constructor(private readonly port: SerialPort, handlers: LinkHandlers) {
    const dec = new StringDecoder('utf8');
    port.on('data', (b: Buffer) => handlers.onText(dec.write(b)));
    port.on('error', (e: Error) => { this.lastError = e.message; });
    port.on('close', () => handlers.onClose(`serial port "${port.path}" closed${this.lastError ? `: ${this.lastError}` : ''}`));
  }

  write(text: string): void {
    if (this.port.isOpen) this.port.write(text);
  }

  diagnostics(): string {
    return this.lastError;
  }

  close(): Promise<void> {
    if (!this.port.isOpen) return Promise.resolve();
    return new Promise((resolve) => {
      this.port.close(() => resolve());
    });
  }
}

export class SerialTarget extends FramedTarget {
  private constructor(private readonly serial: SerialTargetOptions) {
    super({ ...serial, name: serial.name ?? serial.path });
  }

  /** Opens the port, logs in when asked, waits for a shell, probes access. */
  static connect(options: SerialTargetOptions): Promise<SerialTarget> {
    return FramedTarget.connected(new SerialTarget(options));
  }

  protected openLink(handlers: LinkHandlers): Promise<Link> {
    const port = new SerialPort({ path: this.serial.path, baudRate: this.serial.baudRate ?? 115200, autoOpen: false });
    return new Promise((resolve, reject) => {
      port.open((err) => {
        if (err) reject(new TargetError(`Cannot open serial port "${this.serial.path}": ${err.message}`, 'serial-open'));
        else resolve(new PortLink(port, handlers));
      });
    });
  }

  /**
   * Wakes the console (^C clears a half-typed line, a newline shows the prompt), answers login prompts, then
   * re-sends the readiness probe until the shell echoes it back.
   */
  protected override async handshake(link: Link, deadline: number): Promise<void> {
    link.write('\x03\n');
    let sentUser = false;
    let sentPassword = false;
    await this.probeReady(link, deadline, this.serial.probeEveryMs ?? 1000, (tail) => {
      if (PASSWORD_RE.test(tail)) {
        if (this.serial.login?.password === undefined) {
          throw new TargetError(`Cannot log in on "${this.serial.path}": the console asks for a password; give --login user:password`, 'login-required');
        }
        sentPassword = true;
        return `${this.serial.login.password}\n`;
      }
      if (LOGIN_RE.test(tail)) {
        if (!this.serial.login) throw new TargetError(`Cannot use "${this.serial.path}": the console shows a login prompt; give --login user[:password]`, 'login-required');
        if (sentUser && (sentPassword || REFUSED_RE.test(tail))) {
          throw new TargetError(`Cannot log in on "${this.serial.path}" as "${this.serial.login.user}": login refused`, 'login-failed');
        }
        sentUser = true;
        return `${this.serial.login.user}\n`;
      }
      return undefined;
    });
  }
}
