// src/parse/evidence/heaptrack.ts
/**
 * Parses `heaptrack_print` text output (KDE heaptrack, src/analyze/print/heaptrack_print.cpp), merged (default)
 * and unmerged (`-m 0`) backtraces; the leak sites come from the MEMORY LEAKS section that `-l` / `--print-leaks`
 * adds. Sizes are heaptrack's own decimal units (B, K = 1000 B, M, G), rounded to two decimals.
 *
 *   MEMORY LEAKS
 *   640B leaked over 10 calls from              <- merged: the allocating function, at column 0 ...
 *   leak_tick
 *     at /work/main/test/fixtures/leaky_heap.c:29
 *     in /tmp/leaky_heap
 *   640B leaked over 10 calls from:             <- ... then one block per distinct caller path
 *       main
 *         at /work/main/test/fixtures/leaky_heap.c:40
 *   0x7fb807ca57b9                              <- unsymbolized frame
 *     in /lib/x86_64-linux-gnu/libstdc++.so.6
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

/** One backtrace entry of any section: bytes (peak, leaked, ...), calls, stack innermost first. */
export interface HeaptrackEntry {
  line: number;
  bytes?: Bytes;
  calls?: number;
  stack: Frame[];
}

export interface Heaptrack {
  sites: AllocationSite[];
  command?: string;
  /** The recording heaptrack_print read ("reading file "ht.zst" - please wait ..."), for the command to re-run. */
  dataFile?: string;
  /** Every section by its title ("MOST CALLS TO ALLOCATION FUNCTIONS", "PEAK MEMORY CONSUMERS", "MEMORY LEAKS", ...). */
  sections: Record<string, HeaptrackEntry[]>;
  totals: {
    runtimeSec?: number;
    allocationCalls?: number;
    temporaryAllocations?: number;
    peakHeapBytes?: Bytes;
    peakRssBytes?: Bytes;
    leakedBytes?: Bytes;
    suppressedLeakBytes?: Bytes;
  };
}

