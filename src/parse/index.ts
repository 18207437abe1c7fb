// src/parse/index.ts
/**
 * The parser registry: every kernel file and command output memsleuth reads, by name, and `detect`, which
 * names a text's format by its own shape (DESIGN.md, "Capture protocol": free-form logs are split by
 * recognising each file's first lines). Only the first few KB are looked at.
 */
import type { Parsed } from '../model/parsed.js';
import { parseMeminfo } from './meminfo.js';
import { parseSlabinfo } from './slabinfo.js';
import { parseVmallocinfo } from './vmallocinfo.js';
import { parseBuddyinfo } from './buddyinfo.js';
import { parseZoneinfo } from './zoneinfo.js';
import { parsePagetypeinfo } from './pagetypeinfo.js';
import { parseVmstat } from './vmstat.js';
import { parseAllocinfo } from './allocinfo.js';
import { parseStatus } from './status.js';
import { parseStatm } from './statm.js';
import { parseSmaps } from './smaps.js';
import { parseSmapsRollup } from './smaps_rollup.js';
import { parseFree } from './free.js';
import { parseCgroupMemoryCurrent, parseCgroupMemoryStat } from './cgroup_memory.js';
import { parseDmabufBufinfo } from './dmabuf_bufinfo.js';
import { parseDumpsysMeminfo } from './dumpsys_meminfo.js';
import { parseShowmap } from './showmap.js';
import { parseProcrank } from './procrank.js';
import { parseLibrank } from './librank.js';
import { parseMaliGpuMemory } from './mali_gpu_memory.js';
import { parseIonHeap } from './ion_heap.js';

export type FormatName =
  | 'meminfo' | 'slabinfo' | 'vmallocinfo' | 'buddyinfo' | 'zoneinfo' | 'pagetypeinfo' | 'vmstat'
  | 'status' | 'statm' | 'smaps' | 'smaps_rollup' | 'free' | 'cgroup_memory_stat' | 'cgroup_memory_current'
  | 'allocinfo' | 'dmabuf_bufinfo' | 'dumpsys_meminfo' | 'showmap' | 'procrank' | 'librank' | 'mali_gpu_memory' | 'ion_heap';

export const PARSERS: Record<FormatName, (text: string) => Parsed<unknown>> = {
  meminfo: (t) => parseMeminfo(t),
  slabinfo: (t) => parseSlabinfo(t),
  vmallocinfo: (t) => parseVmallocinfo(t),
  buddyinfo: (t) => parseBuddyinfo(t),
  zoneinfo: (t) => parseZoneinfo(t),
  pagetypeinfo: (t) => parsePagetypeinfo(t),
  vmstat: (t) => parseVmstat(t),
  status: (t) => parseStatus(t),
  statm: (t) => parseStatm(t),
  smaps: (t) => parseSmaps(t),
  smaps_rollup: (t) => parseSmapsRollup(t),
  free: (t) => parseFree(t),
  cgroup_memory_stat: (t) => parseCgroupMemoryStat(t),
  cgroup_memory_current: (t) => parseCgroupMemoryCurrent(t),
  allocinfo: (t) => parseAllocinfo(t),
  dmabuf_bufinfo: (t) => parseDmabufBufinfo(t),
  dumpsys_meminfo: (t) => parseDumpsysMeminfo(t),
  showmap: (t) => parseShowmap(t),
  procrank: (t) => parseProcrank(t),
  librank: (t) => parseLibrank(t),
  mali_gpu_memory: (t) => parseMaliGpuMemory(t),
  ion_heap: (t) => parseIonHeap(t),
};

/** How much of the text detect looks at: enough for a few prose or prompt lines before the file itself. */
const HEAD_CHARS = 4096;
const HEAD_LINES = 40;

/**
 * One test per line shape, in order; the first line (of the first HEAD_LINES non-blank ones) that matches
 * any of them names the format. Lines that match nothing (a prompt, "cat /proc/meminfo", prose) are passed
 * over; a shape given as a function may also pass (undefined) after a closer look.
 */
