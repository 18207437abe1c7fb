/**
 * Drives kmemleak (Documentation/dev-tools/kmemleak.rst) the way seed 000 does it by hand, with undo:
 *
 *   mount -t debugfs nodev /sys/kernel/debug/      (only if not mounted; unmounted again)
 *   echo scan=off > /sys/kernel/debug/kmemleak     (only if the auto-scan thread runs; "scan=on" again after)
 *   echo clear > /sys/kernel/debug/kmemleak
 *   run_your_driver_test_here                      (or wait --interval)
 *   echo scan > /sys/kernel/debug/kmemleak; cat /sys/kernel/debug/kmemleak     (N times)
 *
 * An object kmemleak reports in one scan may be a false positive (a pointer held only in a register, or in
 * memory kmemleak does not scan, at that moment); one reported by consecutive scans is a much better suspect,
 * so only those are kept (`persistentObjects`). "clear" has no undo: it only forgets which objects were
 * reported, and kmemleak reports them again at its next scan.
 */
import type { AllocationSite } from '../model/allocation_site.js';
import { rankSites } from '../model/allocation_sites.js';
import { TargetError } from '../model/errors.js';
import type { Parsed } from '../model/parsed.js';
import { kmemleakSites, parseKmemleak, type Kmemleak, type KmemleakObject } from '../parse/evidence/kmemleak.js';
import { configOption, debugfsMounted, ensureDebugfs, readKernelConfig, type TargetShell } from './target_shell.js';
import type { UndoStack } from './undo.js';

export const KMEMLEAK_FILE = '/sys/kernel/debug/kmemleak';

export const KMEMLEAK_HOW_TO_ENABLE =
  'build the kernel with CONFIG_DEBUG_KMEMLEAK=y (Kernel hacking > Memory Debugging > Kernel memory leak detector; ' +
  'raise CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE if it disables itself at boot), and boot with kmemleak=on when it was ' +
  'built with CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y';

// ---------------------------------------------------------------------------------------------
// The consecutive-scan filter (pure)

/**
 * Identity of one kmemleak object across scans: its address and size, plus when it was allocated (jiffies) and
 * by whom, so a freed object whose address was reused by a new leak is not taken for the same one. Headers cut
 * by a console (no address) fall back to the stack.
 */
export function objectKey(o: KmemleakObject): string {
  const who = `${o.jiffies ?? ''}|${o.pid ?? ''}|${o.comm ?? ''}`;
  if (o.address !== undefined) return `${o.address}|${o.size ?? ''}|${who}`;
  return `?|${o.size ?? ''}|${who}|${o.stack.map((f) => f.symbol ?? f.address ?? '?').join(';')}`;
}

export interface PersistentObjects {
  /** Objects of the last scan also reported by each of the scans before it that `minScans` asks for. */
  kept: KmemleakObject[];
  /** Objects of the last scan reported by fewer consecutive scans (new, or flickering): left out. */
  transient: KmemleakObject[];
  /** Objects reported earlier that the last scan no longer reports (freed, or referenced again). */
  vanished: number;
}

/**
 * Keeps the objects of the last scan that were reported by at least `minScans` consecutive scans ending with it
 * (all of them when fewer scans were made). Scans are in the order they were made.
 */
export function persistentObjects(scans: readonly (readonly KmemleakObject[])[], minScans = 2): PersistentObjects {
  const last = scans[scans.length - 1];
  if (last === undefined) return { kept: [], transient: [], vanished: 0 };
  const need = Math.max(1, Math.min(minScans, scans.length));
  const window = scans.slice(scans.length - need, scans.length - 1).map((s) => new Set(s.map(objectKey)));
  const kept: KmemleakObject[] = [];
  const transient: KmemleakObject[] = [];
  const seenLast = new Set<string>();
  for (const o of last) {
    const k = objectKey(o);
    if (seenLast.has(k)) continue; // the same record printed twice (console + file)
    seenLast.add(k);
    (window.every((w) => w.has(k)) ? kept : transient).push(o);
  }
  const earlier = new Set(scans.slice(0, -1).flatMap((s) => s.map(objectKey)));
  let vanished = 0;
  for (const k of earlier) if (!seenLast.has(k)) vanished++;
  return { kept, transient, vanished };
}

// ---------------------------------------------------------------------------------------------
// The driver

