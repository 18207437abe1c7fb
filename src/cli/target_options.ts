/**
 * The flags every live command shares (--via, --serial, --pid, --watch-file, ...) and the Target and
 * SamplePlanner they describe. A remote target runs only sh, cat and echo; nothing is installed on it.
 */
import type { Command } from 'commander';
import { InputError } from '../model/errors.js';
import { checked, count, pid, repeated } from './option_types.js';
import { parseWatchSpec } from '../sources/watch_file.js';
import type { SystemFile, Target, TargetSample } from '../sources/target.js';
import type { SamplePlanner } from '../sources/sample_planner.js';

export interface TargetFlags {
  via?: string;
  serial?: string;
  baud: number;
  login?: string;
  pid: number[];
  comm: string[];
  watchFile: string[];
  dropCaches?: boolean;
  proc: string;
  name?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const checkWatchSpec = (spec: string): string => { parseWatchSpec(spec); return spec; };

/** How to reach a remote target: the flags of every command that reads a live machine. */
export function addRemoteOptions(cmd: Command): Command {
  return cmd
    .option('--via <command>', 'a command that gives a shell on the target: "ssh root@board", "adb shell", "sh"')
    .option('--serial <device>', 'a serial console: /dev/ttyUSB0')
    .option('--baud <rate>', 'serial line speed', count('--baud'), 115200)
    .option('--login <user[:password]>', 'answer a login prompt on the serial console');
}

export function addTargetOptions(cmd: Command): Command {
  return addRemoteOptions(cmd)
    .option('--pid <pid>', 'also read the full per-mapping smaps of this process (repeatable)', repeated(pid('--pid')), [])
    .option('--comm <name>', 'also read the full smaps of processes with this name (repeatable)', collect, [])
    .option('--watch-file <path[:format]>', 'add a file to every sample; format kv, table, count:REGEX, dmabuf (debugfs dma_buf/bufinfo), ion (debugfs ion/heaps/NAME) or mali (debugfs mali0/gpu_memory); /sys/kernel/dmabuf/buffers and /sys/class/kgsl/kgsl/proc are read as trees (dmabuf_sysfs, kgsl_sysfs) (repeatable)', repeated(checked(checkWatchSpec)), [])
    .option('--drop-caches', 'echo 3 > /proc/sys/vm/drop_caches before each sample (root; changes the target\'s state)')
    .option('--proc <dir>', 'local only: read this /proc tree instead of /proc', '/proc')
    .option('--name <name>', 'what to call the target in the database and reports');
}

export async function openTarget(f: TargetFlags): Promise<{ target: Target; via?: string }> {
  if (f.via !== undefined && f.serial !== undefined) throw new InputError('Give --via or --serial, not both');
  if (f.via !== undefined) {
    if (f.via.trim() === '') throw new InputError('--via needs a command, for example --via "ssh root@board"');
    const { ShellTarget, splitShellWords } = await import('../sources/shell.js');
    const name = f.name ?? targetNameOf(splitShellWords(f.via));
    return { target: await ShellTarget.connect({ via: f.via, name }), via: f.via };
  }
  if (f.serial !== undefined) {
    const baudRate = f.baud;
    const { SerialTarget, parseLogin } = await import('../sources/serial.js');
    const target = await SerialTarget.connect({
      path: f.serial, baudRate, ...(f.login ? { login: parseLogin(f.login) } : {}), ...(f.name ? { name: f.name } : {}),
    });
    return { target, via: f.serial };
  }
  const { LocalTarget } = await import('../sources/local_target.js');
  return { target: new LocalTarget({ procRoot: f.proc, ...(f.name ? { name: f.name } : {}) }) };
}

/** A short name for a --via command: the user@host of ssh-like commands, else the command itself ("adb shell"). */
export function targetNameOf(argv: readonly string[]): string {
  const host = argv.find((w, i) => i > 0 && w.includes('@') && !w.startsWith('-'));
  return host ?? argv.filter((w) => !w.startsWith('-')).slice(0, 2).join(' ');
}

export async function makePlanner(f: TargetFlags): Promise<SamplePlanner> {
  const { SamplePlanner } = await import('../sources/sample_planner.js');
  const { parseWatchSpecs } = await import('../sources/watch_file.js');
  return new SamplePlanner({
    smapsPids: f.pid, smapsComms: f.comm, watch: parseWatchSpecs(f.watchFile), dropCaches: f.dropCaches === true,
    ...(f.via === undefined && f.serial === undefined ? { ownPid: process.pid } : {}),
  });
}

export type RemoteFlags = Pick<TargetFlags, 'via' | 'serial' | 'login' | 'name'> & { baud?: number };

/**
 * One snapshot of a remote target (--via or --serial) through the same capture path as `record`: every system
 * file, every process's status and smaps_rollup. Undefined when no remote flag was given (the caller reads /proc).
 */
export async function remoteSnapshot(f: RemoteFlags, want: { system: readonly SystemFile[]; rollup: boolean }): Promise<TargetSample | undefined> {
  if (f.via === undefined && f.serial === undefined) return undefined;
  const { target } = await openTarget({ ...f, baud: f.baud ?? 115200, pid: [], comm: [], watchFile: [], proc: '/proc' });
  try {
    return await target.sample({
      index: 0, system: want.system, status: true, rollup: want.rollup ? 'all' : [], smaps: [], watch: [], dropCaches: false, skipped: [],
    });
  } finally {
    await target.close();
  }
}
