/**
 * memsleuth's own footprint, set apart. The recorder is a process of the machine it watches, and so are the
 * tools it starts: valgrind (which runs the program under test inside itself and holds shadow memory many
 * times the program's), bpftrace (whose BPF maps are kernel vmalloc memory, `htab_map_alloc`), heaptrack's
 * interpreter. Judged as the machine's, they are its fastest "leaks" (`run --tool valgrind -- ./noleak` said
 * "255 GiB/h, OOM in ~7 min"). So:
 *   - the own tree is the recording's own roots (table.meta.own: the recorder, a tool hosting the command) and
 *     every descendant found through proc.X.ppid, except the subtrees of the program under test (meta.subject);
 *   - those processes are judged into Analysis.own, never ranked as culprits;
 *   - the machine's series (user anonymous memory, vmalloc, the unavailable total) are judged without them:
 *     the own processes' anonymous memory and the BPF maps of a tracer of ours are subtracted sample by sample.
 */
import type { OwnProcess, ProcessCulprit, SeriesVerdict, OwnFootprint } from '../model/analysis.js';
import type { SeriesTable } from '../model/series_table.js';
import { finitePoints, levels, type SeriesJudge } from './judge.js';
import { decodeKeyPart } from '../model/series.js';

/** vmalloc callers of BPF maps and programs (kernel/bpf/: hashtab.c, arraymap.c, ringbuf.c, syscall.c, core.c). */
export const BPF_VMALLOC = /^(bpf_|__bpf_|htab_map_alloc|htab_of_map_alloc|array_map_alloc|ringbuf_map_alloc|__bpf_ringbuf_area_alloc|trie_alloc|stack_map_alloc|bpf_map_area_alloc|bloom_map_alloc|prealloc_elems|pcpu_freelist)/;

/** Tools whose kernel memory is their own (bpftrace loads BPF maps and programs). */
const KERNEL_TOOLS = new Set(['bpftrace', 'bcc', 'trace']);

const PPID_KEY = /^proc\.(.+):(\d+)\.ppid$/;

/**
 * memsleuth's own processes in the window: the declared roots and their descendants (by the last ppid each
 * process showed), minus the subtrees of the program under test. Empty when the recording declares no root.
 */
export function ownTree(judge: SeriesJudge, meta: SeriesTable['meta']): Map<number, OwnProcess> {
  const out = new Map<number, OwnProcess>();
  const roots = meta.own ?? [];
  if (roots.length === 0) return out;
  const subject = new Set(meta.subject ?? []);
  const comm = new Map<number, string>();
  const kids = new Map<number, number[]>();
  for (const key of judge.w.keys) {
    const m = PPID_KEY.exec(key);
    if (!m) continue;
    const pid = Number(m[2]);
    comm.set(pid, m[1] as string);
    const v = judge.values(key);
    if (!v) continue;
    const p = finitePoints(judge.w.t, v);
    const parent = p.v[p.v.length - 1];
    if (parent === undefined) continue;
    const list = kids.get(parent);
    if (list) list.push(pid); else kids.set(parent, [pid]);
  }
  for (const r of roots) {
    out.set(r.pid, { pid: r.pid, comm: comm.get(r.pid) ?? r.role, role: r.role });
    const queue = [r.pid];
    while (queue.length > 0) {
      const parent = queue.shift() as number;
      for (const c of kids.get(parent) ?? []) {
        if (out.has(c) || subject.has(c)) continue;
        const name = comm.get(c) ?? String(c);
        out.set(c, { pid: c, comm: name, role: roleOf(name, r.role) });
        queue.push(c);
      }
    }
  }
  return out;
}

function roleOf(comm: string, rootRole: string): string {
  if (/^bpftrace/.test(comm)) return 'tracer (bpftrace)';
  if (/^heaptrack/.test(comm)) return 'tracer (heaptrack)';
  if (/^(valgrind|memcheck)/.test(comm)) return 'valgrind';
  return `started by memsleuth (${rootRole})`;
}

/** Sum over pids of a per-process series (a missing value counts 0: the process was not alive then). */
function sumOver(judge: SeriesJudge, keys: readonly string[]): Float64Array | undefined {
  const n = judge.w.t.length;
  let out: Float64Array | undefined;
  for (const k of keys) {
    const v = judge.values(k);
    if (!v) continue;
    out ??= new Float64Array(n);
    for (let i = 0; i < n; i++) { const x = v[i] as number; if (Number.isFinite(x)) out[i] = (out[i] as number) + x; }
  }
  return out;
}