export interface KmemleakRunOptions {
  shell: TargetShell;
  undo: UndoStack;
  /** Scans after the wait (>= 1). */
  scans: number;
  /** Seconds to wait after "clear" when there is no workload. */
  intervalSec: number;
  /** Seconds between scans; kmemleak does not report objects younger than 5 s, so keep it >= 5. */
  scanGapSec: number;
  /** Consecutive scans an object must be reported by (default 2, or all scans when fewer). */
  minScans?: number;
  /** Program to run (argv) between "clear" and the scans, instead of waiting. */
  workload?: string[];
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export interface KmemleakRun {
  /** Each scan's parse, in order. */
  scans: Parsed<Kmemleak>[];
  filter: PersistentObjects;
  /** The kept objects grouped by stack, largest first. */
  sites: AllocationSite[];
  workload?: { argv: string[]; code: number };
  notes: string[];
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Checks that kmemleak can work here, before changing anything: a kernel config that says it is not built in
 * ends the run without mounting debugfs. Throws TargetError (code 'no-kmemleak') with how to enable it.
 */
export async function checkKmemleakConfig(shell: TargetShell): Promise<{ config?: string; notes: string[] }> {
  const config = await readKernelConfig(shell);
  const notes: string[] = [];
  const built = configOption(config, 'CONFIG_DEBUG_KMEMLEAK');
  if (built === 'n' || (config !== undefined && built === undefined)) {
    const hint = configOption(config, 'CONFIG_HAVE_DEBUG_KMEMLEAK') === 'n' ? ' (and this architecture has no kmemleak support: CONFIG_HAVE_DEBUG_KMEMLEAK is not set)' : '';
    throw new TargetError(`The kernel on ${shell.name} has no kmemleak: its config says "# CONFIG_DEBUG_KMEMLEAK is not set"${hint}. To use it, ${KMEMLEAK_HOW_TO_ENABLE}.`, 'no-kmemleak');
  }
  if (configOption(config, 'CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF') === 'y') {
    const cmdline = (await shell.readFile('/proc/cmdline')) ?? '';
    if (!/(?:^|\s)kmemleak=on(?:\s|$)/.test(cmdline)) notes.push('kernel built with CONFIG_DEBUG_KMEMLEAK_DEFAULT_OFF=y and booted without kmemleak=on: kmemleak is probably off');
  }
  return config === undefined ? { notes } : { config, notes };
}

export async function runKmemleak(o: KmemleakRunOptions): Promise<KmemleakRun> {
  const { shell, undo } = o;
  const log = o.log ?? ((): void => undefined);
  const sleep = o.sleep ?? defaultSleep;
  if (!Number.isInteger(o.scans) || o.scans < 1) throw new TargetError(`--scans must be a whole number >= 1, not "${o.scans}"`, 'usage');

  const { config, notes } = await checkKmemleakConfig(shell);
  await ensureDebugfs(shell, await debugfsMounted(shell), undo, log);

  const first = await shell.readFile(KMEMLEAK_FILE);
  if (first === undefined) {
    const why = config === undefined
      ? `"${KMEMLEAK_FILE}" cannot be read: this kernel has no kmemleak, or it is disabled`
      : `the kernel is built with kmemleak, but "${KMEMLEAK_FILE}" cannot be read: disabled at boot (kmemleak=off, or DEFAULT_OFF without kmemleak=on) or after an internal error (dmesg | grep kmemleak)`;
    throw new TargetError(`kmemleak is not available on ${shell.name}: ${why}. To use it, ${KMEMLEAK_HOW_TO_ENABLE}.`, 'no-kmemleak');
  }

  // The automatic scan thread ("kmemleak" kthread) would scan on its own schedule; pause it while we scan.
  const thread = await shell.run(['pgrep', '-x', 'kmemleak']);
  if (thread.code === 0) {
    await writeCommand(shell, 'scan=off');
    log('paused the kmemleak auto-scan thread (scan=off; will restart it)');
    undo.push({ label: 'restart the kmemleak auto-scan thread', byHand: `echo scan=on > ${KMEMLEAK_FILE}`, run: () => writeCommand(shell, 'scan=on') });
  } else if (thread.code !== 1) {
    notes.push('cannot tell whether the kmemleak auto-scan thread runs (no pgrep): left as it is; its scans may interleave with ours');
  }

  await writeCommand(shell, 'clear');
  log('cleared the list of reported objects');

  const run: KmemleakRun = { scans: [], filter: { kept: [], transient: [], vanished: 0 }, sites: [], notes };
  if (o.workload !== undefined && o.workload.length > 0) {
    log(`running the workload: ${o.workload.join(' ')}`);
    const w = await shell.run(o.workload);
    run.workload = { argv: o.workload, code: w.code };
    if (w.stdout !== '') log(w.stdout.trimEnd());
    if (w.stderr !== '') log(w.stderr.trimEnd());
    log(`workload exited with ${w.code}`);
  } else if (o.intervalSec > 0) {
    log(`waiting ${o.intervalSec} s for leaks to happen (run your test now; Ctrl-C undoes everything)`);
    await sleep(o.intervalSec * 1000);
  }

  for (let i = 0; i < o.scans; i++) {
    if (i > 0) await sleep(o.scanGapSec * 1000);
    await writeCommand(shell, 'scan');
    const text = await shell.readFile(KMEMLEAK_FILE);
    if (text === undefined) throw new TargetError(`Cannot read "${KMEMLEAK_FILE}" after scan ${i + 1} on ${shell.name}: kmemleak disabled itself (dmesg | grep kmemleak)`, 'kmemleak-read');
    const parsed = parseKmemleak(text);
    run.scans.push(parsed);
    log(`scan ${i + 1}/${o.scans}: ${parsed.value.objects.length} unreferenced objects`);
  }

  run.filter = persistentObjects(run.scans.map((s) => s.value.objects), o.minScans ?? 2);
  run.sites = rankSites(kmemleakSites(run.filter.kept));
  return run;
}

async function writeCommand(shell: TargetShell, command: string): Promise<void> {
  try {
    await shell.writeFile(KMEMLEAK_FILE, `${command}\n`);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new TargetError(`kmemleak refused "${command}" on ${shell.name}: ${msg}${/not permitted|EPERM|busy/i.test(msg) ? ' (kmemleak is disabled: see dmesg | grep kmemleak)' : ''}`, 'kmemleak-write');
  }
}
