/**
 * Tables where one pid sits under two keys (recordings made before the flattener keyed a pid once, or samples with
 * only status before the first procrank sample) are read as one process. Real inputs: procrank of a Meizu phone
 * (corpus) and status files captured here of processes with those rows' pids, named as Android names them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseProcrank, procrankSeries } from '../parse/procrank.js';
import { parseStatus } from '../parse/status.js';
import { SeriesFlattener } from '../model/series.js';
import type { Snapshot } from '../model/snapshot.js';
import type { SeriesTable } from '../model/series_table.js';
import { isCommOf, mergeProcessAliases } from './process_aliases.js';
import { analyzeRecording } from './report_model.js';

function table(samples: Map<string, number>[]): SeriesTable {
  const keys = new Set(samples.flatMap((s) => [...s.keys()]));
  const series = new Map<string, Float64Array>();
  for (const k of keys) series.set(k, Float64Array.from(samples, (s) => s.get(k) ?? NaN));
  return { t: Float64Array.from(samples, (_s, i) => i * 10), series, boots: [], gaps: [], meta: { source: 'test', intervalSec: 10, notes: [] } };
}

test('a pid under its comm and under procrank\'s whole name is read as one process; other names of a pid stay apart', () => {
  const [pr] = corpus('procrank', /duanqz.*procrank/);
  const [app] = fixtures(/^status-android-app-comm-local\.txt$/);
  const [native] = fixtures(/^status-android-native-comm-local\.txt$/);
  assert.ok(pr && app && native);
  const proc = (text: string): Snapshot['processes'][number] => {
    const status = parseStatus(text).value;
    return { pid: status.pid ?? 0, comm: status.name ?? '', status };
  };
  const snap = (series?: Record<string, number>): Snapshot =>
    ({ takenAtMs: 0, target: {}, warnings: [], processes: [proc(app.text), proc(native.text)], ...(series ? { series } : {}) });
  // Status alone first (the comm keys), then a sample with procrank: two keys per pid in the table.
  const f = new SeriesFlattener();
  const first = new Map(f.flatten(snap()));
  const second = new Map(f.flatten(snap(procrankSeries(parseProcrank(pr.text).value))));
  const t = table([first, second]);
  assert.ok(t.series.has('proc.emui:screenshot:4786.status.VmRSS') && t.series.has('proc.com%2Eandroid%2Esystemui:screenshot:4786.status.VmRSS'));
  const { table: m, merged } = mergeProcessAliases(t);
  assert.deepEqual(merged, [
    { pid: 4786, comm: 'emui:screenshot', whole: 'com.android.systemui:screenshot' },
    { pid: 186, comm: 'mediaserver', whole: '/system/bin/mediaserver' },
  ]);
  const procKeys = [...m.series.keys()].filter((k) => /^proc\..*:(?:4786|186)\./.test(k));
  assert.deepEqual([...new Set(procKeys.map((k) => k.replace(/:(\d+)\..*$/, ':$1')))].sort(), ['proc./system/bin/mediaserver:186', 'proc.com%2Eandroid%2Esystemui:screenshot:4786']);
  const rss = m.series.get('proc.com%2Eandroid%2Esystemui:screenshot:4786.status.VmRSS');
  assert.ok(rss);
  assert.deepEqual([...rss], [first.get('proc.emui:screenshot:4786.status.VmRSS'), second.get('proc.com%2Eandroid%2Esystemui:screenshot:4786.status.VmRSS')]);
  assert.deepEqual([...(m.series.get('proc./system/bin/mediaserver:186.pss') ?? [])], [NaN, 10016 * 1024]);
  // The analysis says so, in one line per process.
  const a = analyzeRecording(t);
  assert.ok(a.notes.includes('pid 4786: "emui:screenshot" (its kernel name) and "com.android.systemui:screenshot" are one process, read as one'), a.notes.join('\n'));

  // A pid reused by another program, and a comm two whole names could both be: left apart. Tables of Linux
  // processes alone (comms only) are returned as they are.
  const other = table([new Map([['proc.sleep:186.anon', 1], ['proc./system/bin/mediaserver:186.pss', 2], ['proc.a%2Eb%2Ec%2Ed%2Ee%2Ef%2Eg%2Eserver:7.pss', 3], ['proc.a%2Eb%2Ec%2Ed%2Ee%2Ef%2Eh%2Eserver:7.pss', 4], ['proc.server:7.anon', 5]])]);
  assert.deepEqual(mergeProcessAliases(other).merged, []);
  const plain = table([first]);
  assert.equal(mergeProcessAliases(plain).table, plain);
  assert.deepEqual([isCommOf('surfaceflinger', '/system/bin/surfaceflinger'), isCommOf('ndroid.systemui', 'com.android.systemui'), isCommOf('com.android.sys', 'com.android.systemui'), isCommOf('sleep', 'com.android.systemui'), isCommOf('python3', 'python3.11')], [true, true, true, false, false]);
});
