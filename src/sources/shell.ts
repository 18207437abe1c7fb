/**
 * A live target behind any command that gives a shell (`--via "ssh root@board"`, `adb shell`, `sh`): one
 * persistent shell, one round trip per sample, framed with a fresh nonce (DESIGN.md, "Capture protocol").
 * The target needs only sh, cat and echo. When the link drops (the command exits, EOF, a sample times out) the
 * target reconnects with capped, jittered exponential backoff, and the first sample after carries the gap.
 *
 * FramedTarget holds everything that does not depend on the transport; SerialTarget (serial.ts) reuses it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { InputError, TargetError } from '../model/errors.js';
import { warning } from '../model/parsed.js';
import type { ProcessSample, Snapshot } from '../model/snapshot.js';
import { FrameParser, buildProcLoop, newNonce, shellQuote, type FramedSample } from '../capture/framing.js';
import { MARKER } from '../capture/markers.js';
import { sectionText, type Section } from '../capture/section.js';
import { parseBootId, parseUptime } from '../capture/clock.js';
import { parseSmaps, summarizeMappings } from '../parse/smaps.js';
import { toSnapshot } from './capture_file.js';
import { reduceWatched, treeCommand } from './watch_file.js';
import {
  LinkEvents, SYSTEM_PATHS, describeLost,
  type LinkEvent, type LinkGap, type RawFile, type SamplePlan, type Target, type TargetSample, type UnreadableRead,
} from './target.js';

// ---------------------------------------------------------------------------------------------------------------
// The user's own command line -> argv (no shell: the words are the user's, never the target's).

/** Splits a command line the way sh splits words: '…' literal, "…" with \" \\ \$ \` escapes, \x outside quotes. */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new InputError(`Cannot split "${line}": unterminated single quote`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        const d = line[j] as string;
        if (d === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1] as string)) cur += line[++j];
        else cur += d;
      }
      if (j >= line.length) throw new InputError(`Cannot split "${line}": unterminated double quote`);
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new InputError(`Cannot split "${line}": trailing backslash`);
      cur += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

// ---------------------------------------------------------------------------------------------------------------
// The sample command.

/** A tty's canonical mode drops what goes past 4095 bytes on one line; lines stay well under that. */
const MAX_LINE = 1000;
/** Watched files are framed under this prefix so a user's name can never pass for a kernel file kind. */
const WATCH_PREFIX = 'w.';

const mark = (nonce: string, rest: string): string => `echo '${MARKER}' ${nonce} ${rest}`;
const catPart = (nonce: string, name: string, path: string, pid?: number): string =>
  `${mark(nonce, pid === undefined ? `sec ${name}` : `sec ${name} ${pid}`)}; cat ${shellQuote(path)} 2>&1; ${mark(nonce, 'end $?')}`;

/**
 * The plan as shell lines, each a complete command list: the same markers buildSampleCommand prints
 * (a plan with nothing per-pid is exactly its output), plus per-pid and drop_caches sections it cannot express.
 * Sent in one write: one round trip.
 */
