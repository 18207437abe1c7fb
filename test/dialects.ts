/**
 * The dialect renderer: one real framed recording (test/fixtures/capture-dialects-framed-local.txt, three processes
 * on this machine, one leaking) rewritten in the log styles people really write around `cat /proc/...` loops.
 * Only the framing, clocks and noise change: every kernel file's text is the recording's own, line for line.
 * Noise lines (printk, prompts, errors, notes) are written in code here and say so; none pretends to be captured.
 */
import { fixtures } from './corpus.js';
import { readCaptureFile, type CaptureSample } from '../src/sources/capture_file.js';
import { writeFileSync } from 'node:fs';

export const FRAMED_NAME = 'capture-dialects-framed-local.txt';
/** The second recording: statm, smaps, maps and `ls -l /proc/N/fd` of two processes (test/fixtures/capture-procfiles.sh). */
export const PROCFILES_FRAMED_NAME = 'capture-procfiles-framed-local.txt';

/** A process's files in a pass: status, smaps_rollup, and the others in the order the loop read them. */
export interface Proc { pid: number; status: string[]; rollup: string[]; files: { kind: string; lines: string[] }[] }

/** One pass of the recording: its clocks and files. */
export interface Pass {
  epochMs: number;
  uptimeSec: number;
  meminfo: string[];
  buddyinfo: string[];
  procs: Proc[];
}

export function framedPath(name = FRAMED_NAME): string {
  const f = fixtures(new RegExp(`^${name.replace(/\./g, '\\.')}$`))[0];
  if (!f) throw new Error(`${name} missing from test/fixtures`);
  return f.path;
}

export function readPasses(name = FRAMED_NAME): Pass[] {
  const out: Pass[] = [];
  for (const s of readCaptureFile(framedPath(name))) out.push(passOf(s));
  return out;
}

const OTHER_PROC_KINDS = new Set(['statm', 'smaps', 'maps', 'fd']);

