// src/parse/vmallocinfo.ts
/**
 * Parses /proc/vmallocinfo (Documentation/filesystems/proc.rst, "vmallocinfo"; mm/vmalloc.c vmalloc_info_show).
 *
 *   0xffffc90000000000-0xffffc90000005000   20480 irq_init_percpu_irqstack+0xfc/0x140 vmap
 *   0x0000000056996490-0x000000004dbfa4c0   20480 kernel_clone+0x94/0x3e0 pages=4 vmalloc N0=4   <- hashed (%pK)
 *   0x00000000548d5a9e-0x0000000029930f6b    8192 acpi_os_map_iomem+0x1bc/0x1e0 phys=0x00000000000a0000 ioremap
 *   0x0000000023eb513e-0x00000000fd016213   20480 unpurged vm_area                                 <- no caller
 *   0xffffffffc0a00000-0xffffffffc0a0b000   45056 load_module+0x1b4/0x2a0 [mymod] pages=10 vmalloc
 *
 * The kernel prints "start-end size [caller] [pages=N] [phys=A] flags... [Nn=count...]"; each part is optional
 * except the range and size. Unknown flag words are kept in `kinds`, so a new kernel flag costs no code.
 */
import type { VmallocArea, Vmallocinfo } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

const MAX_WARNINGS = 50;

export function parseVmallocinfo(text: string): Parsed<Vmallocinfo> {
  const areas: VmallocArea[] = [];
  const warnings: ParseWarning[] = [];
  let bad = 0;
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = (lines[li] ?? '').trim();
    if (line === '') continue;
    const area = parseLine(line);
    if (typeof area === 'string') {
      if (bad++ < MAX_WARNINGS) warnings.push(warning(li + 1, line, area));
      continue;
    }
    areas.push(area);
  }
  if (bad > MAX_WARNINGS) warnings.push(warning(0, '', `${bad} lines not understood; only the first ${MAX_WARNINGS} are reported`));
  if (areas.length === 0 && bad > 0) warnings.push(warning(0, '', 'no vmallocinfo line understood', 'error'));
  return withFiniteValues({ value: { areas }, warnings });
}

/** One area, or the reason the line is not one. */
function parseLine(line: string): VmallocArea | string {
  if (!line.startsWith('0x')) return 'expected "0xSTART-0xEND SIZE ..."';
  // Fields: range, size, caller, flags, pages=, phys=, one N<node>= per NUMA node; a garbled 10 MB line is not split whole.
  const tok = line.split(/\s+/, 4096);
  const range = tok[0] ?? '';
  const dash = range.indexOf('-');
  if (dash < 0 || !range.startsWith('0x')) return 'expected "0xSTART-0xEND SIZE ..."';
  const start = range.slice(0, dash);
  const end = range.slice(dash + 1);
  if (!isHex(start) || !isHex(end)) return `address range "${range}" is not hexadecimal`;
  const size = Number(tok[1]);
  if (!/^\d+$/.test(tok[1] ?? '')) return `size "${tok[1] ?? ''}" is not a number`;

  const area: VmallocArea = { start, end, size: size as Bytes, kinds: [], hashedAddresses: !rangeMatches(start, end, size) };
  let k = 2;
  // The caller (%pS) comes first when there is one: "func+0x1c/0x60", "0xffffffffc0123456" (no symbol), then "[module]".
  const first = tok[k];
  if (first !== undefined && isCaller(first)) {
    const plus = first.indexOf('+');
    if (plus > 0) {
      area.caller = first.slice(0, plus);
      area.callerOffset = first.slice(plus);
    } else {
      area.caller = first;
    }
    k++;
    const mod = tok[k];
    if (mod !== undefined && mod.length > 2 && mod.startsWith('[') && mod.endsWith(']')) {
      area.module = mod.slice(1, -1);
      k++;
    }
  }
  for (; k < tok.length; k++) {
    const t = tok[k] ?? '';
    if (t.startsWith('pages=')) {
      const p = Number(t.slice(6));
      if (Number.isFinite(p)) area.pages = p;
    } else if (t.startsWith('phys=')) {
      area.phys = t.slice(5);
    } else if (isNodeCount(t)) {
      const eq = t.indexOf('=');
      (area.nodes ??= {})[t.slice(0, eq)] = Number(t.slice(eq + 1));
    } else if (t === 'unpurged') {
      // "unpurged vm_area": a lazily freed area not yet flushed; "vm_area" is part of the phrase.
      area.kinds.push('unpurged');
      if (tok[k + 1] === 'vm_area') k++;
    } else if (t !== '') {
      area.kinds.push(t);
    }
  }
  return area;
}

const FLAG_WORDS = new Set(['ioremap', 'vmalloc', 'vmap', 'user', 'vpages', 'vm_map_ram', 'unpurged', 'dma-coherent', 'sparse']);

function isCaller(t: string): boolean {
  if (FLAG_WORDS.has(t) || t.startsWith('pages=') || t.startsWith('phys=') || isNodeCount(t)) return false;
  return t.includes('+') || t.startsWith('0x') || /^[A-Za-z_.$][\w.$]*$/.test(t);
}

function isNodeCount(t: string): boolean {
  return t.length >= 4 && t.charCodeAt(0) === 78 /* N */ && /^N\d+=\d+$/.test(t);
}

function isHex(t: string): boolean {
  return /^0x[0-9a-fA-F]+$/.test(t);
}

/**
 * Real addresses satisfy end - start == size; hashed (%pK, kptr_restrict=0 since 4.15) or zeroed
 * (kptr_restrict=1 for a non-root reader) ones do not. Compared in two 32-bit halves: 64-bit kernel
 * addresses do not fit a double exactly.
 */
function rangeMatches(start: string, end: string, size: number): boolean {
  const s = splitHex(start);
  const e = splitHex(end);
  if (!s || !e) return false;
  return (e[0] - s[0]) * 0x1_0000_0000 + (e[1] - s[1]) === size;
}

function splitHex(h: string): [number, number] | undefined {
  const digits = h.slice(2);
  if (digits.length > 16) return undefined;
  const cut = Math.max(0, digits.length - 8);
  const hi = cut > 0 ? parseInt(digits.slice(0, cut), 16) : 0;
  const lo = parseInt(digits.slice(cut), 16);
  return Number.isNaN(hi) || Number.isNaN(lo) ? undefined : [hi, lo];
}
