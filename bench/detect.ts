/**
 * Detection benchmark: generated recordings with known truth (leaks from 0.01% to 1% of MemTotal per hour under
 * AR(1) noise, page-cache churn, GC sawtooth, warm-up and steps; non-leaks of every shape), judged on growing
 * prefixes of 1 s samples; then real recordings made on this machine while small C programs leak fds or
 * malloc, and while `cat bigfile > /dev/null` fills the page cache (after `sync; echo 3 > drop_caches`: the
 * benchmark drops the machine's clean caches, so run it as root on a machine where that is acceptable). Prints recall, false positives, culprit
 * accuracy and time to detection against the leak rate, next to an oracle (OLS t-test on the true culprit
 * series, knowing where the leak starts and that noise is white).
 * Targets: no false positive; every leak >= 0.1%/h detected within 30 min; the right culprit first in >= 90%.
 * Then issue 13's failure classes (test/recordings.ts): real 2 s recordings of small C programs (a file mapped and
 * read, negative dentries, valgrind and bpftrace on a non-leaking program, a slow leak under page-cache churn,
 * three services of which the smallest leaks, a leak inside malloc/free churn): verdict, culprit, rate error and
 * when the leak is first found on prefixes of 2..10 minutes.
 * Run: npx tsc -p . && node dist/bench/detect.js [--real-seconds 120] [--no-real] [--no-generated] [--no-classes] [--only fd] [--dump DIR]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeRecording } from '../src/analyze/report_model.js';
import { makeTable, prefix, culpritKeyOf, type Scenario, type LeakTruth, type Noise } from '../src/analyze/testing_tables.js';
import { takeLocalSnapshot } from '../src/sources/local.js';
import { flattenSnapshot } from '../src/model/series.js';
import { buildSeriesTable, type TableSample } from '../src/sources/series_table_builder.js';
import type { SeriesTable } from '../src/model/series_table.js';
import type { Analysis } from '../src/model/analysis.js';

const args = process.argv.slice(2);
const argOf = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const realSeconds = Number(argOf('--real-seconds') ?? 120) || 120;
/** Only the real cases whose name contains this text. */
const only = argOf('--only');
/** Writes each real recording as JSON (t, series) into this directory, to look at or to turn into a fixture. */
const dumpDir = argOf('--dump');
const PREFIXES = [120, 300, 600, 900, 1200, 1800];
const RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01];
const KINDS: LeakTruth[] = ['kernel-slab', 'user', 'kernel-vmalloc'];
const NOISES: Noise[][] = [['ar1', 'cache-churn', 'sawtooth'], ['white', 'warmup', 'step', 'cache-churn']];

/** Student-t two-sided p via the normal approximation (n is large here). */
function oracleDetects(t: Float64Array, v: Float64Array, startSec: number): boolean {
  let n = 0, sx = 0, sy = 0;
  for (let i = 0; i < t.length; i++) if ((t[i] as number) >= startSec) { n++; sx += t[i] as number; sy += v[i] as number; }
  if (n < 3) return false;
  const mx = sx / n, my = sy / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < t.length; i++) if ((t[i] as number) >= startSec) { const dx = (t[i] as number) - mx; sxx += dx * dx; sxy += dx * ((v[i] as number) - my); }
  const b = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < t.length; i++) if ((t[i] as number) >= startSec) { const r = (v[i] as number) - my - b * ((t[i] as number) - mx); sse += r * r; }
  const se = Math.sqrt(sse / (n - 2) / sxx);
  return b / se > 2.576; // one-sided at 0.5%, two-sided alpha 0.01
}

interface Row { rate: number; scenarios: number; detected: number; culpritOk: number; ttd: number[]; oracle: number; oracleTtd: number[]; wrong: number }

