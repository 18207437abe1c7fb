/**
 * Cross-cutting properties of the parser registry (src/parse/index.ts):
 * every parser survives any input (random text, random bytes, mutated real samples) and returns
 * { value, warnings } with sane warnings; detect() names every real sample of a known format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { corpus, fixtures } from './corpus.js';
import { nonFinitePaths } from './fuzz.js';
import type { SampleFile } from './corpus.js';
import { PARSERS, detect } from '../src/parse/index.js';
import type { FormatName } from '../src/parse/index.js';

/** Every real sample whose format we know, by format: the shared corpus and this machine's fixtures. */
const KNOWN: Record<FormatName, SampleFile[]> = {
  meminfo: [...corpus('meminfo'), ...corpus('local-6.18', /^meminfo/), ...fixtures(/^(?:node\d+-)?meminfo-local/)],
  slabinfo: [...corpus('slabinfo'), ...corpus('local-6.18', /^slabinfo/), ...fixtures(/^slabinfo-local/)],
  vmallocinfo: [...corpus('local-6.18', /^vmallocinfo/), ...fixtures(/^vmallocinfo-local/)],
  buddyinfo: [...corpus('buddyinfo'), ...corpus('local-6.18', /^buddyinfo/), ...fixtures(/^buddyinfo-local/)],
  zoneinfo: [...corpus('zoneinfo'), ...corpus('local-6.18', /^zoneinfo/), ...fixtures(/^zoneinfo-local/)],
  pagetypeinfo: [...corpus('local-6.18', /^pagetypeinfo/), ...fixtures(/^pagetypeinfo-local/)],
  vmstat: [...corpus('vmstat'), ...corpus('local-6.18', /^vmstat/), ...fixtures(/^vmstat-local/)],
  status: [...corpus('status'), ...corpus('local-6.18', /^status-/), ...fixtures(/^status-.*-local/)],
  statm: fixtures(/^statm-.*-local/),
  smaps: [...corpus('smaps'), ...corpus('local-6.18', /^smaps-/), ...fixtures(/^smaps-.*-local/)],
  smaps_rollup: [...corpus('smaps_rollup'), ...corpus('local-6.18', /^smaps_rollup-/), ...fixtures(/^smaps_rollup-.*-local/)],
  free: [...corpus('local-6.18', /^free-/), ...fixtures(/^free-(?:.*-)?local/)],
  cgroup_memory_stat: fixtures(/^cgroup_memory_stat-/),
  cgroup_memory_current: fixtures(/^cgroup_memory_usage_in_bytes-/),
  allocinfo: fixtures(/^allocinfo-/),
  dmabuf_bufinfo: [...corpus('dmabuf'), ...corpus('local-6.18', /^dmabuf-bufinfo/)],
  dumpsys_meminfo: corpus('dumpsys_meminfo'),
  showmap: corpus('procrank', /showmap/),
  procrank: corpus('procrank', /procrank/),
  librank: corpus('librank'),
  mali_gpu_memory: corpus('mali'),
  ion_heap: corpus('ion'),
};

/** Written here in each format's documented shape, for formats with few or no captured samples. */
const INLINE: Array<[FormatName, string, string]> = [
  ['allocinfo', 'allocinfo with its version header (6.10+)',
    'allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n           0        0 init/main.c:1310 func:do_initcalls\n       12288        3 mm/percpu-vm.c:95 func:pcpu_alloc_pages\n'],
  ['allocinfo', 'allocinfo rows only, with a module', '     4194304     1010 drivers/staging/ctagmod/ctagmod.c:20 [ctagmod] func:ctagmod_start\n'],
  ['cgroup_memory_stat', 'cgroup v2 memory.stat field order',
    'anon 65536\nfile 4096\nkernel 110592\nkernel_stack 0\npagetables 24576\nsec_pagetables 0\npercpu 208\nsock 0\n'],
  ['cgroup_memory_current', 'memory.current', '57991168\n'],
  ['statm', 'statm with a prompt before it', '# cat /proc/1/statm\n730 439 412 5 0 89 0\n'],
  ['free', 'old procps free', '             total       used       free     shared    buffers     cached\nMem:      16333012   15838464     494548          0     470636    8364488\n'],
  ['meminfo', 'meminfo after a shell prompt', 'root@board:~# cat /proc/meminfo\nMemTotal:          44792 kB\nMemFree:            2036 kB\n'],
];

