import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Analysis } from '../model/analysis.js';
import { seriesKeyOfMetric } from '../model/prom_names.js';
import { escapeHelp, escapeLabelValue, Exposition, metricOfKey, renderMetrics, sanitizeLabelName, sanitizeMetricName } from './metrics.js';
import { parseExposition } from './testing.js';

test('metric and label names are sanitized to the allowed alphabet', () => {
  const cases: [string, string, string][] = [
    ['plain', 'memsleuth_slab_bytes', 'memsleuth_slab_bytes'],
    ['dash and dot', 'slab.kmalloc-64', 'slab_kmalloc_64'],
    ['leading digit', '9lives', '_9lives'],
    ['colon kept in metric names', 'a:b', 'a:b'],
    ['unicode', 'naïve→x', 'na_ve_x'],
  ];
  for (const [what, input, want] of cases) assert.equal(sanitizeMetricName(input), want, what);
  assert.equal(sanitizeLabelName('a:b'), 'a_b');
  assert.equal(sanitizeLabelName('__name__'), 'l__name__', 'reserved prefix');
  assert.equal(sanitizeLabelName('1x'), '_1x');
});

test('label values escape backslash, double quote and newline; HELP escapes backslash and newline', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue('<img src=x onerror="1">'), '<img src=x onerror=\\"1\\">');
  assert.equal(escapeHelp('a\\b\nc "q"'), 'a\\\\b\\nc "q"');
});

test('series keys map to families with their parts as labels', () => {
  const cases: [string, string, Record<string, string>][] = [
    ['meminfo.MemAvailable', 'memsleuth_meminfo_bytes', { field: 'MemAvailable' }],
    ['meminfo.HugePages_Total', 'memsleuth_meminfo_pages', { field: 'HugePages_Total' }],
    ['slab.kmalloc-64.bytes', 'memsleuth_slab_bytes', { cache: 'kmalloc-64' }],
    ['slab.kmalloc-64.active_bytes', 'memsleuth_slab_active_bytes', { cache: 'kmalloc-64' }],
    ['vmalloc.caller.alloc_large_system_hash+0x1a4/0x2c0.bytes', 'memsleuth_vmalloc_bytes', { caller: 'alloc_large_system_hash+0x1a4/0x2c0' }],
    ['proc.sshd:412.uss', 'memsleuth_process_uss_bytes', { comm: 'sshd', pid: '412' }],
    ['proc.sshd:412.threads', 'memsleuth_process_threads', { comm: 'sshd', pid: '412' }],
    ['proc.a:b:7.swap_pss', 'memsleuth_process_swap_pss_bytes', { comm: 'a:b', pid: '7' }],
    ['slab.kmalloc-64.objs', 'memsleuth_slab_active_objects', { cache: 'kmalloc-64' }],
    ['proc.app:42.status.VmPTE', 'memsleuth_process_status_bytes', { comm: 'app', pid: '42', field: 'VmPTE' }],
    ['proc.app:42.map.[heap].rss', 'memsleuth_process_mapping_rss_bytes', { comm: 'app', pid: '42', mapping: '[heap]' }],
    ['proc.app:42.statm.resident', 'memsleuth_process_statm_bytes', { comm: 'app', pid: '42', field: 'resident' }],
    ['proc.app:42.maps.count', 'memsleuth_process_mappings', { comm: 'app', pid: '42' }],
    ['proc.app:42.maps.vss', 'memsleuth_process_maps_vss_bytes', { comm: 'app', pid: '42' }],
    ['proc.app:42.fds', 'memsleuth_process_fds', { comm: 'app', pid: '42' }],
    ['free.mem.used', 'memsleuth_free_bytes', { row: 'mem', column: 'used' }],
    ['file.mma.used', 'memsleuth_file', { file: 'mma', field: 'used' }],
    ['vmalloc.total.bytes', 'memsleuth_series', {}],
  ];
  for (const [key, name, labels] of cases) {
    const m = metricOfKey(key);
    assert.deepStrictEqual({ name: m.name, labels: m.labels }, { name, labels }, key);
  }
  // One naming with the exporter: what the fleet reader knows of the exporter's families, it reads back from the
  // dashboard's /metrics as the same series key.
  for (const key of ['meminfo.MemAvailable', 'meminfo.HugePages_Total', 'slab.kmalloc-64.bytes', 'slab.kmalloc-64.active_bytes', 'slab.kmalloc-64.objs',
    'vmalloc.caller.alloc_large_system_hash+0x1a4/0x2c0.bytes', 'proc.sshd:412.uss', 'proc.sshd:412.rss', 'proc.Web%20Content:9.pss', 'proc.app:42.map.[heap].rss', 'proc.app:42.map.libc%2Eso%2E6.uss']) {
    const m = metricOfKey(key);
    assert.equal(seriesKeyOfMetric(m.name, m.labels), key, `${key} -> ${m.name}`);
  }
});

test('exposition groups each family once, HELP and TYPE first, in first-seen order', () => {
  const e = new Exposition();
  e.add('b', 'B', { x: '1' }, 1);
  e.add('a', 'A\nsecond line', {}, NaN);
  e.add('b', 'B', { x: '2' }, Infinity);
  e.add('a-b', 'dash', { 'bad-label': 'v"\\\n' }, -Infinity);
  assert.equal(e.text(), [
    '# HELP b B', '# TYPE b gauge', 'b{x="1"} 1', 'b{x="2"} +Inf',
    '# HELP a A\\nsecond line', '# TYPE a gauge', 'a NaN',
    '# HELP a_b dash', '# TYPE a_b gauge', 'a_b{bad_label="v\\"\\\\\\n"} -Inf', '',
  ].join('\n'));
  assert.equal(new Exposition().text(), '');
});

