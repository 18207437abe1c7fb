/**
 * The fuzz harness shared by `npm run bench:fuzz` (a million inputs) and the fast slice in test/fuzz.test.ts:
 * every parser (kernel files, leak-tool reports, both detectors) and the capture path, each with its real
 * samples as seeds; generated and mutated inputs from a seeded PRNG (a run is repeatable from its seed); and
 * the checks: no throw, no non-finite number anywhere in the value, warnings well formed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PARSERS, detect, type FormatName } from '../src/parse/index.js';
import { EVIDENCE_PARSERS, detectEvidence, type EvidenceFormat } from '../src/parse/evidence/index.js';
import { ingestToSnapshots } from '../src/sources/capture_file.js';
import { corpus, fixtures, samples, seedsDir } from './corpus.js';

export interface FuzzTarget {
  name: string;
  run: (text: string) => unknown;
  seeds: string[];
}

const texts = (files: { text: string }[]): string[] => files.map((f) => f.text);

const KERNEL_SEEDS: Record<FormatName, string[]> = {
  meminfo: texts([...corpus('meminfo'), ...fixtures(/meminfo-local/)]),
  slabinfo: texts([...corpus('slabinfo'), ...fixtures(/^slabinfo-local/)]),
  vmallocinfo: texts(fixtures(/^vmallocinfo-local/)),
  buddyinfo: texts([...corpus('buddyinfo'), ...fixtures(/^buddyinfo-local/)]),
  zoneinfo: texts([...corpus('zoneinfo'), ...fixtures(/^zoneinfo-local/)]),
  pagetypeinfo: texts(fixtures(/^pagetypeinfo-local/)),
  vmstat: texts([...corpus('vmstat'), ...fixtures(/^vmstat-local/)]),
  status: texts([...corpus('status'), ...fixtures(/^status-.*-local/)]),
  statm: texts(fixtures(/^statm-.*-local/)),
  smaps: texts([...corpus('smaps'), ...fixtures(/^smaps-.*-local/)]),
  smaps_rollup: texts([...corpus('smaps_rollup'), ...fixtures(/^smaps_rollup-.*-local/)]),
  free: texts(fixtures(/^free-(?:.*-)?local/)),
  cgroup_memory_stat: texts(fixtures(/^cgroup_memory_stat-/)),
  cgroup_memory_current: texts(fixtures(/^cgroup_memory_usage_in_bytes-/)),
  allocinfo: texts(fixtures(/^allocinfo-/)),
  dmabuf_bufinfo: texts([...corpus('dmabuf'), ...corpus('local-6.18', /^dmabuf-bufinfo/)]),
  dumpsys_meminfo: texts(corpus('dumpsys_meminfo')),
  showmap: texts(corpus('procrank', /showmap/)),
  procrank: texts(corpus('procrank', /procrank/)),
  librank: texts(corpus('librank')),
  mali_gpu_memory: texts(corpus('mali')),
  ion_heap: texts(corpus('ion')),
};

const EVIDENCE_SEEDS: Record<EvidenceFormat, string[]> = {
  'valgrind-xml': texts(corpus('valgrind-xml')),
  massif: texts(fixtures(/^massif-/)),
  heaptrack: texts(fixtures(/^heaptrack_print-/)),
  lsan: texts([...corpus('lsan'), ...fixtures(/^lsan-/)]),
  valgrind: texts([...corpus('valgrind'), ...fixtures(/^valgrind-memcheck-/)]),
  dmalloc: texts(corpus('dmalloc')),
  mtrace: texts(corpus('mtrace')),
  'bcc-memleak': texts(fixtures(/^bcc-memleak-/)),
  kmemleak: texts(corpus('kmemleak')),
  page_owner: texts(corpus('page_owner')),
  slub_alloc_calls: texts(corpus('slub_alloc_calls')),
  oom: texts(corpus('oom')),
};

/** Capture logs: the field notes and the loop logs captured here. */
const CAPTURE_SEEDS = texts([...samples(seedsDir, /^\d+_.*\.txt$/), ...fixtures(/^capture-seed-loop-local/)]);

/**
 * The capture path as `ingest` runs it (file reader, terminal-noise cleaner, sectionizer, parsers, Snapshot),
 * on a file in a private temporary folder; returns the snapshots and their warnings.
 */