/** Real files of other kinds that must not be mistaken for one of ours. */
const OTHERS: SampleFile[] = [
  ...corpus('local-6.18', /^(?:smem|slabtop)/), ...corpus('lsan'), ...corpus('kmemleak'), ...corpus('valgrind'),
  ...corpus('procrank', /^(?!.*(?:showmap|procrank))/), ...corpus('mtrace'), ...corpus('page_owner'), ...corpus('dmalloc'),
];

const FORMATS = Object.keys(PARSERS) as FormatName[];

test('detect: every real sample of a known format is named by its own shape', () => {
  for (const format of FORMATS) {
    assert.ok(KNOWN[format].length > 0 || INLINE.some(([f]) => f === format), `no sample for ${format}`);
    for (const f of KNOWN[format]) assert.equal(detect(f.text), format, `${format}: ${f.name}`);
  }
});

test('detect: a leading blank line, CRLF and a shell prompt change nothing', () => {
  for (const format of FORMATS) {
    for (const f of KNOWN[format]) {
      const crlf = `\r\n${f.text.replace(/\r?\n/g, '\r\n')}`;
      assert.equal(detect(crlf), format, `${format}: ${f.name} (CRLF, leading blank)`);
      assert.equal(detect(`~ # cat /proc/x\n\n${f.text}`), format, `${format}: ${f.name} (prompt)`);
    }
  }
});

test('detect: documented shapes written inline', () => {
  for (const [format, what, text] of INLINE) assert.equal(detect(text), format, what);
});

test('detect: other tools\' output and empty text are not ours', () => {
  assert.ok(OTHERS.length > 20);
  for (const f of OTHERS) assert.equal(detect(f.text), undefined, f.name);
  for (const t of ['', '\n\n', '   \r\n', 'hello world']) assert.equal(detect(t), undefined, JSON.stringify(t));
});

/** The contract of every parser: returns { value, warnings }, value defined, warnings well formed. */
function checkContract(format: FormatName, text: string): void {
  const result = PARSERS[format](text);
  assert.ok(result !== null && typeof result === 'object', `${format}: no result object`);
  // memory.current holding no number has no value; every other parser always returns one.
  assert.ok('value' in result && (result.value !== undefined || format === 'cgroup_memory_current'), `${format}: no value`);
  assert.deepEqual(nonFinitePaths(result.value), [], `${format}: a non-finite number left the parser`);
  assert.ok(Array.isArray(result.warnings), `${format}: warnings is not an array`);
  const lineCount = text.split('\n').length;
  for (const w of result.warnings) {
    assert.ok(Number.isInteger(w.line) && w.line >= 0 && w.line <= lineCount, `${format}: warning line ${w.line} of ${lineCount}`);
    assert.ok(w.severity === 'info' || w.severity === 'data-loss' || w.severity === 'error', `${format}: severity ${String(w.severity)}`);
    assert.equal(typeof w.reason, 'string');
    assert.equal(typeof w.text, 'string');
  }
}

