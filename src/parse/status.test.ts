import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseStatus } from './status.js';
import { parseStatm } from './statm.js';
import type { ProcStatus } from '../model/proc_files.js';

const files = [...corpus('status'), ...corpus('local-6.18', /^status-/), ...fixtures(/^status-.*-local\.txt$/)];
const k = (n: number): number => n * 1024;

test('status: every real sample parses with no warnings and a name and pid', () => {
  assert.ok(files.length >= 9, `only ${files.length} status samples`);
  for (const f of files) {
    const { value, warnings } = parseStatus(f.text);
    assert.deepEqual(warnings, [], f.name);
    assert.ok(value.name && value.pid !== undefined && Object.keys(value.fields ?? {}).length > 30, f.name);
  }
});

/** The typed part of a status record: everything but the raw field map. */
const typed = (s: ProcStatus): Omit<ProcStatus, 'fields'> => {
  const { fields: _fields, ...rest } = s;
  return rest;
};

test('status: the samplers\' lean parse (rawFields off) gives every real sample the same typed record as the full parse', () => {
  for (const f of files) {
    const lean = parseStatus(f.text, { rawFields: false });
    assert.deepEqual(lean.value, typed(parseStatus(f.text).value), f.name);
    assert.deepEqual(lean.warnings, [], f.name);
    // The same file copied by hand: indented lines and CRLF endings.
    const copied = f.text.split('\n').map((l) => `  ${l}\r`).join('\n');
    assert.deepEqual(parseStatus(copied, { rawFields: false }).value, typed(parseStatus(copied).value), `${f.name}, copied by hand`);
  }
});

test('status: kernel thread has identity but no sizes (gopsutil ksoftirqd)', () => {
  const { value } = parseStatus(corpus('status', /ksoftirqd/)[0]!.text);
  assert.deepEqual(typed(value), { name: 'ksoftirqd/0', pid: 10, ppid: 2, tgid: 10, threads: 1, fdSize: 64, bytes: {} });
});

test('status: spaces instead of tabs read like tabs (procfs kube-proxy)', () => {
  const { value } = parseStatus(corpus('status', /kube-proxy/)[0]!.text);
  assert.deepEqual(typed(value), {
    name: 'kube-proxy', pid: 26235, ppid: 1234, tgid: 26235, threads: 51, fdSize: 64,
    bytes: {
      VmPeak: k(758200), VmSize: k(758200), VmLck: 0, VmPin: 0, VmHWM: k(61776), VmRSS: k(42652),
      RssAnon: k(24852), RssFile: k(17800), RssShmem: 0, VmData: k(117136), VmStk: k(132), VmExe: k(21568),
      VmLib: k(4), VmPTE: k(264), VmSwap: 0, HugetlbPages: 0,
    },
  });
  assert.equal(value.fields?.['NStgid'], '26235\t1');
  assert.equal(value.fields?.['Groups'], '');
  assert.equal(value.fields?.['State'], 'S (sleeping)');
});

test('status: a leading empty line is skipped; VmPMD and VmSwap kept (procfs prometheus)', () => {
  const { value, warnings } = parseStatus(corpus('status', /fixture-prometheus/)[0]!.text);
  assert.deepEqual(warnings, []);
  assert.deepEqual(typed(value), {
    name: 'prometheus', pid: 26231, ppid: 1, tgid: 26231, threads: 1, fdSize: 128,
    bytes: {
      VmPeak: k(58472), VmSize: k(58440), VmLck: 0, VmPin: 0, VmHWM: k(8028), VmRSS: k(6716),
      RssAnon: k(2092), RssFile: k(4624), RssShmem: 0, VmData: k(2580), VmStk: k(136), VmExe: k(948),
      VmLib: k(6816), VmPTE: k(128), VmPMD: k(12), VmSwap: k(660), HugetlbPages: 0,
    },
  });
});

test('status: 6.18 python3 (local-6.18)', () => {
  const { value } = parseStatus(corpus('local-6.18', /^status-python3/)[0]!.text);
  assert.deepEqual(typed(value), {
    name: 'python3', pid: 6166, ppid: 6162, tgid: 6166, threads: 1, fdSize: 256,
    bytes: {
      VmPeak: k(67784), VmSize: k(67784), VmLck: 0, VmPin: 0, VmHWM: k(64744), VmRSS: k(64744),
      RssAnon: k(58072), RssFile: k(6672), RssShmem: 0, VmData: k(59164), VmStk: k(132), VmExe: k(4),
      VmLib: k(4672), VmPTE: k(172), VmSwap: 0, HugetlbPages: 0,
    },
  });
  assert.equal(value.fields?.['untag_mask'], '0xffffffffffffffff');
  assert.equal(value.fields?.['Kthread'], '0');
});

