/**
 * Names survive the series keys: a process named "Web Content" and libraries named "libc.so.6" are encoded in
 * keys (so '.' still separates parts) and shown whole everywhere people read them: tables, JSON, /metrics.
 * Real inputs of this machine: the status of a process renamed "Web Content" and python3's smaps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseStatus } from '../parse/status.js';
import { parseSmaps, summarizeMappings } from '../parse/smaps.js';
import { parseCulpritKey } from '../analyze/culprits.js';
import { displayName } from '../report/analysis_text.js';
import { metricOfKey } from '../serve/metrics.js';
import { parseProcrank, procrankSeries } from '../parse/procrank.js';
import { decodeKeyPart, flattenSnapshot, keyPart, processKey, SeriesFlattener, splitProcessKey } from './series.js';
import type { Snapshot } from './snapshot.js';

test('keyPart is reversible: dots, whitespace and % are encoded, nothing else changes', () => {
  for (const name of ['Web Content', 'libc.so.6', 'kmalloc-64', '50%.x', 'a\tb', 'node', '[heap]', 'ext4_inode_cache']) {
    const k = keyPart(name);
    assert.doesNotMatch(k, /[.\s]/, name);
    assert.equal(decodeKeyPart(k), name);
  }
  assert.equal(keyPart('kmalloc-64'), 'kmalloc-64');
  assert.equal(decodeKeyPart('libc_so_6'), 'libc_so_6'); // keys of older recordings read as they were written
});

test('a process "Web Content" and its libc.so.6 mapping: real names in culprit keys, display names and /metrics labels', () => {
  const [st] = fixtures(/^status-web-content-local\.txt$/);
  const [sm] = fixtures(/^smaps-python3-local\.txt$/);
  assert.ok(st && sm);
  const status = parseStatus(st.text).value;
  const smaps = parseSmaps(sm.text).value;
  assert.equal(status.name, 'Web Content');
  const snap: Snapshot = {
    takenAtMs: 0, target: {}, warnings: [],
    processes: [{ pid: 4242, comm: status.name ?? '', status, smaps, memory: summarizeMappings(smaps.mappings) }],
  };
  const keys = [...flattenSnapshot(snap).keys()];
  const uss = keys.find((k) => k.endsWith('.uss') && !k.includes('.map.'));
  const libc = keys.find((k) => k.includes('.map.') && k.endsWith('.uss') && decodeKeyPart(k).includes('libc.so.6'));
  assert.ok(uss && libc, keys.slice(0, 20).join('\n'));
  assert.equal(uss, 'proc.Web%20Content:4242.uss');
  assert.deepEqual(parseCulpritKey(uss), { family: 'process', name: 'Web Content:4242', comm: 'Web Content', pid: 4242, metric: 'uss' });
  const lib = parseCulpritKey(libc);
  assert.equal(lib?.comm, 'Web Content');
  assert.match(lib?.name ?? '', /\/libc\.so\.6$/);
  assert.equal(displayName(uss), 'Web Content (pid 4242)');
  assert.match(displayName(libc), /\/libc\.so\.6 of Web Content \(pid 4242\)$/);
  assert.deepEqual(metricOfKey(uss).labels, { comm: 'Web Content', pid: '4242' });
  assert.match(metricOfKey(libc).labels['mapping'] ?? '', /\/libc\.so\.6$/);
});

test('one process, one key: procrank\'s whole name and the kernel\'s 15-character comm of the same pid give one proc.* key', () => {
  // Real inputs: procrank of a Meizu phone (corpus) and status files captured here of processes with those rows'
  // pids, named as Android names them: an app's last 15 characters ("emui:screenshot"), a native's file name.
  const [pr] = corpus('procrank', /duanqz.*procrank/);
  const [app] = fixtures(/^status-android-app-comm-local\.txt$/);
  const [native] = fixtures(/^status-android-native-comm-local\.txt$/);
  const [sleep] = fixtures(/^status-sleep-local\.txt$/);
  assert.ok(pr && app && native && sleep);
  const procrank = procrankSeries(parseProcrank(pr.text).value);
  const proc = (text: string, pid?: number): Snapshot['processes'][number] => {
    const status = parseStatus(text).value;
    return { pid: pid ?? status.pid ?? 0, comm: status.name ?? '', status };
  };
  const appProc = proc(app.text);
  const nativeProc = proc(native.text);
  const sleepProc = proc(sleep.text);
  assert.deepEqual([appProc.pid, appProc.comm, nativeProc.pid, nativeProc.comm], [4786, 'emui:screenshot', 186, 'mediaserver']);
  const snap = (processes: Snapshot['processes'], series?: Record<string, number>): Snapshot =>
    ({ takenAtMs: 0, target: {}, warnings: [], processes, ...(series ? { series } : {}) });
  const bases = (values: Map<string, number>, pid: number): string[] =>
    [...new Set([...values.keys()].map((k) => splitProcessKey(k)).filter((a) => a?.pid === pid).map((a) => `${a?.name}:${pid}`))];

  // Before: the same pid under two keys, proc.emui:screenshot:4786.* (status) and proc.com%2Eandroid...:4786.* (procrank).
  const f = new SeriesFlattener();
  const first = f.flatten(snap([appProc, nativeProc, sleepProc], procrank));
  assert.deepEqual(bases(first, 4786), ['com%2Eandroid%2Esystemui:screenshot:4786']);
  assert.deepEqual(bases(first, 186), ['/system/bin/mediaserver:186']);
  assert.equal(first.get('proc.com%2Eandroid%2Esystemui:screenshot:4786.pss'), 14438 * 1024);
  assert.equal(first.get('proc.com%2Eandroid%2Esystemui:screenshot:4786.status.VmRSS'), appProc.status?.bytes['VmRSS']);
  assert.equal(first.get('proc./system/bin/mediaserver:186.uss'), 9268 * 1024);
  assert.ok(first.has('proc./system/bin/mediaserver:186.anon'));
  // People read the whole name; the analysis reads the key as one process.
  assert.equal(displayName('proc.com%2Eandroid%2Esystemui:screenshot:4786.pss'), 'com.android.systemui:screenshot (pid 4786)');
  assert.deepEqual(parseCulpritKey('proc./system/bin/mediaserver:186.anon'), { family: 'process', name: '/system/bin/mediaserver:186', comm: '/system/bin/mediaserver', pid: 186, metric: 'anon' });
  // A process procrank does not list keeps its comm key exactly as before.
  assert.deepEqual(bases(first, sleepProc.pid), [`${sleepProc.comm}:${sleepProc.pid}`]);
  assert.ok(first.has(`${processKey(sleepProc.comm, sleepProc.pid)}.status.VmRSS`));

  // A later sample without procrank (the loop runs it every tenth pass): same comm, same process, same key.
  const second = f.flatten(snap([appProc, nativeProc]));
  assert.deepEqual([bases(second, 4786), bases(second, 186)], [['com%2Eandroid%2Esystemui:screenshot:4786'], ['/system/bin/mediaserver:186']]);
  // Pid 186 now has another comm: another process (or renamed), keyed by its own name again.
  const third = f.flatten(snap([{ ...sleepProc, pid: 186 }]));
  assert.deepEqual(bases(third, 186), [`${sleepProc.comm}:186`]);
  assert.deepEqual(bases(f.flatten(snap([nativeProc])), 186), ['mediaserver:186']);

  // Recordings made before keep their keys and read as written: older "_" names and two keys of one pid alike.
  assert.deepEqual(splitProcessKey('proc.Web_Content:4242.uss'), { name: 'Web_Content', pid: 4242, end: 21 });
  assert.deepEqual(splitProcessKey('proc.emui:screenshot:4786.pss'), { name: 'emui:screenshot', pid: 4786, end: 25 });
  assert.equal(splitProcessKey('meminfo.MemFree'), undefined);
  assert.equal(splitProcessKey('proc.x:y.uss'), undefined);
  assert.equal(displayName('proc.emui:screenshot:4786.pss'), 'emui:screenshot (pid 4786)');
});
