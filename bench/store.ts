/**
 * Store benchmark: a simulated recording at 1 s of a typical board, written through the real writer API
 * (samples committed in groups of 10 s, as the recorder does; --commit-every SEC to change it), then read back.
 *
 *   node dist/bench/store.js [--days 7] [--db FILE] [--keep]
 *   node dist/bench/store.js --read-db FILE     (only the read timings of a kept file, as JSON)
 *
 * The board: ~50 meminfo keys, 150 slab caches x 3 series, 300 vmalloc areas in 60 callers, 40 processes
 * x 8 series; ~20 meminfo keys, 10 slab caches and 5 processes move every second, the rest now and then,
 * one slab cache leaks, one process restarts (new PID) every 6 hours. Raw text is built only when the
 * writer's raw policy keeps it (the recorder has the text anyway; building 130 KB per simulated second
 * would measure this script).
 * Targets (issue "Store"): write >= 500x real time, file < 2 GB for 7 days, one series over the run < 200 ms.
 */
import { rmSync, statSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { processKey } from '../src/model/series.js';
import { openStore } from '../src/store/store.js';
import type { RawSection } from '../src/store/writer.js';

const TARGET_SPEEDUP = 500;
const TARGET_BYTES = 2 * 1024 ** 3;
const TARGET_READ_MS = 200;
/** Issue 15: bytes written per byte of file. */
const TARGET_AMPLIFICATION = 4;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(42);
const randInt = (n: number): number => Math.floor(rnd() * n);

/** How a series moves per 1 s sample. */
type Motion = { kind: 'noisy'; step: number } | { kind: 'rare'; p: number; step: number } | { kind: 'const' };

interface Sim { key: string; value: number; motion: Motion }

const MEMINFO = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapCached', 'Active', 'Inactive',
  'Active(anon)', 'Inactive(anon)', 'Active(file)', 'Inactive(file)', 'Unevictable', 'Mlocked', 'SwapTotal', 'SwapFree',
  'Zswap', 'Zswapped', 'Dirty', 'Writeback', 'AnonPages', 'Mapped', 'Shmem', 'KReclaimable', 'Slab', 'SReclaimable',
  'SUnreclaim', 'KernelStack', 'PageTables', 'SecPageTables', 'NFS_Unstable', 'Bounce', 'WritebackTmp', 'CommitLimit',
  'Committed_AS', 'VmallocTotal', 'VmallocUsed', 'VmallocChunk', 'Percpu', 'HardwareCorrupted', 'AnonHugePages',
  'ShmemHugePages', 'ShmemPmdMapped', 'FileHugePages', 'FilePmdMapped', 'CmaTotal', 'CmaFree', 'Unaccepted',
  'HugePages_Total', 'HugePages_Free'];

interface Proc { comm: string; pid: number; busy: boolean; sims: Sim[] }

function buildBoard(): { fixed: Sim[]; procs: Proc[]; leak: { objs: Sim; active: Sim; bytes: Sim } } {
  const fixed: Sim[] = [];
  MEMINFO.forEach((k, i) => {
    const motion: Motion = i < 20 && i > 0 ? { kind: 'noisy', step: 4096 * 8 } : i < 35 ? { kind: 'rare', p: 0.05, step: 4096 * 4 } : { kind: 'const' };
    fixed.push({ key: `meminfo.${k.replace(/[.\s]/g, '_')}`, value: 1024 * (1000 + randInt(500_000)), motion });
  });
  let leak: { objs: Sim; active: Sim; bytes: Sim } | undefined;
  for (let c = 0; c < 150; c++) {
    const name = c < 13 ? `kmalloc-${8 << c}` : `cache_${c}`;
    const motion: Motion = c < 10 ? { kind: 'noisy', step: 64 } : c < 50 ? { kind: 'rare', p: 0.02, step: 64 } : { kind: 'rare', p: 0.0005, step: 64 };
    const objs = { key: `slab.${name}.objs`, value: 100 + randInt(50_000), motion };
    const active = { key: `slab.${name}.active_bytes`, value: objs.value * 64, motion: scaled(motion, 64) };
    const bytes = { key: `slab.${name}.bytes`, value: Math.ceil(objs.value * 64 / 4096) * 4096, motion: scaled(motion, 4096) };
    if (c === 77) {
      for (const s of [objs, active, bytes]) s.motion = { kind: 'const' };
      leak = { objs, active, bytes };
    }
    fixed.push(objs, active, bytes);
  }
  let total = 0;
  for (let c = 0; c < 60; c++) {
    const areas = 1 + Math.floor(300 / 60) + (c % 3);
    const bytes = areas * 4096 * (1 + randInt(64));
    total += bytes;
    const motion: Motion = c < 3 ? { kind: 'rare', p: 0.1, step: 4096 } : { kind: 'rare', p: 0.0002, step: 4096 };
    fixed.push({ key: `vmalloc.caller.caller_fn_${c}.bytes`, value: bytes, motion },
      { key: `vmalloc.caller.caller_fn_${c}.areas`, value: areas, motion: c < 3 ? { kind: 'rare', p: 0.02, step: 1 } : { kind: 'const' } });
  }
  fixed.push({ key: 'vmalloc.total.bytes', value: total, motion: { kind: 'rare', p: 0.3, step: 4096 } });
  const procs: Proc[] = [];
  for (let i = 0; i < 40; i++) procs.push(newProc(`daemon${i}`, 100 + i, i < 5));
  if (!leak) throw new Error('no leaking cache');
  return { fixed, procs, leak };
}