export function buildPlanCommand(nonce: string, plan: SamplePlan): string[] {
  const parts: string[] = [mark(nonce, 'begin')];
  const level = plan.reclaim?.level ?? (plan.dropCaches ? 3 : undefined);
  if (level !== undefined) {
    // Before any read, so meminfo sees the dropped caches; { } 2>&1 brings a failed redirection's error into the frame.
    parts.push(`${mark(nonce, 'sec drop_caches')}; { echo ${level} > /proc/sys/vm/drop_caches; } 2>&1; ${mark(nonce, 'end $?')}`);
  }
  for (const dir of plan.reclaim?.level === 3 ? plan.reclaim.cgroups ?? [] : []) {
    // cgroup v2 memory.reclaim answers EAGAIN when it freed less than asked: what it freed is freed, so no error is kept.
    parts.push(`${mark(nonce, 'sec drop_caches')}; { echo ${Number.MAX_SAFE_INTEGER} > ${shellQuote(`${dir}/memory.reclaim`)}; } 2>/dev/null; ${mark(nonce, 'end 0')}`);
  }
  parts.push(catPart(nonce, 'uptime', SYSTEM_PATHS.uptime), catPart(nonce, 'boot_id', SYSTEM_PATHS.boot_id));
  for (const f of plan.system) parts.push(catPart(nonce, f, SYSTEM_PATHS[f]));
  for (const w of plan.watch) {
    parts.push(w.format.kind === 'dmabuf_sysfs' || w.format.kind === 'kgsl_sysfs'
      ? `${mark(nonce, `sec ${WATCH_PREFIX}${w.name}`)}; ${treeCommand(w.format.kind, shellQuote(w.path))} 2>&1; ${mark(nonce, 'end $?')}`
      : catPart(nonce, WATCH_PREFIX + w.name, w.path));
  }
  const loop = buildProcLoop(nonce, { status: plan.status, smapsRollup: plan.rollup === 'all' });
  if (loop) parts.push(loop);
  if (plan.rollup !== 'all') for (const pid of plan.rollup) parts.push(catPart(nonce, 'smaps_rollup', `/proc/${pid}/smaps_rollup`, pid));
  for (const pid of plan.smaps) parts.push(catPart(nonce, 'smaps', `/proc/${pid}/smaps`, pid));
  parts.push(mark(nonce, 'done'));
  const lines: string[] = [];
  let line = '';
  for (const p of parts) {
    if (line !== '' && line.length + 2 + p.length > MAX_LINE) { lines.push(line); line = ''; }
    line = line === '' ? p : `${line}; ${p}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Readiness and access probe: root-only files read to /dev/null, so only their errors come back. */
function buildProbeCommand(nonce: string): string {
  const probe = (name: string, path: string): string =>
    `${mark(nonce, `sec ${name}`)}; cat ${shellQuote(path)} 2>&1 >/dev/null; ${mark(nonce, 'end $?')}`;
  return [
    mark(nonce, 'begin'),
    probe('slabinfo', SYSTEM_PATHS.slabinfo), probe('vmallocinfo', SYSTEM_PATHS.vmallocinfo),
    probe('pagetypeinfo', SYSTEM_PATHS.pagetypeinfo), probe('environ_1', '/proc/1/environ'),
    mark(nonce, 'done'),
  ].join('; ');
}

// ---------------------------------------------------------------------------------------------------------------
// FramedSample -> TargetSample, through the same toSnapshot as capture logs.

export interface SampleTiming { sentAtMs: number; doneAtMs: number }

function processOf(snap: Snapshot, pid: number): ProcessSample {
  let p = snap.processes.find((x) => x.pid === pid);
  if (!p) { p = { pid, comm: String(pid) }; snap.processes.push(p); }
  return p;
}

/** Builds the TargetSample of a framed sample: parsed snapshot, raw text, what was skipped and unreadable. */
export function framedToTargetSample(framed: FramedSample, plan: SamplePlan, timing: SampleTiming, root?: boolean): TargetSample {
  const raw: RawFile[] = [];
  const forSnapshot: Section[] = [];
  const smaps: Section[] = [];
  const watched: Section[] = [];
  let uptimeSec: number | undefined;
  let bootId: string | undefined;
  for (const s of framed.sections) {
    // smaps is kept as kind 'file', as it was before it became a section kind (local_target.ts does the same).
    const r: RawFile = { kind: s.kind === 'smaps' ? 'file' : s.kind, name: s.name, text: sectionText(s) };
    if (s.pid !== undefined) r.pid = s.pid;
    raw.push(r);
    if (s.kind === 'uptime') uptimeSec ??= parseUptime(s.lines[0] ?? '');
    else if (s.kind === 'boot_id') bootId ??= parseBootId(s.lines[0] ?? '');
    if (s.kind === 'smaps' && s.pid !== undefined) {
      smaps.push(s);
      continue;
    }
    if (s.kind === 'file') {
      if (s.name.startsWith(WATCH_PREFIX)) watched.push(s);
      continue; // drop_caches: nothing to parse
    }
    // Kernel threads: an empty smaps_rollup means no user memory, not zero of it.
    if (s.kind === 'smaps_rollup' && s.lines.every((l) => l.trim() === '')) continue;
    forSnapshot.push(s);
  }
  const takenAtMs = Math.round((timing.sentAtMs + timing.doneAtMs) / 2);
  const timestamp: { sec: number; source: 'date'; epochMs: number; uptimeSec?: number; bootId?: string } =
    { sec: takenAtMs / 1000, source: 'date', epochMs: takenAtMs };
  if (uptimeSec !== undefined) timestamp.uptimeSec = uptimeSec;
  if (bootId !== undefined) timestamp.bootId = bootId;
  const snapshot = toSnapshot({ index: plan.index, firstLine: 1, sections: forSnapshot, timestamp, warnings: framed.warnings });

  for (const s of smaps) {
    const parsed = parseSmaps(sectionText(s));
    const p = processOf(snapshot, s.pid as number);
    p.smaps = parsed.value;
    p.memory = summarizeMappings(parsed.value.mappings);
    for (const w of parsed.warnings) snapshot.warnings.push({ ...w, source: `/proc/${s.pid}/smaps` });
  }
  if (watched.length > 0 || plan.watch.length > 0) snapshot.watched = [];
  for (const s of watched) {
    const name = s.name.slice(WATCH_PREFIX.length);
    const spec = plan.watch.find((w) => w.name === name);
    if (!spec) continue;
    const r = reduceWatched(sectionText(s), spec.format, spec.path);
    snapshot.watched?.push({ name, values: r.value });
    for (const w of r.warnings) snapshot.warnings.push({ ...w, source: spec.path });
  }

  const unreadable: UnreadableRead[] = [];
  let goneProcs = 0;
  for (const u of framed.unreadable) {
    const name = u.name.startsWith(WATCH_PREFIX) ? u.name.slice(WATCH_PREFIX.length) : u.name;
    const out: UnreadableRead = { name, error: u.error };
    if (u.pid !== undefined) {
      out.pid = u.pid;
      if (/no such file|no such process/i.test(u.error)) { goneProcs++; continue; } // exited mid-sample: routine
    } else {
      const spec = plan.watch.find((w) => w.name === name);
      const source = spec ? spec.path : (SYSTEM_PATHS as Record<string, string>)[name] ?? name;
      snapshot.warnings.push({ ...warning(0, u.error, `unreadable on the target (exit status ${u.exitStatus})`, 'data-loss'), source });
    }
    unreadable.push(out);
  }
  const denied = unreadable.filter((u) => u.pid !== undefined);
  if (denied.length > 0) {
    snapshot.warnings.push({
      ...warning(0, denied.slice(0, 10).map((u) => `${u.pid}`).join(', '), `${denied.length} per-process files unreadable (other users' processes need root)`, 'data-loss'),
      source: '/proc/*/smaps_rollup',
    });
  }
  if (goneProcs > 0) snapshot.warnings.push({ ...warning(0, '', `${goneProcs} processes exited while being read`, 'info'), source: '/proc' });
  return {
    snapshot, raw, skipped: [...plan.skipped], unreadable, lost: describeLost(unreadable, root),
    durationMs: timing.doneAtMs - timing.sentAtMs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Transport-independent session: handshake, round trips, timeouts, reconnection.

/** An open byte stream to a shell. */
export interface Link {
  write(text: string): void;
  close(): Promise<void>;
  /** Last stderr / diagnostic text, for error messages. */
  diagnostics(): string;
}

export interface LinkHandlers {
  onText(text: string): void;
  onClose(reason: string): void;
}

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Fraction of the delay randomised either way (0.2: +-20%), so many recorders do not retry in step. */
  jitter?: number;
}

