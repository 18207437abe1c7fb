/**
 * Test helpers for the dashboard: a recording file with a leaking process and a flat system, written with the
 * real store writer, and a strict parser of the Prometheus text format for checking /metrics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processKey } from '../model/series.js';
import { openStore, type Store } from '../store/store.js';
import type { RecordingWriter } from '../store/writer.js';

export const XSS_COMM = '<img src=x onerror="window.__xss=1">';
/** Has no dots or whitespace, so even its encoded key part is the name itself: markup that would run if a key were ever inserted unescaped. */
export const XSS_COMM_TIGHT = `<img/src="x"/onerror="window['__xss']=1">`;
export const T0 = 1_735_689_600_000;
const MIB = 1024 * 1024;

export interface TestRecording {
  dir: string;
  dbPath: string;
  store: Store;
  writer: RecordingWriter;
  /** Samples appended so far. */
  n: number;
  /** Appends one sample (i = n): a process leaking 64 KiB a sample, a slab cache leaking, a flat rest. */
  append(at?: number): number;
  cleanup(): void;
}

export function valuesAt(i: number): Map<string, number> {
  const leak = 64 * 1024 * i;
  return new Map([
    ['meminfo.MemTotal', 2048 * MIB],
    ['meminfo.MemFree', 900 * MIB - leak - 1024 * i],
    ['meminfo.MemAvailable', 1500 * MIB - leak - 1024 * i],
    ['meminfo.Cached', 400 * MIB + ((i * 7919) % 13) * 4096],
    ['meminfo.SUnreclaim', 40 * MIB + 1024 * i],
    ['meminfo.AnonPages', 300 * MIB + leak],
    ['meminfo.HugePages_Total', 0],
    ['slab.kmalloc-64.bytes', 4 * MIB + 1024 * i],
    ['slab.dentry.bytes', 8 * MIB],
    [`${processKey(XSS_COMM, 4242)}.uss`, 10 * MIB + leak],
    [`${processKey(XSS_COMM, 4242)}.rss`, 12 * MIB + leak],
    [`${processKey(XSS_COMM_TIGHT, 4343)}.uss`, 5 * MIB + leak / 2],
    [`${processKey('sshd', 412)}.uss`, 2 * MIB],
  ]);
}

export function makeRecording(samples: number, name: string = 'board'): TestRecording {
  const dir = mkdtempSync(join(tmpdir(), 'memsleuth-serve-'));
  const dbPath = join(dir, 'rec.db');
  const store = openStore(dbPath);
  // As `watch --ui` records: every sample committed, so the dashboard sees it.
  const writer = store.beginRecording({ target: { name }, startedAtMs: T0, intervalSec: 1, commitEverySec: 0 });
  const rec: TestRecording = {
    dir, dbPath, store, writer, n: 0,
    append(at?: number): number {
      const i = rec.n++;
      return writer.appendSample({ takenAtMs: at ?? T0 + i * 1000, uptimeSec: 100 + i, bootId: 'boot-1', values: valuesAt(i) }).sampleId;
    },
    cleanup(): void {
      writer.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < samples; i++) rec.append();
  return rec;
}

export interface ParsedSample { name: string; labels: Record<string, string>; value: number }
export interface ParsedFamily { name: string; help: string; type: string; samples: ParsedSample[] }

/**
 * Parses the text format strictly and throws on any rule broken: names, label syntax and escapes, HELP/TYPE
 * before samples, one block per family, no duplicate series.
 */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  let current: ParsedFamily | undefined;
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, n) => {
    const where = `line ${n + 1}: ${line}`;
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) {
      const name = m[1] as string;
      if (families.has(name)) throw new Error(`${where}: family repeated`);
      if (/\\[^\\n]/.test((m[2] as string).replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
      current = { name, help: m[2] as string, type: '', samples: [] };
      families.set(name, current);
      return;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      if (!current || current.name !== m[1] || current.samples.length > 0) throw new Error(`${where}: TYPE not right after its HELP`);
      current.type = m[2] as string;
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: unexpected comment`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample line`);
    const name = m[1] as string;
    if (!current || current.name !== name) throw new Error(`${where}: sample outside its family block`);
    const labels: Record<string, string> = {};
    let rest = m[3] ?? '';
    while (rest !== '') {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
      if (!l) throw new Error(`${where}: bad label syntax at ${rest}`);
      const label = l[1] as string;
      if (label in labels) throw new Error(`${where}: duplicate label ${label}`);
      labels[label] = (l[2] as string).replace(/\\(\\|"|n)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const v = m[4] as string;
    const value = v === 'NaN' ? NaN : v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^NaN$|^[+-]Inf$/.test(v)) throw new Error(`${where}: bad value`);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) throw new Error(`${where}: duplicate series`);
    seen.add(id);
    current.samples.push({ name, labels, value });
  });
  return families;
}
