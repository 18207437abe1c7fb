// src/parse/evidence/bcc_memleak.ts
/**
 * Parses the text of bcc's `memleak` (tools/memleak.py, also packaged as memleak-bpfcc) and its libbpf-tools
 * port (libbpf-tools/memleak.c), as described in bcc's tools/memleak_example.txt.
 *
 *   Attaching to pid 5193, Ctrl+C to quit.
 *   [11:16:33] Top 2 stacks with outstanding allocations:
 *           80 bytes in 5 allocations from stack
 *                    main+0x6d [allocs]
 *   \t\t0x0000559b4789639f\tzmalloc+0x2f [redis-server]       <- libbpf-tools: address, tab, symbol
 *           addr = 948cd0 size = 16                            <- -a: one line per block, skipped
 *
 * Each interval prints the allocations still outstanding at that moment, so one run's last interval is its current
 * state: `sites` holds the last interval of every run ("Attaching to ..." starts a run); `runs` keeps them all.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import { bytes } from '../../model/units.js';

export interface MemleakInterval {
  line: number;
  /** "11:16:33" as printed (the tracing host's local clock). */
  time?: string;
  top?: number;
  sites: AllocationSite[];
}

export interface MemleakRun {
  line: number;
  pid?: number;
  kernel: boolean;
  intervals: MemleakInterval[];
}

export interface BccMemleak {
  sites: AllocationSite[];
  runs: MemleakRun[];
}

const ATTACH_PID = /^Attaching to pid (\d+)/;
const ATTACH_KERNEL = /^Attaching to kernel allocators/;
const INTERVAL = /^\[(\d\d:\d\d:\d\d)\] Top (\d+) stacks with outstanding allocations:\s*$/;
const STACK = /^(\d+) bytes in (\d+) allocations from stack\s*$/;
const ALLOC_LINE = /^addr = [0-9a-fA-F]+ size = \d+$/;

/** "main+0x6d [allocs]", "0x0000559b4789639f\tzmalloc+0x2f [redis-server]", "bpf_prog_load [kernel]", "[unknown]". */
export function memleakFrame(text: string): Frame {
  const f: Frame = {};
  let s = text.trim();
  const addr = /^(0x[0-9a-fA-F]+)\s+(.*)$/.exec(s);
  if (addr && addr[1] !== undefined) {
    f.address = addr[1];
    s = addr[2] ?? '';
  }
  const mod = /^(.*?)\s*\[([^\]]*)\]$/.exec(s);
  if (mod && mod[2] !== undefined) {
    if (mod[2] !== 'unknown') f.module = mod[2];
    s = mod[1] ?? '';
  }
  const off = /^(.*?)(\+0x[0-9a-fA-F]+)$/.exec(s);
  if (off && off[1] !== undefined && off[1] !== '') {
    f.offset = off[2] ?? '';
    s = off[1];
  }
  if (/^0x[0-9a-fA-F]+$/.test(s) && f.address === undefined) f.address = s;
  else if (s !== '' && s !== '[unknown]') f.symbol = s;
  return f;
}

export function parseBccMemleak(text: string, source = 'memleak'): Parsed<BccMemleak> {
  const warnings: ParseWarning[] = [];
  const runs: MemleakRun[] = [];
  const lines = text.split('\n');
  let run: MemleakRun | undefined;
  let interval: MemleakInterval | undefined;
  let site: AllocationSite | undefined;

  const ensureInterval = (lineNo: number): MemleakInterval => {
    if (!run) {
      run = { line: lineNo, kernel: false, intervals: [] };
      runs.push(run);
    }
    if (!interval) {
      interval = { line: lineNo, sites: [] };
      run.intervals.push(interval);
    }
    return interval;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.trim();
    if (line === '') {
      site = undefined;
      continue;
    }
    const ap = ATTACH_PID.exec(line);
    if (ap || ATTACH_KERNEL.test(line)) {
      run = { line: lineNo, kernel: !ap, intervals: [] };
      if (ap) run.pid = Number(ap[1]);
      runs.push(run);
      interval = undefined;
      site = undefined;
      continue;
    }
    const iv = INTERVAL.exec(line);
    if (iv) {
      interval = undefined;
      const cur = ensureInterval(lineNo);
      if (iv[1] !== undefined) cur.time = iv[1];
      cur.top = Number(iv[2]);
      site = undefined;
      continue;
    }
    const st = STACK.exec(line);
    if (st) {
      const cur = ensureInterval(lineNo);
      site = { stack: [], bytes: bytes(Number(st[1])), count: Number(st[2]), kind: 'outstanding', tool: 'bcc-memleak', origin: `${source}:${lineNo}` };
      if (run?.pid !== undefined) site.pids = [run.pid];
      cur.sites.push(site);
      continue;
    }
    if (ALLOC_LINE.test(line)) continue;
    // A frame is indented deeper than its "N bytes in M allocations" line; prose and shell prompts are not.
    if (site && /^\s/.test(raw)) {
      site.stack.push(memleakFrame(line));
      continue;
    }
    site = undefined;
  }

  const sites: AllocationSite[] = [];
  for (const r of runs) {
    const last = r.intervals[r.intervals.length - 1];
    if (last) sites.push(...last.sites);
  }
  if (runs.length === 0) warnings.push(warning(0, '', 'no memleak output found', 'error'));
  return withFiniteValues({ value: { sites, runs }, warnings });
}