export class CapturePath {
  private readonly dir = mkdtempSync(join(tmpdir(), 'memsleuth-fuzz-'));
  private readonly file = join(this.dir, 'capture.log');
  run = (text: string): unknown => {
    writeFileSync(this.file, text);
    const out: unknown[] = [];
    ingestToSnapshots(this.file, { onSample: (snapshot, sample) => out.push({ snapshot, warnings: sample.warnings }) });
    return out;
  };
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function fuzzTargets(capture: CapturePath): FuzzTarget[] {
  const allSeeds = [...Object.values(KERNEL_SEEDS).flat(), ...Object.values(EVIDENCE_SEEDS).flat()];
  const out: FuzzTarget[] = [];
  for (const [name, parse] of Object.entries(PARSERS)) out.push({ name, run: parse, seeds: KERNEL_SEEDS[name as FormatName] });
  for (const [name, parse] of Object.entries(EVIDENCE_PARSERS)) out.push({ name: `evidence:${name}`, run: parse, seeds: EVIDENCE_SEEDS[name as EvidenceFormat] });
  out.push({ name: 'detect', run: detect, seeds: allSeeds });
  out.push({ name: 'detectEvidence', run: detectEvidence, seeds: allSeeds });
  out.push({ name: 'capture', run: capture.run, seeds: CAPTURE_SEEDS });
  return out;
}

/** A small fast PRNG (mulberry32): the same seed gives the same inputs on every machine. */
export class Rng {
  constructor(private state: number) {}
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

/** Character classes a hostile line is made of (each also a 10 MB line in the linearity test). */
export const CHAR_CLASSES: Record<string, string> = {
  space: ' ',
  tab: '\t',
  cr: '\r',
  digit: '7',
  letter: 'x',
  hex: '0xfA',
  punctuation: '[(<:=,./+-)>]',
  control: '\x00\x1b\x07\b',
  'non-ascii': 'é中\u00a0\u2028',
  'space-digit': ' 1',
};

const TOKENS = [
  ' ', '  ', '\t', '\n', '\r\n', '\r', '\0', '\x1b[31m', '\x07', '\ufffd', 'é', ':', '0', '-1', '1e400', '9'.repeat(400),
  '0x', '0xffffffffffffffff', 'NaN', 'Infinity', 'max', 'kB', 'MB', '(', ')', '[', ']', '<', '>', '/', '=', '+0x1/0x2',
  '@@ms ', '@@ms N sec meminfo', '@@ms N end 0', 'unreferenced object 0x1 (size 8):', 'backtrace:', '<valgrindoutput>',
  'snapshot=0', 'mem_heap_B=', 'time=', 'total runtime: ', 'MemTotal:', 'slabinfo - version: 2.1', 'Node 0, zone',
  'invoked oom-killer:', 'Slabcache: x', ' bytes in ', '==1== ', '#0 0x1 in f a.c:1', 'Direct leak of 8 byte(s) in 1 object(s) allocated from:',
];

/** One generated or mutated input for a target: mostly mutated seeds, some text from tokens alone. */
export function makeInput(rng: Rng, seeds: readonly string[], all: readonly string[]): string {
  if (seeds.length === 0 || rng.int(10) === 0) {
    let s = '';
    const n = 1 + rng.int(60);
    for (let i = 0; i < n; i++) s += rng.int(3) === 0 ? String.fromCharCode(rng.int(0x250)) : rng.pick(TOKENS);
    return s;
  }
  let text = rng.pick(seeds);
  // A window of the seed keeps each input small (a million of them run in minutes); its lines stay real.
  if (text.length > 6000) {
    const start = rng.int(text.length - 4000);
    text = text.slice(text.lastIndexOf('\n', start) + 1, start + 1000 + rng.int(3000));
  }
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) text = mutate(rng, text, all);
  return text;
}

function mutate(rng: Rng, text: string, all: readonly string[]): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(12)) {
    case 0: return text.slice(0, at) + rng.pick(TOKENS) + text.slice(at);
    case 1: return text.slice(0, at) + text.slice(at + 1 + rng.int(40));
    case 2: { // a digit run becomes huge, negative, fractional or garbage
      return text.replace(/\d+/g, (d) => (rng.int(25) === 0 ? rng.pick(['9'.repeat(310), '-' + d, d + '.5e309', 'x' + d, '']) : d));
    }
    case 3: { // duplicate or drop lines
      const lines = text.split('\n');
      const i = rng.int(lines.length);
      if (rng.int(2) === 0) lines.splice(i, 0, ...lines.slice(i, i + 1 + rng.int(5)));
      else lines.splice(i, 1 + rng.int(5));
      return lines.join('\n');
    }
    case 4: return text.replace(/\n/g, rng.pick(['\r', '\r\n', '', ' ', '\n\n']));
    case 5: { // splice a piece of another format's sample in
      const other = rng.pick(all);
      const s = rng.int(Math.max(1, other.length - 500));
      return text.slice(0, at) + other.slice(s, s + rng.int(500)) + text.slice(at);
    }
    case 6: return text.slice(0, at) + rng.pick(Object.values(CHAR_CLASSES)).repeat(1 + rng.int(2000)) + text.slice(at);
    case 7: return text.slice(0, at) + '\0'.repeat(1 + rng.int(8)) + text.slice(at);
    case 8: { // flip a character
      if (text.length === 0) return text;
      const i = rng.int(text.length);
      return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ (1 << rng.int(8))) + text.slice(i + 1);
    }
    case 9: return text.slice(0, at);
    case 10: return text.replace(/[ \t]+/g, (w) => (rng.int(10) === 0 ? rng.pick(['', '\t', '    ', '\u00a0']) : w));
    default: return text.slice(at) + text.slice(0, at);
  }
}