function scaled(m: Motion, k: number): Motion {
  return m.kind === 'const' ? m : { ...m, step: m.step * k / 64 };
}

function newProc(comm: string, pid: number, busy: boolean): Proc {
  const base = processKey(comm, pid);
  const move = (step: number): Motion => (busy ? { kind: 'noisy', step } : { kind: 'rare', p: 0.01, step });
  const rss = 4096 * (200 + randInt(20_000));
  const sims: Sim[] = [
    { key: `${base}.uss`, value: rss * 0.6, motion: move(4096) },
    { key: `${base}.pss`, value: rss * 0.8 + 3, motion: move(1024) },
    { key: `${base}.rss`, value: rss, motion: move(4096) },
    { key: `${base}.swap`, value: 0, motion: { kind: 'rare', p: 0.0001, step: 4096 } },
    { key: `${base}.status.VmRSS`, value: rss, motion: move(4096) },
    { key: `${base}.status.VmSize`, value: rss * 4, motion: { kind: 'rare', p: busy ? 0.05 : 0.001, step: 65536 } },
    { key: `${base}.threads`, value: 1 + randInt(12), motion: { kind: 'rare', p: busy ? 0.01 : 0.0001, step: 1 } },
    { key: `${base}.fdsize`, value: 64, motion: { kind: 'rare', p: 0.00005, step: 64 } },
  ];
  for (const s of sims) s.value = Math.round(s.value / 1024) * 1024;
  return { comm, pid, busy, sims };
}

function move(s: Sim): void {
  const m = s.motion;
  if (m.kind === 'const') return;
  if (m.kind === 'rare' && rnd() >= m.p) return;
  const d = (randInt(5) - 2) * m.step;
  if (s.value + d >= 0) s.value += d;
}

function rawText(values: Map<string, number>): RawSection[] {
  const out: RawSection[] = [];
  let mem = '';
  for (const k of MEMINFO) mem += `${`${k}:`.padEnd(16)}${String(Math.round((values.get(`meminfo.${k.replace(/[.\s]/g, '_')}`) ?? 0) / 1024)).padStart(8)} kB\n`;
  out.push({ kind: 'meminfo', text: mem });
  let slab = 'slabinfo - version: 2.1\n# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n';
  for (const [k, v] of values) {
    if (!k.startsWith('slab.') || !k.endsWith('.objs')) continue;
    slab += `${k.slice(5, -5).padEnd(17)} ${v} ${v + 12}     64   64    1 : tunables    0    0    0 : slabdata ${Math.ceil(v / 64)} ${Math.ceil(v / 64)}      0\n`;
  }
  out.push({ kind: 'slabinfo', text: slab });
  let vm = '';
  for (let i = 0; i < 300; i++) {
    const addr = (0xffffc90000000000n + BigInt(i) * 0x5000n).toString(16);
    vm += `0x${addr}-0x${addr.slice(0, -3)}fff   20480 caller_fn_${i % 60}+0x${(i * 37).toString(16)}/0x${(i * 91).toString(16)} pages=4 vmalloc N0=4\n`;
  }
  out.push({ kind: 'vmallocinfo', text: vm });
  for (const [k, v] of values) {
    if (!k.startsWith('proc.') || !k.endsWith('.rss')) continue;
    const kb = Math.round(v / 1024);
    out.push({ kind: `${k.slice(0, -4)}/smaps_rollup`, text: `00400000-7ffd0000 ---p 00000000 00:00 0                          [rollup]\nRss:              ${kb} kB\nPss:              ${kb - 100} kB\nPss_Dirty:          ${kb >> 2} kB\nPss_Anon:          ${kb >> 1} kB\nPss_File:          ${kb >> 2} kB\nPss_Shmem:             0 kB\nShared_Clean:       1024 kB\nShared_Dirty:          0 kB\nPrivate_Clean:       ${kb >> 3} kB\nPrivate_Dirty:      ${kb >> 1} kB\nReferenced:        ${kb} kB\nAnonymous:         ${kb >> 1} kB\nKSM:                   0 kB\nLazyFree:              0 kB\nAnonHugePages:         0 kB\nShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\nShared_Hugetlb:        0 kB\nPrivate_Hugetlb:       0 kB\nSwap:                  0 kB\nSwapPss:               0 kB\nLocked:                0 kB\n` });
    out.push({ kind: `${k.slice(0, -4)}/status`, text: `Name:\t${k.split('.')[1]?.split(':')[0]}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t${k.split(':')[1]}\nNgid:\t0\nPid:\t${k.split(':')[1]}\nPPid:\t1\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmPeak:\t  ${kb * 4} kB\nVmSize:\t  ${kb * 4} kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t  ${kb} kB\nVmRSS:\t  ${kb} kB\nRssAnon:\t  ${kb >> 1} kB\nRssFile:\t  ${kb >> 2} kB\nRssShmem:\t       0 kB\nVmData:\t  ${kb >> 1} kB\nVmStk:\t     132 kB\nVmExe:\t     200 kB\nVmLib:\t    2000 kB\nVmPTE:\t      60 kB\nVmSwap:\t       0 kB\nThreads:\t3\nSigQ:\t0/7680\nvoluntary_ctxt_switches:\t${randInt(100000)}\nnonvoluntary_ctxt_switches:\t${randInt(1000)}\n` });
  }
  return out;
}