function minimalAnalysis(): Analysis {
  const verdict = {
    key: 'proc.app:42.uss', verdict: 'leak' as const, rule: 'significance', test: 'mann-kendall', sinceSec: 0, confidence: 0.99, pValue: 0.001,
    level: 'high' as const, points: 60, firstBytes: 1, lastBytes: 2, growthBytes: 1, evidence: [], nextStep: null, recordMoreSec: null,
    rateBytesPerSec: 1024, ci: [900, 1100] as [number, number], ciLevel: 0.99,
  };
  return {
    verdict: 'leak', leaks: [{
      kind: 'user', subject: 'process "a\\b" (pid 42)\n', key: 'proc.app:42.uss', rateBytesPerSec: 1024, ci: [900, 1100], ciLevel: 0.99, sinceSec: 0, since: null,
      growthBytes: 61440, confidence: { level: 'high', reason: 'r' }, culprits: [], clusters: [], owners: [], evidence: [], nextStep: null,
    }],
    system: [], culprits: { slab: [], vmalloc: [], process: [{ ...verdict, comm: 'app', pid: 42, metric: 'uss' }], mapping: [], allocinfo: [], file: [], owner: [] },
    forecast: { secondsToOom: 3600 },
  } as unknown as Analysis;
}

test('renderMetrics: latest values and verdicts parse back with every rule of the format', () => {
  const text = renderMetrics({
    recording: { id: 3, target: 'cam "01"', sampleCount: 60, lastSampleMs: 1_735_689_660_000 },
    latest: new Map([['meminfo.MemAvailable', 1.5e9], ['proc.<img_src=x_onerror="x">:9.uss', 4096], ['slab.kmalloc-64.bytes', 65536], ['weird key\\', 1]]),
    analysis: minimalAnalysis(), analysisAtMs: 1_735_689_661_000,
  });
  const f = parseExposition(text);
  assert.deepStrictEqual(f.get('memsleuth_meminfo_bytes')?.samples, [{ name: 'memsleuth_meminfo_bytes', labels: { field: 'MemAvailable', key: 'meminfo.MemAvailable' }, value: 1.5e9 }]);
  assert.deepStrictEqual(f.get('memsleuth_process_uss_bytes')?.samples[0]?.labels, { comm: '<img_src=x_onerror="x">', pid: '9', key: 'proc.<img_src=x_onerror="x">:9.uss' });
  assert.deepStrictEqual(f.get('memsleuth_series')?.samples[0]?.labels, { key: 'weird key\\' });
  assert.deepStrictEqual(f.get('memsleuth_verdict')?.samples.map((s) => [s.labels['verdict'], s.value]), [['leak', 1], ['no-leak', 0], ['inconclusive', 0]]);
  assert.equal(f.get('memsleuth_verdict')?.samples[0]?.labels['target'], 'cam "01"');
  assert.deepStrictEqual(f.get('memsleuth_leak_rate_bytes_per_second')?.samples, [{
    name: 'memsleuth_leak_rate_bytes_per_second', labels: { kind: 'user', subject: 'process "a\\b" (pid 42)\n', key: 'proc.app:42.uss', confidence: 'high' }, value: 1024,
  }]);
  assert.equal(f.get('memsleuth_series_verdict')?.samples.filter((s) => s.value === 1).map((s) => s.labels['verdict']).join(), 'leak');
  assert.equal(f.get('memsleuth_oom_forecast_seconds')?.samples[0]?.value, 3600);
  assert.equal(f.get('memsleuth_recording_samples')?.type, 'gauge');
  assert.equal(f.get('memsleuth_last_sample_timestamp_seconds')?.samples[0]?.value, 1_735_689_660);
});

test('renderMetrics without an analysis has no verdict families', () => {
  const f = parseExposition(renderMetrics({ recording: { id: 1, target: 't', sampleCount: 0, lastSampleMs: null }, latest: new Map(), analysis: null, analysisAtMs: null }));
  assert.deepStrictEqual([...f.keys()], ['memsleuth_recording_samples']);
});

test('promtool check metrics accepts the output (skipped without promtool)', (t) => {
  const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
  if (!promtool) { t.skip('promtool not installed (apt-get install prometheus)'); return; }
  const text = renderMetrics({
    recording: { id: 3, target: 'cam "01"', sampleCount: 60, lastSampleMs: 1_735_689_660_000 },
    latest: new Map([['meminfo.MemAvailable', 1.5e9], ['proc.<img_src=x_onerror="x">:9.uss', 4096], ['slab.kmalloc-64.bytes', 65536]]),
    analysis: minimalAnalysis(), analysisAtMs: 1_735_689_661_000,
  });
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-prom-'));
  try {
    writeFileSync(join(dir, 'm.txt'), text);
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // promtool exits 0 when clean; lint remarks (naming conventions) print but only parse errors fail (exit 3 on lint with --lint).
    assert.ok(r.status === 0 || r.status === 3, `promtool: ${r.status} ${r.stdout} ${r.stderr}`);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error while linting|text format parsing error/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
