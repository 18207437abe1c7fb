/**
 * Turns a recording database made on this machine into a JSON recording fixture (test/fixtures/recording-*-local.json,
 * the shape src/analyze/real_recordings.test.ts loads): every meminfo series; slab caches (.bytes and .objs) and
 * vmalloc callers whose range is at least --min-range (default 256 KiB); every series of the processes named
 * with --pid (the scenario's, memsleuth's own tree); of other processes (the machine's other tenants) only those
 * whose anonymous memory moved by 16 MiB or more, with that series only.
 * Run: node dist/tools/recording_fixture.js DB OUT --name NAME --scenario-pid PID [--pid PID ...]
 *      [--own PID:ROLE ...] [--subject PID] [--tool T] [--note TEXT] [--min-range BYTES]
 */
import { writeFileSync } from 'node:fs';
import { tableFromStore } from '../src/cli/analyze.js';

const args = process.argv.slice(2);
const [db, out] = args;
const all = (flag: string): string[] => args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1] as string] : []));
const one = (flag: string): string | undefined => all(flag)[0];
if (db === undefined || out === undefined) {
  process.stderr.write('usage: recording_fixture DB OUT --name NAME --scenario-pid PID [--pid PID ...] [--own PID:ROLE ...] [--subject PID] [--tool T]\n');
  process.exit(2);
}
const minRange = Number(one('--min-range') ?? 256 * 1024);
const pids = new Set(all('--pid').map(Number));
const own = all('--own').map((s) => { const [pid, ...role] = s.split(':'); return { pid: Number(pid), role: role.join(':') }; });
for (const o of own) pids.add(o.pid);
const scenarioPid = Number(one('--scenario-pid') ?? 0);
pids.add(scenarioPid);

const table = await tableFromStore(db);
const range = (v: Float64Array): number => {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) if (Number.isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  return hi - lo;
};
// Other tenants whose anonymous memory moved by at least --neighbour-range (default 16 MiB) keep that one series:
// without it their growth would show in the machine's user memory with no process to explain it.
const neighbourRange = Number(one('--neighbour-range') ?? 16 << 20);
const NEIGHBOUR_KEYS = new Set(['anon']);
const OWN_KEYS = new Set(['anon', 'status.RssAnon', 'status.VmSwap', 'uss', 'pss', 'rss', 'ppid']);
const movers = new Set<number>();
for (const [k, v] of table.series) {
  const m = /^proc\..+:(\d+)\.(anon|status\.RssAnon)$/.exec(k);
  if (m && range(v) >= neighbourRange) movers.add(Number(m[1]));
}
const series: Record<string, (number | null)[]> = {};
const keepSlab = new Set<string>();
for (const [k, v] of table.series) {
  const m = /^slab\.(.+)\.bytes$/.exec(k);
  if (m && range(v) >= minRange) keepSlab.add(m[1] as string);
}
for (const [k, v] of table.series) {
  let keep = k.startsWith('meminfo.') || k.startsWith('probe.');
  const slab = /^slab\.(.+)\.(bytes|objs)$/.exec(k);
  if (slab) keep = keepSlab.has(slab[1] as string);
  if (/^vmalloc\.(caller\..+\.bytes|total\.bytes)$/.test(k)) keep = k === 'vmalloc.total.bytes' || range(v) >= minRange;
  const p = /^proc\..+:(\d+)\.(.+)$/.exec(k);
  if (p) {
    const pid = Number(p[1]);
    const key = p[2] as string;
    // memsleuth's own processes: the series their footprint is reported from; the scenario's: all.
    keep = own.some((o) => o.pid === pid) ? OWN_KEYS.has(key) : pids.has(pid) || (movers.has(pid) && NEIGHBOUR_KEYS.has(key));
  }
  if (keep) series[k] = Array.from(v, (x) => (Number.isFinite(x) ? Math.round(x) : null));
}
/** A tracer memsleuth started (bpftrace, heaptrack): kept as own footprint, not the scenario. */
const isTracer = (pid: number): boolean => [...table.series.keys()].some((k) => new RegExp(`^proc\\.(bpftrace|heaptrack[^:]*):${pid}\\.`).test(k));
const meta = { ...table.meta, source: `${one('--name') ?? db} (recording of ${db})`, notes: [...table.meta.notes, ...all('--note')] };
if (own.length > 0) meta.own = own;
const subject = one('--subject');
if (subject !== undefined) meta.subject = [Number(subject)];
const tools = all('--tool');
if (tools.length > 0) meta.tools = tools;
writeFileSync(out, JSON.stringify({
  recordedWith: 'memsleuth record/run on this machine; flattened by tools/recording_fixture.ts',
  scenarioPid, scenarioPids: [...pids].filter((p) => !(meta.own ?? []).some((o) => o.pid === p && /recorder/.test(o.role)) && !isTracer(p)), meta, startedAtMs: table.startedAtMs, boots: table.boots, gaps: table.gaps,
  t: Array.from(table.t, (x) => Math.round(x * 1000) / 1000), series,
}));
process.stderr.write(`${out}: ${table.t.length} samples, ${Object.keys(series).length} series\n`);
