// src/parse/evidence/lsan.ts
/**
 * Parses LeakSanitizer reports, standalone (-fsanitize=leak) or inside AddressSanitizer (-fsanitize=address), from
 * clang or GCC's libsanitizer (compiler-rt lib/lsan/lsan_common.cpp LeakReport::PrintReportForLeak; the frame
 * format is sanitizer_common's default "    #%n %p %F %L").
 *
 *   ==29270==ERROR: LeakSanitizer: detected memory leaks
 *   Direct leak of 100 byte(s) in 1 object(s) allocated from:
 *       #0 0x55dda27e614e in __interceptor_malloc (/home/dev/gen/leaky-asan-clang+0xa414e) (BuildId: be1a66ac...)
 *       #1 0x55dda2820eb8 in main /home/dev/gen/leaky.c:26:15
 *       #20 0x7fee08409afa  (<unknown module>)
 *   SUMMARY: AddressSanitizer: 247 byte(s) leaked in 7 allocation(s).
 *
 * One log may hold several reports (one per process, each opened by `==PID==ERROR:`). Other sanitizer reports
 * (heap-use-after-free, heap-buffer-overflow, ...) are recognised and kept in `otherReports`, never as sites.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

export interface SanitizerLeakReport {
  line: number;
  pid?: number;
  sanitizer: string;
  /** Indexes into `sites` of this report's leaks. */
  siteIndexes: number[];
  /** From "SUMMARY: AddressSanitizer: 247 byte(s) leaked in 7 allocation(s)." */
  summary?: { sanitizer: string; bytes: Bytes; allocations: number; line: number };
}

/** A non-leak sanitizer report ("heap-use-after-free", "heap-buffer-overflow", "SEGV on unknown address"). */
export interface SanitizerOtherReport {
  line: number;
  pid?: number;
  sanitizer: string;
  /** First word(s) after "Sanitizer: ", e.g. "heap-use-after-free". */
  kind: string;
  description: string;
  /** The first stack printed (the faulting access). */
  stack: Frame[];
  summary?: string;
}

export interface SanitizerSuppression {
  count: number;
  bytes: Bytes;
  template: string;
  line: number;
}

export interface SanitizerLog {
  sites: AllocationSite[];
  reports: SanitizerLeakReport[];
  otherReports: SanitizerOtherReport[];
  suppressions: SanitizerSuppression[];
}

const ERROR_HEADER = /==(\d+)==\s*ERROR: (\w+Sanitizer): (.*)$/;
const LEAK = /^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:\s*$/;
const FRAME = /^#(\d+) (0x[0-9a-fA-F]+)(.*)$/;
const LEAK_SUMMARY = /^SUMMARY: (\w+Sanitizer): (\d+) byte\(s\) leaked in (\d+) allocation\(s\)\.?\s*$/;
const LOCATION = /^(.+?):(\d+)(?::(\d+))?$/;

/** "(/lib64/libc.so.6+0x406ef)" style module+offset, or one of the "unknown" spellings. */
function moduleGroup(inner: string, frame: Frame): boolean {
  if (inner === '<unknown module>' || inner === '??') return true;
  const m = /^(.+)\+(0x[0-9a-fA-F]+)$/.exec(inner);
  if (!m || m[1] === undefined || m[2] === undefined) return false;
  frame.module = m[1];
  frame.moduleOffset = m[2];
  return true;
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === '(' || c === '<') depth++;
    else if (c === ')' || c === '>') depth--;
  }
  return depth === 0;
}

/** The text after "#N 0xADDR": " in func file:line:col", " in func (module+0xoff)", "  (<unknown module>)". */
export function parseSanitizerFrame(address: string, rest: string): Frame {
  const frame: Frame = { address };
  let s = rest.trim();
  s = s.replace(/\s+\(BuildId: [0-9a-fA-F]+\)$/, '');
  s = s.replace(/\s+\(discriminator \d+\)$/, '');
  if (s.startsWith('in ')) s = s.slice(3);
  else if (s.startsWith('(')) s = ` ${s}`; // no function: only "(module+0xoff)"
  const group = / \(([^()]*)\)$/.exec(s);
  if (group && group[1] !== undefined && moduleGroup(group[1], frame)) {
    s = s.slice(0, group.index);
  } else {
    const space = s.lastIndexOf(' ');
    const token = space >= 0 ? s.slice(space + 1) : '';
    const head = space >= 0 ? s.slice(0, space) : s;
    if (token !== '' && !/[()<>]/.test(token) && balanced(head)) {
      const loc = LOCATION.exec(token);
      if (token === '??:?' || token === '??:0' || token === '??') {
        s = head;
      } else if (loc && loc[1] !== undefined) {
        frame.file = loc[1];
        frame.line = Number(loc[2]);
        if (loc[3] !== undefined) frame.column = Number(loc[3]);
        s = head;
      } else if (token.includes('/') || /\.(c|cc|cpp|cxx|h|hpp|S|s|rs|go)$/.test(token)) {
        frame.file = token;
        s = head;
      } else if (token === '_asan_rtl_') {
        // llvm-symbolizer names the ASan runtime this way when it has no debug info for it (OSS-Fuzz logs).
        frame.module = token;
        s = head;
      }
    }
  }
  s = s.trim();
  if (s !== '' && s !== '??') frame.symbol = s;
  return frame;
}

