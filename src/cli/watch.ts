import type { CommandSpec } from './command.js';
import { terminalWidth } from '../report/table.js';
import { addTargetOptions } from './target_options.js';
import { duration, port } from './option_types.js';
import { runRecordingSession, TrendSoFar, type SessionFlags } from './recording_session.js';
import type { Grower } from '../report/watch_view.js';
import { decodeKeyPart } from '../model/series.js';

/**
 * Growth of every series under a prefix ("slab." + name + ".bytes") since it was first seen. A series absent
 * from the first sample (per-process USS is read every few samples; a process started later) gets its own
 * first value as baseline, never 0: its whole size is not growth. `skip` leaves out memsleuth's own processes.
 */
export function growers(first: Map<string, number>, now: Map<string, number>, prefix: string, suffix: string, skip?: (name: string) => boolean): Grower[] {
  const out: Grower[] = [];
  for (const [key, v] of now) {
    if (!key.startsWith(prefix) || !key.endsWith(suffix)) continue;
    const name = key.slice(prefix.length, key.length - suffix.length);
    if (skip?.(name)) continue;
    let base = first.get(key);
    if (base === undefined) { first.set(key, v); base = v; }
    out.push({ name: decodeKeyPart(name), now: v, delta: v - base });
  }
  return out.sort((a, b) => b.delta - a.delta);
}

/** memsleuth's own pid and its descendants in a sample (the recorder and whatever it started). */
export function ownPids(snapshot: { processes: readonly { pid: number; status?: { ppid?: number } }[] }, self: number): Set<number> {
  const own = new Set([self]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of snapshot.processes) if (!own.has(p.pid) && p.status?.ppid !== undefined && own.has(p.status.ppid)) { own.add(p.pid); grew = true; }
  }
  return own;
}

export const watchCommand: CommandSpec = {
  name: 'watch',
  define(cmd, setExitCode) {
    addTargetOptions(cmd)
      .description('live view of a target\'s memory, redrawn every sample; records everything it shows')
      .option('--interval <duration>', 'time between samples', duration('--interval'), 2)
      .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)', duration('--duration'))
      .option('--db <file>', 'database file (default: ./.memsleuth/<target>-<start>.db)')
      .option('--ui', 'also serve the live dashboard on http://127.0.0.1')
      .option('--listen <addr>', 'dashboard address (another than 127.0.0.1 needs a token)')
      .option('--port <n>', 'dashboard port (0: any free port)', port('--port'), 0)
      .option('--token <token>', 'dashboard access token (generated when --listen is not loopback)')
      .addHelpText('after', '\nExamples:\n  memsleuth watch\n  memsleuth watch --via "ssh root@board" --interval 5s --ui')
      .action(async (flags: SessionFlags & { ui?: boolean; listen?: string; port: number; token?: string }) => {
        const { colorsFor } = await import('../report/color.js');
        const { renderWatch } = await import('../report/watch_view.js');
        const c = colorsFor(process.stdout);
        const tty = process.stdout.isTTY === true;
        const trend = new TrendSoFar();
        let first: Map<string, number> | undefined;
        let dbPath = '', targetName = '', link = 'up', started = 0, lastPlainMs = 0;
        let dashboard: { close(): Promise<void> | void } | undefined;
        const notes: string[] = [];
        try {
          // The live dashboard reads the file from its own connection: it sees committed samples only.
          const result = await runRecordingSession(flags.ui ? { ...flags, commitEverySec: 0 } : flags, {
            onStart: async (i) => {
              dbPath = i.dbPath; targetName = i.targetName; started = Date.now();
              if (flags.ui) {
                const { startDashboard } = await import('../serve/server.js');
                const d = await startDashboard({
                  dbPath: i.dbPath, recordingId: i.recordingId, port: flags.port,
                  ...(flags.listen ? { listen: flags.listen } : {}), ...(flags.token ? { token: flags.token } : {}),
                });
                dashboard = d;
                notes.push(`dashboard: ${d.url}`);
                process.stderr.write(`memsleuth: dashboard at ${d.url}\n`);
              }
            },
            onLink: (e) => { link = e.kind === 'retry' ? `down (retry ${e.attempt})` : e.kind; },
            onSample: (e) => {
              first ??= new Map(e.values);
              const own = flags.via === undefined && flags.serial === undefined ? ownPids(e.snapshot, process.pid) : new Set<number>();
              const m = e.snapshot.meminfo?.bytes;
              trend.push(e.snapshot.takenAtMs / 1000, m?.['MemAvailable']);
              const firstAvail = first.get('meminfo.MemAvailable');
              void trend.slope().then((slope) => {
                const state = {
                  target: targetName, dbPath, samples: e.index + 1, elapsedSec: (Date.now() - started) / 1000, link,
                  ...(m?.['MemAvailable'] !== undefined ? { memAvailable: m['MemAvailable'] } : {}),
                  ...(m?.['MemTotal'] !== undefined ? { memTotal: m['MemTotal'] } : {}),
                  ...(m?.['MemAvailable'] !== undefined && firstAvail !== undefined ? { memAvailableDelta: m['MemAvailable'] - firstAvail } : {}),
                  ...(slope !== undefined ? { trend: slope } : {}),
                  slab: growers(first!, e.values, 'slab.', '.bytes'),
                  vmalloc: growers(first!, e.values, 'vmalloc.caller.', '.bytes'),
                  processes: growers(first!, e.values, 'proc.', '.uss', (name) => own.has(Number(name.slice(name.lastIndexOf(':') + 1)))),
                  notes: [...notes, ...e.lost.slice(0, 3)],
                };
                const width = terminalWidth();
                if (tty) process.stdout.write(`\u001b[H\u001b[2J${renderWatch(state, c, width)}\n`);
                else if (Date.now() - lastPlainMs >= 10_000) { lastPlainMs = Date.now(); process.stdout.write(`${renderWatch(state, c, width)}\n\n`); }
              });
            },
          });
          process.stderr.write(`memsleuth: ${result.samples} samples recorded in ${result.dbPath}\n  next: memsleuth analyze ${result.dbPath}\n`);
        } finally {
          await dashboard?.close();
        }
        setExitCode(0);
      });
  },
};
