import type { CommandSpec } from './command.js';
import { addTargetOptions } from './target_options.js';
import { duration, repeated } from './option_types.js';
import { runRecordingSession, TrendSoFar, type SessionFlags } from './recording_session.js';

export const recordCommand: CommandSpec = {
  name: 'record',
  define(cmd, setExitCode) {
    addTargetOptions(cmd)
      .description('record a target\'s memory into a database until the duration ends or Ctrl-C (agentless: sh, cat, echo)')
      .option('--interval <duration>', 'time between samples', duration('--interval'), 5)
      .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)', duration('--duration'))
      .option('--db <file>', 'database file (default: ./.memsleuth/<target>-<start>.db)')
      .option('--probe-reclaim [every]', 'drop caches (echo 2, then 3 > drop_caches) at the end, and every EVERY if given, recording what falls (cache) and what stays (pinned); root; changes the target\'s state', duration('--probe-reclaim'))
      .option('--probe-cgroup <dir>', 'with --probe-reclaim: also write this cgroup v2 directory\'s memory.reclaim (repeatable)', repeated((v: string) => v), [])
      .addHelpText('after', '\nExamples:\n  memsleuth record --interval 1s --duration 10m\n  memsleuth record --interval 2s --duration 30m --probe-reclaim 10m\n  memsleuth record --via "ssh root@board" --interval 5s --duration 24h --db board.db\n  memsleuth record --serial /dev/ttyUSB0 --baud 115200 --login root')
      .action(async (flags: SessionFlags) => {
        const { formatBytes, formatRate, formatDuration } = await import('../report/units.js');
        const tty = process.stderr.isTTY === true;
        const trend = new TrendSoFar();
        let link = 'up', lastLogMs = 0, started = 0, durationSec: number | undefined;
        const result = await runRecordingSession(flags, {
          onStart: (i) => {
            started = Date.now();
            durationSec = i.durationSec;
            process.stderr.write(`memsleuth: recording "${i.targetName}" every ${i.intervalSec} s into ${i.dbPath} (recording ${i.recordingId}); Ctrl-C stops\n`);
          },
          onLink: (e) => {
            link = e.kind === 'retry' ? `down, retry ${e.attempt}` : e.kind;
            process.stderr.write(`${tty ? '\n' : ''}memsleuth: link ${e.kind}${'reason' in e ? `: ${e.reason}` : ''}${e.kind === 'up' && e.gap ? ` (gap of ${formatDuration((e.gap.upAtMs - e.gap.downAtMs) / 1000)} recorded)` : ''}\n`);
          },
          onError: (err) => process.stderr.write(`${tty ? '\n' : ''}memsleuth: sample failed: ${err.message}\n`),
          onProbe: (level) => process.stderr.write(`${tty ? '\n' : ''}memsleuth: reclaim probe: echo ${level} > /proc/sys/vm/drop_caches, then a sample\n`),
          onSample: (e) => {
            const avail = e.snapshot.meminfo?.bytes['MemAvailable'];
            trend.push(e.snapshot.takenAtMs / 1000, avail);
            void trend.slope().then((slope) => {
              const elapsed = (Date.now() - started) / 1000;
              const left = durationSec !== undefined ? `, ${formatDuration(Math.max(0, durationSec - elapsed))} left` : '';
              const line = `${e.index + 1} samples, ${formatDuration(elapsed)}${left}, link ${link}, MemAvailable ${formatBytes(avail)}`
                + `${slope !== undefined ? ` (${formatRate(slope)})` : ''}${e.skipped.length ? `, ${e.skipped.length} reads skipped` : ''}`;
              if (tty) process.stderr.write(`\r\u001b[K${line}`);
              else if (Date.now() - lastLogMs >= 10_000) { lastLogMs = Date.now(); process.stderr.write(`${line}\n`); }
            });
          },
        });
        process.stderr.write(`${tty ? '\n' : ''}memsleuth: ${result.samples} samples recorded in ${result.dbPath} (stopped by ${result.stoppedBy})\n`
          + `  next: memsleuth analyze ${result.dbPath}\n`);
        setExitCode(0);
      });
  },
};
