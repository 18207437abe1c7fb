/**
 * Dialect independence: one real recording (three processes on this machine, one leaking) rendered in the log
 * styles of test/dialects.ts must read as the framed capture of the same run: the same samples, the same times
 * (to the second, relative to the first sample) and the same values, key for key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ingestSeries } from '../src/sources/capture_file.js';
import { reference, series } from '../src/sources/capture_testing.js';
import { tableFromCaptureLog } from '../src/cli/analyze.js';
import { analyzeRecording } from '../src/analyze/report_model.js';
import { DIALECTS, PROCFILES_FRAMED_NAME, framedPath, readPasses, type Pass } from './dialects.js';

interface Read { t: number[]; values: Map<string, number>[]; sources: string[]; pidsMissing: number }

function read(path: string): Read {
  const out: Read = { t: [], values: [], sources: [], pidsMissing: 0 };
  ingestSeries(path, {}, (t, v, meta) => {
    out.t.push(t);
    out.values.push(new Map(v));
    out.sources.push(meta.timestamp.source);
    out.pidsMissing += meta.warnings.filter((w) => w.reason.startsWith('pid not found')).length;
  });
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'ms-dialects-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const passes = readPasses();
const framedRead = read(framedPath());
const framed = framedRead;

function sameAsFramed(name: string, got: Read, tolerance: number, framed = framedRead, lacks?: RegExp): void {
  assert.equal(got.t.length, framed.t.length, `${name}: samples`);
  assert.equal(got.pidsMissing, 0, `${name}: every per-process file found its pid`);
  assert.equal(new Set(got.sources).size, 1, `${name}: one clock for every sample (${[...new Set(got.sources)].join(', ')})`);
  assert.notEqual(got.sources[0], 'index', `${name}: a clock was found`);
  const t0 = got.t[0] as number;
  const f0 = framed.t[0] as number;
  for (let i = 0; i < got.t.length; i++) {
    const d = Math.abs(((got.t[i] as number) - t0) - ((framed.t[i] as number) - f0));
    assert.ok(d <= tolerance + 1e-6, `${name}: sample ${i + 1} at +${(got.t[i] as number) - t0} s, framed +${(framed.t[i] as number) - f0} s (${got.sources[i]})`);
    const want = lacks ? new Map([...(framed.values[i] as Map<string, number>)].filter(([k]) => !lacks.test(k))) : framed.values[i];
    assert.deepEqual(got.values[i], want, `${name}: sample ${i + 1} values`);
  }
}

test('the framed recording: 60 samples of meminfo, buddyinfo and three processes, timed by date', () => {
  assert.equal(passes.length, 60);
  assert.ok(passes.every((p) => p.procs.length === 3 && p.meminfo.length > 40 && p.procs.every((q) => q.status.length > 40 && q.rollup.length > 10)));
  assert.ok(framed.sources.every((s) => s === 'date'));
});

test(`at least 12 dialects, each read as the framed capture (${DIALECTS.length} dialects)`, () => {
  assert.ok(DIALECTS.length >= 12);
  for (const d of DIALECTS) {
    const path = join(dir, `${d.name}.log`);
    writeFileSync(path, d.render(passes));
    sameAsFramed(d.name, read(path), d.timeTolerance);
  }
});

test('every dialect reads statm, smaps, maps and /proc/N/fd as the framed capture does (where the dialect names them)', () => {
  const procPasses = readPasses(PROCFILES_FRAMED_NAME);
  const want = read(framedPath(PROCFILES_FRAMED_NAME));
  assert.ok(procPasses.every((p) => p.procs.length === 2 && p.procs.every((q) => q.files.map((f) => f.kind).join() === 'statm,smaps,maps,fd')));
  for (const d of DIALECTS) {
    const path = join(dir, `procfiles-${d.name}.log`);
    writeFileSync(path, d.render(procPasses));
    sameAsFramed(`${d.name} (statm, smaps, maps, fd)`, read(path), d.timeTolerance, want, d.lacks);
  }
});

test('the fast path reads every dialect as the generic path does; the stamped ones of the system files take it all the way', () => {
  // Every dialect, whole: the fast path (where it reads any of it) and the generic path give the same samples.
  for (const d of DIALECTS) {
    const path = join(dir, `paths-${d.name}.log`);
    writeFileSync(path, d.render(passes));
    const want = reference(path, 1);
    assert.equal(want.length, passes.length, d.name);
    assert.deepStrictEqual(series(path, {}).got, want, `${d.name} (auto)`);
    assert.deepStrictEqual(series(path, { path: 'generic' }).got, want, `${d.name} (generic)`);
  }
  // The stamped dialects (a date or a time of day in their stamps), of the recording's meminfo alone (what the fast path reads in
  // free-form logs): fast path == generic path == framed capture, the same samples, times and values.
  const memOnly = passes.map((p) => ({ ...p, buddyinfo: [], procs: [] }));
  const framedMem = framed.values.map((v) => new Map([...v].filter(([k]) => k.startsWith('meminfo.'))));
  for (const name of ['minicom-crlf-printk', 'tio-time-of-day', 'ts-syslog-stamps', 'dmesg-T-stamps']) {
    const d = DIALECTS.find((x) => x.name === name);
    assert.ok(d, name);
    const path = join(dir, `meminfo-${name}.log`);
    writeFileSync(path, d.render(memOnly));
    const fast = series(path, {});
    assert.equal(fast.path, 'fast', name);
    assert.deepStrictEqual(fast.got, reference(path, 1), name);
    assert.deepStrictEqual(series(path, { path: 'generic' }).got, fast.got, name);
    assert.deepEqual(fast.got.map((g) => g.values), framedMem, `${name}: values`);
    assert.ok(fast.got.every((g) => g.meta.timestamp.source === (name === 'tio-time-of-day' ? 'terminal-tod' : 'terminal')), name);
    const t0 = fast.got[0]?.t as number;
    const f0 = framed.t[0] as number;
    assert.deepEqual(fast.got.map((g) => g.t - t0), framed.t.map((t) => t - f0), `${name}: times`);
  }
});

/**
 * Noise a console adds anywhere (written here, not captured): printk lines, blank lines, a shell error, a prompt
 * echoing a command. Inserted at random lines of a random dialect, it changes nothing.
 */
