/**
 * The loop `memsleuth script` prints for a board reachable only through a terminal: paste it into the shell,
 * let it run, save the terminal's log, then `memsleuth ingest LOG`. Each iteration is one frame (markers.ts)
 * opened by `date -u` and /proc/uptime, so ingestion times samples by the target's own clock.
 * Only while, echo, cat, date, sleep: POSIX sh and busybox ash. The frame tag is fixed ("script"): the
 * markers are what makes the log unambiguous, not the tag.
 */
import { BugError, InputError } from '../model/errors.js';
import { buildProcLoop, type FrameFile, type ProcFiles } from './framing.js';
import { MARKER, SAFE_WORD } from './markers.js';
import { shellQuote } from './shell_quote.js';

export const SCRIPT_TAG = 'script';

export interface CaptureScriptOptions {
  intervalSec: number;
  files: readonly FrameFile[];
  procs?: ProcFiles;
}

/** The files a board loop reads when the user names none: cheap ones first, slabinfo last (often root-only). */
export const DEFAULT_SCRIPT_FILES: readonly FrameFile[] = [
  { name: 'meminfo', path: '/proc/meminfo' },
  { name: 'vmstat', path: '/proc/vmstat' },
  { name: 'buddyinfo', path: '/proc/buddyinfo' },
  { name: 'slabinfo', path: '/proc/slabinfo' },
];

export function buildCaptureScript(options: CaptureScriptOptions): string {
  const { intervalSec, files } = options;
  if (!(intervalSec > 0) || !Number.isFinite(intervalSec)) throw new BugError(`Invalid capture interval "${intervalSec}"`);
  const m = (rest: string): string => `  echo '${MARKER}' ${SCRIPT_TAG} ${rest}`;
  const cat = (name: string, cmd: string): string[] => [m(`sec ${name}`), `  ${cmd} 2>&1`, m('end $?')];
  const lines = [
    '# memsleuth capture loop: paste into the target shell, stop with Ctrl-C, save the terminal log,',
    '# then run: memsleuth ingest LOGFILE',
    'while true; do',
    m('begin'),
    ...cat('date', 'date -u'),
    ...cat('uptime', 'cat /proc/uptime'),
    ...cat('boot_id', 'cat /proc/sys/kernel/random/boot_id'),
  ];
  for (const f of files) {
    // The name travels unquoted in the marker line (and must read back as one marker word); the path is quoted.
    if (!SAFE_WORD.test(f.name)) throw new InputError(`Cannot use the section name "${f.name}": letters, digits, _ . : - only`);
    lines.push(...cat(f.name, f.command ?? `cat ${shellQuote(f.path)}`));
  }
  if (options.procs) {
    const loop = buildProcLoop(SCRIPT_TAG, options.procs);
    if (loop) lines.push(`  ${loop}`);
  }
  // sleep takes whole seconds on busybox builds without float support.
  lines.push(m('done'), `  sleep ${Math.max(1, Math.round(intervalSec))}`, 'done', '');
  return lines.join('\n');
}
