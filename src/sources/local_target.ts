/**
 * This machine as a Target: takeLocalSnapshot (local.ts) reads the system files and every process's status;
 * the per-pid reads a plan asks for (smaps_rollup for some or all, smaps, watched files, pagetypeinfo,
 * drop_caches), which local.ts cannot express, are read here, so their raw text and errors are kept too.
 * The link never drops.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSample, SnapshotWarning } from '../model/snapshot.js';
import { parseSmapsRollup } from '../parse/smaps_rollup.js';
import { parseSmaps, summarizeMappings } from '../parse/smaps.js';
import { parsePagetypeinfo } from '../parse/pagetypeinfo.js';
import { takeLocalSnapshot } from './local.js';
import { DMABUF_SYSFS_HEADER, KGSL_SYSFS_HEADER, reduceWatched } from './watch_file.js';
import {
  LinkEvents, describeLost,
  type LinkEvent, type RawFile, type SamplePlan, type Target, type TargetSample, type UnreadableRead,
} from './target.js';

export interface LocalTargetOptions {
  procRoot?: string;
  name?: string;
  pageSize?: number;
}

type Read = { text: string } | { error: string };

function readText(path: string): Read {
  try {
    return { text: readFileSync(path, 'latin1') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = e.code === 'EACCES' || e.code === 'EPERM' ? 'Permission denied' : e.code === 'ENOENT' ? 'No such file or directory' : e.message;
    return { error: `${path}: ${what}` };
  }
}

/** The dma-buf sysfs tree as dmabufSysfsCommand lists it over a shell (watch_file.ts): the same text, read here. */
function readDmabufSysfs(path: string): Read {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: `${path}: ${e.code === 'ENOENT' ? 'no such directory (the kernel needs CONFIG_DMABUF_SYSFS_STATS)' : e.code === 'EACCES' || e.code === 'EPERM' ? 'Permission denied' : e.message}` };
  }
  const lines = [DMABUF_SYSFS_HEADER];
  for (const n of names.sort()) {
    const one = (f: string): string => { try { return (readFileSync(join(path, n, f), 'latin1').split('\n')[0] ?? '').trim() || '?'; } catch { return '?'; } };
    try { if (!statSync(join(path, n)).isDirectory()) continue; } catch { continue; }
    lines.push(`${n} ${one('size')} ${one('exporter_name')}`);
  }
  return { text: `${lines.join('\n')}\n` };
}

/** The KGSL per-process tree as kgslSysfsCommand lists it over a shell (watch_file.ts): the same text, read here. */
function readKgslSysfs(path: string): Read {
  let pids: string[];
  try {
    pids = readdirSync(path).filter((n) => /^\d/.test(n));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: `${path}: ${e.code === 'ENOENT' ? 'no such directory (no Qualcomm KGSL driver)' : e.code === 'EACCES' || e.code === 'EPERM' ? 'Permission denied' : e.message}` };
  }
  const lines = [KGSL_SYSFS_HEADER];
  for (const pid of pids.sort()) {
    let files: string[];
    try { files = readdirSync(join(path, pid)).sort(); } catch { continue; }
    const parts = [pid];
    for (const f of files) {
      try {
        if (!statSync(join(path, pid, f)).isFile()) continue;
        parts.push(`${f}=${(readFileSync(join(path, pid, f), 'latin1').split('\n')[0] ?? '').trim() || '?'}`);
      } catch { parts.push(`${f}=?`); }
    }
    lines.push(parts.join(' '));
  }
  return { text: `${lines.join('\n')}\n` };
}

export class LocalTarget implements Target {
  readonly name: string;
  private readonly proc: string;
  private readonly events = new LinkEvents();

  constructor(private readonly options: LocalTargetOptions = {}) {
    this.proc = options.procRoot ?? '/proc';
    this.name = options.name ?? 'localhost';
  }

