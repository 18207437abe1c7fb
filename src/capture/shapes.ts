/**
 * How each kernel file looks, so a free-form log can be cut into sections without any parser
 * (the parsers then read each section properly). Real first lines:
 *
 *   MemTotal:       24588404 kB                                  meminfo
 *   slabinfo - version: 2.1                                      slabinfo
 *                 total        used        free      shared ...  free (procps); "total used free shared buffers" (busybox)
 *   Node 0, zone      DMA      0      0      0 ...               buddyinfo (counts on the zone line)
 *   Node 0, zone      DMA                                        zoneinfo (indented fields follow)
 *   Page block order: 9                                          pagetypeinfo
 *   nr_free_pages 6096532                                        vmstat
 *   0x000000005f7be91d-0x00000000548d5a9e   20480 irq_init...    vmallocinfo
 *   Name:	cat                                                   status (confirmed by Umask:/State:)
 *   56167d067000-7fffc0503000 ---p 00000000 00:00 0  [rollup]   smaps_rollup
 *   7f3c2a000000-7f3c2a021000 rw-p 00000000 00:00 0              smaps when "Size:  132 kB" lines follow, else maps
 *   lr-x------ 1 root root 64 Dec  7 04:46 0 -> /dev/null       fd (an `ls -l /proc/PID/fd` listing)
 *   0e4c1d3a-5b7e-4c1f-9a51-2f0d3c5e7a10                         boot_id
 *
 * Clocks (`date`, /proc/uptime, epoch numbers...) are not sections in a free-form log: clock.ts reads them.
 * statm (seven numbers) and a count of descriptors (one number) have no shape of their own: only a header or an
 * echoed command naming the file opens them (sectionizer.ts).
 */
import type { SectionKind } from './section.js';

/** What an open section does with a line: take it, glue it to its previous line (a wrapped line), or refuse it. */
export type Fit = 'append' | 'join' | false;

export interface Shape {
  kind: SectionKind;
  opens(line: string): boolean;
  fits(line: string): Fit;
  /** A line that opens this kind while a section of it is open: does it start a new dump? */
  restarts(line: string, lines: readonly string[]): boolean;
}

const KEY_KB_RE = /^[A-Za-z][\w()]*:\s+\d+(?: kB)?$/;
const VMSTAT_RE = /^[a-z][a-z0-9_]* -?\d+$/;
/** /^\S+(?:\s+\d+){5}/.test(l) without the regex: every slabinfo row of a long log goes through here. */
export function isSlabRow(l: string): boolean {
  const n = l.length;
  let i = 0;
  while (i < n && !isJsSpace(l.charCodeAt(i))) i++;
  if (i === 0) return false;
  for (let k = 0; k < 5; k++) {
    const ws = i;
    while (i < n && isJsSpace(l.charCodeAt(i))) i++;
    if (i === ws) return false;
    const digits = i;
    while (i < n && isDigit(l.charCodeAt(i))) i++;
    if (i === digits) return false;
  }
  return true;
}
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** What \s matches in a JavaScript regex. */
function isJsSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff;
}
// The slabinfo header and rows are often wrapped at " : " by a narrow terminal or a notes editor.
const SLAB_WRAP_RE = /^\s*:?\s*(?:tunables|slabdata)\s/;
/** Lines SLAB_WRAP_RE can match start with a space, ":", "t" or "s". */
const mayWrap = (l: string): boolean => {
  const c = l.charCodeAt(0);
  return c === 58 || c === 116 || c === 115 || c === 32 || c === 9 || c > 127 || (c >= 10 && c <= 13);
};
const FREE_HEADER_RE = /^\s*total\s+used\s+free(?:\s|$)/;
export const FREE_ROW_RE = /^(?:Mem|Swap|Total|Low|High|-\/\+ buffers(?:\/cache)?):/;
const BUDDY_RE = /^Node\s+\d+, zone\s+\S+(?:\s+\d+)+$/;
const ZONE_HEAD_RE = /^Node\s+\d+, zone\s+\S+$/;
const ZONE_FIELD_RE = /^(?:\s|(?:per-node stats|pagesets|vm stats threshold|cpu:|count:|high:|batch:|protection:|node_unreclaimable|start_pfn|pages free|[a-z_]+\s+-?\d+$))/;
const PAGETYPE_RE = /^(?:Pages per block:|Free pages count per migrate type|Node\s+\d+, zone\s+\S+(?:, type\s+\S+)?(?:\s+\d+)+$|Number of (?:blocks|mixed blocks) type)/;
const VMALLOC_RE = /^0x[0-9a-f]+-0x[0-9a-f]+\s+\d+/;
const STATUS_RE = /^[A-Za-z_][\w]*:(?:\s|$)/;
/** A mapping's line of smaps or maps ("start-end perms offset dev inode [name]"), [rollup] aside. */
const MAP_RE = /^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][-ps] [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+(?:\s|$)/;
const isMapLine = (l: string): boolean => MAP_RE.test(l) && !l.endsWith('[rollup]');
/** A field of a mapping in smaps: "Size:  132 kB", "THPeligible:    0", "VmFlags: rd wr mr mw me ac sd". */
const SMAPS_FIELD_RE = /^[A-Z][\w]*:\s+\S/;
export const isSmapsField = (l: string): boolean => SMAPS_FIELD_RE.test(l);
/** The start of a mapping line's range, as a number (addresses are page-aligned: exact as doubles). */
const mapStart = (l: string): number => parseInt(l.slice(0, l.indexOf('-')), 16);
/**
 * Mappings come in address order: one that starts at or below the last one's start is a new dump (the next
 * process's smaps printed with no header between).
 */
function mapRestarts(line: string, lines: readonly string[]): boolean {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i] as string;
    if (isMapLine(l)) return mapStart(line) <= mapStart(l);
  }
  return true;
}
/** One descriptor of `ls -l /proc/PID/fd` (GNU and busybox columns); parse/fd.ts reads it with the same pattern. */
export const FD_LINK_RE = /^l[-rwxsStT]{9}\S?\s+\d+\s+\S+\s+\S+\s+\d+\s.*?\s\d+(?: -> .*)?$/;
const ROLLUP_RE = /^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][-ps] [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+\s+\[rollup\]$/;
export const DATE_RE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]?\d \d{1,2}:\d\d:\d\d (?:[AP]M )?(?:(?:[A-Za-z]{1,6}(?:[+-]\d{1,4})?|[+-]\d{2,4}) )?\d{4}$/;
const BOOT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const never = (): Fit => false;
const single = (re: RegExp): Shape['opens'] => (l) => re.test(l);