function minus(a: Float64Array | undefined, b: Float64Array): Float64Array | undefined {
  if (!a) return undefined;
  return Float64Array.from(a, (x, i) => x - (b[i] as number));
}

export interface OwnSetApart {
  /** Kernel series held by our tools (vmalloc callers of BPF maps), excluded from the culprits. */
  kernelKeys: Set<string>;
  evidence: string[];
}

/**
 * Redefines the machine's series without memsleuth's own memory: user anonymous memory (system.anon) minus
 * the own processes' RssAnon; vmalloc (system.vmalloc) minus BPF maps when a tracer of ours ran; the
 * unavailable total minus both. Call after deriveSystemSeries, before anything is judged.
 */
export function setApartOwn(judge: SeriesJudge, own: ReadonlyMap<number, OwnProcess>, tools: readonly string[], keys: { anon: string; vmalloc: string; unavailable: string }): OwnSetApart {
  const out: OwnSetApart = { kernelKeys: new Set(), evidence: [] };
  const procKeys: string[] = [];
  for (const key of judge.w.keys) {
    const m = /^proc\.(.+):(\d+)\.status\.RssAnon$/.exec(key);
    if (m && own.has(Number(m[2]))) procKeys.push(key);
  }
  const tracer = tools.some((t) => KERNEL_TOOLS.has(t)) || [...own.values()].some((p) => /^bpftrace/.test(p.comm));
  if (tracer) for (const key of judge.w.keys) { const m = /^vmalloc\.caller\.(.+)\.bytes$/.exec(key); if (m && BPF_VMALLOC.test(m[1] as string)) out.kernelKeys.add(key); }
  const anon = sumOver(judge, procKeys);
  const bpf = sumOver(judge, [...out.kernelKeys]);
  const n = judge.w.t.length;
  const total = new Float64Array(n);
  for (let i = 0; i < n; i++) total[i] = (anon?.[i] ?? 0) + (bpf?.[i] ?? 0);
  if (anon) { const v = minus(judge.values(keys.anon), anon); if (v) judge.define(keys.anon, v); }
  if (bpf) { const v = minus(judge.values(keys.vmalloc), bpf); if (v) judge.define(keys.vmalloc, v); }
  if (anon || bpf) { const v = minus(judge.values(keys.unavailable), total); if (v) judge.define(keys.unavailable, v); }
  if (anon) out.evidence.push(`the anonymous memory of ${procKeys.length} process(es) of memsleuth's own tree is subtracted from the machine's user memory and unavailable total before they are judged`);
  if (bpf) out.evidence.push(`vmalloc of BPF maps and programs (${[...out.kernelKeys].map((k) => decodeKeyPart(k.slice(15, -6))).join(', ')}) is held by memsleuth's tracer: subtracted from the machine's vmalloc and unavailable total`);
  return out;
}

/** The footprint as the analysis reports it. */
export function ownFootprint(judge: SeriesJudge, own: ReadonlyMap<number, OwnProcess>, verdicts: ProcessCulprit[], apart: OwnSetApart): OwnFootprint | null {
  if (own.size === 0 && apart.kernelKeys.size === 0) return null;
  const kernel: SeriesVerdict[] = [];
  for (const k of apart.kernelKeys) {
    const v = judge.judge(k);
    if (v) kernel.push(v);
  }
  let growth = 0;
  for (const r of [...verdicts, ...kernel]) growth += r.growthBytes;
  // Own processes that did not move still count: say how much they hold.
  for (const p of own.values()) {
    if (verdicts.some((r) => r.pid === p.pid)) continue;
    const v = judge.values(`proc.${p.comm}:${p.pid}.anon`);
    if (!v) continue;
    const pts = finitePoints(judge.w.t, v);
    if (pts.v.length > 1) { const lv = levels(pts.v); growth += lv.last - lv.first; }
  }
  return {
    processes: [...own.values()].sort((a, b) => a.pid - b.pid),
    verdicts: verdicts.sort((a, b) => b.growthBytes - a.growthBytes),
    kernel,
    growthBytes: growth,
    evidence: [
      `memsleuth's own footprint: ${own.size} process(es) (${[...own.values()].map((p) => `${p.comm} ${p.pid}: ${p.role}`).join('; ')})${kernel.length ? ` and ${kernel.length} kernel series of its tracer` : ''}; set apart, never a culprit: it goes when memsleuth stops`,
      ...apart.evidence,
    ],
  };
}
