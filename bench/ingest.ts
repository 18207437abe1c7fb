/**
 * Capture-log ingestion against the floor, on three logs generated from this machine's real corpus files (numbers
 * varied per sample):
 *  - free-form: the seed loop's output (meminfo, slabinfo, procps free between "####" separators, echoed
 *    "cat meminfo...", printk lines mid-block, CRLF);
 *  - stamped: the same loop saved by a serial logger that stamps every line ("[2026-12-07 00:00:01.123] ", minicom
 *    style, a millisecond apart);
 *  - framed: what the `memsleuth script` loop writes (frame markers, date -u, /proc/uptime, boot_id, meminfo,
 *    vmstat, buddyinfo, slabinfo).
 * For each it times `wc -l` and memsleuth's full ingestion (clean -> sectionize -> parse every section ->
 * flattened series) in-process and through the CLI, and prints MB/s with the ratio to `wc -l`.
 *
 * The generic path runs on the first --generic-mb (default 128) of the free-form log, the fast path on all of it.
 * The fast path uses a worker thread besides the main one on a large log; "1 thread" is it without.
 *
 *   node dist/bench/ingest.js [--size-mb 1024] [--generic-mb 128] [--keep] [--log FILE (reuse a generated free-form log)]
 *     [--stamped-log FILE (reuse a stamped one)] [--stamped-only (time just the stamped log, fast and generic path)]
 *     [--framed-log FILE (reuse a framed one; generated there if missing)] [--framed-only (time just the framed log, with node's own floors)]
 *
 * With --framed-only it also times, on the same file in the same rounds, node's floors (reading it in 4 MB chunks
 * and counting LFs with Buffer.indexOf: what any JS reader pays; the same with a JS loop over every byte: what a
 * parser that looks at each byte once pays at least) and the ceiling of this scanner on two cores (two threads
 * each scanning the whole log alone, nothing shared: what the two-thread path could reach with free coordination).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ingestSeries, ingestSeriesTyped } from '../src/sources/capture_file.js';

const here = dirname(fileURLToPath(import.meta.url));
const CORPUS = resolve(here, '..', '..', 'test', 'corpus', 'local-6.18');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad ${name}`);
  return v;
}

/** Replaces every run of digits by itself plus a per-sample delta, so no two samples are the same text. */
function vary(template: string, delta: number): string {
  return template.replace(/\b\d+\b/g, (d) => String(Number(d) + (Number(d) > 16 ? delta : 0)));
}

/**
 * vary() on slabinfo's columns, never its cache names: a kernel's caches keep their names from one dump to the next
 * ("kmalloc-192", "bio-120"); varied names made every variant a new set of caches (twice the keys a sample holds).
 */
function varySlab(slabinfo: string, delta: number): string {
  return slabinfo.replace(/^(\S+)(.*)$/gm, (_, name: string, rest: string) => name + vary(rest, delta));
}

/** minicom's per-line stamp ("[2026-12-07 10:00:01.123] "), ms since the epoch. */
function minicomStamp(ms: number): string {
  return `[${new Date(ms).toISOString().slice(0, 23).replace('T', ' ')}] `;
}

/**
 * generate()'s loop with a terminal logger's stamp on every line (minicom/SecureCRT style, a date and
 * milliseconds), as a board's serial console log saved by minicom -O or tio -t: one pass every 5 s, its lines a
 * millisecond apart, so nearly every stamp differs from the line before.
 */
function generateStamped(path: string, bytesWanted: number): number {
  const meminfo = readFileSync(join(CORPUS, 'meminfo.txt'), 'utf8');
  const slabinfo = readFileSync(join(CORPUS, 'slabinfo.txt'), 'utf8');
  const free = readFileSync(join(CORPUS, 'free-procps.txt'), 'utf8');
  const slabVariants = Array.from({ length: 8 }, (_, i) => varySlab(slabinfo, i * 3));
  const t0 = Date.UTC(2026, 11, 7, 0, 0, 0);
  return writeLog(path, bytesWanted, (i) => {
    const lines = loopPass(i, meminfo, slabVariants, free).split('\n');
    if (lines.at(-1) === '') lines.pop();
    const eol = i % 3 === 0 ? '\r\n' : '\n';
    const t = t0 + i * 5000;
    return lines.map((l, k) => `${minicomStamp(t + k)}${l}${eol}`).join('');
  });
}

