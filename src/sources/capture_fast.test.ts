import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixtures, seed } from '../../test/corpus.js';
import { canTakeFastPath } from './capture_fast.js';
import { STAMPS, series, reference, stampLines, withFile } from './capture_testing.js';


const realCaptures = (): { name: string; path: string; text: string }[] => [
  ...fixtures(/^capture-seed-loop-local.*\.txt$/),
  ...withSeed(),
];
function withSeed(): { name: string; path: string; text: string }[] {
  const text = seed('002');
  return [{ name: 'seed 002', path: '', text }];
}

test('ingestSeries equals flattenSnapshot(toSnapshot(sample)) on real captures, on both paths, value for value', () => {
  for (const f of realCaptures()) {
    withFile(f.text, (path) => {
      const want = reference(path, 5);
      assert.ok(want.length > 0, f.name);
      for (const mode of ['generic', 'auto', 'fast'] as const) {
        const { got } = series(path, { intervalSec: 5, path: mode });
        assert.deepStrictEqual(got, want, `${f.name} (${mode})`);
      }
    });
  }
});

test('the plain loop capture takes the fast path all the way; the pty ones and seed 002 do not', () => {
  const paths: Record<string, string> = {};
  for (const f of realCaptures()) paths[f.name] = withFile(f.text, (p) => series(p, { intervalSec: 5 }).path);
  assert.deepEqual(paths, {
    'capture-seed-loop-local-pty-ts.txt': 'generic', 'capture-seed-loop-local-pty.txt': 'generic',
    'capture-seed-loop-local.txt': 'fast', 'seed 002': 'generic',
  });
});

test('the fast path hands over mid-file without losing or repeating a sample', () => {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  // Notes typed after the second dump: the fast path stops there and the generic path finishes the log.
  const lines = f.text.split('\n');
  const at = lines.findIndex((l, i) => i > 400 && l.startsWith('MemTotal:'));
  lines.splice(at, 0, 'leak reproduced here, dumps follow', 'second note line');
  withFile(lines.join('\n'), (path) => {
    const want = reference(path, 5);
    const { got, path: which } = series(path, { intervalSec: 5 });
    assert.equal(which, 'fast+generic');
    assert.deepStrictEqual(got, want);
    assert.equal(got.length, 3);
  });
});

test('a log cut inside a section: the same truncation warning on both paths', () => {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  const cut = f.text.slice(0, f.text.lastIndexOf('kmalloc-64'));
  withFile(cut, (path) => {
    const want = reference(path, 5);
    const { got, path: which } = series(path, { intervalSec: 5, path: 'fast' });
    assert.equal(which, 'fast');
    assert.deepStrictEqual(got, want);
    assert.ok(got.at(-1)?.meta.warnings.some((w) => w.severity === 'data-loss'));
  });
});