/** Paths of every non-finite number (NaN, ±Infinity) in a value, "" for the value itself. */
export function nonFinitePaths(value: unknown, path = '', out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) out.push(path || '(value)');
    return out;
  }
  if (typeof value === 'bigint' || value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) nonFinitePaths(v, `${path}.${String(k)}`, out, seen);
  } else if (ArrayBuffer.isView(value)) {
    for (const v of Array.from(value as unknown as ArrayLike<number>)) if (!Number.isFinite(v)) { out.push(`${path}[]`); break; }
  } else {
    for (const [k, v] of Object.entries(value)) nonFinitePaths(v, `${path}.${k}`, out, seen);
  }
  return out;
}

/**
 * A seed with one hostile line of `size` characters of a class, glued to the front (at 'front') or the end of
 * one of its real lines, so the run reaches the parser in a state its format really has.
 */
export function longLineInput(seed: string, cls: string, size: number, where: 'front' | 'end'): string {
  const run = cls.repeat(Math.ceil(size / cls.length)).slice(0, size);
  const lines = seed.split('\n');
  const i = Math.min(2, Math.max(0, lines.length - 2));
  lines[i] = where === 'front' ? run + (lines[i] ?? '') : (lines[i] ?? '') + run;
  return lines.join('\n');
}

/** A full collection, so one measurement does not pay for the garbage of the one before (10 MB strings). */
export const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Milliseconds one call takes; the best of `runs` (a busy machine only ever adds time). */
export function bestMs(fn: () => unknown, runs = 1): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    collectGarbage();
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** The seed repeated (or cut) to `size` characters: ordinary text of the format, the reference for a hostile line. */
export function ordinaryText(seed: string, size: number): string {
  const unit = seed === '' ? 'x\n' : seed.endsWith('\n') ? seed : `${seed}\n`;
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

export interface Growth { cls: string; where: 'front' | 'end'; sizes: number[]; hostileMs: number[]; ordinaryMs: number[]; worstRatio: number }

/**
 * Whether a target reads one hostile line in linear time: at each size (100 KB, then x10 up to `maxBytes`) the
 * time on the hostile line is compared with the time the same target takes on as much ordinary text of its
 * format, measured here too (linear readers stay within a small factor of it at every size; a quadratic one is
 * ~1000 times slower at 100 KB already). The walk stops at the first size over `limit`, long before a
 * quadratic reader would take hours at 10 MB.
 */
export function lineVsOrdinary(run: (t: string) => unknown, seed: string, cls: string, where: 'front' | 'end', maxBytes: number, limit: number, ordinaryMs = new Map<number, number>()): Growth {
  const g: Growth = { cls, where, sizes: [], hostileMs: [], ordinaryMs: [], worstRatio: 0 };
  for (let size = 100_000; size <= maxBytes; size *= 10) {
    const hostile = longLineInput(seed, cls, size, where);
    let ord = ordinaryMs.get(size);
    if (ord === undefined) {
      const text = ordinaryText(seed, hostile.length); // the seed is in the hostile text too
      // A parser may stop early on repeated text: a linear pass over it is the least "ordinary" may cost.
      ord = Math.max(bestMs(() => run(text), 3), bestMs(() => text.split('\n').map((l) => l.trim()).length, 3));
      ordinaryMs.set(size, ord);
    }
    const ms = bestMs(() => run(hostile), size >= 10_000_000 ? 1 : 3);
    g.sizes.push(size);
    g.hostileMs.push(ms);
    g.ordinaryMs.push(ord);
    g.worstRatio = Math.max(g.worstRatio, ms / ord);
    if (g.worstRatio > limit) break;
  }
  return g;
}