/** "Node 0, zone DMA" of a zone line, to see a zone come round again (a new dump). */
const zoneOf = (l: string): string => l.replace(/^Node\s+(\d+), zone\s+(\S+).*$/, '$1/$2');
const zoneRepeats = (line: string, lines: readonly string[]): boolean => {
  const z = zoneOf(line);
  return lines.some((l) => l.startsWith('Node') && zoneOf(l) === z);
};

/** In checking order: the first shape whose opens() matches names a line outside any section. */
export const SHAPES: readonly Shape[] = [
  { kind: 'boot_id', opens: single(BOOT_ID_RE), fits: never, restarts: () => true },
  {
    kind: 'meminfo', opens: (l) => l.startsWith('MemTotal:'), restarts: () => true,
    fits: (l) => (KEY_KB_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'vmstat', opens: (l) => l.startsWith('nr_free_pages '), restarts: () => true,
    fits: (l) => (VMSTAT_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'slabinfo', opens: (l) => l.startsWith('slabinfo - version:'), restarts: () => true,
    fits: (l) => (mayWrap(l) && SLAB_WRAP_RE.test(l) ? 'join' : l.startsWith('# name') || isSlabRow(l) ? 'append' : false),
  },
  {
    kind: 'free', opens: (l) => FREE_HEADER_RE.test(l), restarts: () => true,
    fits: (l) => (FREE_ROW_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'pagetypeinfo', opens: (l) => l.startsWith('Page block order:'), restarts: () => true,
    fits: (l) => (PAGETYPE_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'buddyinfo', opens: (l) => BUDDY_RE.test(l), restarts: zoneRepeats,
    fits: (l) => (BUDDY_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'zoneinfo', opens: (l) => ZONE_HEAD_RE.test(l), restarts: zoneRepeats,
    fits: (l) => (ZONE_HEAD_RE.test(l) || ZONE_FIELD_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'vmallocinfo', opens: (l) => VMALLOC_RE.test(l),
    // Addresses are hashed when kptr_restrict is set, so order says nothing; but the hash is stable within a
    // boot and a dump always starts at the same (first, boot-time) area.
    restarts: (l, lines) => rangeOf(l) === rangeOf(lines[0] ?? ''),
    fits: (l) => (VMALLOC_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'status', opens: (l) => l.startsWith('Name:'), restarts: () => true,
    fits: (l) => (STATUS_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'smaps_rollup', opens: (l) => ROLLUP_RE.test(l), restarts: () => true,
    fits: (l) => (KEY_KB_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'smaps', opens: isMapLine, restarts: mapRestarts,
    fits: (l) => (isMapLine(l) || SMAPS_FIELD_RE.test(l) ? 'append' : false),
  },
  {
    kind: 'fd', opens: (l) => l.charCodeAt(0) === 108 /* l */ && FD_LINK_RE.test(l), restarts: () => false,
    fits: (l) => (l.charCodeAt(0) === 108 && FD_LINK_RE.test(l) ? 'append' : false),
  },
];

export const SHAPE_OF: ReadonlyMap<SectionKind, Shape> = new Map(SHAPES.map((s) => [s.kind, s]));

const rangeOf = (line: string): string => line.slice(0, line.search(/\s/));

/** A status block is only a status block with the fields every kernel prints after Name:. */
export const isStatusBlock = (lines: readonly string[]): boolean =>
  lines.some((l) => l.startsWith('Umask:') || l.startsWith('State:'));

/** "####...." lines loops print between files. */
export const isSeparator = (l: string): boolean => l.startsWith('###');