test('odd but valid shapes stay on the fast path or hand over, never differ', () => {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  const variants: [string, (t: string) => string][] = [
    ['CRLF', (t) => t.replace(/\n/g, '\r\n')],
    ['printk inside meminfo', (t) => t.replace('Slab:', '[ 12.345678] usb 1-1: reset\nSlab:')],
    ['duplicate slab cache names add up', (t) => t.replace(/^(kmalloc-64 .*)$/m, '$1\n$1')],
    ['double-spaced lines', (t) => t.replace(/\n/g, '\n\n')],
    ['trailing blanks', (t) => t.replace(/ kB\n/g, ' kB  \n')],
    ['a meminfo key twice', (t) => t.replace('MemFree:', 'MemTotal2:       1 kB\nMemTotal2:       2 kB\nMemFree:')],
    ['wrapped slab row', (t) => t.replace(/^(kmalloc-64 [^:]*)(: tunables.*)$/m, '$1\n$2')],
    ['no final newline', (t) => t.trimEnd()],
    ['a command word as a cache name', (t) => t.replace(/^kmalloc-64 /m, 'cat ')],
    ['a cache added, one renamed, one gone (the name guesses miss)', (t) => t.replace(/^(kmalloc-64 .*)$/m, '$1\nnew_cache_x   1   2   64   64   1 : tunables 0 0 0 : slabdata 1 1 0')
      .replace(/^kmalloc-128 /m, 'kmalloc-128x ').replace(/^kmalloc-256 .*\n/m, '')],
    ['two cache names with one key ("a.b", "a_b") add up', (t) => t.replace(/^kmalloc-64 (.*)$/m, 'my.cache $1\nmy_cache $1')],
    ['a tab between columns', (t) => t.replace(/^(kmalloc-64) +/m, '$1\t')],
    ['a NUL byte mid-file', (t) => t.replace(/^(kmalloc-64 .*)$/m, '$1\u0000')],
    ['a control byte in a cache name', (t) => t.replace(/^kmalloc-64 /m, 'kmal\u0007loc-64 ')],
    ['an @ in a cache name', (t) => t.replace(/^kmalloc-64 /m, 'kmalloc@64 ')],
    ['non-ASCII in a meminfo line', (t) => t.replace('MemFree:', 'MemFree\u00e9:')],
    ['a bare CR inside a line', (t) => t.replace(/^(kmalloc-64 +\d+)/m, '$1\r')],
    ['a last line ending in CR', (t) => `${t.trimEnd()}\r`],
    ['cut inside meminfo', (t) => t.slice(0, t.lastIndexOf('Slab:'))],
    ['cut inside a slab row', (t) => t.slice(0, t.lastIndexOf(': slabdata'))],
    ['a huge meminfo value', (t) => t.replace(/^MemFree: +\d+/m, 'MemFree:        123456789012345678901234')],
    ['a 17-digit slab number', (t) => t.replace(/^(kmalloc-64 +)\d+/m, '$112345678901234567')],
    ['"tunables" misspelt', (t) => t.replace(/^(kmalloc-64 .*): tunables/m, '$1: tunable ')],
    // SLUB prints zero tunables, which a row's scan compares as one block; anything else is read column by column.
    ['SLAB\'s non-zero tunables', (t) => t.replace(/^(kmalloc-64 .*): tunables +0 +0 +0/m, '$1: tunables  120   60    8')],
    ['zero tunables one column wider', (t) => t.replace(/^(kmalloc-64 .*): tunables +0 +0 +0/m, '$1: tunables     0    0    0')],
    ['cut right after "slabdata"', (t) => t.slice(0, t.lastIndexOf(': slabdata') + 10)],
    ['cut one byte after "slabdata"', (t) => t.slice(0, t.lastIndexOf(': slabdata') + 11)],
  ];
  for (const [name, edit] of variants) {
    withFile(edit(f.text), (path) => {
      assert.deepStrictEqual(series(path, { intervalSec: 5 }).got, reference(path, 5), name);
    });
  }
});

test('sniffing refuses logs with terminal noise the fast path would stop at', () => {
  for (const f of fixtures(/^capture-seed-loop-local-pty/)) assert.equal(canTakeFastPath(readFileSync(f.path)), false, f.name);
  const plain = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(plain);
  assert.equal(canTakeFastPath(readFileSync(plain.path)), true);
});

/** The plain capture `copies` times over (3 samples each), MemFree varied per copy: a log of a few MB. */
function bigLog(copies: number): string {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  const out: string[] = [];
  for (let i = 0; i < copies; i++) out.push(f.text.replace(/^MemFree: +\d+/gm, `MemFree:        ${1000 + i}`));
  return out.join('');
}

/** Inserts `add` lines before the `nth` line (0-based) that starts with `prefix`. */
function insertBefore(text: string, prefix: string, nth: number, ...add: string[]): { text: string; line: number } {
  const lines = text.split('\n');
  let seen = 0;
  const at = lines.findIndex((l) => l.startsWith(prefix) && seen++ === nth);
  assert.ok(at >= 0, `${prefix} #${nth}`);
  lines.splice(at, 0, ...add);
  return { text: lines.join('\n'), line: at + 1 };
}

test('a handover in the middle of a large log resumes at the abandoned sample: same samples, same warning lines', () => {
  // A stray line inside the 61st slabinfo, and a two-line note between two later samples.
  const a = insertBefore(bigLog(40), 'kmalloc-64 ', 60, 'debug: stray print');
  const b = insertBefore(a.text, 'MemTotal:', 90, 'note: leak seen here', 'note: second line');
  withFile(b.text, (path) => {
    const want = reference(path, 5);
    const { got, path: which } = series(path, { intervalSec: 5 });
    assert.equal(which, 'fast+generic');
    assert.deepStrictEqual(got, want);
    assert.ok(got.length >= 120);
    const lines = got.flatMap((g) => g.meta.warnings.map((w) => w.line));
    assert.ok(lines.includes(a.line), `a warning at line ${a.line}: ${lines.join(',')}`);
  });
});