const RUNS = 150;
/** Words the parsers look for, so random lines reach past the first check. */
const WORDS = [
  'MemTotal:', 'kB', 'Node', '0,', 'zone', 'DMA', 'type', 'Movable', 'slabinfo - version: 2.1', ': tunables', ': slabdata',
  'Mem:', 'Swap:', 'Total:', 'total', 'used', 'free', 'buff/cache', '-/+ buffers/cache:', '8.7Mi', '0B', 'Name:', 'Pid:',
  'VmRSS:', 'VmFlags:', 'rd', '[heap]', '[rollup]', 'rw-p', '00:00', '7f00-7f10', '0x0-0x1000', 'vmalloc', 'pages=4', 'N0=4',
  'Size:', 'Rss:', 'nr_free_pages', 'anon', 'allocinfo - version: 1.0', 'mm/slub.c:2442', 'func:x', 'Page block order:',
  'per-node stats', 'pages free', 'protection: (0, 0)', '#', '\t', ' ', '  ', ':', '-', '(', ')', '\r',
  '0', '1', '4096', '-1', '99999999999999999999999', '1e309', 'NaN', '0xffff', 'é', '\u0000', '\uFEFF',
];
const wordyText = fc
  .array(fc.array(fc.oneof(fc.constantFrom(...WORDS), fc.nat().map(String), fc.string({ maxLength: 4 })), { maxLength: 12 }), { maxLength: 40 })
  .map((lines) => lines.map((l) => l.join(' ')).join('\n'));

for (const format of FORMATS) {
  test(`${format}: never throws on random text, bytes or word soup`, () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (t) => checkContract(format, t)), { numRuns: RUNS });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (t) => checkContract(format, t)), { numRuns: RUNS });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, utf8) => {
      checkContract(format, Buffer.from(bytes).toString(utf8 ? 'utf8' : 'latin1'));
    }), { numRuns: RUNS });
    fc.assert(fc.property(wordyText, (t) => checkContract(format, t)), { numRuns: RUNS });
  });
}

type Mutation =
  | { op: 'drop' | 'dup' | 'truncate' | 'garbage' | 'huge' | 'swap' | 'crlf'; at: number; arg: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('drop', 'dup', 'truncate', 'garbage', 'huge', 'swap', 'crlf'),
  at: fc.nat(),
  arg: fc.nat(),
});
const GARBAGE = ['x', '', '-', '12abc', '0x', '1.5', '--', '\u00ff', 'NaN', ' '];

function mutate(lines: string[], muts: Mutation[]): string {
  const out = [...lines];
  for (const m of muts) {
    if (out.length === 0) break;
    const i = m.at % out.length;
    const line = out[i] ?? '';
    switch (m.op) {
      case 'drop': out.splice(i, 1); break;
      case 'dup': out.splice(i, 0, line); break;
      case 'truncate': out[i] = line.slice(0, m.arg % (line.length + 1)); break;
      case 'garbage': {
        let n = 0;
        out[i] = line.replace(/\d+/g, (d) => (n++ === m.arg % 4 ? GARBAGE[m.arg % GARBAGE.length]! : d));
        break;
      }
      case 'huge': out[i] = line.replace(/\d+/, m.arg % 2 ? '9'.repeat(40) : '18446744073709551615'); break;
      case 'swap': { const j = m.arg % out.length; out[i] = out[j] ?? ''; out[j] = line; break; }
      case 'crlf': out[i] = `${line}\r`; break;
    }
  }
  return out.join('\n');
}

/** A sample cut to its first lines: big smaps files would make each run slow and add nothing. */
function head(text: string, maxLines = 300): string[] {
  return text.split('\n').slice(0, maxLines);
}

for (const format of FORMATS) {
  const samples = [...KNOWN[format].map((f) => f.text), ...INLINE.filter(([f]) => f === format).map(([, , t]) => t)];
  test(`${format}: never throws on mutated real samples (${samples.length} samples)`, () => {
    const sampleLines = samples.map((t) => head(t));
    fc.assert(fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 8 }), (pick, muts) => {
      const lines = sampleLines[pick % sampleLines.length] ?? [];
      const text = mutate(lines, muts);
      checkContract(format, text);
      detect(text);
    }), { numRuns: RUNS });
  });
}

test('detect: never throws on random text or bytes', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (t) => { detect(t); }), { numRuns: 300 });
  fc.assert(fc.property(wordyText, (t) => { detect(t); }), { numRuns: 300 });
});
