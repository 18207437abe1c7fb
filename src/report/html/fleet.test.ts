import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FleetRow } from '../../model/fleet.js';
import { renderFleetPage, sparklineSvg } from './fleet.js';
import { renderFleetMetrics } from '../fleet.js';

const stats = { instances: 2, judged: 2, failed: 0, workers: 2, wallMs: 1000, prometheusMs: 500, parseMs: 10, analyzeMs: 300, requests: 4, bytes: 1000, points: 1000, step: 300, peakRssBytes: 1, cpuMs: 1 };
const row = (instance: string, verdict: FleetRow['verdict'], rate: number, culprit: string | null): FleetRow => ({
  instance, verdict, confidence: { level: 'high', reason: 'test' }, leakRateBytesPerSec: rate,
  leaks: rate > 0 ? [{ kind: 'kernel-slab', subject: 'unreclaimable kernel slab', culprit, rateBytesPerSec: rate, since: '2026-12-01T10:00:00.000Z', confidence: { level: 'high', reason: 'test' } }] : [],
  forecast: { status: rate > 0 ? 'oom-expected' : 'no-oom-trend', secondsToOom: rate > 0 ? 86400 * 3 : null, at: null },
  memTotalBytes: 1 << 30, samples: 2016, fromIso: null, spark: [1, 2, 3, 5, 8], error: null,
});

test('the fleet page ranks, links drill-downs, escapes names and runs no script', () => {
  const html = renderFleetPage({
    title: 'fleet', source: 'http://prom:9090', stats, generatedAt: '2026-12-07T00:00:00Z',
    rows: [row('<b>cam</b>"01', 'leak', 1000, 'slab.kmalloc-256.bytes'), row('cam-02', 'no-leak', 0, null)],
    links: new Map([['<b>cam</b>"01', 'fleet_instances/_b_cam__b__01.html']]), range: { from: 'a', to: 'b', stepSec: 300 },
  });
  assert.ok(!/<script/i.test(html), 'no script at all');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[^']+'; img-src 'none'"/);
  assert.ok(html.includes('&lt;b&gt;cam&lt;/b&gt;&quot;01'), 'instance name escaped');
  assert.ok(!html.includes('<b>cam</b>'));
  assert.match(html, /<a href="fleet_instances\/_b_cam__b__01.html">/);
  assert.match(html, /<td>kmalloc-256<\/td>/);
  assert.match(html, /OOM in 3.0 d/);
  assert.equal((html.match(/<svg /g) ?? []).length, 2, 'one sparkline per instance');
  assert.equal(sparklineSvg([]), '');
});

test('the verdict metrics carry instance, kind, subject and confidence, and one verdict per instance', () => {
  const text = renderFleetMetrics([row('cam-01', 'leak', 1000, 'slab.kmalloc-256.bytes'), row('cam-02', 'no-leak', 0, null)], 1_800_000_000_000).text();
  assert.match(text, /^memsleuth_leak\{instance="cam-01",kind="kernel-slab",subject="kmalloc-256",confidence="high"\} 1$/m);
  assert.match(text, /^memsleuth_leak_rate_bytes_per_second\{instance="cam-01",kind="kernel-slab",subject="kmalloc-256"\} 1000$/m);
  assert.match(text, /^memsleuth_oom_forecast_seconds\{instance="cam-01"\} 259200$/m);
  assert.match(text, /^memsleuth_instance_verdict\{instance="cam-02",verdict="no-leak"\} 1$/m);
  assert.match(text, /^memsleuth_fleet_analysis_timestamp_seconds 1800000000$/m);
  assert.ok(!/cam-02.*kind=/.test(text), 'no leak series for a healthy instance');
});