function fileSize(path: string): number {
  let n = 0;
  for (const s of ['', '-wal', '-shm']) if (existsSync(path + s)) n += statSync(path + s).size;
  return n;
}

/** Bytes this process wrote: write() calls (wchar) and what reached the block layer (write_bytes). */
function ioWritten(): { wchar: number; disk: number } {
  try {
    const t = readFileSync('/proc/self/io', 'utf8');
    const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(t)?.[1] ?? NaN);
    return { wchar: get('wchar'), disk: get('write_bytes') };
  } catch {
    return { wchar: NaN, disk: NaN };
  }
}

const fmtBytes = (n: number): string => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);
const verdict = (ok: boolean): string => (ok ? 'ok' : 'MISSED');

const READ_KEYS = ['meminfo.MemFree', 'slab.cache_77.objs', 'slab.cache_120.bytes', 'proc.daemon0:100.uss'];

/** `--read-db FILE`: each series on a fresh handle (the timeline decoded every time); prints JSON [key, ms, points, cpuMs][]. */
function readMain(path: string): void {
  const out: [string, number, number, number][] = [];
  for (const key of READ_KEYS) {
    const reader = openStore(path, { readonly: true });
    const recId = reader.listRecordings()[0]?.id ?? 0;
    const c0 = process.cpuUsage();
    const a = performance.now();
    const s = reader.readSeries(recId, key);
    const ms = performance.now() - a;
    const c = process.cpuUsage(c0);
    out.push([key, ms, s.v.length, (c.user + c.system) / 1000]);
    reader.close();
  }
  console.log(JSON.stringify(out));
}

