/**
 * Recordings and evidence with hostile target strings, for the report tests (unit and browser): a process that
 * names itself an HTML payload, a slab cache name with quotes, a stack frame that is markup.
 */
import type { SeriesTable } from '../src/model/series_table.js';
import type { Analysis } from '../src/model/analysis.js';
import type { AllocationSite } from '../src/model/allocation_site.js';
import { bytes } from '../src/model/units.js';
import { keyPart, processKey } from '../src/model/series.js';
import { makeTable } from '../src/analyze/testing_tables.js';
import { analyzeRecording } from '../src/analyze/report_model.js';
import { summarySentence } from '../src/report/analysis_text.js';

/** The payload of the issue: it sets window.__xss if any report runs it. */
export const XSS = '<img src=x onerror="window.__xss=1">';
/** A payload that survives series-key normalization (no spaces, no dots), so it reaches the report through a key. */
export const XSS_KEY = "<svg/onload=window['__xss']=2>";
export const QUOTED = `"quoted' cache`;

/** Two hours at 10 s: a kernel-slab leak, plus a leaking process and cache with hostile names. */
export function xssTable(): SeriesTable {
  const table = makeTable({ name: 'xss', leak: 'kernel-slab', ratePerHour: 0.01, noise: ['white'], seconds: 7200, dt: 10, seed: 7 });
  const n = table.t.length;
  const grow = (base: number, perSec: number): Float64Array => Float64Array.from(table.t, (x, i) => Math.round((base + perSec * x + (i % 7) * 4096) / 4096) * 4096);
  table.series.set(`${processKey(XSS, 666)}.uss`, grow(10e6, 2000));
  table.series.set(`${processKey(XSS_KEY, 667)}.uss`, grow(20e6, 1500));
  table.series.set(`slab.${keyPart(QUOTED)}.bytes`, grow(5e6, 3000));
  table.series.set(`slab.${keyPart(QUOTED)}.objs`, Float64Array.from({ length: n }, (_, i) => 1000 + i));
  table.startedAtMs = Date.UTC(2025, 0, 1, 10, 0, 0);
  table.meta.notes.push(`note from target: ${XSS}`);
  return table;
}

/** The analysis of xssTable, with the raw payload also put where a comm or label travels unnormalized. */
export function xssAnalysis(table: SeriesTable): Analysis {
  const a = analyzeRecording(table, { now: () => 0 });
  a.summary = summarySentence(a);
  const l = a.leaks[0];
  if (l) {
    l.subject = `process ${XSS}`;
    l.evidence.push(`evidence naming ${XSS} and ${QUOTED}`);
    l.owners.push({ comm: XSS, pid: 666, counter: 'fdsize' });
  }
  a.attribution.root.children.push({ id: 'xss', label: `${XSS} ${QUOTED}`, deltaBytes: 4096, share: 0.01, startBytes: 0, endBytes: 4096, keys: [], additive: false, verdict: 'leak', note: XSS, children: [] });
  a.notes.push(`note ${XSS}`);
  return a;
}

export function xssSites(): AllocationSite[] {
  return [
    {
      stack: [{ symbol: 'malloc', module: 'libc.so.6' }, { symbol: XSS, file: `${QUOTED}.c`, line: 12 }, { symbol: 'main', file: 'main.c', line: 3 }],
      bytes: bytes(4096), count: 4, kind: 'definite', tool: 'valgrind', comms: [XSS], cache: QUOTED, origin: 'vg.log:9',
    },
    {
      stack: [{ symbol: 'malloc' }, { symbol: 'make_list', file: 'leaky.c', line: 16 }, { symbol: 'main', file: 'leaky.c', line: 28 }],
      bytes: bytes(131), count: 5, kind: 'indirect', tool: 'valgrind', origin: 'vg.log:11',
    },
  ];
}