const NOISE = [
  '[ 4711.000123] usb 1-1: USB disconnect, device number 3',
  '<6>[ 4711.500000] eth0: link up',
  '',
  '   ',
  "cat: can't open '/proc/slabinfo': Permission denied",
  '/ # sleep 1',
  '\x1b[0m',
];

test('property: noise at random places of any dialect leaves samples, times and values unchanged', () => {
  const rendered = DIALECTS.map((d) => d.render(passes).split('\n'));
  let run = 0;
  fc.assert(fc.property(
    fc.integer({ min: 0, max: DIALECTS.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: NOISE.length - 1 })), { minLength: 1, maxLength: 40 }),
    (k, inserts) => {
      const d = DIALECTS[k] as (typeof DIALECTS)[number];
      const lines = [...(rendered[k] as string[])];
      const eol = lines[0]?.endsWith('\r') ? '\r' : '';
      // From the end, so earlier positions stay valid; never between a logger's stamp and its line.
      for (const [at, n] of [...inserts].sort((a, b) => b[0] - a[0])) lines.splice(at % lines.length, 0, `${NOISE[n] ?? ''}${eol}`);
      const path = join(dir, `prop-${run++}.log`);
      writeFileSync(path, lines.join('\n'));
      sameAsFramed(`${d.name} + ${inserts.length} noise lines`, read(path), d.timeTolerance);
    },
  ), { numRuns: 25, seed: 12 });
});

/** The leak verdict of a log: verdict, the first leak's culprits and rate. */
async function leakOf(path: string) {
  const a = analyzeRecording(await tableFromCaptureLog(path));
  const leak = a.leaks[0];
  return { verdict: a.verdict, kind: leak?.kind, culprits: leak?.culprits.slice(0, 1), rate: leak?.rateBytesPerSec ?? NaN };
}

test('done means: analyze gives the same verdict, culprit and rate (within 5%) on free-form logs as on the framed capture', async () => {
  const want = await leakOf(framedPath());
  assert.equal(want.verdict, 'leak');
  assert.match(want.culprits?.[0] ?? '', /python3/);
  for (const name of ['seed-notes', 'tio-time-of-day', 'proc-uptime-only', 'busybox-prompt-ansi']) {
    const d = DIALECTS.find((x) => x.name === name);
    assert.ok(d, name);
    const path = join(dir, `analyze-${name}.log`);
    writeFileSync(path, d.render(passes as Pass[]));
    const got = await leakOf(path);
    assert.equal(got.verdict, want.verdict, name);
    assert.equal(got.kind, want.kind, name);
    assert.deepEqual(got.culprits, want.culprits, name);
    assert.ok(Math.abs(got.rate / want.rate - 1) <= 0.05, `${name}: rate ${got.rate} B/s, framed ${want.rate} B/s`);
  }
});

