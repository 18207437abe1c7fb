import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExporterConfig, parseYamlSubset } from './exporter_config.js';
import { InputError } from '../model/errors.js';
import { repoRoot } from '../../test/corpus.js';

test('the YAML subset reads nested mappings, quoted keys and values, numbers, booleans and comments', () => {
  const text = [
    '# targets', 'listen: 127.0.0.1:9840', 'defaults:', '  top_processes: 5   # a comment', 'targets:',
    '  "busybox sh":', '    via: busybox sh', '  cam-01:', "    via: 'ssh root@cam # 1'", '    login: "root:"', '  here:', '    local: true', '  empty:', '',
  ].join('\n');
  assert.deepEqual(parseYamlSubset(text), {
    listen: '127.0.0.1:9840',
    defaults: { top_processes: 5 },
    targets: { 'busybox sh': { via: 'busybox sh' }, 'cam-01': { via: 'ssh root@cam # 1', login: 'root:' }, here: { local: true }, empty: '' },
  });
});

test('what the YAML subset does not support is refused with the line', () => {
  const cases: [string, string, RegExp][] = [
    ['a list', 'targets:\n  - cam-01', /line 2: lists are not supported/],
    ['flow style', 'targets: {cam: 1}', /line 1: flow style/],
    ['a tab', 'targets:\n\tcam: 1', /line 2: a tab/],
    ['an anchor', 'a: &x 1', /line 1: anchors/],
    ['a duplicate key', 'a: 1\na: 2', /line 2: "a" is given twice/],
    ['no colon', 'targets', /line 1: expected "key: value"/],
    ['bad indentation', 'a:\n    b: 1\n  c: 2', /line 3: indentation of 2 spaces/],
  ];
  for (const [what, text, want] of cases) {
    assert.throws(() => parseYamlSubset(text, 't.yml'), (e: unknown) => e instanceof InputError && want.test(e.message) && e.message.includes('"t.yml"'), what);
  }
});

test('a config in JSON reads the same as in YAML', () => {
  const yaml = parseExporterConfig('targets:\n  cam-01:\n    via: ssh root@cam-01\n    top_caches: 7\n');
  const json = parseExporterConfig('{"targets": {"cam-01": {"via": "ssh root@cam-01", "top_caches": 7}}}');
  assert.deepEqual(json, yaml);
  assert.deepEqual(yaml.targets.get('cam-01'), { name: 'cam-01', via: 'ssh root@cam-01', topProcesses: 20, topCaches: 7, timeoutSec: 30 });
});

test('config mistakes say what is wrong in one line', () => {
  const cases: [string, string, RegExp][] = [
    ['no targets', 'listen: :9840', /"targets" must be a mapping/],
    ['two transports', 'targets:\n  a:\n    via: sh\n    serial: /dev/ttyS0', /more than one transport/],
    ['unknown key', 'targets:\n  a:\n    vai: sh', /unknown key "vai" in target "a"/],
    ['bad number', 'targets:\n  a:\n    top_processes: many', /top_processes" must be a whole number/],
    ['bad timeout', 'defaults:\n  timeout: soon\ntargets:\n  a:\n    local: true', /timeout" must be seconds/],
    ['unknown top key', 'target:\n  a:\n    local: true', /unknown key "target"/],
    ['bad JSON', '{"targets": ', /not valid JSON/],
  ];
  for (const [what, text, want] of cases) {
    assert.throws(() => parseExporterConfig(text, 'c.yml'), (e: unknown) => e instanceof InputError && want.test(e.message), what);
  }
});

test('the shipped example config parses, with every transport', () => {
  const c = parseExporterConfig(readFileSync(join(repoRoot, 'examples', 'prometheus', 'memsleuth_exporter.yml'), 'utf8'));
  assert.equal(c.listen, '0.0.0.0:9840');
  assert.equal(c.verdictsFile, '/var/lib/memsleuth/verdicts.prom');
  assert.deepEqual([...c.targets.keys()], ['cam-01', 'cam-02', 'tablet-7', 'bench-board', 'this-host']);
  assert.equal(c.targets.get('cam-02')?.topProcesses, 10);
  assert.deepEqual(c.targets.get('bench-board'), { name: 'bench-board', serial: '/dev/ttyUSB0', baud: 115200, login: 'root:', topProcesses: 20, topCaches: 30, timeoutSec: 30 });
  assert.equal(c.targets.get('this-host')?.proc, '/proc');
});