  sample(plan: SamplePlan): Promise<TargetSample> {
    const t0 = performance.now();
    const raw: RawFile[] = [];
    const unreadable: UnreadableRead[] = [];
    const level = plan.reclaim?.level ?? (plan.dropCaches ? 3 : undefined);
    if (level !== undefined) {
      try {
        writeFileSync(join(this.proc, 'sys/vm/drop_caches'), `${level}\n`);
      } catch (err) {
        unreadable.push({ name: 'drop_caches', error: `${join(this.proc, 'sys/vm/drop_caches')}: ${(err as Error).message}` });
      }
    }
    // cgroup v2: ask the cgroup to reclaim as much as it holds (the kernel stops at what it cannot free).
    for (const dir of plan.reclaim?.level === 3 ? plan.reclaim.cgroups ?? [] : []) {
      try {
        writeFileSync(join(dir, 'memory.reclaim'), `${Number.MAX_SAFE_INTEGER}\n`);
      } catch (err) {
        // EAGAIN: the cgroup could not reclaim all that was asked; what it freed is freed. Anything else is reported.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') unreadable.push({ name: 'memory.reclaim', error: `${join(dir, 'memory.reclaim')}: ${(err as Error).message}` });
      }
    }
    const sys = new Set<string>(plan.system);
    const snapshot = takeLocalSnapshot({
      procRoot: this.proc,
      system: { vmallocinfo: sys.has('vmallocinfo'), slabinfo: sys.has('slabinfo'), zoneinfo: sys.has('zoneinfo'), buddyinfo: sys.has('buddyinfo'), vmstat: sys.has('vmstat') },
      processes: plan.status || plan.rollup.length > 0 || plan.smaps.length > 0 ? 'status' : 'none',
      ...(this.options.pageSize !== undefined ? { pageSize: this.options.pageSize } : {}),
      onRawText: (name, text) => raw.push({ kind: name, name, text }),
    });
    // takeLocalSnapshot words its read errors "cannot read: ..."; they become this sample's unreadable list.
    for (const w of snapshot.warnings) {
      if (w.reason.startsWith('cannot read:')) unreadable.push({ name: w.source.split('/').pop() ?? w.source, error: `${w.source}: ${w.reason.slice(13)}` });
    }
    const warn = (w: SnapshotWarning): void => { snapshot.warnings.push(w); };

    if (sys.has('pagetypeinfo')) {
      const path = join(this.proc, 'pagetypeinfo');
      const r = readText(path);
      if ('error' in r) unreadable.push({ name: 'pagetypeinfo', error: r.error });
      else {
        raw.push({ kind: 'pagetypeinfo', name: 'pagetypeinfo', text: r.text });
        const p = parsePagetypeinfo(r.text);
        snapshot.pagetypeinfo = p.value;
        for (const w of p.warnings) warn({ ...w, source: path });
      }
    }

    const byPid = new Map<number, ProcessSample>(snapshot.processes.map((p) => [p.pid, p]));
    const rollupPids = plan.rollup === 'all'
      ? snapshot.processes.filter((p) => p.status?.bytes['VmSize'] !== undefined).map((p) => p.pid)
      : plan.rollup;
    const smapsSet = new Set(plan.smaps);
    let gone = 0;
    const perPid = (pid: number, name: 'smaps_rollup' | 'smaps'): string | undefined => {
      const r = readText(join(this.proc, String(pid), name));
      if ('error' in r) {
        if (r.error.endsWith('No such file or directory')) gone++;
        else unreadable.push({ name, pid, error: r.error });
        return undefined;
      }
      raw.push({ kind: name === 'smaps' ? 'file' : name, name, pid, text: r.text });
      return r.text;
    };
    for (const pid of rollupPids) {
      if (smapsSet.has(pid)) continue;
      const text = perPid(pid, 'smaps_rollup');
      if (text === undefined || text.trim() === '') continue; // kernel thread: no user memory, not zero of it
      const parsed = parseSmapsRollup(text);
      const p = byPid.get(pid);
      if (p) p.memory = parsed.value.memory;
    }
    for (const pid of plan.smaps) {
      const text = perPid(pid, 'smaps');
      if (text === undefined) continue;
      const parsed = parseSmaps(text);
      let p = byPid.get(pid);
      if (!p) { p = { pid, comm: String(pid) }; snapshot.processes.push(p); byPid.set(pid, p); }
      p.smaps = parsed.value;
      p.memory = summarizeMappings(parsed.value.mappings);
      for (const w of parsed.warnings) warn({ ...w, source: `/proc/${pid}/smaps` });
    }
    if (gone > 0) warn({ line: 0, text: '', reason: `${gone} processes exited while being read`, severity: 'info', source: this.proc });

    if (plan.watch.length > 0) snapshot.watched = [];
    for (const spec of plan.watch) {
      const r = spec.format.kind === 'dmabuf_sysfs' ? readDmabufSysfs(spec.path) : spec.format.kind === 'kgsl_sysfs' ? readKgslSysfs(spec.path) : readText(spec.path);
      if ('error' in r) {
        unreadable.push({ name: spec.name, error: r.error });
        warn({ line: 0, text: r.error, reason: 'watched file unreadable', severity: 'data-loss', source: spec.path });
        continue;
      }
      raw.push({ kind: 'file', name: spec.name, text: r.text });
      const reduced = reduceWatched(r.text, spec.format, spec.path);
      snapshot.watched?.push({ name: spec.name, values: reduced.value });
      for (const w of reduced.warnings) warn({ ...w, source: spec.path });
    }
    return Promise.resolve({
      snapshot, raw, skipped: [...plan.skipped], unreadable, lost: describeLost(unreadable, this.proc === '/proc' ? process.getuid?.() === 0 : undefined),
      durationMs: performance.now() - t0,
    });
  }

  onLink(listener: (e: LinkEvent) => void): () => void {
    return this.events.on(listener);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