test('the clock: a repeat, a jump and a clock going back are reported; /proc/uptime falling is a reboot and a new boot segment', async () => {
  const { ingestSeriesTyped } = await import('../src/sources/capture_file.js');
  const { dateDefault } = await import('./dialects.js');
  // Times edited in code (the values stay the recording's): pass 11 repeats pass 10's clock, pass 21 comes 100 s
  // late, pass 41 is 30 s early (a clock reset), and in the uptime log the target reboots at pass 31.
  const shift = (i: number): number => (i === 10 ? -1 : 0) + (i >= 20 ? 100 : 0) + (i === 40 ? -130 : 0);
  const dated = passes.map((p, i) => ({ ...p, epochMs: p.epochMs + (shift(i) + (i === 10 ? 0 : 0)) * 1000 }));
  const dateLog = dated.flatMap((p, i) => [dateDefault(i === 10 ? (dated[9] as Pass).epochMs : p.epochMs, 'UTC', 0), ...p.meminfo, ...p.buddyinfo]).join('\n');
  const upLog = passes.flatMap((p, i) => [`${(i >= 30 ? p.uptimeSec - 180 : p.uptimeSec).toFixed(2)} 1.00`, ...p.meminfo]).join('\n');
  const datePath = join(dir, 'clock-date.log');
  const upPath = join(dir, 'clock-uptime.log');
  writeFileSync(datePath, `${dateLog}\n`);
  writeFileSync(upPath, `${upLog}\n`);
  const d = ingestSeriesTyped(datePath, {}, () => undefined).report.clock;
  assert.deepEqual({ repeats: d.repeats, backwards: d.backwards, jumps: d.jumps.map((j) => j.index), reboots: d.reboots, primary: d.primary },
    { repeats: [10], backwards: [40], jumps: [20, 41], reboots: [], primary: 'date' });
  const u = ingestSeriesTyped(upPath, {}, () => undefined).report.clock;
  assert.deepEqual({ reboots: u.reboots, backwards: u.backwards, primary: u.primary }, { reboots: [30], backwards: [], primary: 'uptime' });
  const table = await tableFromCaptureLog(upPath);
  assert.deepEqual(table.boots.map((b) => [b.fromIndex, b.toIndex]), [[0, 29], [30, 59]]);
  assert.match(table.gaps[0]?.reason ?? '', /reboot \(uptime fell\)/);
});

test('memsleuth ingest says what it understood: samples, period, clock per sample, files per kind, pids, lines set aside', async () => {
  const { ingestCommand } = await import('../src/cli/ingest.js');
  const { runInProcess } = await import('../src/cli/in_process.js');
  const d = DIALECTS.find((x) => x.name === 'busybox-prompt-ansi');
  assert.ok(d);
  const path = join(dir, 'ingest-summary.log');
  writeFileSync(path, d.render(passes));
  const ingestJson = async (file: string): Promise<string> => (await runInProcess(ingestCommand, [file, '--json'])).out;
  const out = await ingestJson(path);
  const r = JSON.parse(out) as {
    samples: number; periodSec: number; clockBySample: [string, number, number][]; sectionsByKind: Record<string, number>;
    pids: { found: number; notFound: number }; setAside: Record<string, number>; clock: { counts: Record<string, number> };
  };
  assert.equal(r.samples, 60);
  assert.ok(r.periodSec >= 1 && r.periodSec <= 2, String(r.periodSec));
  assert.deepEqual(r.clockBySample, [['iso', 0, 59]]);
  assert.deepEqual(r.sectionsByKind, { meminfo: 60, buddyinfo: 60, status: 180, smaps_rollup: 180 });
  assert.deepEqual(r.pids, { found: 3, notFound: 0 });
  // Each pass: 2 date/meminfo/slabinfo/buddyinfo prompts + 3 process prompts, one error, one clock line.
  assert.deepEqual({ prompt: r.setAside['prompt'], error: r.setAside['error'], clock: r.setAside['clock'] }, { prompt: 60 * 7, error: 60, clock: 60 });
  assert.deepEqual(r.clock.counts, { backwards: 0, repeats: 0, jumps: 0, reboots: 0, unconverted: 0 });
  // The other per-process files by kind: a pty session typing `cat /proc/N/statm`, `cat /proc/N/maps`, `ls /proc/N/fd | wc -l`.
  const pty = JSON.parse(await ingestJson(join(framedPath(), '..', 'capture-procfiles-pty-typed-local.txt'))) as typeof r;
  assert.deepEqual(pty.sectionsByKind, { meminfo: 4, status: 8, statm: 8, maps: 8, fd: 8 });
  assert.deepEqual(pty.pids, { found: 2, notFound: 0 });
  const framedProcs = JSON.parse(await ingestJson(framedPath(PROCFILES_FRAMED_NAME))) as typeof r;
  assert.deepEqual(framedProcs.sectionsByKind, { date: 4, uptime: 4, meminfo: 4, status: 8, statm: 8, smaps: 8, maps: 8, fd: 8 });
});

/**
 * Per-process files other than status and smaps_rollup, in logs real loops wrote: one run
 * (test/fixtures/capture-procfiles.sh) read each round's files through five loops, the framed one and four
 * free-form ones, while the two processes slept; each free-form log must give the framed log's samples and its
 * per-process series for the files it printed, pid for pid.
 */
