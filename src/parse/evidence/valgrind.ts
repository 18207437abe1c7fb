// src/parse/evidence/valgrind.ts
/**
 * Parses valgrind memcheck text output (stderr or --log-file), any version from 3.6 on
 * (Valgrind user manual, "Memcheck: a memory error detector", 4.2.10 "Memory leak detection";
 * memcheck/mc_leakcheck.c print_results / print_clique for the exact wording).
 *
 *   ==29254== 147 (16 direct, 131 indirect) bytes in 1 blocks are definitely lost in loss record 6 of 6
 *   ==29254==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
 *   ==29254==    by 0x109200: main (leaky.c:28)
 *   x (+x) bytes in 4 (+4) blocks            <- incremental leak check deltas; 'x'/'...' from the test-suite filters
 *   --23337-- REDIR: 0x401cfd0 (...)          <- -v chatter, skipped
 *
 * Prefixes `==PID==`, `--PID--` and `**PID**` are stripped; lines without one (regression-test files, program
 * output mixed into stderr) are read the same way. A "definitely lost" record with "(D direct, I indirect)" becomes
 * a site of D bytes: the I bytes are the indirectly-lost records, so site bytes add up to the LEAK SUMMARY.
 */
import type { AllocationSite, Frame, LeakKind } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

/** A byte/block pair from a summary line; undefined where the number was filtered ("x", "..."). */
export interface ValgrindAmount {
  bytes?: Bytes;
  blocks?: number;
  /** "(+16)" / "(-x)" change since the previous leak check, when printed and not filtered. */
  deltaBytes?: number;
  deltaBlocks?: number;
}

export interface ValgrindLeakSummary {
  line: number;
  definitelyLost?: ValgrindAmount;
  indirectlyLost?: ValgrindAmount;
  possiblyLost?: ValgrindAmount;
  stillReachable?: ValgrindAmount;
  suppressed?: ValgrindAmount;
  /** "of which reachable via heuristic:" sub-block (stdstring, length64, newarray, multipleinheritance). */
  reachableViaHeuristic?: Record<string, ValgrindAmount>;
}

export interface ValgrindSummary {
  pids: number[];
  version?: string;
  command?: string;
  heap?: { inUseBytes?: Bytes; inUseBlocks?: number; allocs?: number; frees?: number; allocatedBytes?: Bytes };
  /** "All heap blocks were freed -- no leaks are possible". */
  allHeapFreed?: boolean;
  /** One per leak check: at exit, plus one per VALGRIND_DO_LEAK_CHECK / gdb `leak_check`. */
  leakSummaries: ValgrindLeakSummary[];
  errorSummary?: { errors: number; contexts: number; suppressedErrors?: number; suppressedContexts?: number };
}

/** A memcheck error that is not a leak ("Invalid read of size 4", "Conditional jump ..."): set aside, not a site. */
export interface ValgrindOtherError {
  what: string;
  line: number;
  stack: Frame[];
}

export interface ValgrindLeakRecord {
  line: number;
  site: AllocationSite;
  lossRecord?: number;
  lossRecords?: number;
  /** Total printed before "(D direct, I indirect)", when there was such a split. */
  totalBytes?: Bytes;
  indirectBytes?: Bytes;
}

export interface ValgrindText {
  sites: AllocationSite[];
  records: ValgrindLeakRecord[];
  otherErrors: ValgrindOtherError[];
  summary: ValgrindSummary;
}

const PREFIX = /^(?:==|--|\*\*)(\d+)(?:==|--|\*\*) ?/;
const NUM = String.raw`([\d,]+|x|\.\.\.)`;
const DELTA = String.raw`(?: \(([+-]?[\d,]+|[+-]?x|[+-]?\.\.\.)\))?`;
const RECORD = new RegExp(
  `^${NUM}${DELTA}(?: \\(${NUM}${DELTA} direct, ${NUM}${DELTA} indirect\\))? bytes in ${NUM}${DELTA} blocks are ` +
    `(definitely lost|indirectly lost|possibly lost|still reachable)(?: \\(suppressed\\))?` +
    `(?: in loss record (\\S+) of (\\S+))?\\s*$`,
);
const AMOUNT = new RegExp(`^${NUM}${DELTA} +bytes in +${NUM}${DELTA} +blocks\\s*$`);
const SUMMARY_LINE = /^(definitely lost|indirectly lost|possibly lost|still reachable|suppressed):\s*(.*)$/;
const HEURISTIC_LINE = /^(\w+)\s*:\s*(.*)$/;
const FRAME = /^(at|by) (0x[0-9A-Fa-f.]+): (.*)$/;
const KIND: Record<string, LeakKind> = {
  'definitely lost': 'definite',
  'indirectly lost': 'indirect',
  'possibly lost': 'possible',
  'still reachable': 'reachable',
};