if (!args.includes('--no-generated')) {
  const started = Date.now();
  const rows = new Map<number, Row>();
  let fp = 0;
  let nonLeaks = 0;
  const fpNames: string[] = [];
  let seed = 1;
  for (const rate of RATES) {
    const row: Row = { rate, scenarios: 0, detected: 0, culpritOk: 0, ttd: [], oracle: 0, oracleTtd: [], wrong: 0 };
    rows.set(rate, row);
    for (const leak of KINDS) {
      for (const noise of NOISES) {
        const s: Scenario = { name: `${leak}@${rate}`, leak, ratePerHour: rate, noise, seconds: 1800, dt: 1, seed: seed++, leakStartSec: 60 };
        const full = makeTable(s);
        row.scenarios++;
        const key = culpritKeyOf(s) as string;
      const trueRate = (rate * 8 * 1024 ** 3) / 3600;
        let found: number | undefined;
        let ok = false;
        for (const p of PREFIXES) {
          const a = analyzeRecording(prefix(full, p));
          if (a.verdict === 'leak' && a.leaks[0]?.kind === leak) {
            // A true positive finds the leak, not something before it: the leak must exist in the prefix and
            // the reported rate must be of its order (within 10x). A "leak" at 100x the true rate in the first
            // minutes is a warm-up called a leak: counted as wrong, and the search goes on.
            const measured = a.leaks[0]?.rateBytesPerSec ?? 0;
            if (p <= (s.leakStartSec ?? 0) || measured > 10 * trueRate || measured < trueRate / 10) { row.wrong++; continue; }
            found = p; ok = a.leaks[0]?.culprits[0] === key;
            if (process.env['DETECT_VERBOSE']) console.log(`  ${s.name} [${noise.join(',')}] at ${p} s: ${a.leaks[0]?.key} ${Math.round(a.leaks[0]?.rateBytesPerSec ?? 0)} B/s (true ${Math.round(trueRate)} B/s) since ${a.leaks[0]?.sinceSec}; ${a.leaks[0]?.evidence.join(' | ')}`);
            break;
          }
        }
        if (found !== undefined) { row.detected++; row.ttd.push(found); if (ok) row.culpritOk++; }
        let oFound: number | undefined;
        for (const p of PREFIXES) {
          const tb = prefix(full, p);
          if (oracleDetects(tb.t, tb.series.get(key) as Float64Array, 60)) { oFound = p; break; }
        }
        if (oFound !== undefined) { row.oracle++; row.oracleTtd.push(oFound); }
      }
    }
  }
  for (const nonLeak of ['page-cache', 'sawtooth', 'warmup', 'step', 'saturating', 'reclaimable-slab', 'flat'] as const) {
    for (const noise of NOISES) {
      nonLeaks++;
      const a = analyzeRecording(makeTable({ name: nonLeak, leak: 'none', nonLeak, ratePerHour: 0, noise, seconds: 1800, dt: 1, seed: seed++ }));
      if (a.verdict === 'leak') { fp++; fpNames.push(`${nonLeak}(${a.leaks.map((l) => l.key).join(',')})`); }
    }
  }

  const median = (xs: number[]): string => {
    if (xs.length === 0) return '-';
    const s = [...xs].sort((a, b) => a - b);
    return `${Math.round((s[Math.floor(s.length / 2)] as number) / 60)} min`;
  };
  console.log('Generated recordings (1 s samples, up to 30 min; 8 GiB MemTotal)');
  console.log('rate %MemTotal/h  leaks  recall  culprit-first  median TTD  wrong-rate  | oracle recall  oracle TTD');
  for (const r of rows.values()) {
    console.log(`${(r.rate * 100).toFixed(2).padStart(15)}  ${String(r.scenarios).padStart(5)}  ${(r.detected / r.scenarios * 100).toFixed(0).padStart(5)}%  ${(r.detected ? (r.culpritOk / r.detected) * 100 : 0).toFixed(0).padStart(12)}%  ${median(r.ttd).padStart(10)}  ${String(r.wrong).padStart(10)}  | ${(r.oracle / r.scenarios * 100).toFixed(0).padStart(12)}%  ${median(r.oracleTtd).padStart(10)}`);
  }
  console.log(`non-leak scenarios: ${nonLeaks}, false positives: ${fp}${fpNames.length ? ` (${fpNames.join('; ')})` : ''}`);
  const all = [...rows.values()];
  const big = all.filter((r) => r.rate >= 0.001);
  const detAll = all.reduce((n, r) => n + r.detected, 0);
  console.log(`targets: no FP ${fp === 0 ? 'MET' : 'MISSED'}; >=0.1%/h within 30 min ${big.every((r) => r.detected === r.scenarios) ? 'MET' : 'MISSED'}; culprit first ${(all.reduce((n, r) => n + r.culpritOk, 0) / Math.max(1, detAll) * 100).toFixed(0)}% (target 90%)`);
  console.log(`generated part: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Issue 13's failure classes: real recordings made here with test/fixtures/scenarios.c (test/recordings.ts),
// judged on growing prefixes of their 2 s samples, as a user would analyze a recording cut short.
if (!args.includes('--no-classes')) {
  const { FAILURE_CLASSES, loadRecording, falsePositives, scenarioCulprit } = await import('../test/recordings.js');
  const CLASS_PREFIXES = [120, 240, 360, 480, 600];
  console.log('\nFailure classes of issue 13: real recordings of this machine at 2 s (test/fixtures/recording-*-local.json)');
  // "scenario": the verdict on what the class recorded; "machine": analyze's verdict on the whole shared machine,
  // where other tenants' processes (compilers, other engineers' leak tests) may really grow meanwhile.
  const head = ['class', 'truth', 'scenario', 'machine', 'culprit (first of the scenario)', 'culprit', 'rate (programmed)', 'error', 'found at', 'own footprint'];
  const rows: string[][] = [];
  let fp = 0, nonLeaks = 0, leaks = 0, found = 0, culpritOk = 0;
  const rateErrors: number[] = [];
  for (const c of FAILURE_CLASSES) {
    let rec;
    try { rec = loadRecording(c.file); } catch { rows.push([c.name, c.leak ? 'leak' : 'none', 'fixture missing', '', '', '', '', '', '', '']); continue; }
    const { table, pid, pids } = rec;
    const a = analyzeRecording(table);
    const want = c.culprit?.(pid);
    // The scenario's culprit: its first process among the leaks' culprits (other tenants of the machine may rank before it).
    const culprit = scenarioCulprit(a, pids) ?? '-';
    const end = (table.t[table.t.length - 1] as number) - (table.t[0] as number);
    let foundAt = '-';
    if (c.leak) {
      leaks++;
      for (const p of CLASS_PREFIXES) {
        if (p > end + 2) break;
        const ap = analyzeRecording(prefix(table, p));
        if (ap.verdict === 'leak' && scenarioCulprit(ap, pids) === want) { foundAt = `${p / 60} min`; break; }
      }
      if (a.verdict === 'leak') found++;
      if (culprit === want) culpritOk++;
    } else {
      nonLeaks++;
      if (falsePositives(c, a, pid).length > 0) fp++;
    }
    const row = want ? a.culprits.process.find((r) => r.key === want) : undefined;
    const err = c.leak && row ? (row.rateBytesPerSec - c.leak.bytesPerSec) / c.leak.bytesPerSec : undefined;
    if (err !== undefined) rateErrors.push(Math.abs(err));
    const kib = (x: number): string => `${(x / 1024).toFixed(1)} KiB/s`;
    const fps = c.leak ? [] : falsePositives(c, a, pid);
    const scenario = c.leak ? (culprit === want ? 'leak' : 'missed') : fps.length > 0 ? 'LEAK' : 'no leak';
    rows.push([
      c.name, c.leak ? `leak ${kib(c.leak.bytesPerSec)}` : 'none', scenario, a.verdict, culprit.replace(/^proc\./, ''),
      c.leak ? (culprit === want ? 'right' : 'WRONG') : falsePositives(c, a, pid).length > 0 ? 'FALSE POSITIVE' : a.leaks.length > 0 ? `ok (neighbours: ${a.leaks.filter((l) => l.kind === 'user').flatMap((l) => l.culprits.slice(0, 2)).map((k) => k.replace(/^proc\.|\.anon$/g, '')).join(', ')})` : 'ok',
      row ? `${kib(row.rateBytesPerSec)} (${c.leak ? kib(c.leak.bytesPerSec) : '-'})` : '-',
      err !== undefined ? `${(err * 100).toFixed(1)}%` : '-', foundAt,
      a.own ? `${a.own.processes.length} proc${a.own.kernel.length ? ` + ${a.own.kernel.length} BPF` : ''}: ${a.own.processes.map((p) => p.comm).slice(0, 3).join(', ')}` : '-',
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  console.log(head.map((h, i) => h.padEnd(widths[i] as number)).join('  '));
  for (const r of rows) console.log(r.map((x, i) => x.padEnd(widths[i] as number)).join('  '));
  console.log(`false positives ${fp} of ${nonLeaks} non-leak classes (target 0); leaks found ${found} of ${leaks}; right culprit first ${culpritOk} of ${leaks} (target >= 90%); rate error max ${rateErrors.length ? (Math.max(...rateErrors) * 100).toFixed(1) : '-'}% (target 20%)`);
}

// Real recordings on this machine.
if (!args.includes('--no-real')) {
  const dir = mkdtempSync(join(tmpdir(), 'ms-detect-'));
  const C = `#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
  int mode = atoi(argv[1]); int per = atoi(argv[2]);
  struct rlimit r; getrlimit(RLIMIT_NOFILE, &r); r.rlim_cur = r.rlim_max; setrlimit(RLIMIT_NOFILE, &r);
  for (;;) {
    for (int i = 0; i < per; i++) {
      if (mode == 0) { int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv); }
      else if (mode == 1) { char *p = malloc(4096); memset(p, 1, 4096); }
    }
    usleep(100000);
  }
}`;
  writeFileSync(join(dir, 'leak.c'), C);
  execFileSync('cc', ['-O1', '-o', join(dir, 'leak'), join(dir, 'leak.c')]);
  const big = join(dir, 'big.bin');
  const record = async (name: string, start: () => { pid: number; stop: () => void }): Promise<{ table: SeriesTable; pid: number }> => {
    const child = start();
    const samples: TableSample[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < realSeconds * 1000) {
      const at = Date.now();
      const snap = takeLocalSnapshot({ system: { vmallocinfo: false } });
      // Every process, as `memsleuth record` keeps them: on this shared machine the neighbours' builds and tests
      // move user memory, and only their own series let the analysis say it is them and not the scenario.
      samples.push({ tSec: (snap.target.uptimeSec ?? at / 1000), takenAtMs: snap.takenAtMs, values: flattenSnapshot(snap), snapshot: snap });
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - at))));
    }
    child.stop();
    return { table: buildSeriesTable(samples, { source: name, intervalSec: 1, timeSource: 'uptime' }), pid: child.pid };
  };
  const prog = (mode: number, per: number) => () => {
    const c = spawn(join(dir, 'leak'), [String(mode), String(per)], { stdio: 'ignore' });
    return { pid: c.pid ?? 0, stop: () => { c.kill('SIGKILL'); } };
  };
  const cat = () => {
    execFileSync('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=2048'], { stdio: 'ignore' });
    // Without sync the 2 GiB just written are still dirty: drop_caches cannot drop them, cat reads from memory
    // and the recording shows writeback (buffer heads, bios, kmalloc caches) instead of a file read. This
    // drops every clean cache of the machine (a state change, needs root): only this benchmark does it.
    execFileSync('sh', ['-c', `sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true`]);
    // exec: the pid stopped at the end is the sleep itself, so no orphan outlives the case.
    const c = spawn('sh', ['-c', `cat ${big} > /dev/null; exec sleep 100000`], { stdio: 'ignore' });
    return { pid: c.pid ?? 0, stop: () => { c.kill('SIGKILL'); } };
  };
  const cases: [string, () => { pid: number; stop: () => void }, string][] = [
    ['fd leak (socketpair, 50/s)', prog(0, 5), 'kernel'],
    ['malloc leak (4 KiB x 500/s)', prog(1, 50), 'user'],
    ['page cache (cat 2 GiB file)', cat, 'none'],
  ];
  console.log(`\nReal recordings on this machine (${realSeconds} s at 1 s)`);
  console.log('scenario                        verdict       kind               top culprit');
  for (const [name, start, truth] of cases) {
    if (only !== undefined && !name.includes(only)) continue;
    const { table, pid } = await record(name, start);
    if (dumpDir !== undefined) {
      const series: Record<string, (number | null)[]> = {};
      for (const [k, v] of table.series) series[k] = Array.from(v, (x) => (Number.isFinite(x) ? x : null));
      const file = join(dumpDir, `${name.split(' ')[0] ?? 'case'}-${name.includes('cache') ? 'cache' : name.split(' ')[1] ?? ''}-${pid}.json`);
      writeFileSync(file, JSON.stringify({ name, pid, t: Array.from(table.t), boots: table.boots, gaps: table.gaps, meta: table.meta, startedAtMs: table.startedAtMs, series }));
      console.log(`  (recording written to ${file})`);
    }
    const a: Analysis = analyzeRecording(table);
    // The scenario's own leak: the kernel leak for the fd case, the program's USS first for the malloc case.
    const mine = (x: Analysis['leaks'][number]): boolean => x.culprits.some((c) => c.includes(`:${pid}.`)) || x.owners.some((o) => o.pid === pid);
    const own = truth === 'user' ? a.leaks.find((x) => x.kind === 'user' && (x.culprits[0] ?? '').includes(`:${pid}.`))
      : truth === 'kernel' ? a.leaks.find((x) => x.kind.startsWith('kernel'))
      : a.leaks.find((x) => x.kind !== 'user' || mine(x) || x.culprits.length === 0);
    // Leaks of named neighbour processes are facts about the machine, not about the scenario: shown, not scored.
    const neighbours = a.leaks.filter((x) => x !== own && x.kind === 'user' && x.culprits.length > 0 && !mine(x));
    const ok = truth === 'none' ? own === undefined : own !== undefined;
    const l = own ?? a.leaks[0];
    const others = neighbours.length ? `  (neighbours: ${neighbours.map((x) => x.culprits[0]).join(', ')})` : '';
    console.log(`${name.padEnd(32)}${a.verdict.padEnd(14)}${(l?.kind ?? '-').padEnd(19)}${(l?.culprits[0] ?? '-').padEnd(40)} ${ok ? 'OK' : 'WRONG'}${a.culprits.owner[0] ? `  owner ${a.culprits.owner[0].comm}:${a.culprits.owner[0].pid} via ${a.culprits.owner[0].counter}` : ''}${others}`);
  }
  rmSync(dir, { recursive: true, force: true });
}