test('a handover in the last sample of a log cut inside slabinfo: the truncation warning counts the lines before it', () => {
  const cut = bigLog(10);
  const text = insertBefore(cut.slice(0, cut.lastIndexOf('kmalloc-64 ')), 'Slab:', 29, 'debug: stray print').text;
  withFile(text, (path) => {
    const want = reference(path, 5);
    const { got, path: which } = series(path, { intervalSec: 5 });
    assert.equal(which, 'fast+generic');
    assert.deepStrictEqual(got, want);
    assert.ok(got.at(-1)?.meta.warnings.some((w) => w.severity === 'data-loss'));
  });
});

test('a headerless free row after a handover reuses the free header read before the handover', () => {
  // Between meminfo and slabinfo of a later sample: the generic path opens a free section with the last header.
  const text = insertBefore(bigLog(10), 'slabinfo - version', 20, 'Mem:        24684096      462668    23900104        8788      564172    24221428').text;
  withFile(text, (path) => {
    const want = reference(path, 5);
    const { got, path: which } = series(path, { intervalSec: 5 });
    assert.equal(which, 'fast+generic');
    assert.deepStrictEqual(got, want);
    assert.ok(got.some((g) => g.meta.sections.filter((s) => s === 'free').length > 0 && g.meta.sections[1] === 'free'));
  });
});

/**
 * The real framed capture (test/fixtures/capture-dialects-framed-local.txt: what `memsleuth script` writes) with its
 * per-process sections taken out, repeated with the uptime varied: the fast path reads the frames itself.
 */
export function framedLog(copies: number): string {
  const f = fixtures(/^capture-dialects-framed-local\.txt$/)[0];
  assert.ok(f);
  const noProcs = f.text.replace(/@@ms script sec (?:status|smaps_rollup) \d+\n[\s\S]*?@@ms script end 0\n/g, '');
  const out: string[] = [];
  for (let i = 0; i < copies; i++) out.push(noProcs.replace(/^(\d+)\.(\d\d) /gm, (_m, a: string, b: string) => `${Number(a) + 100 * i}.${b} `));
  return out.join('');
}

test('framed logs (memsleuth script) take the fast path: frames, date, uptime, boot_id, meminfo, buddyinfo, processes', () => {
  const text = framedLog(2);
  assert.ok(canTakeFastPath(Buffer.from(text.slice(0, 65536))));
  withFile(text, (path) => {
    const want = reference(path, 5);
    assert.equal(want.length, 120);
    assert.ok(want.every((w) => w.meta.timestamp.source === 'date'));
    for (const mode of ['auto', 'fast'] as const) {
      const { got, path: how } = series(path, { intervalSec: 5, path: mode, parallel: false });
      assert.equal(how, 'fast');
      assert.deepStrictEqual(got, want, mode);
    }
    const par = series(path, { intervalSec: 5, parallel: { minBytes: 0, rangeBytes: 40_000, workers: 1, maxPending: 2 } });
    assert.equal(par.path, 'fast');
    assert.deepStrictEqual(par.got, want, 'parallel');
  });
  // With the processes' frames (status, smaps_rollup per pid), one of them unreadable (the process had gone), on
  // one core and on two; then a frame the fast path does not read (a user-declared file) hands over, same answer.
  const full = fixtures(/^capture-dialects-framed-local\.txt$/)[0]?.text ?? '';
  const gone = full.replace(/(@@ms script sec status 8650\n)[\s\S]*?@@ms script end 0\n/, "$1cat: can't open '/proc/8650/status': No such file or directory\n@@ms script end 1\n");
  assert.notEqual(gone, full);
  withFile(`${text}${gone}`, (path) => {
    const want = reference(path, 5);
    assert.ok(want.some((w) => w.meta.warnings.some((x) => /unreadable on the target \(cat exit status 1\)/.test(x.reason))));
    assert.ok(want.every((w) => w.meta.pids === undefined || w.meta.pids.length === 3));
    const seq = series(path, { intervalSec: 5, parallel: false });
    assert.equal(seq.path, 'fast');
    assert.deepStrictEqual(seq.got, want);
    const par = series(path, { intervalSec: 5, parallel: { minBytes: 0, rangeBytes: 50_000, workers: 1, maxPending: 2 } });
    assert.equal(par.path, 'fast');
    assert.deepStrictEqual(par.got, want, 'parallel');
  });
  const vendor = full.replace('@@ms script sec buddyinfo\n', '@@ms script sec vendor_heap\nheap 12\n@@ms script end 0\n@@ms script sec buddyinfo\n');
  withFile(`${text}${vendor}`, (path) => {
    const want = reference(path, 5);
    const { got, path: how } = series(path, { intervalSec: 5, parallel: false });
    assert.equal(how, 'fast+generic');
    assert.deepStrictEqual(got, want);
  });
});

