import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtures } from '../../test/corpus.js';
import { parseCgroupMemoryCurrent, parseCgroupMemoryStat } from './cgroup_memory.js';

// This machine mounts the memory controller on cgroup v1 (/sys/fs/cgroup/memory); its cgroup2 hierarchy
// (/sys/fs/cgroup/unified) has no memory controller, so there is no v2 memory.stat to capture here.
// v1's memory.stat and memory.usage_in_bytes have the same shapes as v2's memory.stat and memory.current.

test('cgroup memory.stat: v1 root captured here, every line kept by name', () => {
  const f = fixtures(/^cgroup_memory_stat-v1-root-local/)[0]!;
  const { value, warnings } = parseCgroupMemoryStat(f.text);
  assert.deepEqual(warnings, []);
  const lines = f.text.trim().split('\n');
  assert.equal(Object.keys(value.values).length, lines.length);
  for (const l of lines) {
    const [key, num] = l.split(' ');
    assert.equal(value.values[key!], Number(num), l);
  }
  // v1's "no limit" is 2^63 - 4096 rounded to a page: above 2^53, kept approximately.
  assert.ok(value.values['hierarchical_memory_limit']! > 9.2e18);
});

test('cgroup memory.stat: v2 field order, CRLF, junk and repeats', () => {
  const text = 'anon 65536\r\nfile 4096\r\nkernel 110592\r\nkernel_stack 0\r\n\r\npgfault 287\r\nbroken\r\nsock x\r\nanon 1\r\n';
  const { value, warnings } = parseCgroupMemoryStat(text);
  assert.deepEqual(value, { values: { anon: 1, file: 4096, kernel: 110592, kernel_stack: 0, pgfault: 287 } });
  assert.deepEqual(warnings.map((w) => [w.line, w.severity]), [[7, 'data-loss'], [8, 'data-loss'], [9, 'info']]);
  assert.equal(parseCgroupMemoryStat('hello world\n').warnings.at(-1)?.severity, 'error');
  assert.deepEqual(parseCgroupMemoryStat(''), { value: { values: {} }, warnings: [] });
});

test('cgroup memory.current: one number of bytes (v1 usage_in_bytes captured here)', () => {
  const f = fixtures(/^cgroup_memory_usage_in_bytes-v1-root-local/)[0]!;
  assert.deepEqual(parseCgroupMemoryCurrent(f.text), { value: Number(f.text.trim()), warnings: [] });
  assert.deepEqual(parseCgroupMemoryCurrent('57991168\n'), { value: 57991168, warnings: [] });
  const bad = parseCgroupMemoryCurrent('max\n');
  assert.equal(bad.value, undefined);
  const huge = parseCgroupMemoryCurrent(`${'9'.repeat(309)}\n`);
  assert.deepEqual([huge.value, huge.warnings.map((w) => w.reason)], [undefined, ['a number out of range (309+ digits)']]);
  assert.deepEqual(bad.warnings.map((w) => [w.line, w.severity]), [[1, 'error']]);
  const two = parseCgroupMemoryCurrent('1\r\n2\r\n');
  assert.deepEqual([two.value, two.warnings.map((w) => w.line)], [1, [2]]);
  assert.equal(parseCgroupMemoryCurrent('').warnings[0]?.severity, 'error');
});
