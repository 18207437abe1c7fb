/**
 * Capture-log ingestion against the floor: generates an N MB log from this machine's real corpus files
 * (meminfo, slabinfo, procps free, numbers varied per sample, loop noise: "####" separators, echoed
 * "cat meminfo...", printk lines mid-block, CRLF), then times `wc -l` and memsleuth's full ingestion
 * (clean -> sectionize -> parse every section -> Snapshot -> flattened series) on it.
 *
 * The generic path runs on the first --generic-mb (default 128) of the log, the fast path on all of it.
 *
 * The fast path uses a worker thread besides the main one on a large log; "1 thread" is it without.
 *
 *   node dist/bench/ingest.js [--size-mb 1024] [--generic-mb 128] [--keep] [--log FILE (reuse a generated log)]
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
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

function generate(path: string, bytesWanted: number): number {
  const meminfo = readFileSync(join(CORPUS, 'meminfo.txt'), 'utf8');
  const slabinfo = readFileSync(join(CORPUS, 'slabinfo.txt'), 'utf8');
  const free = readFileSync(join(CORPUS, 'free-procps.txt'), 'utf8');
  // Slab text is 25 KB a sample: a few precomputed variants keep generation fast; meminfo and free vary every time.
  const slabVariants = Array.from({ length: 8 }, (_, i) => vary(slabinfo, i * 3));
  const fd = openSync(path, 'w');
  let written = 0;
  let pending: string[] = [];
  let pendingLen = 0;
  try {
    for (let i = 0; written + pendingLen < bytesWanted; i++) {
      let mem = vary(meminfo, i % 5000);
      if (i % 7 === 0) mem = mem.replace('Slab:', `[ ${1000 + i}.123456] usb 1-1: printk in the middle of a dump\nSlab:`);
      const block = `${'#'.repeat(68)}\ncat meminfo...\n${mem}${'#'.repeat(68)}\ncat slabinfo...\n${slabVariants[i % 8] ?? ''}###################\n${vary(free, i % 5000)}`;
      const text = i % 3 === 0 ? block.replace(/\n/g, '\r\n') : block;
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

function main(): void {
  const sizeMb = arg('--size-mb', 1024);
  const runs = arg('--runs', 3);
  const logArg = process.argv.indexOf('--log');
  const given = logArg >= 0 ? process.argv[logArg + 1] : undefined;
  const path = given ?? join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.log`);
  const t0 = performance.now();
  if (given === undefined) generate(path, sizeMb * 1024 * 1024);
  const size = statSync(path).size;
  const mb = size / (1024 * 1024);
  console.log(`generated ${mb.toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${path}; ${runs} runs each, medians (other jobs share this machine)`);
  try {
    const cat: number[] = [], wc: number[] = [], inproc: number[] = [], inprocCpu: number[] = [], cli: number[] = [], cliCpu: number[] = [], cliRss: number[] = [];
    const one: number[] = [], oneCpu: number[] = [];
    let last = inProcess(path, 'auto');
    let lines = '';
    for (let r = 0; r < runs; r++) {
      cat.push(timeCommand('cat', [path], '/dev/null').sec);
      const w0 = performance.now();
      lines = execFileSync('wc', ['-l', path], { encoding: 'utf8' }).trim().split(/\s+/)[0] ?? '';
      wc.push((performance.now() - w0) / 1000);
      last = inProcess(path, 'auto');
      inproc.push(last.sec);
      inprocCpu.push(last.cpuSec);
      const o = inProcess(path, 'auto', 'typed', 1);
      one.push(o.sec);
      oneCpu.push(o.cpuSec);
      const c = timeCommand(process.execPath, [BIN, 'ingest', path, '--json'], '/dev/null');
      cli.push(c.sec);
      if (c.cpuSec !== undefined) cliCpu.push(c.cpuSec);
      if (c.rssMb !== undefined) cliRss.push(c.rssMb);
    }
    const mapApi = inProcess(path, 'auto', 'map');
    // The generic path (what a noisy log gets), on a prefix: at its speed the whole log would take long.
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
    const rate = (m: number, xs: number[]): number => m / median(xs);
    const wcRate = rate(mb, wc);
    const line = (name: string, r: number, extra = ''): void => {
      console.log(`${name.padEnd(19)}${r.toFixed(0).padStart(6)} MB/s  ${(wcRate / r).toFixed(1).padStart(5)}x wc -l${extra}`);
    };
    line('cat > /dev/null:', rate(mb, cat));
    line('wc -l:', wcRate, `  (${lines} lines)`);
    line('ingest in-process:', rate(mb, inproc), `  (CPU ${rate(mb, inprocCpu).toFixed(0)} MB/s; ingestSeriesTyped, ${last.path} path, ${last.samples} samples, ${last.values} series values; peak RSS of this process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`);
    line('  1 thread:', rate(mb, one), `  (CPU ${rate(mb, oneCpu).toFixed(0)} MB/s; parallel: false)`);
    line('  Map API:', mb / mapApi.sec, `  (CPU ${(mb / mapApi.cpuSec).toFixed(0)} MB/s; ingestSeries, one run)`);
    line('ingest CLI:', rate(mb, cli), `  (${cliCpu.length ? `CPU ${rate(mb, cliCpu).toFixed(0)} MB/s; ` : ''}node bin/memsleuth.js ingest FILE --json${cliRss.length ? `, peak RSS ${median(cliRss).toFixed(0)} MB` : ''})`);
    line('generic path:', rate(genericMb, generic), `  (first ${genericMb.toFixed(0)} MB, ${g.samples} samples, ${g.values} series values)`);
    console.log('targets: >= 300 MB/s, <= 25x wc -l, peak RSS < 300 MB');
  } finally {
    if (given === undefined && !process.argv.includes('--keep')) rmSync(path, { force: true });
  }
  const longMb = arg('--long-line-mb', 300);
  longLine(longMb);
}

main();