/** Delay before reconnection attempt n (1-based): initial x factor^(n-1), capped, jittered. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = o.initialMs ?? 500;
  const max = o.maxMs ?? 30_000;
  const jitter = o.jitter ?? 0.2;
  const base = Math.min(max, initial * (o.factor ?? 2) ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}

export interface FramedTargetOptions {
  name: string;
  connectTimeoutMs?: number;
  sampleTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** How long sample() waits for a reconnection in progress before giving up with "link-down". */
  waitForLinkMs?: number;
}

export interface AccessReport {
  /** /proc/1/environ or /proc/slabinfo readable: root (or CAP_SYS_PTRACE-like). */
  root: boolean;
  unreadable: UnreadableRead[];
  lost: string[];
}

const TAIL_CHARS = 8192;

type Pending = { nonce: string; resolve: (s: FramedSample) => void; reject: (e: Error) => void };

/** Abstract base: subclasses open the transport and may answer prompts (login) during the handshake. */
export abstract class FramedTarget implements Target {
  readonly name: string;
  protected readonly opts: Required<Omit<FramedTargetOptions, 'backoff'>> & { backoff: BackoffOptions };
  private link: Link | undefined;
  private state: 'idle' | 'up' | 'down' | 'closed' = 'idle';
  private readonly events = new LinkEvents();
  private readonly parser = new FrameParser(newNonce());
  private pending: Pending | undefined;
  private downAtMs = 0;
  /** When the last sample (or the connection) succeeded: a gap starts there, not when its timeout fired. */
  private lastGoodAtMs: number | undefined;
  private downReason = '';
  private pendingGap: LinkGap | undefined;
  private reconnecting: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** A sample is waiting for the link: the reconnection loop's next sleep is skipped. */
  private hurry = false;
  private busy = false;
  private access_: AccessReport | undefined;
  /** Called with every chunk while connecting (login prompts); set by the handshake. */
  private handshakeListener: ((text: string) => void) | undefined;

