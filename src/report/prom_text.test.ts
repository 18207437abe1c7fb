import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateFormat, PromText } from './prom_text.js';
import { BugError } from '../model/errors.js';

test('families print once with HELP and TYPE first; label values are escaped, never rewritten', () => {
  const p = new PromText();
  p.add('memsleuth_process_rss_bytes', 'process RSS', { comm: 'my "app"\\x\nnext', pid: '42' }, 4096, { unit: 'bytes' });
  p.add('memsleuth_slab_bytes', 'slab', { cache: 'kmalloc-64' }, 1);
  p.add('memsleuth_process_rss_bytes', 'process RSS', { comm: 'sshd', pid: '7' }, 8192, { unit: 'bytes' });
  assert.equal(p.text(), [
    '# HELP memsleuth_process_rss_bytes process RSS',
    '# TYPE memsleuth_process_rss_bytes gauge',
    'memsleuth_process_rss_bytes{comm="my \\"app\\"\\\\x\\nnext",pid="42"} 4096',
    'memsleuth_process_rss_bytes{comm="sshd",pid="7"} 8192',
    '# HELP memsleuth_slab_bytes slab',
    '# TYPE memsleuth_slab_bytes gauge',
    'memsleuth_slab_bytes{cache="kmalloc-64"} 1',
    '',
  ].join('\n'));
});

test('OpenMetrics adds UNIT, names counters without _total and ends with # EOF', () => {
  const p = new PromText();
  p.add('memsleuth_exporter_probes', 'probes', { target: 'a' }, 3, { type: 'counter' });
  p.add('memsleuth_probe_duration_seconds', 'duration', {}, 0.5, { unit: 'seconds' });
  assert.equal(p.text('openmetrics'), [
    '# HELP memsleuth_exporter_probes probes', '# TYPE memsleuth_exporter_probes counter', 'memsleuth_exporter_probes_total{target="a"} 3',
    '# HELP memsleuth_probe_duration_seconds duration', '# TYPE memsleuth_probe_duration_seconds gauge', '# UNIT memsleuth_probe_duration_seconds seconds',
    'memsleuth_probe_duration_seconds 0.5', '# EOF', '',
  ].join('\n'));
  assert.match(p.text('prometheus'), /^# TYPE memsleuth_exporter_probes_total counter$/m);
});

test('bad names are our bug, not silently rewritten', () => {
  const p = new PromText();
  assert.throws(() => p.add('slab.bytes', 'x', {}, 1), BugError);
  assert.throws(() => p.add('ok', 'x', { 'cache-name': 'a' }, 1), BugError);
  assert.throws(() => p.add('ok', 'x', { __name__: 'a' }, 1), BugError);
  assert.throws(() => p.add('size', 'x', {}, 1, { unit: 'bytes' }), BugError);
});

test('OpenMetrics only when the scraper asks for it', () => {
  assert.equal(negotiateFormat('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'), 'openmetrics');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'prometheus');
  assert.equal(negotiateFormat(undefined), 'prometheus');
});