function passOf(s: CaptureSample): Pass {
  const lines = (kind: string, pid?: number): string[] =>
    s.sections.find((x) => x.kind === kind && x.pid === pid)?.lines ?? [];
  const pids = s.sections.filter((x) => x.kind === 'status').map((x) => x.pid as number);
  return {
    epochMs: s.timestamp.epochMs as number, uptimeSec: s.timestamp.uptimeSec as number,
    meminfo: lines('meminfo'), buddyinfo: lines('buddyinfo'),
    procs: pids.map((pid) => ({
      pid, status: lines('status', pid), rollup: lines('smaps_rollup', pid),
      files: s.sections.filter((x) => x.pid === pid && OTHER_PROC_KINDS.has(x.kind)).map((x) => ({ kind: x.kind, lines: x.lines })),
    })),
  };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** The wall clock shifted into a zone `offH` hours east of UTC (the fields `date` would print there). */
function fields(ms: number, offH: number) {
  const d = new Date(ms + offH * 3600_000);
  return {
    y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(), wd: d.getUTCDay(),
  };
}
const off = (offH: number, colon: boolean): string => `${offH < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(offH)))}${colon ? ':' : ''}${p2((Math.abs(offH) % 1) * 60)}`;

/** `date` in its default form: "Mon Dec  7 09:24:03 CST 2026". */
export const dateDefault = (ms: number, zone: string, offH: number): string => {
  const f = fields(ms, offH);
  return `${DAYS[f.wd]} ${MONTHS[f.mo]} ${String(f.d).padStart(2, ' ')} ${p2(f.h)}:${p2(f.mi)}:${p2(f.s)} ${zone} ${f.y}`;
};
/** `date` under a glibc en_US locale: "Mon 07 Dec 2026 09:24:03 AM CST". */
const dateLocale = (ms: number, zone: string, offH: number): string => {
  const f = fields(ms, offH);
  const h12 = f.h % 12 === 0 ? 12 : f.h % 12;
  return `${DAYS[f.wd]} ${p2(f.d)} ${MONTHS[f.mo]} ${f.y} ${p2(h12)}:${p2(f.mi)}:${p2(f.s)} ${f.h < 12 ? 'AM' : 'PM'} ${zone}`;
};
/** `date -Iseconds` in a zone: "2026-12-07T02:24:03+01:00". */
const dateIso = (ms: number, offH: number): string => {
  const f = fields(ms, offH);
  return `${f.y}-${p2(f.mo + 1)}-${p2(f.d)}T${p2(f.h)}:${p2(f.mi)}:${p2(f.s)}${off(offH, true)}`;
};
/** `date '+%F %T'` (UTC). */
const dateFT = (ms: number): string => dateIso(ms, 0).slice(0, 19).replace('T', ' ');
const tod = (ms: number, frac = true): string => {
  const f = fields(ms, 0);
  return `${p2(f.h)}:${p2(f.mi)}:${p2(f.s)}${frac ? `.${String(f.ms).padStart(3, '0')}` : ''}`;
};
/** The `uptime` command: " 01:24:03 up 3 days,  4:05,  1 user,  load average: 0.00, 0.01, 0.05". */
const uptimeCmd = (ms: number, up: number): string => {
  const days = Math.floor(up / 86400);
  const h = Math.floor((up % 86400) / 3600);
  const m = Math.floor((up % 3600) / 60);
  const dur = `${days > 0 ? `${days} day${days > 1 ? 's' : ''}, ` : ''}${h > 0 ? `${String(h).padStart(2, ' ')}:${p2(m)}` : `${m} min`}`;
  return ` ${tod(ms, false)} up ${dur},  1 user,  load average: 0.08, 0.03, 0.01`;
};
const procUptime = (up: number): string => `${up.toFixed(2)} ${(up * 1.7).toFixed(2)}`;
/** A kernel message as a serial console interleaves it (written here, not captured). */
const printk = (up: number, i: number): string => `[${(up + 0.000137 * (i + 1)).toFixed(6).padStart(12, ' ')}] usb 1-1: reset high-speed USB device number ${2 + (i % 5)} using xhci_hcd`;

/**
 * A process's files after status and smaps_rollup, each after what the dialect prints before such a file. The
 * recording keeps /proc/N/fd as `ls -l` prints it; `count` prints the number `ls /proc/N/fd | wc -l` gives for it
 * instead (one line per descriptor).
 */
function more(q: Proc, head: (kind: string) => string[] = () => [], count = false): string[] {
  return q.files.flatMap((f) => [...head(f.kind), ...(count && f.kind === 'fd' ? [String(f.lines.filter((l) => l.startsWith('l')).length)] : f.lines)]);
}
/** The path a loop reads a file of process `pid` from ("fd" is a directory: `ls` reads it). */
const procPath = (pid: number, kind: string): string => `/proc/${pid}/${kind}`;

/** Lines of a pass between its files; `insert(at)` puts noise after line `at` of a dump (deterministic). */
type Dialect = {
  name: string; family: string; timeTolerance: number; render: (passes: Pass[]) => string;
  /** Series its per-process files cannot give: statm is read only where a header or command names it, and so on. */
  lacks?: RegExp;
};
/** statm printed with nothing naming it: a line of numbers, set aside. */
const UNNAMED_STATM = /\.statm\./;

const mid = (lines: string[], extra: string[]): string[] => {
  const at = Math.floor(lines.length / 2);
  return [...lines.slice(0, at), ...extra, ...lines.slice(at)];
};

function join(lines: string[], eol = '\n'): string {
  return `${lines.join(eol)}${eol}`;
}

/** Each dialect: a name, the family of the issue it stands for, how close its clock can come to the framed one. */
export const DIALECTS: readonly Dialect[] = [
  {
    name: 'banners-and-comments', family: 'banners and comments between files; date in CST', timeTolerance: 0,
    render: (ps) => join(ps.flatMap((p, i) => [
      `==================== sample ${i + 1} ====================`, dateDefault(p.epochMs, 'CST', 8),
      '# /proc/meminfo', ...p.meminfo, '# /proc/buddyinfo', ...p.buddyinfo,
      ...p.procs.flatMap((q) => [`--- process ${q.pid} ---`, `# status of pid ${q.pid}`, ...q.status, `# smaps_rollup of pid ${q.pid}`, ...q.rollup,
        ...more(q, (k) => [`# ${k} of pid ${q.pid}`])]),
    ])),
  },
  {
    name: 'head-headers', family: 'head/tail "==> FILE <==" headers; date -Iseconds in CET', timeTolerance: 0,
    render: (ps) => join(ps.flatMap((p) => [
      dateIso(p.epochMs, 1), '==> /proc/meminfo <==', ...p.meminfo, '', '==> /proc/buddyinfo <==', ...p.buddyinfo,
      ...p.procs.flatMap((q) => ['', `==> /proc/${q.pid}/status <==`, ...q.status, '', `==> /proc/${q.pid}/smaps_rollup <==`, ...q.rollup,
        // head cannot read a directory: the `ls -l` listing follows with no header of its own.
        ...more(q, (k) => (k === 'fd' ? [] : ['', `==> ${procPath(q.pid, k)} <==`]))]),
    ])),
  },
  {
    name: 'minicom-crlf-printk', family: 'per-line logger stamps with a date, CRLF, printk interleaved inside dumps', timeTolerance: 0,
    render: (ps) => join(ps.flatMap((p, i) => {
      const stamp = `[${dateFT(p.epochMs)}] `;
      return [
        ...mid(p.meminfo, [printk(p.uptimeSec, i)]), ...p.buddyinfo,
        ...p.procs.flatMap((q) => [`==> /proc/${q.pid}/status <==`, ...mid(q.status, [printk(p.uptimeSec, i + 1)]), `==> /proc/${q.pid}/smaps_rollup <==`, ...q.rollup,
          ...more(q, (k) => (k === 'fd' ? [] : [`==> ${procPath(q.pid, k)} <==`]))]),
      ].map((l) => stamp + l);
    }), '\r\n'),
  },
  {
    name: 'tio-time-of-day', family: 'per-line logger stamps without a date (tio), pids from the status blocks themselves', timeTolerance: 0, lacks: UNNAMED_STATM,
    render: (ps) => join(ps.flatMap((p) => [...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)])]
      .map((l) => `[${tod(p.epochMs)}] ${l}`))),
  },
  {
    name: 'ts-syslog-stamps', family: 'moreutils ts stamps ("Dec 07 01:24:03 "), echoed cat commands naming the pid', timeTolerance: 0,
    render: (ps) => join(ps.flatMap((p) => {
      const f = fields(p.epochMs, 0);
      const stamp = `${MONTHS[f.mo]} ${p2(f.d)} ${tod(p.epochMs, false)} `;
      return ['cat /proc/meminfo', ...p.meminfo, 'cat /proc/buddyinfo', ...p.buddyinfo,
        ...p.procs.flatMap((q) => [`cat /proc/${q.pid}/status`, ...q.status, `cat /proc/${q.pid}/smaps_rollup`, ...q.rollup,
          ...more(q, (k) => [k === 'fd' ? `ls /proc/${q.pid}/fd | wc -l` : `cat ${procPath(q.pid, k)}`], true)])].map((l) => stamp + l);
    })),
  },
  {
    name: 'no-separators-epoch', family: 'dumps without any separators; epoch seconds from date +%s', timeTolerance: 0, lacks: UNNAMED_STATM,
    render: (ps) => join(ps.flatMap((p) => [String(Math.floor(p.epochMs / 1000)), ...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)])])),
  },
  {
    name: 'proc-uptime-only', family: '/proc/uptime as the clock; per-process files without headers', timeTolerance: 1.01, lacks: UNNAMED_STATM,
    render: (ps) => join(ps.flatMap((p) => [procUptime(p.uptimeSec), ...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)])])),
  },
  {
    name: 'uptime-command', family: 'the uptime command as the clock, a pid banner before each process', timeTolerance: 0, lacks: UNNAMED_STATM,
    render: (ps) => join(ps.flatMap((p) => [uptimeCmd(p.epochMs, p.uptimeSec), ...p.meminfo, ...p.buddyinfo,
      ...p.procs.flatMap((q) => [`PID ${q.pid}:`, ...q.status, ...q.rollup, ...more(q)])])),
  },
  {
    name: 'busybox-prompt-ansi', family: 'busybox prompt with colour, echoed commands, CR, a permission error inside a pass', timeTolerance: 0,
    render: (ps) => join(ps.flatMap((p) => {
      const prompt = (cmd: string): string => `\x1b[1;32m/ #\x1b[0m ${cmd}\r`;
      return [prompt(`date '+%F %T'`), `${dateFT(p.epochMs)}\r`, prompt('cat /proc/meminfo'), ...p.meminfo.map((l) => `${l}\r`),
        prompt('cat /proc/slabinfo'), "cat: can't open '/proc/slabinfo': Permission denied\r", prompt('cat /proc/buddyinfo'), ...p.buddyinfo.map((l) => `${l}\r`),
        ...p.procs.flatMap((q) => [prompt(`cat /proc/${q.pid}/status /proc/${q.pid}/smaps_rollup`), ...[...q.status, ...q.rollup].map((l) => `${l}\r`),
          ...more(q, (k) => [prompt(k === 'fd' ? `ls /proc/${q.pid}/fd | wc -l` : `cat ${procPath(q.pid, k)}`)], true).map((l) => (l.endsWith('\r') ? l : `${l}\r`))])];
    })),
  },
  {
    name: 'tagged-lines', family: 'a tag on every line ("[cam01] "), a labelled uptime clock', timeTolerance: 1.01,
    render: (ps) => join(ps.flatMap((p) => [`t: ${p.uptimeSec.toFixed(2)}`, ...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [`pid=${q.pid}`, ...q.status, ...q.rollup,
      ...more(q, (k) => [`${k} pid=${q.pid}`])])])
      .map((l) => `[cam01] ${l}`)),
  },
  {
    name: 'seed-notes', family: 'seed-style dumps pasted into a document: notes between them, blank line after every line, locale date', timeTolerance: 0, lacks: UNNAMED_STATM,
    render: (ps) => join(ps.flatMap((p, i) => [
      i % 2 === 0 ? '复现过程中每隔一秒记录一次内存信息,下面是这一轮的输出。' : 'The numbers below were copied from the console after the next round of the test.',
      i % 2 === 0 ? '注意观察 AnonPages 和进程的 RSS 是否一直增加。' : 'Watch whether AnonPages and the process RSS keep going up over time.',
      dateLocale(p.epochMs, 'CST', 8), ...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)]),
    ]).flatMap((l) => [l, ''])),
  },
  {
    name: 'grabserial-ms-epoch', family: 'grabserial -t relative stamps, epoch milliseconds, processes before system files', timeTolerance: 0, lacks: UNNAMED_STATM,
    render: (ps) => {
      const t0 = ps[0]?.epochMs ?? 0;
      return join(ps.flatMap((p) => [`epoch_ms=${p.epochMs}`, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)]), ...p.meminfo, ...p.buddyinfo]
        .map((l, k) => `[${((p.epochMs - t0) / 1000 + k * 0.000021).toFixed(6).padStart(12, ' ')} 0.000021] ${l}`)));
    },
  },
  {
    name: 'screen-logtstamp', family: 'GNU screen log time-stamps, "pid N" banners, mail-quoted', timeTolerance: 0,
    render: (ps) => join(ps.flatMap((p) => {
      const f = fields(p.epochMs, 0);
      return [`-- 0:sh -- time-stamp -- ${MONTHS[f.mo]}/${p2(f.d)}/${p2(f.y % 100)} ${String(f.h).padStart(2, ' ')}:${p2(f.mi)}:${p2(f.s)} --`,
        ...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [`pid ${q.pid}`, ...q.status, `pid ${q.pid}`, ...q.rollup, ...more(q, (k) => [`${k} of pid ${q.pid}`])])].map((l) => `> ${l}`);
    })),
  },
  {
    name: 'kmsg-printk', family: 'dumps written to /dev/kmsg line by line: every line printk-stamped, real kernel messages between', timeTolerance: 1.01,
    // Only lines shaped like a kernel file's are told apart from kernel messages: `ls -l` lines are not.
    lacks: /\.statm\.|\.fds$/,
    render: (ps) => join(ps.flatMap((p, i) => {
      const lines = [...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)])];
      return mid(lines.map((l, k) => `[${(p.uptimeSec + k * 0.000013).toFixed(6).padStart(12, ' ')}] ${l}`), [printk(p.uptimeSec, i)]);
    })),
  },
  {
    name: 'dmesg-T-stamps', family: 'dmesg -T human stamps ("[Mon Dec  7 01:24:03 2026] ", the corpus OOM reports\' style) on every line', timeTolerance: 0, lacks: UNNAMED_STATM,
    render: (ps) => join(ps.flatMap((p) => [...p.meminfo, ...p.buddyinfo, ...p.procs.flatMap((q) => [...q.status, ...q.rollup, ...more(q)])]
      .map((l) => `[${dateDefault(p.epochMs, 'UTC', 0).replace(' UTC', '')}] ${l}`))),
  },
];

export function writeDialect(path: string, d: Dialect, passes: Pass[]): void {
  writeFileSync(path, d.render(passes));
}