  protected constructor(options: FramedTargetOptions) {
    this.name = options.name;
    this.opts = {
      name: options.name,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      sampleTimeoutMs: options.sampleTimeoutMs ?? 30_000,
      waitForLinkMs: options.waitForLinkMs ?? 10_000,
      backoff: options.backoff ?? {},
    };
  }

  /** Opens the transport; text and close go to the handlers. */
  protected abstract openLink(handlers: LinkHandlers): Promise<Link>;

  /**
   * Brings an opened link to a shell that answers: by default sends the probe until it is echoed back.
   * Serial overrides it to answer login prompts first.
   */
  protected async handshake(link: Link, deadline: number): Promise<void> {
    await this.probeReady(link, deadline, 0);
  }

  /**
   * Sets up the shell, then sends `echo '@@ms' NONCE ready` until it comes back: once at once, or (resendMs > 0)
   * first after resendMs / 2 and then every resendMs, postponed whenever onChunk answers a prompt, so a probe is
   * not typed into a login or password prompt.
   */
  protected async probeReady(link: Link, deadline: number, resendMs: number, onChunk?: (tail: string) => string | undefined): Promise<void> {
    const nonce = newNonce();
    const want = `${MARKER} ${nonce} ready`;
    // An empty prompt keeps "@@ms" lines at the start of their line on interactive shells; saved once, restored on close.
    const setup = `stty -echo 2>/dev/null; [ -n "\${_ms_saved+x}" ] || { _ms_saved=1; _ms_ps1=$PS1; _ms_ps2=$PS2; }; PS1=''; PS2=''; ${mark(nonce, 'ready')}\n`;
    let tail = '';
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let resend: NodeJS.Timeout | undefined;
      const schedule = (ms: number): void => {
        clearTimeout(resend);
        resend = setTimeout(() => { link.write(setup); schedule(resendMs); }, ms);
      };
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        clearTimeout(resend);
        this.handshakeListener = undefined;
        this.failHandshake = undefined;
        if (err) reject(err); else resolve();
      };
      this.handshakeListener = (text) => {
        tail = (tail + text).slice(-TAIL_CHARS);
        if (tail.includes(want)) { finish(); return; }
        try {
          const answer = onChunk?.(tail);
          if (answer !== undefined) {
            tail = '';
            link.write(answer);
            if (resendMs > 0) schedule(resendMs);
          }
        } catch (err) {
          finish(err as Error);
        }
      };
      timer = setTimeout(() => finish(new TargetError(
        `Cannot reach a shell on target "${this.name}": no answer to the readiness probe within ${this.opts.connectTimeoutMs} ms${this.detail(link, tail)}`, 'connect-timeout')),
      Math.max(0, deadline - Date.now()));
      this.failHandshake = finish;
      if (resendMs > 0) schedule(resendMs / 2);
      else link.write(setup);
    });
  }

  private failHandshake: ((err?: Error) => void) | undefined;

  private detail(link: Link, tail: string): string {
    const d = link.diagnostics().trim() || tail.replace(/\s+/g, ' ').trim().slice(-200);
    return d ? ` (last output: "${d}")` : '';
  }

  /** Opens the link and waits for the shell; the first connection fails fast, reconnections back off. */
  async connect(): Promise<void> {
    if (this.state !== 'idle') throw new TargetError(`Target "${this.name}" is already connected`, 'state');
    await this.open();
    this.state = 'up';
    this.access_ = await this.probeAccess();
    this.lastGoodAtMs = Date.now();
  }

  /** Connects a freshly built target, closing it again when the first connection fails (no child left behind). */
  protected static async connected<T extends FramedTarget>(t: T): Promise<T> {
    try {
      await t.connect();
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /** Root and what is lost without it, from the probe made on connection. */
  get access(): AccessReport | undefined {
    return this.access_;
  }

  private async open(): Promise<void> {
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    let closedReason: string | undefined;
    let link: Link | undefined;
    const handlers: LinkHandlers = {
      onText: (text) => {
        if (this.link === link) this.onText(text);
      },
      onClose: (reason) => {
        closedReason = reason;
        if (this.link !== link) return;
        if (this.failHandshake) this.failHandshake(new TargetError(`Cannot reach a shell on target "${this.name}": ${reason}`, 'connect'));
        else this.linkLost(reason);
      },
    };
    link = await this.openLink(handlers);
    this.link = link;
    try {
      if (closedReason !== undefined) throw new TargetError(`Cannot reach a shell on target "${this.name}": ${closedReason}`, 'connect');
      await this.handshake(link, deadline);
    } catch (err) {
      this.link = undefined;
      await link.close();
      throw err;
    } finally {
      this.failHandshake = undefined;
    }
  }

  private onText(text: string): void {
    if (this.handshakeListener) { this.handshakeListener(text); return; }
    const p = this.pending;
    if (!p) return;
    for (const s of this.parser.feed(text)) {
      if (s.nonce === p.nonce && s.complete) { this.pending = undefined; p.resolve(s); return; }
    }
  }

  /** The link went away under us: record when, tell listeners, start reconnecting. */
  private linkLost(reason: string): void {
    if (this.state !== 'up') return;
    const link = this.link;
    this.link = undefined;
    this.state = 'down';
    const now = Date.now();
    // A hung shell is noticed only when its sample times out: nothing came since the last good sample.
    this.downAtMs = Math.min(now, this.lastGoodAtMs ?? now);
    this.downReason = reason;
    this.events.emit({ kind: 'down', atMs: now, reason });
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new TargetError(`Lost the link to target "${this.name}" during a sample: ${reason}`, 'link-down'));
    this.reconnecting = (async () => {
      if (link) await link.close();
      await this.reconnectLoop();
    })();
  }

  private async reconnectLoop(): Promise<void> {
    for (let attempt = 1; this.state === 'down'; attempt++) {
      const delayMs = backoffDelay(attempt, this.opts.backoff);
      await this.sleep(delayMs);
      if (this.state !== 'down') return;
      try {
        await this.open();
      } catch (err) {
        this.events.emit({ kind: 'retry', atMs: Date.now(), attempt, delayMs, error: (err as Error).message });
        continue;
      }
      if (this.state !== 'down') { await this.link?.close(); this.link = undefined; return; }
      this.state = 'up';
      this.hurry = false;
      const gap: LinkGap = { downAtMs: this.downAtMs, upAtMs: Date.now(), reason: this.downReason, attempts: attempt };
      this.pendingGap = gap;
      this.events.emit({ kind: 'up', atMs: gap.upAtMs, gap });
      return;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.hurry) { this.hurry = false; resolve(); return; }
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
    });
  }

  onLink(listener: (e: LinkEvent) => void): () => void {
    return this.events.on(listener);
  }

  async sample(plan: SamplePlan): Promise<TargetSample> {
    if (this.state === 'closed') throw new TargetError(`Target "${this.name}" is closed`, 'closed');
    if (this.state === 'idle') throw new TargetError(`Target "${this.name}" is not connected`, 'state');
    if (this.busy) throw new TargetError(`Target "${this.name}" is already taking a sample`, 'busy');
    this.busy = true;
    try {
      if (this.state === 'down') await this.waitForLink();
      const link = this.link;
      if (this.state !== 'up' || !link) {
        throw new TargetError(`Cannot sample target "${this.name}": the link is down since ${new Date(this.downAtMs).toISOString()} (${this.downReason}); reconnecting`, 'link-down');
      }
      const nonce = newNonce();
      this.parser.expect(nonce);
      const sentAtMs = Date.now();
      const framed = await new Promise<FramedSample>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending = undefined;
          reject(new TargetError(`Target "${this.name}" did not finish a sample within ${this.opts.sampleTimeoutMs} ms; reconnecting`, 'timeout'));
          this.linkLost(`no answer within ${this.opts.sampleTimeoutMs} ms`);
        }, this.opts.sampleTimeoutMs);
        this.pending = {
          nonce,
          resolve: (s) => { clearTimeout(timer); resolve(s); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        };
        link.write(`${buildPlanCommand(nonce, plan).join('\n')}\n`);
      });
      const doneAtMs = Date.now();
      this.lastGoodAtMs = doneAtMs;
      const out = framedToTargetSample(framed, plan, { sentAtMs, doneAtMs }, this.access_?.root);
      if (this.pendingGap) { out.gap = this.pendingGap; this.pendingGap = undefined; }
      return out;
    } finally {
      this.busy = false;
    }
  }

  /**
   * A sample is due while the link is down: try now instead of at the end of the backoff (which grows to
   * 30 s), so a link that came back is used within one sampling interval; retries stay at most one per sample.
   */
  private async waitForLink(): Promise<void> {
    const r = this.reconnecting;
    if (!r) return;
    // Cuts the backoff sleep short, or skips the next one when the old link is still being closed.
    if (this.wake) this.wake(); else this.hurry = true;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([r, new Promise<void>((resolve) => { t = setTimeout(resolve, this.opts.waitForLinkMs); })]);
    clearTimeout(t);
  }

  private async probeAccess(): Promise<AccessReport> {
    const link = this.link;
    if (!link) throw new TargetError(`Target "${this.name}" is not connected`, 'state');
    const nonce = newNonce();
    this.parser.expect(nonce);
    const framed = await new Promise<FramedSample>((resolve, reject) => {
      const timer = setTimeout(() => { this.pending = undefined; reject(new TargetError(`Target "${this.name}" did not answer the access probe within ${this.opts.sampleTimeoutMs} ms`, 'timeout')); }, this.opts.sampleTimeoutMs);
      this.pending = { nonce, resolve: (s) => { clearTimeout(timer); resolve(s); }, reject: (e) => { clearTimeout(timer); reject(e); } };
      link.write(`${buildProbeCommand(nonce)}\n`);
    });
    const failed = new Map(framed.unreadable.map((u) => [u.name, u.error]));
    const root = !failed.has('environ_1') || !failed.has('slabinfo');
    const unreadable: UnreadableRead[] = [...failed].filter(([n]) => n !== 'environ_1').map(([name, error]) => ({ name, error }));
    if (!root) unreadable.push({ name: 'smaps_rollup', pid: 1, error: failed.get('environ_1') ?? 'permission denied' });
    return { root, unreadable, lost: describeLost(unreadable, root) };
  }

  /** Restores the prompt and echo (leave no trace), then closes the link; stops any reconnection. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    this.wake?.();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new TargetError(`Target "${this.name}" was closed during a sample`, 'closed'));
    const link = this.link;
    this.link = undefined;
    if (link) {
      if (wasUp) link.write(`PS1=$_ms_ps1; PS2=$_ms_ps2; unset _ms_saved _ms_ps1 _ms_ps2; stty echo 2>/dev/null\n`);
      await link.close();
    }
    await this.reconnecting;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// --via CMD

export interface ShellTargetOptions extends Omit<FramedTargetOptions, 'name'> {
  /** The command line that gives a shell: "ssh root@board", "adb shell", "sh". */
  via: string;
  name?: string;
}

