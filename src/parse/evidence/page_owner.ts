/**
 * Parses /sys/kernel/debug/page_owner (print_page_owner() in mm/page_owner.c; Documentation/mm/page_owner.rst)
 * and the output of tools/mm/page_owner_sort. Real input lines (4.5):
 *
 *   Page allocated via order 0, mask 0x24213ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD|__GFP_NOWARN|__GFP_NORETRY)
 *   PFN 520 type Movable Block 1 type Movable Flags 0xfffff8001006c(referenced|uptodate|lru|active|mappedtodisk)
 *    [<ffffffff811682c4>] __alloc_pages_nodemask+0x134/0x230
 *
 * Newer kernels add ", pid 1, tgid 1 (swapper/0), ts 1234 ns[, free_ts N ns]" to the first line, print the PFN
 * in hex ("PFN 0x1000") and the stack as plain " sym+off/len" (stack_depot_snprint). page_owner_sort prints
 * "N times, M pages[, ...]:" then the block (or only the stack): N records, M pages in all.
 * Records are aggregated by stack into sites: bytes = 4096 << order per record (page_owner_sort: M x 4096).
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import { mergeSites } from '../../model/allocation_sites.js';
import { warning, type Parsed, type ParseWarning, withFiniteValues } from '../../model/parsed.js';
import { bytes, DEFAULT_PAGE_SIZE, type Bytes } from '../../model/units.js';
import { cleanConsoleLine, isEndOfStackMarker, parseKernelFrameLine, splitLines } from './kmemleak.js';

export interface PageOwnerRecord {
  order?: number;
  /** "0x24213ca" */
  gfpMask?: string;
  /** ["GFP_HIGHUSER_MOVABLE", "__GFP_COLD", ...] as printed by %pGg. */
  gfpFlags?: string[];
  pid?: number;
  tgid?: number;
  comm?: string;
  tsNs?: number;
  freeTsNs?: number;
  pfn?: number;
  pageType?: string;
  block?: number;
  blockType?: string;
  /** "0xfffff8001006c" */
  flags?: string;
  /** "Page has been migrated, last migrate reason: ..." */
  migrateReason?: string;
  /** page_owner_sort: how many records this block stands for, and how many pages they hold. */
  times?: number;
  pages?: number;
  stack: Frame[];
  /** Bytes held: pages x 4096 for page_owner_sort blocks, else 4096 << order. */
  bytes: Bytes;
  line: number;
}

export interface PageOwner {
  records: PageOwnerRecord[];
  sites: AllocationSite[];
}

const ALLOC_RE = /^Page allocated via order (\d+), mask (0x[0-9a-fA-F]+)(?:\(([^)]*)\))?(.*)$/;
const PFN_RE = /^PFN (0x[0-9a-fA-F]+|\d+)(?: type (\S+))? Block (\d+) type (\S+) Flags (0x[0-9a-fA-F]+)/;
const SORT_RE = /^(\d+) times, (\d+) pages(.*?):?$/;
const MIGRATE_RE = /^Page has been migrated, last migrate reason: (.*)$/;

function recordBytes(r: PageOwnerRecord): Bytes {
  if (r.pages !== undefined) return bytes(r.pages * DEFAULT_PAGE_SIZE);
  if (r.order !== undefined && r.order >= 0 && r.order < 31) return bytes(DEFAULT_PAGE_SIZE * 2 ** r.order);
  return bytes(0);
}

export function parsePageOwner(text: string): Parsed<PageOwner> {
  const warnings: ParseWarning[] = [];
  const records: PageOwnerRecord[] = [];
  let cur: PageOwnerRecord | undefined;
  const close = (): void => {
    if (!cur) return;
    cur.bytes = recordBytes(cur);
    if (cur.stack.length === 0) warnings.push(warning(cur.line, '', 'page_owner record without a stack', 'data-loss'));
    records.push(cur);
    cur = undefined;
  };
  const open = (n: number): PageOwnerRecord => {
    close();
    cur = { stack: [], bytes: bytes(0), line: n };
    return cur;
  };

  splitLines(text).forEach((raw, i) => {
    const n = i + 1;
    const s = cleanConsoleLine(raw).text.trim();
    if (s === '') return; // records end at the next header, not at blank lines (page_owner_sort puts one inside)
    const so = SORT_RE.exec(s);
    if (so) {
      const r = open(n);
      r.times = Number(so[1]);
      r.pages = Number(so[2]);
      return;
    }
    const a = ALLOC_RE.exec(s);
    if (a) {
      // In page_owner_sort output the full block follows its "N times" header: same record.
      const r = cur && cur.times !== undefined && cur.order === undefined && cur.stack.length === 0 ? cur : open(n);
      r.order = Number(a[1]);
      if (a[2] !== undefined) r.gfpMask = a[2].toLowerCase();
      if (a[3] !== undefined && a[3] !== '') r.gfpFlags = a[3].split('|');
      const rest = a[4] ?? '';
      const pid = /\bpid (\d+)/.exec(rest);
      if (pid) r.pid = Number(pid[1]);
      const tgid = /\btgid (\d+) \(([^)]*)\)/.exec(rest);
      if (tgid) {
        r.tgid = Number(tgid[1]);
        if (tgid[2] !== undefined) r.comm = tgid[2];
      }
      const task = /\btask_name \[([^\]]*)\]/.exec(rest);
      if (task && task[1] !== undefined) r.comm = task[1];
      const ts = /(?:^|[ ,])ts (\d+) ns/.exec(rest);
      if (ts) r.tsNs = Number(ts[1]);
      const fts = /\bfree_ts (\d+) ns/.exec(rest);
      if (fts) r.freeTsNs = Number(fts[1]);
      return;
    }
    if (!cur) {
      warnings.push(warning(n, raw, 'text before the first page_owner record; skipped', 'info'));
      return;
    }
    const p = PFN_RE.exec(s);
    if (p && p[1] !== undefined) {
      cur.pfn = p[1].startsWith('0x') ? Number.parseInt(p[1], 16) : Number(p[1]);
      if (p[2] !== undefined) cur.pageType = p[2];
      cur.block = Number(p[3]);
      if (p[4] !== undefined) cur.blockType = p[4];
      if (p[5] !== undefined) cur.flags = p[5].toLowerCase();
      return;
    }
    const m = MIGRATE_RE.exec(s);
    if (m && m[1] !== undefined) {
      cur.migrateReason = m[1];
      return;
    }
    const f = parseKernelFrameLine(s);
    if (f) {
      if (!isEndOfStackMarker(f.frame)) cur.stack.push(f.frame);
      return;
    }
    warnings.push(warning(n, raw, 'unrecognised line in a page_owner record; skipped', 'info'));
  });
  close();

  const sites = mergeSites(
    records.map((r) => {
      const site: AllocationSite = { stack: r.stack, bytes: r.bytes, count: r.times ?? 1, kind: 'outstanding', tool: 'page_owner', origin: `line ${r.line}` };
      if (r.pid !== undefined) site.pids = [r.pid];
      if (r.comm !== undefined) site.comms = [r.comm];
      return site;
    }),
  );
  return withFiniteValues({ value: { records, sites }, warnings });
}
