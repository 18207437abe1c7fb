/**
 * Reads this machine's memory files into one Snapshot. Roots are injectable (STYLE.md, rule 9), so the same
 * code runs on a fixture tree in tests and on a /proc copied off a board.
 * A file that cannot be read becomes a warning in the snapshot, never a crash.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Parsed } from '../model/parsed.js';
import type { ProcessSample, Snapshot, SnapshotWarning } from '../model/snapshot.js';
import { parseMeminfo } from '../parse/meminfo.js';
import { parseSlabinfo } from '../parse/slabinfo.js';
import { parseVmallocinfo } from '../parse/vmallocinfo.js';
import { parseBuddyinfo } from '../parse/buddyinfo.js';
import { parseZoneinfo } from '../parse/zoneinfo.js';
import { parseVmstat } from '../parse/vmstat.js';
import { parseStatus } from '../parse/status.js';
import { parseSmapsRollup } from '../parse/smaps_rollup.js';
import { parseSmaps, summarizeMappings } from '../parse/smaps.js';

export interface LocalSourceOptions {
  procRoot?: string;
  /** Which system files to read; vmallocinfo costs most of the read time, so callers may skip it. */
  system?: { vmallocinfo?: boolean; slabinfo?: boolean; zoneinfo?: boolean; buddyinfo?: boolean; vmstat?: boolean };
  /** 'rollup': status + smaps_rollup of every process (procrank's view); 'status': cheap counters only; 'none'. */
  processes?: 'rollup' | 'status' | 'none';
  /** Processes whose full per-mapping smaps is wanted. */
  smapsPids?: ReadonlySet<number>;
  pageSize?: number;
  now?: () => number;
  /** Receives the text of each system file read, for the store's raw archive (a future parser can re-read it). */
  onRawText?: (name: string, text: string) => void;
}

type ReadResult = { text: string } | { error: string };

/** Why a file could not be read, in the words an engineer needs. */
function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied (the file is readable by root only)';
  if (code === 'ENOENT') return 'not present (this kernel does not provide it, or the process exited)';
  return (err as Error).message;
}

/**
 * One reused buffer for every /proc read: procfs files report size 0, so readFileSync stats, allocates and
 * reads twice per file; with hundreds of processes a sample that is most of the cost of `ps`.
 */
let readBuffer = Buffer.allocUnsafe(1 << 16);