function generate(path: string, bytesWanted: number): number {
  const meminfo = readFileSync(join(CORPUS, 'meminfo.txt'), 'utf8');
  const slabinfo = readFileSync(join(CORPUS, 'slabinfo.txt'), 'utf8');
  const free = readFileSync(join(CORPUS, 'free-procps.txt'), 'utf8');
  // Slab text is 25 KB a sample: a few precomputed variants keep generation fast; meminfo and free vary every time.
  const slabVariants = Array.from({ length: 8 }, (_, i) => varySlab(slabinfo, i * 3));
  return writeLog(path, bytesWanted, (i) => {
    const block = loopPass(i, meminfo, slabVariants, free);
    return i % 3 === 0 ? block.replace(/\n/g, '\r\n') : block;
  });
}

/** One pass of a board's hand-written loop (banners, `cat` echoes, a printk line now and then), varied by i. */
function loopPass(i: number, meminfo: string, slabVariants: string[], free: string): string {
  let mem = vary(meminfo, i % 5000);
  if (i % 7 === 0) mem = mem.replace('Slab:', `[ ${1000 + i}.123456] usb 1-1: printk in the middle of a dump\nSlab:`);
  return `${'#'.repeat(68)}\ncat meminfo...\n${mem}${'#'.repeat(68)}\ncat slabinfo...\n${slabVariants[i % 8] ?? ''}###################\n${vary(free, i % 5000)}`;
}

/** Writes pass(0), pass(1), ... to path in 8 MB batches until bytesWanted; returns the bytes written. */
function writeLog(path: string, bytesWanted: number, pass: (i: number) => string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  let pending: string[] = [];
  let pendingLen = 0;
  try {
    for (let i = 0; written + pendingLen < bytesWanted; i++) {
      const text = pass(i);
      pending.push(text);
      pendingLen += text.length;
      if (pendingLen > 8 << 20) {
        written += writeSync(fd, pending.join(''));
        pending = [];
        pendingLen = 0;
      }
    }
    written += writeSync(fd, pending.join(''));
  } finally {
    closeSync(fd);
  }
  return written;
}

/** The `memsleuth script` loop's log (src/capture/script.ts, default files), made from the corpus files. */
function generateFramed(path: string, bytesWanted: number): number {
  const meminfo = readFileSync(join(CORPUS, 'meminfo.txt'), 'utf8');
  const vmstat = readFileSync(join(CORPUS, 'vmstat.txt'), 'utf8');
  const buddyinfo = readFileSync(join(CORPUS, 'buddyinfo.txt'), 'utf8');
  const slabinfo = readFileSync(join(CORPUS, 'slabinfo.txt'), 'utf8');
  const slabVariants = Array.from({ length: 8 }, (_, i) => varySlab(slabinfo, i * 3));
  const vmVariants = Array.from({ length: 8 }, (_, i) => vary(vmstat, i * 7));
  const m = (rest: string): string => `@@ms script ${rest}\n`;
  const sec = (name: string, text: string): string => `${m(`sec ${name}`)}${text}${text.endsWith('\n') ? '' : '\n'}${m('end 0')}`;
  const t0 = Date.UTC(2026, 11, 7, 0, 0, 0);
  return writeLog(path, bytesWanted, (i) => {
    const d = new Date(t0 + i * 5000);
    const date = `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} UTC ${d.getUTCFullYear()}`;
    return m('begin') + sec('date', date) + sec('uptime', `${(1000 + i * 5).toFixed(2)} ${(3000 + i * 9).toFixed(2)}`)
      + sec('boot_id', '0e4c1d3a-5b7e-4c1f-9a51-2f0d3c5e7a10') + sec('meminfo', vary(meminfo, i % 5000)) + sec('vmstat', vmVariants[i % 8] ?? '')
      + sec('buddyinfo', buddyinfo) + sec('slabinfo', slabVariants[i % 8] ?? '') + m('done');
  });
}

