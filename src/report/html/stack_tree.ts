/**
 * Allocation sites as one tree, culprit first: the first level is the frame that names the leaking code
 * (allocator frames skipped, see evidence_text.culpritFrame), each level below is its callers. Sites whose
 * stacks share a culprit and callers add up, so "who leaks most, and from which paths" reads top-down.
 * Labels are raw target text: render.ts escapes them.
 */
import type { AllocationSite, Frame } from '../../model/allocation_site.js';
import { culpritFrame, formatFrame, isAllocatorFrame } from '../evidence_text.js';

export interface StackNode {
  /** The frame as one line: `symbol (file:line)`, `symbol+0x1c/0x60 [module]`, ... */
  label: string;
  /** file:line of the frame, when known. */
  where: string | null;
  bytes: number;
  count: number;
  sites: number;
  tools: string[];
  kinds: string[];
  /** Allocator frames above the culprit ("malloc", "kmem_cache_alloc"), first level only. */
  via: string[];
  /** Caches, processes and input lines of the sites ending here. */
  notes: string[];
  children: StackNode[];
}

function node(label: string, where: string | null): StackNode {
  return { label, where, bytes: 0, count: 0, sites: 0, tools: [], kinds: [], via: [], notes: [], children: [] };
}

const addUnique = (list: string[], v: string | undefined, max = 8): void => {
  if (v !== undefined && v !== '' && !list.includes(v) && list.length < max) list.push(v);
};

function account(n: StackNode, s: AllocationSite): void {
  n.bytes += s.bytes;
  n.count += s.count;
  n.sites++;
  addUnique(n.tools, s.tool);
  addUnique(n.kinds, s.kind);
}

const whereOf = (f: Frame): string | null => (f.file !== undefined && f.line !== undefined ? `${f.file}:${f.line}` : null);

export function buildStackTree(sites: readonly AllocationSite[], options: { maxDepth?: number } = {}): StackNode {
  const maxDepth = options.maxDepth ?? 40;
  const root = node('all sites', null);
  const index = new Map<StackNode, Map<string, StackNode>>();
  const childOf = (parent: StackNode, f: Frame | undefined, fallback: string): StackNode => {
    const label = f ? formatFrame(f) : fallback;
    let m = index.get(parent);
    if (!m) { m = new Map(); index.set(parent, m); }
    let c = m.get(label);
    if (!c) {
      c = node(label, f ? whereOf(f) : null);
      m.set(label, c);
      parent.children.push(c);
    }
    return c;
  };
  for (const s of sites) {
    account(root, s);
    const culprit = culpritFrame(s);
    const at = culprit ? s.stack.indexOf(culprit) : -1;
    const path = at >= 0 ? s.stack.slice(at, at + maxDepth) : [];
    const what = [s.cache !== undefined ? `cache ${s.cache}` : '', s.comms?.length ? `comm ${s.comms.slice(0, 3).join(',')}` : ''].filter((x) => x !== '').join(', ');
    let cur = childOf(root, path[0], `(no stack${what ? `: ${what}` : ''})`);
    account(cur, s);
    for (const f of s.stack.slice(0, Math.max(0, at))) if (isAllocatorFrame(f) && f.symbol !== undefined) addUnique(cur.via, f.symbol, 4);
    for (const f of path.slice(1)) {
      cur = childOf(cur, f, '?');
      account(cur, s);
    }
    if (s.cache !== undefined) addUnique(cur.notes, `cache ${s.cache}`);
    if (s.comms !== undefined) for (const c of s.comms.slice(0, 3)) addUnique(cur.notes, `comm ${c}`);
    if (s.origin !== undefined) addUnique(cur.notes, s.origin, 4);
  }
  const sort = (n: StackNode): void => {
    n.children.sort((a, b) => b.bytes - a.bytes || b.count - a.count || a.label.localeCompare(b.label));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}
