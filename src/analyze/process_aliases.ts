/**
 * One process, one key, for tables written before the flattener keyed a pid once (model/series.ts, processNames),
 * or where samples with only the kernel's name came before the first sample of an Android tool: the same pid
 * under procrank's (dumpsys', librank's) whole command line and under its 15-character comm. Such a pair is merged
 * into the whole name's series: the comm's values fill the samples the whole name's series lacks, and series only
 * the comm has move under the whole name. A pair is merged only when the whole name cannot be a comm (longer than
 * 15 characters, or a path) and the comm is what the kernel or Android makes of it: its first 15 characters, its
 * last 15 (Android's app processes), or its file name's first 15 (an exec'd binary). Other names of one pid are
 * other processes that reused the pid, and stay apart.
 */
import { decodeKeyPart, processKey, splitProcessKey } from '../model/series.js';
import type { SeriesTable } from '../model/series_table.js';

const COMM_LEN = 15;

/** Whether `comm` is the kernel's (or Android's) 15-character name of a process whose whole name is `whole`. */
export function isCommOf(comm: string, whole: string): boolean {
  if (comm === whole || comm.length === 0 || comm.length > COMM_LEN) return false;
  if (whole.length <= COMM_LEN && !whole.includes('/')) return false;
  const file = whole.slice(whole.lastIndexOf('/') + 1);
  return whole.startsWith(comm) || whole.endsWith(comm) || file.startsWith(comm);
}

export interface MergedAlias { pid: number; comm: string; whole: string }

/** The table with each such pair merged (a new table when any was; the same one otherwise), and the pairs. */
export function mergeProcessAliases(table: SeriesTable): { table: SeriesTable; merged: MergedAlias[] } {
  const names = new Map<number, Set<string>>();
  for (const key of table.series.keys()) {
    const at = splitProcessKey(key);
    if (at === undefined) continue;
    let s = names.get(at.pid);
    if (!s) names.set(at.pid, (s = new Set()));
    s.add(at.name);
  }
  const rename = new Map<string, string>(); // encoded "name:pid" of a comm -> processKey of its whole name
  const merged: MergedAlias[] = [];
  for (const [pid, set] of names) {
    if (set.size < 2) continue;
    const decoded = [...set].map((n) => ({ enc: n, name: decodeKeyPart(n) }));
    const wholes = decoded.filter((d) => d.name.length > COMM_LEN || d.name.includes('/'));
    for (const c of decoded) {
      const targets = wholes.filter((w) => isCommOf(c.name, w.name));
      // Two whole names that both fit the comm: which one it belongs to is unknown; leave it.
      if (targets.length !== 1) continue;
      const w = targets[0]!;
      rename.set(`${c.enc}:${pid}`, processKey(w.name, pid));
      merged.push({ pid, comm: c.name, whole: w.name });
    }
  }
  if (merged.length === 0) return { table, merged };
  const series = new Map<string, Float64Array>();
  const moved: [string, Float64Array][] = [];
  for (const [key, v] of table.series) {
    const at = splitProcessKey(key);
    const to = at === undefined ? undefined : rename.get(`${at.name}:${at.pid}`);
    if (at !== undefined && to !== undefined) moved.push([`${to}${key.slice(at.end)}`, v]);
    else series.set(key, v);
  }
  for (const [key, v] of moved) {
    const have = series.get(key);
    if (!have) { series.set(key, v); continue; }
    const out = Float64Array.from(have);
    for (let i = 0; i < out.length; i++) if (Number.isNaN(out[i] as number)) out[i] = v[i] as number;
    series.set(key, out);
  }
  return { table: { ...table, series }, merged };
}
