/**
 * What a tracer needs from the machine it works on: run a program, read a file, write a file. The local
 * implementation uses node:fs and execFile with argv arrays (never a shell string); a remote shell (ssh, adb,
 * serial) implements the same three calls later, so the drivers do not change.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { TargetError } from '../model/errors.js';
import type { UndoStack } from './undo.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; 127 when the program is not there, 124 when it was stopped after the timeout. */
  code: number;
}

export interface TargetShell {
  /** Runs argv[0] with the rest as arguments. Never throws for a non-zero exit: the code says it. */
  run(argv: string[]): Promise<RunResult>;
  /** The whole file as text, or undefined when it cannot be read (missing, permission, EBUSY, EINVAL). */
  readFile(path: string): Promise<string | undefined>;
  /** Writes text to the file in one write() (sysfs/debugfs commands); throws TargetError with the reason. */
  writeFile(path: string, text: string): Promise<void>;
  /** Shown in messages: "this machine", "cam-01". */
  readonly name: string;
}

export interface LocalShellOptions {
  /** Per-command timeout in milliseconds; 0 waits forever (workloads). Default 0. */
  timeoutMs?: number;
}

const MAX_OUTPUT = 256 * 1024 * 1024;

/** Errno codes of a failed sysfs/debugfs write, in the words the kernel means them. */
const WRITE_ERRNO: Record<string, string> = {
  EACCES: 'permission denied (run as root)',
  EPERM: 'operation not permitted (root? or the feature is disabled)',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument (this kernel does not accept that command)',
  ENOENT: 'no such file',
  EROFS: 'read-only file system',
};

export class LocalShell implements TargetShell {
  readonly name = 'this machine';
  constructor(private readonly options: LocalShellOptions = {}) {}

  run(argv: string[]): Promise<RunResult> {
    const [file, ...args] = argv;
    if (file === undefined) return Promise.resolve({ stdout: '', stderr: 'empty command', code: 127 });
    return new Promise((resolve) => {
      execFile(file, args, { encoding: 'utf8', maxBuffer: MAX_OUTPUT, timeout: this.options.timeoutMs ?? 0 }, (err, stdout, stderr) => {
        if (err === null) { resolve({ stdout, stderr, code: 0 }); return; }
        const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') { resolve({ stdout, stderr: `${file}: not found`, code: 127 }); return; }
        if (e.killed === true && e.signal === 'SIGTERM' && (this.options.timeoutMs ?? 0) > 0) { resolve({ stdout, stderr, code: 124 }); return; }
        if (typeof e.code === 'number') { resolve({ stdout, stderr, code: e.code }); return; }
        resolve({ stdout, stderr: stderr !== '' ? stderr : e.message, code: e.signal != null ? 128 : 1 });
      });
    });
  }

  async readFile(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
  }

  async writeFile(path: string, text: string): Promise<void> {
    try {
      await writeFile(path, text);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      throw new TargetError(`Cannot write "${text.trim()}" to "${path}" on ${this.name}: ${WRITE_ERRNO[code] ?? (err as Error).message}`, code === '' ? 'write' : code);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Small target facts both kernel drivers need.

/** The running kernel's build config (/boot/config-$(uname -r), else /proc/config.gz), or undefined. */
export async function readKernelConfig(shell: TargetShell): Promise<string | undefined> {
  const rel = await shell.run(['uname', '-r']);
  const release = rel.code === 0 ? rel.stdout.trim() : '';
  if (release !== '' && !release.includes('/')) {
    const boot = await shell.readFile(`/boot/config-${release}`);
    if (boot !== undefined && boot !== '') return boot;
  }
  const z = await shell.run(['zcat', '/proc/config.gz']);
  return z.code === 0 && z.stdout !== '' ? z.stdout : undefined;
}

/** 'y' / 'm' / 'n' (the "# CONFIG_X is not set" line) / undefined (no config, or the option does not exist there). */
export function configOption(config: string | undefined, name: string): 'y' | 'm' | 'n' | undefined {
  if (config === undefined) return undefined;
  const m = new RegExp(`^(?:${name}=(\\S+)|# ${name} is not set)$`, 'm').exec(config);
  if (!m) return undefined;
  if (m[1] === undefined) return 'n';
  return m[1] === 'm' ? 'm' : 'y';
}

export const DEBUGFS = '/sys/kernel/debug';

/** Whether debugfs is mounted at /sys/kernel/debug (from /proc/mounts). */
export async function debugfsMounted(shell: TargetShell): Promise<boolean> {
  const mounts = await shell.readFile('/proc/mounts');
  return mounts !== undefined && mounts.split('\n').some((l) => {
    const f = l.split(' ');
    return f[1] === DEBUGFS && f[2] === 'debugfs';
  });
}

/** The one mount a kernel driver may need; unmounted again by the undo stack when we mounted it. */
export async function ensureDebugfs(
  shell: TargetShell,
  mounted: boolean,
  undo: UndoStack,
  log: (line: string) => void = (): void => undefined,
): Promise<void> {
  if (mounted) return;
  const r = await shell.run(['mount', '-t', 'debugfs', 'nodev', DEBUGFS]);
  if (r.code !== 0) {
    throw new TargetError(`Cannot mount debugfs on "/sys/kernel/debug" on ${shell.name}: ${r.stderr.trim() || `mount exited with ${r.code}`} (root needed; kernels built with CONFIG_DEBUG_FS_DISALLOW_MOUNT refuse)`, 'debugfs');
  }
  log('mounted debugfs on /sys/kernel/debug (will unmount when done)');
  undo.push({
    label: 'unmount debugfs from /sys/kernel/debug',
    byHand: 'umount /sys/kernel/debug',
    run: async () => {
      const u = await shell.run(['umount', DEBUGFS]);
      if (u.code === 0) return;
      // A scan still holding the kmemleak file open makes the mount busy: detach it lazily instead.
      const lazy = await shell.run(['umount', '-l', DEBUGFS]);
      if (lazy.code !== 0) throw new Error(u.stderr.trim() || lazy.stderr.trim() || `umount exited with ${u.code}`);
    },
  });
}