interface Timing { sec: number; rssMb?: number; cpuSec?: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs a command; wall time, and peak RSS from /usr/bin/time -v when it is there. */
function timeCommand(cmd: string, args: string[], stdoutTo?: string): Timing {
  const out = stdoutTo !== undefined ? openSync(stdoutTo, 'w') : 'pipe';
  const t0 = performance.now();
  const r = spawnSync(HAVE_TIME ? '/usr/bin/time' : cmd, HAVE_TIME ? ['-v', cmd, ...args] : args, { stdio: ['ignore', out, 'pipe'], maxBuffer: 1 << 26 });
  const sec = (performance.now() - t0) / 1000;
  if (typeof out === 'number') closeSync(out);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(-500)}`);
  const err = r.stderr.toString();
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  const user = /User time \(seconds\): ([\d.]+)/.exec(err);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(err);
  const t: Timing = { sec };
  if (m) t.rssMb = Number(m[1]) / 1024;
  if (user && sys) t.cpuSec = Number(user[1]) + Number(sys[1]);
  return t;
}

const HAVE_TIME = existsSync('/usr/bin/time');
const BIN = resolve(here, '..', '..', 'bin', 'memsleuth.js');

/** In-process ingestion: the typed API ('typed', what the CLI uses) or the Map one; wall and CPU seconds. */
function inProcess(path: string, mode: 'auto' | 'generic', api: 'typed' | 'map' = 'typed', threads: 'auto' | 1 = 'auto'): { sec: number; cpuSec: number; samples: number; values: number; path: string } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let values = 0;
  const options = threads === 1 ? { intervalSec: 5, path: mode, parallel: false as const } : { intervalSec: 5, path: mode };
  const r = api === 'typed'
    ? ingestSeriesTyped(path, options, (_t, row) => { values += row.count; })
    : ingestSeries(path, options, (_t, v) => { values += v.size; });
  const c = process.cpuUsage(c0);
  return { sec: (performance.now() - t0) / 1000, cpuSec: (c.user + c.system) / 1e6, samples: r.samples, values, path: r.path };
}

function longLine(mb: number): void {
  // One line of `mb` MB of "a", then a real dump: bounded memory, one warning, the dump still read.
  const path = join(tmpdir(), `memsleuth-bench-longline-${process.pid}.log`);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1 << 20, 'a');
  try {
    for (let i = 0; i < mb; i++) writeSync(fd, block);
    writeSync(fd, `\n${readFileSync(join(CORPUS, 'meminfo.txt'), 'utf8')}`);
  } finally {
    closeSync(fd);
  }
  try {
    const t = timeCommand(process.execPath, [BIN, 'ingest', path, '--json']);
    const r = spawnSync(process.execPath, [BIN, 'ingest', path, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const warned = r.stderr.split('\n').filter((l) => l.includes('longer than')).length;
    const report = JSON.parse(r.stdout) as { samples: number };
    console.log(`long line:         one ${mb} MB line + a meminfo dump: exit ${r.status}, ${report.samples} sample(s), ${warned} warning line(s) on stderr, ${t.sec.toFixed(2)} s, peak RSS ${t.rssMb?.toFixed(0) ?? '?'} MB`);
  } finally {
    rmSync(path, { force: true });
  }
}

interface LogResult { name: string; mb: number; wcRate: number; inproc: number; inprocCpu: number; one: number; cli: number; cliRss?: number; path: string; samples: number; lines: string }

/** Times `wc -l`, in-process ingestion (both threads and one) and the CLI on one log; medians of `runs`. */
function measure(name: string, path: string, runs: number): LogResult {
  const mb = statSync(path).size / (1024 * 1024);
  const wc: number[] = [], inproc: number[] = [], inprocCpu: number[] = [], cli: number[] = [], cliRss: number[] = [], one: number[] = [];
  let last = inProcess(path, 'auto');
  let lines = '';
  for (let r = 0; r < runs; r++) {
    const w0 = performance.now();
    lines = execFileSync('wc', ['-l', path], { encoding: 'utf8' }).trim().split(/\s+/)[0] ?? '';
    wc.push((performance.now() - w0) / 1000);
    last = inProcess(path, 'auto');
    inproc.push(last.sec);
    inprocCpu.push(last.cpuSec);
    one.push(inProcess(path, 'auto', 'typed', 1).sec);
    const c = timeCommand(process.execPath, [BIN, 'ingest', path, '--json'], '/dev/null');
    cli.push(c.sec);
    if (c.rssMb !== undefined) cliRss.push(c.rssMb);
  }
  const out: LogResult = {
    name, mb, wcRate: mb / median(wc), inproc: mb / median(inproc), inprocCpu: mb / median(inprocCpu), one: mb / median(one), cli: mb / median(cli),
    path: last.path, samples: last.samples, lines,
  };
  if (cliRss.length) out.cliRss = median(cliRss);
  return out;
}

function printRow(r: LogResult): void {
  console.log(`${r.name.padEnd(10)}${r.mb.toFixed(0).padStart(8)} ${r.wcRate.toFixed(0).padStart(12)} | ${r.inproc.toFixed(0).padStart(11)} ${(r.wcRate / r.inproc).toFixed(1).padStart(8)} | ${r.one.toFixed(0).padStart(8)} | ${r.cli.toFixed(0).padStart(8)} ${(r.wcRate / r.cli).toFixed(1).padStart(8)} ${r.cliRss !== undefined ? `${r.cliRss.toFixed(0)} MB` : '?'.padStart(9)} | ${r.path}, ${r.samples} samples (CPU ${r.inprocCpu.toFixed(0)} MB/s)`);
}

/** Node's floor: the file read in 4 MB chunks, lines counted with Buffer.indexOf (memchr) or a JS loop over each byte. */
function nodeFloor(path: string, how: 'indexOf' | 'bytes'): { sec: number; lines: number } {
  const buf = Buffer.allocUnsafe(4 << 20);
  const u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const fd = openSync(path, 'r');
  const t0 = performance.now();
  let lines = 0;
  try {
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      if (how === 'indexOf') {
        for (let i = buf.indexOf(10, 0); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines++;
      } else {
        for (let i = 0; i < n; i++) if (u8[i] === 10) lines++;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { sec: (performance.now() - t0) / 1000, lines };
}

/**
 * What this scanner can do on two cores at best: two threads each scanning the whole log alone, one thread each
 * (no ranges, no delivery), started together; both logs' MB over the slower one's time. The worker starts cold
 * (its V8 warms up during the run), so this is a lower bound of that ceiling.
 */
function twoAlone(path: string): number {
  const sync = new Int32Array(new SharedArrayBuffer(8));
  const code = `const { workerData: d } = require('node:worker_threads');
import(d.url).then(({ ingestSeriesTyped }) => {
  const s = new Int32Array(d.sync); Atomics.store(s, 0, 1); Atomics.notify(s, 0); Atomics.wait(s, 1, 0);
  ingestSeriesTyped(d.path, { intervalSec: 5, parallel: false }, () => {});
  Atomics.store(s, 1, 2); Atomics.notify(s, 1);
});`;
  const url = pathToFileURL(resolve(here, '..', 'src', 'sources', 'capture_file.js')).href;
  const w = new Worker(code, { eval: true, workerData: { url, path, sync: sync.buffer } });
  try {
    while (Atomics.load(sync, 0) === 0) Atomics.wait(sync, 0, 0, 100);
    const t0 = performance.now();
    Atomics.store(sync, 1, 1);
    Atomics.notify(sync, 1);
    ingestSeriesTyped(path, { intervalSec: 5, parallel: false }, () => undefined);
    while (Atomics.load(sync, 1) !== 2) Atomics.wait(sync, 1, 1, 100);
    return (performance.now() - t0) / 1000 / 2;
  } finally {
    void w.terminate();
  }
}

/**
 * Just the framed log, every timing interleaved round by round (the machine is shared): `wc -l`, `cat`, node's two
 * floors, ingestion on both threads and on one, and the CLI.
 */
function framedOnly(path: string, runs: number): void {
  const mb = statSync(path).size / (1024 * 1024);
  const t: Record<string, number[]> = { wc: [], cat: [], indexOf: [], bytes: [], two: [], twoCpu: [], one: [], alone: [], cli: [] };
  let last = inProcess(path, 'auto');
  for (let r = 0; r < runs; r++) {
    const w0 = performance.now();
    execFileSync('wc', ['-l', path], { encoding: 'utf8' });
    t.wc?.push((performance.now() - w0) / 1000);
    t.cat?.push(timeCommand('cat', [path], '/dev/null').sec);
    t.indexOf?.push(nodeFloor(path, 'indexOf').sec);
    t.bytes?.push(nodeFloor(path, 'bytes').sec);
    last = inProcess(path, 'auto');
    t.two?.push(last.sec);
    t.twoCpu?.push(last.cpuSec);
    t.one?.push(inProcess(path, 'auto', 'typed', 1).sec);
    t.alone?.push(twoAlone(path));
    t.cli?.push(timeCommand(process.execPath, [BIN, 'ingest', path, '--json'], '/dev/null').sec);
  }
  const rate = (k: string): number => mb / median(t[k] ?? []);
  const wc = rate('wc');
  const row = (name: string, k: string): string => `  ${name.padEnd(38)}${rate(k).toFixed(0).padStart(6)} MB/s  (${(wc / rate(k)).toFixed(1)} x wc -l)`;
  console.log(`framed log, ${mb.toFixed(0)} MB, ${last.samples} samples (${last.path}); medians of ${runs} interleaved rounds`);
  console.log(row('wc -l', 'wc'));
  console.log(row('cat > /dev/null', 'cat'));
  console.log(row('node floor: read + indexOf(LF)', 'indexOf'));
  console.log(row('node floor: read + JS loop on each byte', 'bytes'));
  console.log(row('memsleuth in-process, 1 thread', 'one'));
  console.log(`${row('memsleuth in-process, 2 threads (wall)', 'two')}, CPU ${rate('twoCpu').toFixed(0)} MB/s`);
  console.log(`${row('ceiling: 2 threads scanning it alone', 'alone')}, 2 threads at ${(100 * rate('two') / rate('alone')).toFixed(0)}% of it`);
  console.log(row('memsleuth CLI ingest --json', 'cli'));
  console.log('target: framed >= 700 MB/s and >= 1/10 of wc -l');
}

function main(): void {
  const sizeMb = arg('--size-mb', 1024);
  const runs = arg('--runs', 3);
  const logArg = process.argv.indexOf('--log');
  const given = logArg >= 0 ? process.argv[logArg + 1] : undefined;
  const path = given ?? join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.log`);
  const framedPath = join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.framed.log`);
  const stampedArg = process.argv.indexOf('--stamped-log');
  const stampedGiven = stampedArg >= 0 ? process.argv[stampedArg + 1] : undefined;
  const stampedPath = stampedGiven ?? join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.stamped.log`);
  const only = process.argv.includes('--stamped-only');
  const t0 = performance.now();
  if (process.argv.includes('--framed-only')) {
    const framedArg = process.argv.indexOf('--framed-log');
    const framedGiven = framedArg >= 0 ? process.argv[framedArg + 1] : undefined;
    const fp = framedGiven ?? framedPath;
    // A --framed-log that does not exist yet is generated there and kept.
    if (framedGiven === undefined || !existsSync(fp)) {
      generateFramed(fp, sizeMb * 1024 * 1024);
      console.log(`generated the framed log of ${sizeMb} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    try {
      framedOnly(fp, runs);
    } finally {
      if (framedGiven === undefined && !process.argv.includes('--keep')) rmSync(fp, { force: true });
    }
    return;
  }
  if (given === undefined && !only) generate(path, sizeMb * 1024 * 1024);
  if (!only) generateFramed(framedPath, sizeMb * 1024 * 1024);
  if (stampedGiven === undefined) generateStamped(stampedPath, sizeMb * 1024 * 1024);
  console.log(`generated the logs (free-form, stamped free-form, framed) of ${sizeMb} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${runs} runs each, medians (other jobs share this machine)`);
  if (only) {
    // Just the stamped log: the fast path (both threads, and one) next to `wc -l`, and the generic path on it.
    try {
      const r = measure('stamped', stampedPath, runs);
      const g: number[] = [];
      const gc: number[] = [];
      for (let k = 0; k < runs; k++) {
        const x = inProcess(stampedPath, 'generic', 'typed', 1);
        g.push(x.sec);
        gc.push(x.cpuSec);
      }
      console.log('log        size MB   wc -l MB/s | ingest MB/s  x wc -l | 1 thread | CLI MB/s  x wc -l  peak RSS | path, samples');
      printRow(r);
      console.log(`stamped, generic path: ${(r.mb / median(g)).toFixed(0)} MB/s (CPU ${(r.mb / median(gc)).toFixed(0)} MB/s)`);
    } finally {
      if (stampedGiven === undefined && !process.argv.includes('--keep')) rmSync(stampedPath, { force: true });
    }
    return;
  }
  try {
    const results = [measure('free-form', path, runs), measure('stamped', stampedPath, runs), measure('framed', framedPath, runs)];
    const mapApi = inProcess(path, 'auto', 'map');
    // The generic path (what a noisy log gets), on a prefix: at its speed the whole log would take long.
    const mb = statSync(path).size / (1024 * 1024);
    const genericMb = Math.min(mb, arg('--generic-mb', 128));
    const prefix = join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.prefix.log`);
    execFileSync('head', ['-c', String(Math.floor(genericMb * 1024 * 1024)), path], { stdio: ['ignore', openSync(prefix, 'w'), 'inherit'] });
    const generic: number[] = [];
    let g = inProcess(prefix, 'generic');
    for (let r = 0; r < runs; r++) {
      g = inProcess(prefix, 'generic');
      generic.push(g.sec);
    }
    rmSync(prefix, { force: true });
    console.log('log        size MB   wc -l MB/s | ingest MB/s  x wc -l | 1 thread | CLI MB/s  x wc -l  peak RSS | path, samples');
    for (const r of results) printRow(r);
    const free = results[0] as LogResult;
    console.log(`free-form Map API (ingestSeries): ${(mb / mapApi.sec).toFixed(0)} MB/s; generic path on the first ${genericMb.toFixed(0)} MB: ${(genericMb / median(generic)).toFixed(0)} MB/s (${g.samples} samples); wc -l ${free.lines} lines`);
    console.log('targets: free-form (plain and stamped) >= 150 MB/s, framed >= 700 MB/s, peak RSS independent of the log size');
  } finally {
    if (given === undefined && !process.argv.includes('--keep')) rmSync(path, { force: true });
    if (stampedGiven === undefined && !process.argv.includes('--keep')) rmSync(stampedPath, { force: true });
    rmSync(framedPath, { force: true });
  }
  const longMb = arg('--long-line-mb', 300);
  longLine(longMb);
}

main();