type Shape = FormatName | ((line: string, index: number, lines: readonly string[]) => FormatName | undefined);
const LINE_SHAPES: Array<[RegExp, Shape]> = [
  [/^Dma-buf Objects:$|^size\s+flags\s+mode\s+count\s+exp_name/, 'dmabuf_bufinfo'],
  [/^\*\* MEMINFO in pid \d+ \[/, 'dumpsys_meminfo'],
  // `dumpsys meminfo` with no process: the system summary, under the same banner or (cut) from its first list.
  [/^Applications Memory Usage \((?:kB|in Kilobytes)\):$|^Total PSS by process:$/, 'dumpsys_meminfo'],
  [/^virtual\s+shared\s+shared\s+private\s+private/, 'showmap'],
  // procrank's header; the working-set variant (-w) prints WRss WPss WUss, the swap one Swap PSwap USwap ZSwap.
  [/^PID\s+(?:Vss\s+)?W?Rss\s+W?Pss\s+W?Uss\b.*\bcmdline$/, 'procrank'],
  // librank's header (the Swap column appears when the device swaps).
  [/^RSStot\s+VSS\s+RSS\s+PSS\s+USS\s+(?:Swap\s+)?Name\/PID$/, 'librank'],
  // mali0/gpu_memory's device line: "mali0  45605", MediaTek's two numbers, Amlogic's "total used_pages".
  [/^mali\d+\s+(?:total used_pages\s+)?\d+(?:\s+\d+)?$/, 'mali_gpu_memory'],
  // debugfs ion/heaps/<heap>: "client pid size" over its client rows.
  [/^client\s+pid\s+size(?:\s|$)/, 'ion_heap'],
  [/^slabinfo - version:/, 'slabinfo'],
  [/^allocinfo - version:/, 'allocinfo'],
  [/^(?:Page block order:|Pages per block:|Free pages count per migrate type)/, 'pagetypeinfo'],
  // pagetypeinfo's own rows also open with "Node 0, zone DMA", then ", type".
  [/^Node\s+\d+,\s*zone\s+\S+,\s*type\b/, 'pagetypeinfo'],
  [/^Node\s+\d+,\s*zone\s+\S+$/, 'zoneinfo'],
  [/^Node\s+\d+,\s*zone\s+\S+(?:\s+\d+)+$/, 'buddyinfo'],
  // "start-end perms offset dev inode [name]"; the rollup's one pseudo-mapping is named [rollup].
  [/^[0-9a-fA-F]+-[0-9a-fA-F]+\s+[r-][w-][x-][psS-]\s+[0-9a-fA-F]+\s+[0-9a-fA-F]+:[0-9a-fA-F]+\s+\d+/,
    (line) => (/\s\[rollup\]$/.test(line) ? 'smaps_rollup' : 'smaps')],
  [/^0x[0-9a-fA-F]+-0x[0-9a-fA-F]+\s+\d+/, 'vmallocinfo'],
  [/^(?:Name|Umask|State|Tgid|Ngid|PPid|TracerPid):\s/, 'status'],
  // The 2.4-era summary header of /proc/meminfo ("total:    used:    free:") precedes its key lines.
  [/^(?:Node \d+ )?MemTotal:|^total:\s+used:\s+free:/, 'meminfo'],
  [/^total\s+used\s+free(?:\s|$)/, 'free'],
  [/^Mem:\s+\d/, 'free'],
  // allocinfo rows "bytes calls file.c:line [module] func:name"; sizes may have gone through numfmt ("2.8M").
  [/^\d+(?:\.\d+)?[KMGTPE]?\s+\d+\s+\S+\.[a-zA-Z]+:\d+(?:\s|$)/, 'allocinfo'],
  // One-line files: statm's seven page counts; memory.current's single number, alone at the end.
  [/^\d+(?:\s+\d+){6}$/, (_l, i, lines) => (i === lines.length - 1 ? 'statm' : undefined)],
  [/^\d+$/, (_l, i, lines) => (i === lines.length - 1 ? 'cgroup_memory_current' : undefined)],
  [/^[A-Za-z_][A-Za-z0-9_]*\s+\d+$/, (_l, _i, lines) => keyValueFormat(lines)],
  // Any other "Key:  N kB" file reads like meminfo (the kB keeps ASan's "Addressable: 00" legend out).
  [/^(?:Node \d+ )?[A-Za-z][A-Za-z0-9_()]*:\s+\d+\s+kB$/, 'meminfo'],
];

export function detect(text: string): FormatName | undefined {
  const head = text.length > HEAD_CHARS ? text.slice(0, HEAD_CHARS) : text;
  const raw = head.split('\n');
  // A cut last line would be judged on a fragment: drop it unless the whole text fitted.
  if (head.length < text.length && raw.length > 1) raw.pop();
  const lines: string[] = [];
  for (const r of raw) {
    const line = r.trim();
    if (line !== '') lines.push(line);
    if (lines.length >= HEAD_LINES) break;
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    for (const [shape, format] of LINE_SHAPES) {
      if (!shape.test(line)) continue;
      const name = typeof format === 'string' ? format : format(line, i, lines);
      if (name !== undefined) return name;
    }
  }
  return undefined;
}

/** vmstat and memory.stat are both "key value": vmstat has nr_* counters, memory.stat (v1 or v2) none. */
function keyValueFormat(lines: readonly string[]): FormatName {
  return lines.some((l) => l.startsWith('nr_')) ? 'vmstat' : 'cgroup_memory_stat';
}
