// src/parse/evidence/index.ts
/**
 * The registry of leak-tool evidence parsers: which format a text is (`detectEvidence`), and one uniform view
 * `(text) => Parsed<{ sites: AllocationSite[] }>` per format (`EVIDENCE_PARSERS`), the full result still in `value`.
 *
 * Detection looks at what the tool itself prints (its banner, its record sentences), most specific first: a
 * valgrind XML file mentions "definitely lost" too, an OOM report may sit in the same dmesg as kmemleak output.
 */
import type { AllocationSite } from '../../model/allocation_site.js';
import type { Parsed } from '../../model/parsed.js';
import { parseBccMemleak } from './bcc_memleak.js';
import { parseDmalloc } from './dmalloc.js';
import { parseHeaptrackPrint } from './heaptrack.js';
import { parseKmemleak } from './kmemleak.js';
import { parseSanitizer } from './lsan.js';
import { parseMassif } from './massif.js';
import { parseMtrace } from './mtrace.js';
import { oomSites, parseOomReports } from './oom.js';
import { parsePageOwner } from './page_owner.js';
import { parseSlubAllocCalls } from './slub_alloc_calls.js';
import { parseValgrindText } from './valgrind.js';
import { parseValgrindXml } from './valgrind_xml.js';

export type EvidenceFormat =
  | 'valgrind-xml'
  | 'massif'
  | 'heaptrack'
  | 'lsan'
  | 'valgrind'
  | 'dmalloc'
  | 'mtrace'
  | 'bcc-memleak'
  | 'kmemleak'
  | 'page_owner'
  | 'slub_alloc_calls'
  | 'oom';

export type EvidenceParser = (text: string) => Parsed<{ sites: AllocationSite[] }>;

/** Ordered: the first test that matches names the format. */
const DETECTORS: [EvidenceFormat, RegExp][] = [
  ['valgrind-xml', /<valgrindoutput>/],
  ['massif', /^snapshot=\d+\s*$[\s\S]*^mem_heap_B=/m],
  ['heaptrack', /^(?:MOST CALLS TO ALLOCATION FUNCTIONS|PEAK MEMORY CONSUMERS|MEMORY LEAKS)$|^Debuggee command was: |^\d\S* leaked over \d+ calls from$/m],
  ['lsan', /ERROR: (?:Leak|Address)Sanitizer: |^(?:Direct|Indirect) leak of \d+ byte\(s\) in \d+ object\(s\) allocated from:/m],
  ['valgrind', /Memcheck, a memory error detector|bytes in [\d,]+ blocks are (?:definitely lost|indirectly lost|possibly lost|still reachable)|^(?:==\d+== )?LEAK SUMMARY:/m],
  ['dmalloc', /Dmalloc version '|not freed: '0x[0-9a-fA-F]+/],
  ['mtrace', /^= Start\s*$|^@ \S*\[0x[0-9a-fA-F]+\] [-+<>] 0x|^Memory not freed:\s*$/m],
  ['bcc-memleak', /stacks with outstanding allocations:|^[ \t]*\d+ bytes in \d+ allocations from stack\s*$/m],
  ['kmemleak', /unreferenced object(?: 0x[0-9a-fA-F]+ \(size \d+\))?:?\s*$/m],
  ['page_owner', /Page allocated via order \d+, mask 0x/],
  ['slub_alloc_calls', /Slabcache: \S+|^[> \t]*\d+ \S+\+0x[0-9a-f]+\/0x[0-9a-f]+ (?:waste=\S+ )?age=\d+/m],
  ['oom', /invoked oom-killer:|(?:Out of memory|Memory cgroup out of memory): Killed process|oom-kill:constraint=|page allocation failure: order:|vmalloc: allocation failure/],
];

/** Up to this many characters are searched: a format shows itself in its first records. */
const DETECT_WINDOW = 256 * 1024;

export function detectEvidence(text: string): EvidenceFormat | undefined {
  const head = text.length > DETECT_WINDOW ? text.slice(0, DETECT_WINDOW) : text;
  for (const [format, re] of DETECTORS) if (re.test(head)) return format;
  return undefined;
}

function oomView(text: string): Parsed<{ sites: AllocationSite[] } & ReturnType<typeof parseOomReports>['value']> {
  const parsed = parseOomReports(text);
  const sites = parsed.value.reports.flatMap((r) => oomSites(r));
  return { value: { ...parsed.value, sites }, warnings: parsed.warnings };
}

export const EVIDENCE_PARSERS: Record<EvidenceFormat, EvidenceParser> = {
  'valgrind-xml': (text) => parseValgrindXml(text),
  massif: (text) => parseMassif(text),
  heaptrack: (text) => parseHeaptrackPrint(text),
  lsan: (text) => parseSanitizer(text),
  valgrind: (text) => parseValgrindText(text),
  dmalloc: (text) => parseDmalloc(text),
  mtrace: (text) => parseMtrace(text),
  'bcc-memleak': (text) => parseBccMemleak(text),
  kmemleak: (text) => parseKmemleak(text),
  page_owner: (text) => parsePageOwner(text),
  slub_alloc_calls: (text) => parseSlubAllocCalls(text),
  oom: oomView,
};