/** How long an exited command's stderr may take to deliver its last bytes before the exit is reported without them. */
const STDERR_GRACE_MS = 500;

class ChildLink implements Link {
  private stderrTail = '';
  private readonly exited: Promise<void>;
  constructor(private readonly child: ChildProcess, handlers: LinkHandlers, argv0: string) {
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    let closed = false;
    const closeOnce = (reason: string): void => {
      if (closed) return;
      closed = true;
      handlers.onClose(reason);
    };
    child.stdout?.on('data', (b: Buffer) => handlers.onText(out.write(b)));
    child.stderr?.on('data', (b: Buffer) => { this.stderrTail = (this.stderrTail + err.write(b)).slice(-2000); });
    child.stdin?.on('error', () => { /* EPIPE after the child died: reported by 'exit' */ });
    this.exited = new Promise((resolve) => {
      child.on('error', (e) => { closeOnce(`cannot run "${argv0}": ${e.message}`); resolve(); });
      // 'exit', not 'close': a grandchild stuck in a cat (a FIFO, a hung driver) keeps the pipes open after the shell died.
      child.on('exit', (code, signal) => {
        const report = (): void => {
          const last = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
          closeOnce(`"${argv0}" exited (${signal ?? `status ${code}`})${last ? `: ${last}` : ''}`);
          child.stdout?.destroy();
          child.stderr?.destroy();
          resolve();
        };
        // The command's last words ("board unreachable") can still be in the pipe when 'exit' comes: the two race,
        // and on a loaded machine 'exit' wins. Wait for stderr's end, but briefly: a grandchild may hold it open.
        const stderr = child.stderr;
        if (stderr === null || stderr.readableEnded || stderr.destroyed) { report(); return; }
        const grace = setTimeout(report, STDERR_GRACE_MS);
        stderr.once('close', () => { clearTimeout(grace); report(); });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  write(text: string): void {
    if (this.child.stdin?.writable) this.child.stdin.write(text);
  }

  diagnostics(): string {
    return this.stderrTail;
  }

  /** EOF first (the shell exits on its own), then TERM, then KILL, to the whole process group (a stuck cat too). */
  async close(): Promise<void> {
    const c = this.child;
    const pid = c.pid;
    if (pid === undefined) { await this.exited; return; }
    const signalGroup = (sig: NodeJS.Signals): void => {
      try { process.kill(-pid, sig); } catch { /* group gone */ }
    };
    if (c.exitCode !== null || c.signalCode !== null) { signalGroup('SIGKILL'); await this.exited; return; }
    c.stdin?.end();
    const waited = (ms: number): Promise<boolean> => new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      void this.exited.then(() => { clearTimeout(t); resolve(true); });
    });
    if (!(await waited(1000))) {
      signalGroup('SIGTERM');
      if (!(await waited(2000))) signalGroup('SIGKILL');
    }
    await this.exited;
    signalGroup('SIGKILL');
  }
}

export class ShellTarget extends FramedTarget {
  private readonly argv: string[];
  private current: ChildLink | undefined;

  private constructor(options: ShellTargetOptions) {
    const argv = splitShellWords(options.via);
    if (argv.length === 0) throw new InputError('Cannot use --via "": no command given');
    super({ ...options, name: options.name ?? options.via });
    this.argv = argv;
  }

  /** Spawns the command, waits for its shell, probes access. Throws TargetError when no shell answers. */
  static connect(options: ShellTargetOptions): Promise<ShellTarget> {
    return FramedTarget.connected(new ShellTarget(options));
  }

  protected openLink(handlers: LinkHandlers): Promise<Link> {
    const [cmd = '', ...args] = this.argv;
    // Own process group, so a close can take down what the shell started (a cat stuck on a FIFO).
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const link = new ChildLink(child, handlers, cmd);
    this.current = link;
    return Promise.resolve(link);
  }

  /** Pid of the current `--via` process (tests kill it to simulate a dropped link). */
  get childPid(): number | undefined {
    return this.current?.pid;
  }
}