export function parseSanitizer(text: string, source = 'lsan'): Parsed<SanitizerLog> {
  const warnings: ParseWarning[] = [];
  const sites: AllocationSite[] = [];
  const reports: SanitizerLeakReport[] = [];
  const otherReports: SanitizerOtherReport[] = [];
  const suppressions: SanitizerSuppression[] = [];
  const lines = text.split('\n');

  let report: SanitizerLeakReport | undefined;
  let other: SanitizerOtherReport | undefined;
  let otherStackDone = false;
  let site: AllocationSite | undefined;
  let inSuppressions = false;
  let orphanWarned = false;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const line = raw.trim();

    const h = ERROR_HEADER.exec(line);
    if (h) {
      site = undefined;
      inSuppressions = false;
      const pid = Number(h[1]);
      const sanitizer = h[2] ?? '';
      const description = h[3] ?? '';
      if (description.startsWith('detected memory leaks')) {
        report = { line: lineNo, pid, sanitizer, siteIndexes: [] };
        reports.push(report);
        other = undefined;
      } else {
        other = { line: lineNo, pid, sanitizer, kind: description.split(/\s/)[0] ?? description, description, stack: [] };
        otherStackDone = false;
        otherReports.push(other);
        report = undefined;
      }
      continue;
    }

    const f = FRAME.exec(line);
    if (f) {
      const frame = parseSanitizerFrame(f[2] ?? '', f[3] ?? '');
      if (site) site.stack.push(frame);
      else if (other && !otherStackDone) other.stack.push(frame);
      continue;
    }
    if (site && site.stack.length > 0) site = undefined;
    if (other && other.stack.length > 0) otherStackDone = true;

    const l = LEAK.exec(line);
    if (l) {
      site = {
        stack: [],
        bytes: bytes(Number(l[2])),
        count: Number(l[3]),
        kind: l[1] === 'Direct' ? 'definite' : 'indirect',
        tool: 'lsan',
        origin: `${source}:${lineNo}`,
      };
      if (report?.pid !== undefined) site.pids = [report.pid];
      if (report) report.siteIndexes.push(sites.length);
      else if (!orphanWarned) {
        orphanWarned = true;
        warnings.push(warning(lineNo, raw, 'leak record before any "ERROR: LeakSanitizer: detected memory leaks" header (log cut at the top?)', 'info'));
      }
      sites.push(site);
      continue;
    }
    if (/ leak of .* allocated from/.test(line)) {
      warnings.push(warning(lineNo, raw, 'looks like a leak record but could not be read'));
      continue;
    }

    const s = LEAK_SUMMARY.exec(line);
    if (s) {
      const sum = { sanitizer: s[1] ?? '', bytes: bytes(Number(s[2])), allocations: Number(s[3]), line: lineNo };
      if (report && report.summary === undefined) report.summary = sum;
      else warnings.push(warning(lineNo, raw, 'leak SUMMARY line outside a leak report', 'info'));
      report = undefined;
      continue;
    }
    if (line.startsWith('SUMMARY: ') && other) {
      other.summary = line.slice('SUMMARY: '.length);
      continue;
    }

    if (line === 'Suppressions used:') {
      inSuppressions = true;
      continue;
    }
    if (inSuppressions) {
      if (/^count\s+bytes\s+template$/.test(line)) continue;
      const row = /^(\d+)\s+(\d+)\s+(.+)$/.exec(line);
      if (row) {
        suppressions.push({ count: Number(row[1]), bytes: bytes(Number(row[2])), template: row[3] ?? '', line: lineNo });
        continue;
      }
      inSuppressions = false;
    }
  }

  for (const r of reports) {
    if (r.summary) {
      const total = r.siteIndexes.reduce((a, k) => a + (sites[k]?.bytes ?? 0), 0);
      if (total !== r.summary.bytes) {
        warnings.push(
          warning(r.summary.line, lines[r.summary.line - 1] ?? '', `leak records add up to ${total} bytes, the SUMMARY says ${r.summary.bytes}`, 'info'),
        );
      }
    }
  }
  return withFiniteValues({ value: { sites, reports, otherReports, suppressions }, warnings });
}