function main(): void {
  const readDb = arg('--read-db');
  if (readDb !== undefined) { readMain(readDb); return; }
  const days = Number(arg('--days') ?? '7');
  const path = arg('--db') ?? join(tmpdir(), `memsleuth-bench-store-${process.pid}.db`);
  const keep = process.argv.includes('--keep');
  const samples = Math.round(days * 86400);
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });

  const board = buildBoard();
  const store = openStore(path);
  const t0Ms = Date.UTC(2025, 0, 6);
  const commitArg = arg('--commit-every');
  const w = store.beginRecording({ target: { name: 'bench-board', via: 'sim' }, startedAtMs: t0Ms, intervalSec: 1, ...(commitArg !== undefined ? { commitEverySec: Number(commitArg) } : {}) });
  let appendMs = 0;
  let rawKept = 0;
  let nextPid = 1000;
  let uptime = 12.5;
  let leakObjs = board.leak.objs.value;
  const wall0 = performance.now();
  const io0 = ioWritten();
  for (let i = 0; i < samples; i++) {
    if (i > 0 && i % (6 * 3600) === 0) {
      const p = board.procs[7] as Proc;
      board.procs[7] = newProc(p.comm, nextPid++, p.busy);
    }
    if (i % 5 === 0) {
      leakObjs++;
      board.leak.objs.value = leakObjs;
      board.leak.active.value = leakObjs * 192;
      board.leak.bytes.value = Math.ceil(leakObjs / 21) * 4096;
    }
    const values = new Map<string, number>();
    for (const s of board.fixed) { move(s); values.set(s.key, s.value); }
    for (const p of board.procs) for (const s of p.sims) { move(s); values.set(s.key, s.value); }
    const takenAtMs = t0Ms + i * 1000 + randInt(30);
    uptime += 1;
    const clock = { takenAtMs, uptimeSec: uptime, bootId: 'b2a5c1f0-5e43-4a7e-9d2c-3f1d1a0e6b7c' };
    const raw = w.wantsRaw(clock) ? rawText(values) : undefined;
    const a = performance.now();
    const r = w.appendSample({ ...clock, values, ...(raw ? { raw } : {}) });
    appendMs += performance.now() - a;
    if (r.rawKept) rawKept++;
    if (i % 86400 === 86399) {
      const wall = (performance.now() - wall0) / 1000;
      console.log(`  day ${Math.round((i + 1) / 86400)}: ${((i + 1) / wall).toFixed(0)}x real time so far (${wall.toFixed(0)} s), ${fmtBytes(fileSize(path))}`);
    }
  }
  w.close();
  const wallMs = performance.now() - wall0;
  store.close();
  const size = fileSize(path);
  const io1 = ioWritten();
  const wrote = { wchar: io1.wchar - io0.wchar, disk: io1.disk - io0.disk };

  // Reads in a fresh process, as `memsleuth analyze` would after a recording (and away from the writer's heap).
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--read-db', path], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`read child failed: ${child.stderr}`);
  const reads = JSON.parse(child.stdout) as [string, number, number, number][];
  const recId = openStore(path, { readonly: true }).listRecordings()[0]?.id ?? 0;
  const reader = openStore(path, { readonly: true });
  reader.readSeries(recId, 'meminfo.MemFree');
  const w0 = performance.now();
  for (const [key] of reads) reader.readSeries(recId, key);
  const warmMs = (performance.now() - w0) / reads.length;
  const stats = reader.stats(recId);
  const tables = reader.tableSizes();
  reader.close();

  const simSec = samples;
  const speedup = simSec / (wallMs / 1000);
  const appendSpeedup = simSec / (appendMs / 1000);
  const worstRead = Math.max(...reads.map((r) => r[1]));
  console.log(`store bench: ${days} day(s) at 1 s = ${samples} samples of ${board.fixed.length + board.procs.length * 8} series`);
  console.log(`  points stored (change-only): ${stats.points} (${(stats.points / samples).toFixed(1)} per sample) in ${stats.chunks} chunks of ${stats.series} series; raw text kept for ${rawKept} samples`);
  console.log(`  write: ${(wallMs / 1000).toFixed(1)} s wall = ${speedup.toFixed(0)}x real time (target >= ${TARGET_SPEEDUP}x: ${verdict(speedup >= TARGET_SPEEDUP)}); inside appendSample: ${appendSpeedup.toFixed(0)}x, ${(appendMs * 1000 / samples).toFixed(0)} us/sample`);
  const amp = wrote.wchar / size;
  console.log(`  written: ${fmtBytes(wrote.wchar)} by write() (${(wrote.wchar / samples / 1024).toFixed(1)} KiB a sample), ${fmtBytes(wrote.disk)} to the block layer; write amplification ${amp.toFixed(1)}x the file (target < ${TARGET_AMPLIFICATION}x: ${verdict(amp < TARGET_AMPLIFICATION)})`);
  console.log(`  file: ${fmtBytes(size)} (target < 2 GiB for 7 days: ${verdict(size * 7 / days < TARGET_BYTES)}; ${fmtBytes(size * 7 / days)} scaled to 7 days)`);
  for (const [key, ms, n, cpu] of reads) console.log(`  read ${key}: ${ms.toFixed(1)} ms (${cpu.toFixed(0)} ms CPU) for ${n} points (target < ${TARGET_READ_MS} ms: ${verdict(ms < TARGET_READ_MS)})`);
  console.log(`  worst read: ${worstRead.toFixed(1)} ms on a fresh handle; ${warmMs.toFixed(1)} ms a series on a handle that read one before`);
  console.log(`  by table: ${tables.slice(0, 6).map(([name, n]) => `${name} ${fmtBytes(n)}`).join(', ')}`);
  if (!keep) for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  else console.log(`  kept ${path}`);
}

main();
