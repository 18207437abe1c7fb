import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpus, fixtures } from '../../test/corpus.js';
import { parseZoneinfo } from './zoneinfo.js';
import { parseMeminfo } from './meminfo.js';

const files = [...corpus('zoneinfo'), ...corpus('local-6.18', /^zoneinfo\.txt$/), ...fixtures(/^zoneinfo-local\.txt$/)];
const pages = (n: number): number => n * 4096;

test('zoneinfo corpus: every real file parses, one zone per "Node N, zone" line, no warning', () => {
  assert.equal(files.length, 4);
  for (const f of files) {
    const r = parseZoneinfo(f.text);
    assert.deepStrictEqual(r.warnings, [], f.name);
    assert.equal(r.value.zones.length, f.text.split('\n').filter((l) => l.startsWith('Node ')).length, f.name);
    for (const z of r.value.zones) assert.ok(z.free !== undefined && z.managed !== undefined, `${f.name} ${z.zone}`);
  }
});

test('zoneinfo 6.18: the DMA zone, whole value apart from the long counter lists', () => {
  const z = parseZoneinfo(corpus('local-6.18', /^zoneinfo\.txt$/)[0]?.text ?? '').value.zones[0];
  assert.ok(z);
  const { counters, ...head } = z;
  assert.deepStrictEqual(head, {
    node: 0, zone: 'DMA', free: pages(3840), min: pages(52), low: pages(65), high: pages(78),
    spanned: pages(4095), present: pages(3998), managed: pages(3840),
  });
  const short = Object.fromEntries(Object.entries(counters).filter(([k]) => !/^(node\.|nr_|numa_)/.test(k)));
  assert.deepStrictEqual(short, {
    boost: 0, promo: 91, cma: 0,
    'protection.0': 0, 'protection.1': 3019, 'protection.2': 4811, 'protection.3': 4811, 'protection.4': 4811,
    'pagesets.cpus': 2, 'pagesets.count': 0, 'pagesets.high': 0, 'pagesets.batch': 1, 'pagesets.high_min': 32, 'pagesets.high_max': 240,
    vm_stats_threshold: 4, node_unreclaimable: 0, start_pfn: 1,
  });
  assert.equal(counters['node.nr_inactive_anon'], 1912, 'per-node stats kept under node.');
  assert.equal(counters['node.nr_kernel_file_pages'], 0);
  assert.equal(counters['nr_free_pages'], 3840);
  assert.equal(counters['nr_inactive_anon'], undefined, 'per-node names do not leak into the zone');
});

test('zoneinfo 4.x (procfs fixture): per-node stats, pagesets over 8 CPUs', () => {
  const r = parseZoneinfo(corpus('zoneinfo', /prometheus-procfs/)[0]?.text ?? '').value;
  const [dma, dma32] = r.zones;
  assert.equal(dma?.counters['node.nr_slab_unreclaimable'], 47320);
  assert.equal(dma?.free, pages(3952));
  assert.equal(dma?.managed, pages(3956));
  assert.equal(dma?.counters['pagesets.cpus'], 8);
  assert.equal(dma32?.free, pages(204252));
  assert.equal(dma32?.managed, pages(742806));
  assert.equal(dma32?.counters['node.nr_slab_unreclaimable'], undefined, 'per-node block only in the first zone');
  assert.deepStrictEqual(r.zones.map((z) => z.zone), ['DMA', 'DMA32', 'Normal', 'Movable', 'Device']);
});

test('zoneinfo on this machine: managed pages of node 0 add up to node0 meminfo MemTotal', () => {
  const z = parseZoneinfo(fixtures(/^zoneinfo-local\.txt$/)[0]?.text ?? '').value;
  const node = parseMeminfo(fixtures(/^node0-meminfo-local\.txt$/)[0]?.text ?? '').value;
  const managed = z.zones.filter((x) => x.node === 0).reduce((s, x) => s + (x.managed ?? 0), 0);
  assert.equal(managed, node.bytes['MemTotal']);
});

test('zoneinfo: 2.6-era lines and odd input', () => {
  const r = parseZoneinfo([
    'Node 0, zone   Normal',
    '  pages free     1000',
    '        min      10',
    '        scanned  0 (a: 23 i: 0)',
    '        spanned  2000',
    '        present  1990',
    '    nr_free_pages 1000',
    '        protection: (0, 0)',
    '  pagesets',
    '    cpu: 0 pcp: 0',
    '              count: 3',
    '              high:  186',
    '    cpu: 0 pcp: 1',
    '              count: 2',
    '              high:  62',
    '    cpu: 1 pcp: 0',
    '              count: 4',
    '              high:  186',
    '  all_unreclaimable: 0',
    '  prev_priority:     12',
    '  start_pfn:         4096',
    'what is this',
  ].join('\n'), { pageSize: 8192 });
  assert.deepStrictEqual(r.value.zones, [{
    node: 0, zone: 'Normal', free: 1000 * 8192, min: 10 * 8192, spanned: 2000 * 8192, present: 1990 * 8192,
    counters: {
      scanned: 0, nr_free_pages: 1000, 'protection.0': 0, 'protection.1': 0,
      'pagesets.cpus': 2, 'pagesets.count': 9, 'pagesets.high': 186,
      all_unreclaimable: 0, prev_priority: 12, start_pfn: 4096,
    },
  }]);
  assert.deepStrictEqual(r.warnings.map((w) => [w.line, w.severity]), [[22, 'data-loss']]);
  assert.equal(parseZoneinfo('junk\nNode 0, zone DMA\n  pages free 1\n').warnings[0]?.severity, 'info');
  for (const s of ['', 'Node', 'Node 0, zone X\n  pagesets\n cpu:\n protection: (', 'protection: (1,']) assert.doesNotThrow(() => parseZoneinfo(s));
});