test('status: kthreadd captured here has no kB line', () => {
  const { value } = parseStatus(fixtures(/^status-kthreadd-local/)[0]!.text);
  assert.equal(value.name, 'kthreadd');
  assert.equal(value.pid, 2);
  assert.deepEqual(value.bytes, {});
  assert.equal(value.fields?.['Kthread'], '1');
});

test('status: CRLF, junk and bad numbers are reported with their line', () => {
  const { value, warnings } = parseStatus('Name:\tx y\r\nPid:\tabc\r\ngarbage\r\nVmRSS:\t12 MB\r\nVmSize:\t 8 kB\r\n');
  assert.deepEqual(typed(value), { name: 'x y', bytes: { VmSize: 8192 } });
  assert.deepEqual(warnings.map((w) => [w.line, w.severity]), [[2, 'data-loss'], [3, 'data-loss']]);
  assert.equal(value.fields?.['VmRSS'], '12 MB');
});

test('status: not a status file says so', () => {
  const { warnings } = parseStatus('MemTotal: 1 kB\n');
  assert.equal(warnings.at(-1)?.severity, 'error');
  assert.deepEqual(parseStatus(''), { value: { bytes: {}, fields: {} }, warnings: [] });
});

test('statm: pages to bytes (python3 and sleep captured here, with their status)', () => {
  const py = parseStatm(fixtures(/^statm-python3-local/)[0]!.text);
  // 9266 8501 1662 1 0 7144 0
  assert.deepEqual(py, {
    value: { size: 9266 * 4096, resident: 8501 * 4096, shared: 1662 * 4096, text: 4096, data: 7144 * 4096 },
    warnings: [],
  });
  // statm and status are two views of the same mm: size = VmSize, resident = VmRSS, shared = RssFile + RssShmem.
  const st = parseStatus(fixtures(/^status-python3-local/)[0]!.text).value.bytes;
  assert.equal(py.value.size, st['VmSize']);
  assert.equal(py.value.resident, st['VmRSS']);
  assert.equal(py.value.shared, (st['RssFile'] ?? 0) + (st['RssShmem'] ?? 0));
  const sl = parseStatm(fixtures(/^statm-sleep-local/)[0]!.text);
  const sst = parseStatus(fixtures(/^status-sleep-local/)[0]!.text).value.bytes;
  assert.deepEqual(sl.warnings, []);
  assert.equal(sl.value.size, sst['VmSize']);
  assert.equal(sl.value.resident, sst['VmRSS']);
});

test('statm: page size option, short line, garbage', () => {
  assert.deepEqual(parseStatm('10 5 2 1 0 3 0\n', { pageSize: 16384 }).value,
    { size: 163840, resident: 81920, shared: 32768, text: 16384, data: 49152 });
  const short = parseStatm('10 5 x');
  assert.deepEqual(short.value, { size: 40960, resident: 20480 });
  assert.deepEqual(short.warnings.map((w) => [w.line, w.severity]), [[1, 'data-loss'], [1, 'data-loss']]);
  assert.equal(parseStatm('\n\n').warnings[0]?.severity, 'error');
});

test('status: keys named like Object.prototype members are plain keys', () => {
  const { value, warnings } = parseStatus('Name:\tx\nconstructor:\t5\ntoString:\t7 kB\n');
  assert.deepEqual(warnings, []);
  assert.deepEqual(value.fields, { Name: 'x', constructor: '5', toString: '7 kB' });
  assert.deepEqual(value.bytes, { toString: 7168 });
});

test('the kernel escapes a backslash and a newline in Name; the parser gives the real name back', () => {
  // As printed on this machine (Linux 6.18) for a copy of /bin/sleep named `sl"e ep\x`: cat /proc/PID/status
  const { value } = parseStatus('Name:\tsl"e ep\\\\x\nPid:\t42\n');
  assert.equal(value.name, 'sl"e ep\\x');
  assert.equal(parseStatus('Name:\ta\\nb\n').value.name, 'a\nb');
});
