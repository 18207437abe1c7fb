import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus } from '../../test/corpus.js';
import { parseProcrank, procrankSeries } from './procrank.js';

const KiB = 1024;

test('procrank of a Meizu phone (Android 5, 2015): 42 rows, the TOTAL row, and the rows the post left out are said', () => {
  const [f] = corpus('procrank', /duanqz.*procrank/);
  assert.ok(f);
  const r = parseProcrank(f.text);
  assert.deepEqual(r.value.columns, ['Vss', 'Rss', 'Pss', 'Uss']);
  assert.equal(r.value.rows.length, 42);
  assert.deepEqual(r.value.rows[0], { pid: 752, cmdline: 'system_server', bytes: { Vss: 1759396 * KiB, Rss: 161936 * KiB, Pss: 97986 * KiB, Uss: 89876 * KiB } });
  assert.deepEqual(r.value.rows[9], { pid: 4786, cmdline: 'com.android.systemui:screenshot', bytes: { Vss: 1563376 * KiB, Rss: 63084 * KiB, Pss: 14438 * KiB, Uss: 12368 * KiB } });
  assert.deepEqual(r.value.rows[41], { pid: 187, cmdline: '/system/bin/installd', bytes: { Vss: 3192 * KiB, Rss: 680 * KiB, Pss: 276 * KiB, Uss: 268 * KiB } });
  // "924832K  802352K  TOTAL" sits under Pss and Uss.
  assert.deepEqual(r.value.total, { Pss: 924832 * KiB, Uss: 802352 * KiB });
  // The blog post kept 42 rows: they add up to 510579K of PSS and 443352K of USS, which the parser says.
  assert.equal(r.value.rows.reduce((n, x) => n + (x.bytes['Pss'] ?? 0), 0), 510579 * KiB);
  assert.deepEqual(r.warnings.map((w) => [w.severity, w.reason]), [
    ['info', "the rows' Pss add up to 510579K, the TOTAL row says 924832K: rows are missing from this text (cut?)"],
    ['info', "the rows' Uss add up to 443352K, the TOTAL row says 802352K: rows are missing from this text (cut?)"],
  ]);
});

test('procrank series: every row under proc.<cmdline>:<pid>, names whole (dots encoded)', () => {
  const [f] = corpus('procrank', /duanqz.*procrank/);
  assert.ok(f);
  const s = procrankSeries(parseProcrank(f.text).value);
  assert.equal(Object.keys(s).length, 42 * 4);
  assert.equal(s['proc.system_server:752.pss'], 97986 * KiB);
  assert.equal(s['proc.com%2Eandroid%2Esystemui:screenshot:4786.uss'], 12368 * KiB);
  assert.equal(s['proc./system/bin/mediaserver:186.rss'], 13096 * KiB);
});

test('procrank: swap columns and the RAM line are read by their header; junk never throws; no header is an error', () => {
  // The swap variant's header (procrank.cpp prints these columns when the device has swap) and its RAM line shape.
  const text = [
    '  PID       Vss      Rss      Pss      Uss     Swap    PSwap    USwap    ZSwap  cmdline',
    ' 1061   885736K   85504K   54829K   49440K    1024K     512K     512K     128K  system_server',
    '                           ------   ------   ------   ------   ------   ------  ------',
    '                           54829K   49440K    1024K     512K     512K     128K  TOTAL',
    '',
    ' RAM: 1554240K total, 446084K free, 41988K buffers, 496428K cached, 56588K shmem, 30296K slab',
  ].join('\n');
  const r = parseProcrank(text);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.value.rows[0]?.bytes, { Vss: 885736 * KiB, Rss: 85504 * KiB, Pss: 54829 * KiB, Uss: 49440 * KiB, Swap: 1024 * KiB, PSwap: 512 * KiB, USwap: 512 * KiB, ZSwap: 128 * KiB });
  assert.deepEqual(r.value.total, { Pss: 54829 * KiB, Uss: 49440 * KiB, Swap: 1024 * KiB, PSwap: 512 * KiB, USwap: 512 * KiB, ZSwap: 128 * KiB });
  assert.deepEqual(r.value.ram, { total: 1554240 * KiB, free: 446084 * KiB, buffers: 41988 * KiB, cached: 496428 * KiB, shmem: 56588 * KiB, slab: 30296 * KiB });
  assert.equal(procrankSeries(r.value)['proc.system_server:1061.zswap'], 128 * KiB);
  assert.equal(procrankSeries(r.value)['procrank.ram.free'], 446084 * KiB);
  for (const t of ['', 'PID cmdline', '  PID  Vss  cmdline\n 1 2K\n ---\n 99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999K TOTAL']) {
    assert.doesNotThrow(() => parseProcrank(t));
  }
  assert.ok(parseProcrank('hello').warnings.some((w) => w.severity === 'error'));
});
