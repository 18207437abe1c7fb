// src/parse/evidence/massif.ts
/**
 * Parses valgrind massif output files, massif.out.<pid> (Valgrind user manual, "Massif: a heap profiler",
 * 9.2.7 "Massif's Output File Format" and massif/ms_main.c pp_snapshot).
 *
 *   snapshot=20
 *   mem_heap_B=802
 *   heap_tree=detailed
 *   n6: 802 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
 *    n1: 576 0x109232: leak_tick (leaky_heap.c:29)
 *     n0: 576 0x1092C9: main (leaky_heap.c:40)
 *    n0: 0 in 1 place, below massif's threshold (1.00%)
 *
 * Every snapshot becomes a point of a heap series. Sites come from the last snapshot that has a tree (detailed or
 * peak): one per leaf, its stack the path from the allocation call (depth 1) out to the leaf.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

export interface MassifSnapshot {
  index: number;
  line: number;
  time?: number;
  heapBytes?: Bytes;
  heapExtraBytes?: Bytes;
  stacksBytes?: Bytes;
  tree: 'empty' | 'detailed' | 'peak' | string;
}

export interface Massif {
  sites: AllocationSite[];
  desc?: string;
  cmd?: string;
  timeUnit?: string;
  snapshots: MassifSnapshot[];
  /** Index of the snapshot the sites come from. */
  sitesSnapshot?: number;
  /** Bytes in "below massif's threshold" nodes of that snapshot, which carry no stack. */
  belowThresholdBytes?: Bytes;
}

const NODE = /^( *)n(\d+): (\d+) (.*)$/;
const FIELD = /^(\w+)=(.*)$/;

/** "0x109232: leak_tick (leaky_heap.c:29)", "0x4005D4: ??? (in /lib/libc.so.6)", "0x48F19A9: strdup (strdup.c:42)". */
export function massifFrame(text: string): Frame {
  const m = /^(0x[0-9a-fA-F]+): (.*)$/.exec(text);
  const f: Frame = {};
  let rest = text;
  if (m && m[1] !== undefined) {
    f.address = m[1];
    rest = m[2] ?? '';
  }
  const inMod = /^(.*) \(in (.+)\)$/.exec(rest);
  const loc = /^(.*) \(([^()]+):(\d+)\)$/.exec(rest);
  if (inMod && inMod[2] !== undefined) {
    f.module = inMod[2];
    rest = inMod[1] ?? '';
  } else if (loc && loc[2] !== undefined) {
    f.file = loc[2];
    f.line = Number(loc[3]);
    rest = loc[1] ?? '';
  }
  rest = rest.trim();
  if (rest !== '' && rest !== '???') f.symbol = rest;
  return f;
}

interface TreeNode {
  depth: number;
  children: number;
  bytes: number;
  text: string;
  line: number;
}

export function parseMassif(text: string, source = 'massif'): Parsed<Massif> {
  const warnings: ParseWarning[] = [];
  const value: Massif = { sites: [], snapshots: [] };
  const lines = text.split('\n');
  let snap: MassifSnapshot | undefined;
  let tree: TreeNode[] = [];
  let lastTree: { snap: MassifSnapshot; nodes: TreeNode[] } | undefined;

  const finishTree = (): void => {
    if (snap && tree.length > 0) lastTree = { snap, nodes: tree };
    tree = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const n = NODE.exec(raw);
    if (n) {
      if (!snap) {
        warnings.push(warning(lineNo, raw, 'tree node before any snapshot'));
        continue;
      }
      tree.push({ depth: (n[1] ?? '').length, children: Number(n[2]), bytes: Number(n[3]), text: n[4] ?? '', line: lineNo });
      continue;
    }
    const f = FIELD.exec(raw);
    const hdr = /^(desc|cmd|time_unit): ?(.*)$/.exec(raw);
    if (hdr) {
      const v = hdr[2] ?? '';
      if (hdr[1] === 'desc') value.desc = v;
      else if (hdr[1] === 'cmd') value.cmd = v;
      else value.timeUnit = v;
      continue;
    }
    if (!f) {
      warnings.push(warning(lineNo, raw, 'not a massif line'));
      continue;
    }
    const key = f[1] ?? '';
    const v = f[2] ?? '';
    if (key === 'snapshot') {
      finishTree();
      snap = { index: Number(v), line: lineNo, tree: 'empty' };
      value.snapshots.push(snap);
      continue;
    }
    if (!snap) continue;
    const num = /^\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(num) && key !== 'heap_tree') {
      warnings.push(warning(lineNo, raw, `${key} is not a number; left out`));
      continue;
    }
    if (key === 'time') snap.time = num;
    else if (key === 'mem_heap_B') snap.heapBytes = bytes(num);
    else if (key === 'mem_heap_extra_B') snap.heapExtraBytes = bytes(num);
    else if (key === 'mem_stacks_B') snap.stacksBytes = bytes(num);
    else if (key === 'heap_tree') snap.tree = v;
  }
  finishTree();

  if (lastTree) {
    value.sitesSnapshot = lastTree.snap.index;
    const path: Frame[] = [];
    let below = 0;
    const nodes = lastTree.nodes;
    for (let k = 0; k < nodes.length; k++) {
      const node = nodes[k];
      if (!node) continue;
      if (node.depth === 0) continue; // the "(heap allocation functions)" root
      const isBelow = / below massif's threshold/.test(node.text);
      path.length = node.depth - 1;
      if (isBelow) {
        below += node.bytes;
        continue;
      }
      path.push(massifFrame(node.text));
      const nextNode = nodes[k + 1];
      const declared = node.children;
      if (declared === 0) {
        if (node.bytes > 0) {
          value.sites.push({ stack: [...path], bytes: bytes(node.bytes), count: 0, kind: 'outstanding', tool: 'massif', origin: `${source}:${node.line}` });
        }
      } else if (!nextNode || nextNode.depth <= node.depth) {
        warnings.push(warning(node.line, `n${declared}: ${node.bytes} ${node.text}`, `node declares ${declared} children but none follow`));
      }
    }
    value.belowThresholdBytes = bytes(below);
    if (value.sites.length > 0) {
      warnings.push(warning(0, '', 'massif does not count blocks per site: AllocationSite.count is 0', 'info'));
    }
  } else if (value.snapshots.length > 0) {
    warnings.push(warning(0, '', 'no detailed or peak snapshot: heap series only, no sites', 'info'));
  } else {
    warnings.push(warning(0, '', 'no massif snapshot found', 'error'));
  }
  return withFiniteValues({ value, warnings });
}