interface ProcRead { values: Map<string, number>[]; pidsMissing: number }

function readProc(path: string): ProcRead {
  const out: ProcRead = { values: [], pidsMissing: 0 };
  ingestSeries(path, {}, (_t, v, meta) => {
    out.values.push(new Map([...v].filter(([k]) => k.startsWith('proc.'))));
    out.pidsMissing += meta.warnings.filter((w) => w.reason.startsWith('pid not found')).length;
  });
  return out;
}

/**
 * Series counting pages other processes may share: the tools that read them (head, sed, ls) map the same locale
 * files and libraries, so two reads a few ms apart can see a page as private or shared. Compared within 64 KiB.
 */
const SHARED_PAGES = /:\d+\.(?:pss|swap_pss|uss)$|\.map\.[^.]+\.uss$/;

test('statm, smaps, maps and descriptor counts in real free-form logs read as the framed capture of the same run', () => {
  const fixture = (v: string): string => join(framedPath(), '..', `capture-procfiles-${v}-local.txt`);
  const want = readProc(fixture('framed'));
  assert.equal(want.values.length, 4);
  assert.equal(want.pidsMissing, 0);
  for (const [i, s] of want.values.entries()) {
    const pids = new Set([...s.keys()].map((k) => /^proc\.[^.]*:(\d+)\./.exec(k)?.[1]));
    assert.equal(pids.size, 2, `framed sample ${i + 1}: two processes`);
    for (const [k, v] of s) {
      // statm's resident pages are status's VmRSS, read a moment apart from a sleeping process.
      if (k.endsWith('.statm.resident')) assert.equal(v, s.get(k.replace('.statm.resident', '.status.VmRSS')), k);
    }
  }
  const perl = (s: Map<string, number>, suffix: string): number =>
    [...s].find(([k]) => k.startsWith('proc.perl:') && k.endsWith(suffix))?.[1] ?? NaN;
  // The perl takes one more descriptor and 1 MiB more each round (adjacent anonymous mappings merge: their count may not grow).
  for (let i = 1; i < want.values.length; i++) {
    const [a, b] = [want.values[i - 1] as Map<string, number>, want.values[i] as Map<string, number>];
    assert.equal(perl(b, '.fds') - perl(a, '.fds'), 1, `sample ${i + 1}: fds`);
    assert.ok(perl(b, '.maps.vss') - perl(a, '.maps.vss') >= 1 << 20, `sample ${i + 1}: maps.vss`);
    assert.ok(perl(b, '.statm.size') - perl(a, '.statm.size') >= 1 << 20, `sample ${i + 1}: statm.size`);
  }
  const cases = [
    // head's "==> /proc/N/statm <==" headers, `ls -l` listings under no header of their own, "[cam01] " on every line.
    { name: 'head-tagged', lacks: /\.maps\.(?:count|vss)$/ },
    // "/ # cat /proc/N/statm" and "/ # ls /proc/N/fd | wc -l" echoed by a pty, CRLF; maps instead of smaps.
    { name: 'pty-typed', lacks: /\.map\.|:\d+\.(?:uss|pss|rss|swap|vss|swap_pss)$/ },
    // `set -x`: "+ cat /proc/N/statm", and "+ ls /proc/N/fd" and "+ wc -l" in either order (the pipeline's two sides trace at once).
    { name: 'xtrace', lacks: /\.map\.|:\d+\.(?:uss|pss|rss|swap|vss|swap_pss)$/ },
    // `echo "== $p"; cat status statm; cat smaps; ls | wc -l`: nothing names the statm line or the count, so neither is
    // read (a line of numbers is no file of its own); status and smaps are, each for its own process.
    { name: 'plain-loop', lacks: /\.statm\.|\.maps\.|\.fds$/ },
  ];
  for (const c of cases) {
    const got = readProc(fixture(c.name));
    assert.equal(got.values.length, want.values.length, `${c.name}: samples`);
    assert.equal(got.pidsMissing, 0, `${c.name}: every per-process file found its pid`);
    for (const [i, w] of want.values.entries()) {
      const g = got.values[i] as Map<string, number>;
      const keys = [...w.keys()].filter((k) => !c.lacks.test(k));
      assert.deepEqual([...g.keys()].sort(), keys.sort(), `${c.name}: sample ${i + 1} keys`);
      for (const k of keys) {
        const d = Math.abs((g.get(k) as number) - (w.get(k) as number));
        assert.ok(d === 0 || (SHARED_PAGES.test(k) && d <= 64 << 10), `${c.name}: sample ${i + 1} ${k}: ${g.get(k)}, framed ${w.get(k)}`);
      }
    }
  }
});
