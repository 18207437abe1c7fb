/**
 * The recording path end to end, through the real CLI: record this machine (directly and through `sh` as the
 * --via shell), export the database, analyze it; and the capture script's output ingested back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { runCli } from './cli_helpers.js';
import { fixturesDir } from '../corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'memsleuth-rec-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function exportCsv(db: string, glob: string): { header: string[]; rows: number[][] } {
  const r = runCli(['export', '--db', db, '--series', glob]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',').map(Number)) };
}

for (const [name, extra] of [['local', []], ['via sh', ['--via', 'sh']], ['via busybox sh', ['--via', 'busybox sh']]] as const) {
  test(`record ${name}: samples land in the database with this machine's MemTotal`, { skip: name.includes('busybox') && !existsSync('/bin/busybox') ? 'busybox not installed' : false }, () => {
    const db = join(dir, `${name.replace(/\W/g, '_')}.db`);
    const r = runCli(['record', ...extra, '--interval', '1s', '--duration', '3.5s', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const recorded = Number(/(\d+) samples recorded in/.exec(r.stderr)?.[1]);
    const { header, rows } = exportCsv(db, 'meminfo.MemTotal');
    assert.deepEqual(header, ['time_ms', 'meminfo.MemTotal']);
    // How many samples fit in 3.5 s depends on the machine's load; that every recorded one is in the file does not.
    assert.ok(recorded >= 1, r.stderr);
    assert.equal(rows.length, recorded);
    const memTotalKb = Number(/MemTotal:\s+(\d+)/.exec(spawnSync('cat', ['/proc/meminfo'], { encoding: 'utf8' }).stdout)?.[1]);
    for (const row of rows) assert.equal(row[1], memTotalKb * 1024);
    const a = runCli(['analyze', db, '--json']);
    assert.equal(a.code, 0, a.stderr);
    const analysis = JSON.parse(a.stdout) as { verdict: string; leaks: { subject: string; confidence: { level: string } }[] };
    // A few seconds decide little. On a busy machine another tenant may well grow by megabytes in them, which a
    // before/after comparison reports, but never with more than low confidence: no trend test is possible.
    for (const l of analysis.leaks) assert.equal(l.confidence.level, 'low', `${l.subject}: ${l.confidence.level}`);
  });
}

test('record: bad flags are usage errors', () => {
  assert.equal(runCli(['record', '--interval', 'soon']).code, 2);
  assert.equal(runCli(['record', '--via', 'sh', '--serial', '/dev/null']).code, 2);
  assert.equal(runCli(['export', '--db', join(dir, 'none.db')]).code, 2);
});

test('script: the printed loop runs under sh and its log is ingested with clocks', () => {
  const s = runCli(['script', '--interval', '1']);
  assert.equal(s.code, 0, s.stderr);
  const script = join(dir, 'loop.sh');
  writeFileSync(script, s.stdout);
  const log = join(dir, 'loop.log');
  // Until its third pass has begun: two whole passes however slowly a loaded machine runs them.
  // The log exists before the loop starts: a background job opens its redirection only once it runs, and a grep
  // that came first ended the wait at once (and the kill could beat the job to creating the file).
  const w = spawnSync('sh', ['-c', `: > ${log}; sh ${script} >> ${log} 2>&1 & loop=$!; i=0; while [ "$(grep -c '^MemTotal:' ${log})" -lt 3 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; kill $loop`], { encoding: 'utf8' });
  // Said in full if the loop could not run.
  assert.ok(existsSync(log), `no ${log}: folder ${existsSync(dir) ? 'exists' : 'is gone'}; sh status ${w.status}, signal ${w.signal}, error ${w.error?.message}, stderr ${w.stderr}`);
  const r = runCli(['ingest', log, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { samples: number; sectionsByKind: Record<string, number>; timeSources: Record<string, number> };
  assert.ok(report.samples >= 2, `samples ${report.samples}`);
  assert.ok((report.sectionsByKind['meminfo'] ?? 0) >= 2);
  assert.ok((report.sectionsByKind['slabinfo'] ?? 0) >= 2);
  assert.ok((report.timeSources['date'] ?? 0) >= 2, JSON.stringify(report.timeSources));
});

test('ingest --db: a capture log becomes a recording that analyze and export read', () => {
  const db = join(dir, 'ingested.db');
  const r = runCli(['ingest', join(fixturesDir, 'capture-seed-loop-local.txt'), '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { samples: number };
  const { rows } = exportCsv(db, 'meminfo.MemTotal');
  assert.equal(rows.length, report.samples);
  assert.equal(runCli(['analyze', db, '--json']).code, 0);
});

for (const [name, extra] of [['local', []], ['via sh', ['--via', 'sh']]] as const) {
  test(`record ${name} --watch-file /proc/sys/fs/file-nr and /proc/net/sockstat: series from the first sample`, () => {
    const db = join(dir, `watch_${name.replace(/\W/g, '_')}.db`);
    const r = runCli(['record', ...extra, '--interval', '1s', '--duration', '2.5s', '--db', db, '--watch-file', '/proc/sys/fs/file-nr', '--watch-file', '/proc/net/sockstat']);
    assert.equal(r.code, 0, r.stderr);
    const nr = exportCsv(db, 'file.file-nr.*');
    assert.deepEqual(nr.header, ['time_ms', 'file.file-nr.allocated', 'file.file-nr.free', 'file.file-nr.max']);
    assert.ok(nr.rows.length >= 1 && nr.rows.every((row) => (row[1] ?? 0) > 0 && (row[3] ?? 0) > 0), JSON.stringify(nr.rows));
    const sock = exportCsv(db, 'file.sockstat.*');
    // "TCP: inuse 32 ..." gives the field "TCP.inuse": its dot is encoded in the key (model/series.ts keyPart), and
    // the CSV header shows it as people read it.
    assert.ok(sock.header.includes('file.sockstat.sockets.used') && sock.header.includes('file.sockstat.TCP.inuse'), sock.header.join(','));
    assert.ok(!sock.header.some((h) => h.includes('%')), sock.header.join(','));
  });
}

test('record --watch-file on a file that gives no numbers, or none at all: exit 2 at the first sample, one line saying which', () => {
  const none = runCli(['record', '--interval', '1s', '--duration', '5s', '--db', join(dir, 'watch_bad.db'), '--watch-file', '/proc/version']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--watch-file "\/proc\/version" gives no numbers as kv at the first sample/);
  const missing = runCli(['record', '--via', 'sh', '--interval', '1s', '--duration', '5s', '--db', join(dir, 'watch_missing.db'), '--watch-file', '/no/such/file']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot watch "\/no\/such\/file": .* at the first sample/);
});