function read(path: string): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { error: describeReadError(err) };
  }
  try {
    let n = 0;
    for (;;) {
      if (n === readBuffer.length) {
        const bigger = Buffer.allocUnsafe(readBuffer.length * 2);
        readBuffer.copy(bigger, 0, 0, n);
        readBuffer = bigger;
      }
      const got = readSync(fd, readBuffer, n, readBuffer.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return { text: readBuffer.toString('latin1', 0, n) };
  } catch (err) {
    return { error: describeReadError(err) };
  } finally {
    closeSync(fd);
  }
}

export function takeLocalSnapshot(options: LocalSourceOptions = {}): Snapshot {
  const proc = options.procRoot ?? '/proc';
  const want = { vmallocinfo: true, slabinfo: true, zoneinfo: true, buddyinfo: true, vmstat: true, ...options.system };
  const warnings: SnapshotWarning[] = [];
  const snapshot: Snapshot = { takenAtMs: (options.now ?? Date.now)(), target: {}, processes: [], warnings };

  const parseFile = <T>(name: string, parse: (text: string) => Parsed<T>, required: boolean): T | undefined => {
    const path = join(proc, name);
    const r = read(path);
    if ('error' in r) {
      warnings.push({ source: path, line: 0, text: '', reason: `cannot read: ${r.error}`, severity: required ? 'data-loss' : 'info' });
      return undefined;
    }
    options.onRawText?.(name, r.text);
    const parsed = parse(r.text);
    for (const w of parsed.warnings) warnings.push({ source: path, ...w });
    return parsed.value;
  };

  const uptime = read(join(proc, 'uptime'));
  if ('text' in uptime) {
    const sec = Number.parseFloat(uptime.text);
    if (Number.isFinite(sec)) snapshot.target.uptimeSec = sec;
  }
  const bootId = read(join(proc, 'sys/kernel/random/boot_id'));
  if ('text' in bootId) snapshot.target.bootId = bootId.text.trim();
  if (options.pageSize !== undefined) snapshot.pageSize = options.pageSize;
  const pageSize = options.pageSize !== undefined ? { pageSize: options.pageSize } : {};

  const setIf = <K extends keyof Snapshot>(key: K, value: Snapshot[K] | undefined): void => {
    if (value !== undefined) snapshot[key] = value;
  };
  setIf('meminfo', parseFile('meminfo', parseMeminfo, true));
  if (want.slabinfo) setIf('slabinfo', parseFile('slabinfo', (t) => parseSlabinfo(t, pageSize), true));
  if (want.vmallocinfo) setIf('vmallocinfo', parseFile('vmallocinfo', parseVmallocinfo, false));
  if (want.buddyinfo) setIf('buddyinfo', parseFile('buddyinfo', parseBuddyinfo, false));
  if (want.zoneinfo) setIf('zoneinfo', parseFile('zoneinfo', (t) => parseZoneinfo(t, pageSize), false));
  if (want.vmstat) setIf('vmstat', parseFile('vmstat', parseVmstat, false));

  const mode = options.processes ?? 'rollup';
  if (mode !== 'none') snapshot.processes = readProcesses(proc, mode, options.smapsPids, warnings);
  return snapshot;
}

function listPids(proc: string): number[] {
  try {
    return readdirSync(proc).filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

function readProcesses(
  proc: string, mode: 'rollup' | 'status', smapsPids: ReadonlySet<number> | undefined, warnings: SnapshotWarning[],
): ProcessSample[] {
  const out: ProcessSample[] = [];
  const unreadable: string[] = [];
  for (const pid of listPids(proc)) {
    const dir = join(proc, String(pid));
    const status = read(join(dir, 'status'));
    if ('error' in status) continue; // the process exited between readdir and read
    const st = parseStatus(status.text, { rawFields: false }).value;
    const sample: ProcessSample = { pid, comm: st.name ?? String(pid), status: st };
    // Kernel threads have no user memory: no Vm* lines in status, an empty smaps_rollup.
    const isKernelThread = st.bytes['VmSize'] === undefined;
    if (mode === 'rollup' && !isKernelThread) {
      const wantSmaps = smapsPids?.has(pid) ?? false;
      const rollup = wantSmaps ? undefined : read(join(dir, 'smaps_rollup'));
      if (rollup && 'text' in rollup && rollup.text.length > 0) {
        sample.memory = parseSmapsRollup(rollup.text).value.memory;
      } else {
        // Kernels before 4.14 have no smaps_rollup: sum the full smaps instead (slower, same numbers).
        const smaps = read(join(dir, 'smaps'));
        if ('text' in smaps) {
          const parsed = parseSmaps(smaps.text).value;
          sample.memory = summarizeMappings(parsed.mappings);
          if (wantSmaps) sample.smaps = parsed;
        } else if (rollup && 'error' in rollup && !rollup.error.startsWith('not present')) {
          unreadable.push(`${pid} (${sample.comm})`);
        }
      }
    }
    out.push(sample);
  }
  if (unreadable.length > 0) {
    // Even root can be refused: the ptrace access check also applies to processes in other user namespaces.
    const hint = process.getuid?.() === 0 ? 'refused even to root by the ptrace access check' : "run as root to see other users' processes";
    warnings.push({
      source: join(proc, '*/smaps_rollup'), line: 0, text: unreadable.slice(0, 10).join(', '), severity: 'data-loss',
      reason: `USS/PSS unknown for ${unreadable.length} processes: memory maps unreadable (${hint})`,
    });
  }
  return out;
}