/** "1,000" -> 1000; "x" / "..." (test-suite filters) -> undefined. */
function count(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?[\d,]+$/.test(s)) return undefined;
  const n = Number(s.replace(/,/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

function amount(m: RegExpExecArray): ValgrindAmount {
  const out: ValgrindAmount = {};
  const b = count(m[1]);
  if (b !== undefined) out.bytes = bytes(b);
  const db = count(m[2]);
  if (db !== undefined) out.deltaBytes = db;
  const n = count(m[3]);
  if (n !== undefined) out.blocks = n;
  const dn = count(m[4]);
  if (dn !== undefined) out.deltaBlocks = dn;
  return out;
}

/** The "(...)" group that closes a frame's text, balanced, so "operator new(unsigned long) (vg_replace_malloc.c:299)" splits right. */
function trailingGroup(s: string): { head: string; inner: string } | undefined {
  if (!s.endsWith(')')) return undefined;
  let depth = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s[i];
    if (c === ')') depth++;
    else if (c === '(') {
      depth--;
      if (depth === 0) {
        if (i === 0 || s[i - 1] !== ' ') return undefined;
        return { head: s.slice(0, i - 1), inner: s.slice(i + 1, -1) };
      }
    }
  }
  return undefined;
}

/** "malloc (vg_replace_malloc.c:299)", "main (leaky.c:26)", "??? (in /usr/lib/libfoo.so)", "???". */
export function parseValgrindFrame(address: string, rest: string): Frame {
  const frame: Frame = {};
  if (!address.includes('.')) frame.address = address; // "0x........" is a filtered address
  let symbol = rest.trim();
  const g = trailingGroup(symbol);
  if (g) {
    const inner = g.inner;
    if (inner.startsWith('in ')) {
      frame.module = inner.slice(3);
      symbol = g.head;
    } else {
      const loc = /^(.+):(\d+|\.\.\.|x)$/.exec(inner);
      if (loc && loc[1] !== undefined && !/[()]/.test(loc[1])) {
        frame.file = loc[1];
        const line = count(loc[2]);
        if (line !== undefined) frame.line = line;
        symbol = g.head;
      }
    }
  }
  symbol = symbol.trim();
  if (symbol !== '' && symbol !== '???') frame.symbol = symbol;
  return frame;
}

export function parseValgrindText(text: string, source = 'valgrind'): Parsed<ValgrindText> {
  const warnings: ParseWarning[] = [];
  const records: ValgrindLeakRecord[] = [];
  const otherErrors: ValgrindOtherError[] = [];
  const summary: ValgrindSummary = { pids: [], leakSummaries: [] };
  const pids = new Set<number>();
  const lines = text.split('\n');

  let record: ValgrindLeakRecord | undefined;
  let other: ValgrindOtherError | undefined;
  let leakSummary: ValgrindLeakSummary | undefined;
  let inHeuristics = false;
  let inHeap = false;
  let repeatListing = false; // -v "N errors in context K of M:" repeats errors already seen
  let previousText = '';
  let previousLine = 0;
  let filtered = 0;
  let filteredFirst = 0;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    let pid: number | undefined;
    const p = PREFIX.exec(raw);
    if (p) {
      pid = Number(p[1]);
      if (raw.startsWith('--')) continue; // --PID-- lines are -v chatter (REDIR, Reading syms, options)
      raw = raw.slice(p[0].length);
    }
    const line = raw.trim();

    const frame = FRAME.exec(line);
    if (frame) {
      const f = parseValgrindFrame(frame[2] ?? '', frame[3] ?? '');
      if (record) record.site.stack.push(f);
      else if (other) other.stack.push(f);
      else if (!repeatListing && previousText !== '' && !/^(HEAP|LEAK|ERROR) SUMMARY/.test(previousText)) {
        other = { what: previousText, line: previousLine, stack: [f] };
        otherErrors.push(other);
      }
      continue;
    }
    record = undefined;
    other = undefined;
    if (line === '') {
      inHeuristics = false;
      inHeap = false;
      leakSummary = undefined;
      previousText = '';
      continue;
    }

    const r = RECORD.exec(line);
    if (r) {
      const kindText = r[9] ?? '';
      const kind = KIND[kindText] ?? 'definite';
      const total = count(r[1]);
      const direct = count(r[3]);
      const indirect = count(r[5]);
      const blocks = count(r[7]);
      if (total === undefined || blocks === undefined || (r[3] !== undefined && direct === undefined)) {
        if (filtered++ === 0) filteredFirst = lineNo;
      }
      const site: AllocationSite = {
        stack: [],
        bytes: bytes(direct ?? total ?? 0),
        count: blocks ?? 0,
        kind,
        tool: 'valgrind',
        origin: `${source}:${lineNo}`,
      };
      if (pid !== undefined) site.pids = [pid];
      record = { line: lineNo, site };
      const idx = count(r[10]);
      const of = count(r[11]);
      if (idx !== undefined) record.lossRecord = idx;
      if (of !== undefined) record.lossRecords = of;
      if (r[3] !== undefined) {
        if (total !== undefined) record.totalBytes = bytes(total);
        if (indirect !== undefined) {
          record.indirectBytes = bytes(indirect);
          if (indirect > 0) site.indirectBytes = bytes(indirect);
        }
      }
      records.push(record);
      if (pid !== undefined) pids.add(pid);
      continue;
    }
    if (/ blocks are (definitely|indirectly|possibly) lost| blocks are still reachable/.test(line)) {
      warnings.push(warning(lineNo, raw, 'looks like a leak record but its numbers could not be read'));
      continue;
    }

    if (pid !== undefined) pids.add(pid);
    const s = SUMMARY_LINE.exec(line);
    if (s && leakSummary) {
      const a = AMOUNT.exec(s[2] ?? '');
      if (!a) warnings.push(warning(lineNo, raw, 'LEAK SUMMARY line without "N bytes in M blocks"'));
      else {
        const key = ({ 'definitely lost': 'definitelyLost', 'indirectly lost': 'indirectlyLost', 'possibly lost': 'possiblyLost', 'still reachable': 'stillReachable', suppressed: 'suppressed' } as const)[
          s[1] as 'definitely lost'
        ];
        leakSummary[key] = amount(a);
      }
      inHeuristics = false;
      continue;
    }
    if (line === 'of which reachable via heuristic:' && leakSummary) {
      inHeuristics = true;
      leakSummary.reachableViaHeuristic = {};
      continue;
    }
    if (inHeuristics && leakSummary?.reachableViaHeuristic) {
      const h = HEURISTIC_LINE.exec(line);
      const a = h ? AMOUNT.exec(h[2] ?? '') : null;
      if (h && a) {
        leakSummary.reachableViaHeuristic[h[1] ?? ''] = amount(a);
        continue;
      }
      inHeuristics = false;
    }
    if (line === 'LEAK SUMMARY:') {
      leakSummary = { line: lineNo };
      summary.leakSummaries.push(leakSummary);
      continue;
    }
    if (line === 'HEAP SUMMARY:') {
      inHeap = true;
      summary.heap = {};
      continue;
    }
    if (inHeap && summary.heap) {
      const u = /^in use at exit: ([\d,]+) bytes in ([\d,]+) blocks$/.exec(line);
      if (u) {
        const b = count(u[1]);
        const n = count(u[2]);
        if (b !== undefined) summary.heap.inUseBytes = bytes(b);
        if (n !== undefined) summary.heap.inUseBlocks = n;
        continue;
      }
      const t = /^total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated$/.exec(line);
      if (t) {
        const a = count(t[1]);
        const f = count(t[2]);
        const b = count(t[3]);
        if (a !== undefined) summary.heap.allocs = a;
        if (f !== undefined) summary.heap.frees = f;
        if (b !== undefined) summary.heap.allocatedBytes = bytes(b);
        continue;
      }
    }
    const e = /^ERROR SUMMARY: ([\d,]+) errors from ([\d,]+) contexts(?: \(suppressed: ([\d,]+) from ([\d,]+)\))?/.exec(line);
    if (e) {
      const es: NonNullable<ValgrindSummary['errorSummary']> = { errors: count(e[1]) ?? 0, contexts: count(e[2]) ?? 0 };
      const se = count(e[3]);
      const sc = count(e[4]);
      if (se !== undefined) es.suppressedErrors = se;
      if (sc !== undefined) es.suppressedContexts = sc;
      summary.errorSummary = es;
      repeatListing = false;
      previousText = '';
      continue;
    }
    if (/^[\d,]+ errors in context [\d,]+ of [\d,]+:$/.test(line)) {
      repeatListing = true;
      continue;
    }
    if (line.startsWith('All heap blocks were freed')) summary.allHeapFreed = true;
    const v = /^Using Valgrind-(\S+)/.exec(line);
    if (v && v[1] !== undefined) summary.version = v[1];
    const c = /^Command: (.*)$/.exec(line);
    if (c && c[1] !== undefined && summary.command === undefined) summary.command = c[1];
    previousText = line;
    previousLine = lineNo;
  }

  if (filtered > 0) {
    warnings.push(
      warning(filteredFirst, lines[filteredFirst - 1] ?? '', `${filtered} leak record(s) with filtered numbers ("x"/"..."): bytes or blocks recorded as 0`, 'info'),
    );
  }
  summary.pids = [...pids];
  return withFiniteValues({ value: { sites: records.map((r) => r.site), records, otherErrors, summary }, warnings });
}