test('framed logs with vmstat and slabinfo frames: both paths agree (the bench log\'s shape, from corpus files)', () => {
  const c = (n: string): string => readFileSync(`${fixtures(/^meminfo-local\.txt$/)[0]?.path.replace(/meminfo-local\.txt$/, '')}${n}`, 'utf8');
  const m = (rest: string): string => `@@ms script ${rest}\n`;
  const sec = (name: string, t: string): string => `${m(`sec ${name}`)}${t}${t.endsWith('\n') ? '' : '\n'}${m('end 0')}`;
  let text = '';
  for (let i = 0; i < 6; i++) {
    text += m('begin') + sec('date', `Mon Dec  7 01:2${i}:03 UTC 2026`) + sec('uptime', `${100 + i}.25 ${300 + i}.50`)
      + sec('boot_id', '0e4c1d3a-5b7e-4c1f-9a51-2f0d3c5e7a10') + sec('meminfo', c('meminfo-local.txt')) + sec('vmstat', c('vmstat-local.txt'))
      + sec('buddyinfo', c('buddyinfo-local.txt')) + sec('slabinfo', c('slabinfo-local.txt')) + m('done');
  }
  for (const [name, t] of [['LF', text], ['CRLF', text.replace(/\n/g, '\r\n')]] as const) {
    withFile(t, (path) => {
      const want = reference(path, 5);
      assert.equal(want.length, 6, name);
      const { got, path: how } = series(path, { intervalSec: 5, parallel: false });
      assert.equal(how, 'fast', name);
      assert.deepStrictEqual(got, want, name);
    });
  }
});

test('lines set aside are counted alike on both paths (blank, separators, echoed commands, printk), handover included', async () => {
  const { ingestSeriesTyped } = await import('./capture_file.js');
  const plain = fixtures(/^capture-seed-loop-local\.txt$/)[0]?.text ?? '';
  const noisy = plain.replace('Slab:', '[ 1234.567890] usb 1-1: printk in a dump\n\nSlab:') + plain.replace(/\n/g, '\r\n') + framedLog(1);
  for (const [name, text] of [['plain', plain], ['printk, blank, CRLF, then framed', noisy], ['handover', `${noisy}${plain.replace('MemFree:', 'a stray line\nMemFree:')}`]] as const) {
    withFile(text, (path) => {
      const aside = (mode: 'generic' | 'auto', parallel: false | { minBytes: 0; rangeBytes: number; workers: number }) =>
        ingestSeriesTyped(path, { path: mode, parallel }, () => undefined).report.setAside;
      const want = aside('generic', false);
      assert.ok((want['separator'] ?? 0) > 0 && (want['command'] ?? 0) > 0, name);
      assert.deepEqual(aside('auto', false), want, `${name}: sequential`);
      assert.deepEqual(aside('auto', { minBytes: 0, rangeBytes: 30_000, workers: 1 }), want, `${name}: parallel`);
    });
  }
});

/** The plain loop capture (a real one) `copies` times over, MemFree varied per copy. */
function plainLog(copies: number): string {
  const f = fixtures(/^capture-seed-loop-local\.txt$/)[0];
  assert.ok(f);
  const out: string[] = [];
  for (let i = 0; i < copies; i++) out.push(f.text.replace(/^MemFree: +\d+/gm, `MemFree:        ${1000 + i}`));
  return out.join('');
}