const SIZE = /^(\d+(?:\.\d+)?)([BKMGTP])$/;
const FACTOR: Record<string, number> = { B: 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
const ENTRY = /^(.*?)\bfrom(:?)$/;

/** A path as one shell word, quoted only when it needs to be. */
function shellWord(s: string): string {
  return /^[\w./+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** "640B", "72.70K", "3.99M" -> bytes (heaptrack's formatBytes divides by 1000). */
export function heaptrackSize(s: string): Bytes | undefined {
  const m = SIZE.exec(s.trim());
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return bytes(Math.round(Number(m[1]) * (FACTOR[m[2]] ?? 1)));
}

function entryNumbers(head: string): { bytes?: Bytes; calls?: number } {
  const out: { bytes?: Bytes; calls?: number } = {};
  for (const tok of head.split(/\s+/)) {
    const b = heaptrackSize(tok);
    if (b !== undefined && out.bytes === undefined) out.bytes = b;
  }
  const calls = /(\d+) (?:calls|temporary allocations)\b/.exec(head);
  if (calls) out.calls = Number(calls[1]);
  return out;
}

function isTitle(line: string): boolean {
  return /^[A-Z][A-Z ()]+[A-Z)]$/.test(line) && line.length > 6;
}

export function parseHeaptrackPrint(text: string, source = 'heaptrack'): Parsed<Heaptrack> {
  const warnings: ParseWarning[] = [];
  const sections: Record<string, HeaptrackEntry[]> = {};
  const totals: Heaptrack['totals'] = {};
  const value: Heaptrack = { sites: [], sections, totals };
  const lines = text.split('\n');

  let section: HeaptrackEntry[] | undefined;
  let sectionName = '';
  let group: HeaptrackEntry | undefined; // "... from" at column 0: the allocating frames
  let groupHasCallers = false;
  let entry: HeaptrackEntry | undefined; // where frames go now
  let frame: Frame | undefined;
  let rounded = false;
  let leakedLine = '';

  const closeGroup = (): void => {
    if (group && section && !groupHasCallers) section.push(group);
    group = undefined;
    groupHasCallers = false;
    entry = undefined;
    frame = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.trim();
    if (line === '') {
      frame = undefined;
      continue;
    }
    const rf = /^reading file "(.*)" - please wait/.exec(line);
    if (rf && rf[1] !== undefined) {
      value.dataFile = rf[1];
      continue;
    }
    const cmd = /^Debuggee command was: (.*)$/.exec(line);
    if (cmd && cmd[1] !== undefined) {
      value.command = cmd[1];
      continue;
    }
    if (isTitle(line) && raw === line) {
      closeGroup();
      sectionName = line;
      section = [];
      sections[line] = section;
      continue;
    }
    const total = /^(total runtime|calls to allocation functions|temporary memory allocations|peak heap memory consumption|peak RSS \(including heaptrack overhead\)|total memory leaked|suppressed leaks): (\S+?)\.?(?: \(.*\))?$/.exec(line);
    if (total && raw === line) {
      closeGroup();
      section = undefined;
      const v = total[2] ?? '';
      switch (total[1]) {
        case 'total runtime': {
          // "0.0.00.00s" matches [\d.]+ but is no number: a warning, not NaN.
          const s = /^(\d+(?:\.\d+)?|\.\d+)s$/.exec(v);
          const sec = s ? Number(s[1]) : NaN;
          if (Number.isFinite(sec)) totals.runtimeSec = sec;
          else warnings.push(warning(lineNo, raw, 'total runtime is not a number of seconds; left out'));
          break;
        }
        case 'calls to allocation functions':
          totals.allocationCalls = Number(v);
          break;
        case 'temporary memory allocations':
          totals.temporaryAllocations = Number(v);
          break;
        default: {
          const b = heaptrackSize(v);
          if (b === undefined) break;
          if (total[1] === 'peak heap memory consumption') totals.peakHeapBytes = b;
          else if (total[1] === 'total memory leaked') {
            totals.leakedBytes = b;
            leakedLine = line;
          }
          else if (total[1] === 'suppressed leaks') totals.suppressedLeakBytes = b;
          else totals.peakRssBytes = b;
        }
      }
      continue;
    }
    if (!section) continue;

    const e = ENTRY.exec(line);
    if (e && /^\d/.test(line)) {
      const nums = entryNumbers(e[1] ?? '');
      if (nums.bytes !== undefined && !/^\d+B$/.test((e[1] ?? '').split(/\s+/)[0] ?? '')) rounded = true;
      const next: HeaptrackEntry = { line: lineNo, stack: [] };
      if (nums.bytes !== undefined) next.bytes = nums.bytes;
      if (nums.calls !== undefined) next.calls = nums.calls;
      if (e[2] === ':' && group) {
        // one caller path of the current merged group: its stack continues the group's frames
        next.stack = [...group.stack];
        section.push(next);
        groupHasCallers = true;
        entry = next;
      } else {
        closeGroup();
        group = next;
        entry = next;
      }
      frame = undefined;
      continue;
    }
    if (!entry) {
      warnings.push(warning(lineNo, raw, `line outside any entry of "${sectionName}"`, 'info'));
      continue;
    }
    if (line.startsWith('at ') && frame) {
      const loc = /^at (.+):(\d+)$/.exec(line);
      if (loc && loc[1] !== undefined) {
        frame.file = loc[1];
        frame.line = Number(loc[2]);
      } else frame.file = line.slice(3);
      continue;
    }
    if (line.startsWith('in ') && frame) {
      frame.module = line.slice(3);
      continue;
    }
    frame = /^0x[0-9a-fA-F]+$/.test(line) ? { address: line } : { symbol: line };
    entry.stack.push(frame);
  }
  closeGroup();

  const leaks = sections['MEMORY LEAKS'];
  if (leaks === undefined) {
    // Without -l heaptrack_print still states the total: a leak it did not itemize is not "no leak".
    const rerun = `heaptrack_print -l -f ${value.dataFile !== undefined ? shellWord(value.dataFile) : 'FILE.zst'}`;
    if (totals.leakedBytes === undefined) {
      warnings.push(warning(0, '', `no MEMORY LEAKS section and no "total memory leaked" line (cut short, or not heaptrack_print output): run ${rerun}`, 'error'));
    } else if (totals.leakedBytes > 0) {
      warnings.push(warning(0, '', `the report says "${leakedLine}" but lists no leak sites (heaptrack_print was run without -l): run ${rerun}`, 'error'));
    } else {
      warnings.push(warning(0, '', 'no MEMORY LEAKS section (heaptrack_print was run without -l); the report says 0 B leaked', 'info'));
    }
  } else {
    for (const l of leaks) {
      value.sites.push({ stack: l.stack, bytes: l.bytes ?? bytes(0), count: l.calls ?? 0, kind: 'outstanding', tool: 'heaptrack', origin: `${source}:${l.line}` });
    }
  }
  if (rounded) warnings.push(warning(0, '', 'sizes of 1000 B and more are rounded by heaptrack_print to 2 decimals (K = 1000 B)', 'info'));
  return withFiniteValues({ value, warnings });
}