test('a logger\'s stamp on every line: stamps with a date or a time of day take the fast path, timed as the generic path times them; relative ones hand over', () => {
  const want: Record<string, string> = { minicom: 'fast', iso: 'fast', epoch: 'fast', ts: 'fast', dmesgT: 'fast', tio: 'fast', grabserial: 'generic' };
  assert.deepEqual(Object.keys(want).sort(), Object.keys(STAMPS).sort());
  for (const [name, stamp] of Object.entries(STAMPS)) {
    for (const crlf of [false, true]) {
      let text = stampLines(plainLog(3), stamp);
      if (crlf) text = text.replace(/\n/g, '\r\n');
      withFile(text, (path) => {
        const ref = reference(path, 5);
        assert.equal(ref.length, 9, name);
        const { got, path: which } = series(path, { intervalSec: 5 });
        assert.equal(which, want[name], `${name}${crlf ? ' CRLF' : ''}`);
        assert.deepStrictEqual(got, ref, `${name}${crlf ? ' CRLF' : ''}`);
        assert.deepStrictEqual(series(path, { intervalSec: 5, path: 'generic' }).got, ref);
        if (want[name] === 'fast') assert.ok(got.every((g) => g.meta.timestamp.source === (name === 'tio' ? 'terminal-tod' : 'terminal')), name);
      });
    }
  }
  // tio's time of day across midnight, inside a sample and between two: the day is counted on both paths.
  // (lines 11 ms apart: midnight falls inside sample 1 for the first start, between samples 2 and 3 for the second)
  for (const t0 of [Date.UTC(2026, 11, 7, 23, 59, 57), Date.UTC(2026, 11, 7, 23, 59, 53, 433)]) {
    withFile(stampLines(plainLog(3), STAMPS['tio'] as (ms: number) => string, t0, 11), (path) => {
      const ref = reference(path, 5);
      const { got, path: which } = series(path, { intervalSec: 5 });
      assert.equal(which, 'fast');
      assert.deepStrictEqual(got, ref);
      assert.ok((got.at(-1)?.t as number) > 86400, 'the day was counted');
    });
  }
});

test('stamped logs: a sample without stamps, a handover with the clock carried over, stamps that only look right', () => {
  const stamp = STAMPS['minicom'] as (ms: number) => string;
  const stamped = stampLines(plainLog(4), stamp);
  const lines = stamped.split('\n');
  const memTotals = lines.flatMap((l, i) => (l.includes('] MemTotal:') ? [i] : []));
  const unstamp = (ls: string[], from: number, to: number): string[] => ls.map((l, i) => (i >= from && i < to ? l.slice(l.indexOf('] ') + 2) : l));
  const variants: [string, string[], 'fast' | 'fast+generic'][] = [
    // Sample 5's lines lost their stamps: timed one period after sample 4 (the generic clock's rule), still fast.
    ['an unstamped sample', unstamp(lines, (memTotals[4] as number) - 2, memTotals[5] as number), 'fast'],
    // A note in sample 7, which has no stamps: the generic path goes on from its start with the clock the fast
    // path had (a fresh clock would time it by its index).
    ['a handover in an unstamped sample', (() => {
      const ls = unstamp(lines, (memTotals[6] as number) - 2, memTotals[7] as number);
      ls.splice((memTotals[6] as number) + 3, 0, 'a note typed into the console', 'and another line of it');
      return ls;
    })(), 'fast+generic'],
    // Stamps the cleaner does not strip whole: a bad month, a 10-digit fraction, two blanks, a missing "]".
    ['stamps that only look right (from sample 3 on)', lines.map((l, i) => {
      if (i < (memTotals[2] as number)) return l;
      if (i % 11 === 0) return l.replace(/^\[2026-12-07 /, '[2026-13-07 ');
      if (i % 13 === 0) return l.replace(/^(\[[^\]]*\.\d{3})\]/, '$10000000]');
      if (i % 17 === 0) return l.replace(/^(\[[^\]]*\]) /, '$1  ');
      if (i % 19 === 0) return l.replace(/^(\[[^\]]*)\] /, '$1 ');
      return l;
    }), 'fast+generic'],
  ];
  for (const [name, ls, wantPath] of variants) {
    withFile(ls.join('\n'), (path) => {
      const ref = reference(path, 5);
      const { got, path: which } = series(path, { intervalSec: 5 });
      assert.equal(which, wantPath, name);
      assert.deepStrictEqual(got, ref, name);
    });
  }
});
