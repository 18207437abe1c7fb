/**
 * The `ftrace` engine (no dependency): the kmem events in our own tracefs instance
 * (instances/memsleuth-<pid>, so the global buffer and its settings are never touched), in-kernel filters
 * (cache name, call site, size), binary per-CPU trace_pipe_raw decoded by each event's format file, and lost
 * events counted from per_cpu/cpuN/stats ("overrun", "dropped events") and the pages' RB_MISSED flags.
 * Undo (LIFO): disable events, close readers, rmdir the instance.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../../model/errors.js';
import type { EngineContext, EngineOutcome, EngineSample } from './engine.js';
import { sleepOrAbort } from './engine.js';
import type { EventFormat, EventHeaderLayout, PageHeader } from './event_format.js';
import { parseEventFormat, parseHeaderEvent, parseHeaderPage } from './event_format.js';
import { OutstandingTable, summarizeBySite } from './outstanding.js';
import { decodePage, readDataLocString, readKey48 } from './ring_buffer.js';
import { readTrim } from './tracefs_state.js';

export const INSTANCE_PREFIX = 'memsleuth-';

/** "entries: 0\noverrun: 12\n...dropped events: 3" -> numbers by key. */
export function parseCpuStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z ]+):\s*(\d+(?:\.\d+)?)\s*$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Removes instances left by memsleuth runs that died by SIGKILL (their pid is gone). Returns their names. */
export function removeStaleInstances(root: string): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try { names = readdirSync(join(root, 'instances')); } catch { return removed; }
  for (const n of names) {
    const m = new RegExp(`^${INSTANCE_PREFIX}(\\d+)$`).exec(n);
    if (m === null || pidAlive(Number(m[1]))) continue;
    try { rmdirSync(join(root, 'instances', n)); removed.push(n); } catch { /* busy: leave it */ }
  }
  return removed;
}

interface Decoder {
  format: EventFormat;
  kind: 'alloc' | 'free';
  callSite: number;
  ptr: number;
  bytes: number;
  /** __data_loc name offset (kmem_cache_alloc), or -1. */
  name: number;
}

function decoderFor(format: EventFormat, kind: 'alloc' | 'free'): Decoder {
  const off = (n: string): number => format.fields.get(n)?.offset ?? -1;
  return { format, kind, callSite: off('call_site'), ptr: off('ptr'), bytes: kind === 'alloc' ? off('bytes_alloc') : -1, name: format.fields.get('name')?.dataLoc === true ? off('name') : -1 };
}

function sleepSync(ms: number): void { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); }

export async function runFtraceEngine(ctx: EngineContext): Promise<EngineOutcome> {
  const s = ctx.settings;
  const root = ctx.tracefsRoot;
  const warnings: string[] = [];
  if (!existsSync(join(root, 'instances'))) throw new TargetError(`Cannot create an ftrace instance: "${root}/instances" does not exist (kernel older than 3.16?)`);
  const stale = removeStaleInstances(root);
  if (stale.length > 0) warnings.push(`removed ftrace instances left by killed memsleuth runs: ${stale.join(', ')}`);

  const header = parseHeaderPage(readTrim(join(root, 'events', 'header_page')) ?? '');
  const eventHeader = parseHeaderEvent(readTrim(join(root, 'events', 'header_event')) ?? '');
  for (const w of [...header.warnings, ...eventHeader.warnings]) warnings.push(`ring buffer layout: ${w.reason}`);

  const km = s.cache !== undefined ? /^kmalloc-(?:cg-|rcl-|dma-)?(\d+)(k?)$/.exec(s.cache) : null;
  const useKmalloc = s.cache === undefined || km !== null;
  const useCache = s.cache === undefined || km === null;
  const events: { name: string; kind: 'alloc' | 'free'; filter: string[] }[] = [];
  const siteFilter = s.callSiteRange !== undefined ? [`call_site >= 0x${s.callSiteRange[0].toString(16)}`, `call_site < 0x${s.callSiteRange[1].toString(16)}`] : [];
  const sizeFilter = s.minBytes !== undefined ? [`bytes_alloc >= ${Math.floor(s.minBytes)}`] : [];
  if (useKmalloc) {
    const exact = km !== null && km !== undefined ? [`bytes_alloc == ${Number(km[1]) * (km[2] === 'k' ? 1024 : 1)}`] : [];
    events.push({ name: 'kmalloc', kind: 'alloc', filter: [...siteFilter, ...sizeFilter, ...exact] }, { name: 'kfree', kind: 'free', filter: [] });
  }
  if (useCache) {
    const byName = s.cache !== undefined && km === null ? [`name == "${s.cache.replace(/["\\]/g, '')}"`] : [];
    events.push({ name: 'kmem_cache_alloc', kind: 'alloc', filter: [...siteFilter, ...sizeFilter, ...byName] }, { name: 'kmem_cache_free', kind: 'free', filter: byName });
  }

  const inst = join(root, 'instances', `${INSTANCE_PREFIX}${process.pid}`);
  try { mkdirSync(inst); } catch (err) { throw new TargetError(`Cannot create ftrace instance "${inst}": ${(err as Error).message}`); }
  ctx.undo.push(`remove ftrace instance ${inst}`, () => {
    // rmdir fails with EBUSY while a reader is still open or the kernel is still tearing down: retry briefly.
    for (let i = 0; ; i++) {
      try { rmdirSync(inst); return; } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (i >= 20) throw err;
        sleepSync(50);
      }
    }
  });

  const decoders = new Map<number, Decoder>();
  for (const ev of events) {
    const dir = join(inst, 'events', 'kmem', ev.name);
    const f = parseEventFormat(readTrim(join(dir, 'format')) ?? '');
    if (f.value.id < 0) throw new TargetError(`Cannot read "${dir}/format": event kmem:${ev.name} missing from this kernel?`);
    decoders.set(f.value.id, decoderFor(f.value, ev.kind));
  }
  const cpuDirs = readdirSync(join(inst, 'per_cpu')).filter((d) => /^cpu\d+$/.test(d)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  const perCpuKb = 8192;
  writeFileSync(join(inst, 'buffer_size_kb'), String(perCpuKb));
  const clocks = readTrim(join(inst, 'trace_clock')) ?? '';
  let monoClock = false;
  if (/\bmono\b/.test(clocks)) { writeFileSync(join(inst, 'trace_clock'), 'mono'); monoClock = true; } else warnings.push('trace clock "mono" not available: object ages are approximate');
  // Drop new events when full rather than overwrite old ones: "dropped events" then counts every loss.
  if (existsSync(join(inst, 'options', 'overwrite'))) writeFileSync(join(inst, 'options', 'overwrite'), '0');
  for (const ev of events) {
    const filter = ev.filter.join(' && ');
    if (filter !== '') {
      try { writeFileSync(join(inst, 'events', 'kmem', ev.name, 'filter'), filter); } catch (err) {
        throw new TargetError(`Cannot set filter "${filter}" on kmem:${ev.name}: ${(err as Error).message} (see ${inst}/error_log)`);
      }
    }
  }
  const subbufKb = Number(readTrim(join(inst, 'buffer_subbuf_size_kb')) ?? '0');
  const pageSize: number = subbufKb > 0 ? subbufKb * 1024 : header.value.dataOffset + header.value.dataSize;
  const fds: number[] = [];
  ctx.undo.push('close trace_pipe_raw readers', () => { for (const fd of fds.splice(0)) { try { closeSync(fd); } catch { /* closed */ } } });
  for (const c of cpuDirs) fds.push(openSync(join(inst, 'per_cpu', c, 'trace_pipe_raw'), constants.O_RDONLY | constants.O_NONBLOCK));

  const table = new OutstandingTable(s.maxTracked);
  const caches = new Map<number, string>();
  let pagesRead = 0;
  let pagesMissed = 0;
  let missedStored = 0;
  let windowEndNs = Infinity;
  const buf = Buffer.alloc(pageSize);
  const sink = (b: Buffer, off: number, _len: number, ts: number): void => {
    const d = decoders.get(b.readUInt16LE(off));
    if (d === undefined) return;
    const ptr = readKey48(b, off + d.ptr);
    if (d.kind === 'free') { table.free(ptr); return; }
    if (ts >= windowEndNs) { table.counters.ignoredAfterWindow++; return; }
    const site = readKey48(b, off + d.callSite);
    table.alloc(ptr, site, b.readUInt32LE(off + d.bytes), ts);
    if (d.name >= 0 && !caches.has(site)) caches.set(site, readDataLocString(b, off, d.name));
  };
  const drain = (budgetMs: number): void => {
    const until = Date.now() + budgetMs;
    for (let progress = true; progress && Date.now() < until;) {
      progress = false;
      for (const fd of fds) {
        for (let k = 0; k < 64; k++) {
          let n: number;
          try { n = readSync(fd, buf, 0, pageSize, null); } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
            throw err;
          }
          if (n <= 0) break;
          progress = true;
          pagesRead++;
          const st = decodePage(buf, n, header.value as PageHeader, eventHeader.value as EventHeaderLayout, sink);
          if (st.missed) { pagesMissed++; missedStored += st.missedCount ?? 0; }
        }
      }
    }
  };

  const nowNs = (): number => (monoClock ? Number(process.hrtime.bigint()) : Number.NaN);
  const enabled: string[] = [];
  ctx.undo.push('disable kmem events in the memsleuth instance', () => {
    for (const ev of enabled.splice(0)) { try { writeFileSync(join(inst, 'events', 'kmem', ev, 'enable'), '0'); } catch { /* instance already gone */ } }
  });
  for (const ev of events) { writeFileSync(join(inst, 'events', 'kmem', ev.name, 'enable'), '1'); enabled.push(ev.name); }
  const startNs = nowNs();
  const startWall = Date.now();
  ctx.progress(`ftrace instance ${inst}: ${events.map((e) => `kmem:${e.name}${e.filter.length > 0 ? ` if ${e.filter.join(' && ')}` : ''}`).join(', ')}; tracking for ${s.windowSec} s, then matching frees for ${s.settleSec} s`);

  const samples: EngineSample[] = [];
  const sample = (): void => {
    const sites = new Map<number, { bytes: number; count: number }>();
    for (const [k, v] of table.siteTotals()) sites.set(k, { bytes: v.bytes, count: v.count });
    samples.push({ t: (Date.now() - startWall) / 1000, sites });
  };
  let interrupted = false;
  let nextSample = startWall + s.intervalSec * 1000;
  const windowEndWall = startWall + s.windowSec * 1000;
  const endWall = windowEndWall + s.settleSec * 1000;
  while (Date.now() < endWall) {
    if (Date.now() >= windowEndWall && windowEndNs === Infinity) {
      windowEndNs = monoClock ? startNs + s.windowSec * 1e9 : -Infinity;
      if (!monoClock) table.open = false;
    }
    drain(200);
    if (Date.now() >= nextSample) { sample(); nextSample += s.intervalSec * 1000; }
    if (await sleepOrAbort(20, ctx.signal)) { interrupted = true; break; }
  }
  for (const ev of enabled.splice(0)) writeFileSync(join(inst, 'events', 'kmem', ev, 'enable'), '0');
  drain(5000);
  sample();
  const endNs = monoClock ? nowNs() : Number.NaN;

  const lostDetail: string[] = [];
  let lostTotal = 0;
  for (const c of cpuDirs) {
    const st = parseCpuStats(readTrim(join(inst, 'per_cpu', c, 'stats')) ?? '');
    const overrun = st.get('overrun') ?? 0;
    const dropped = st.get('dropped events') ?? 0;
    lostTotal += overrun + dropped;
    lostDetail.push(`${c}: overrun ${overrun}, dropped events ${dropped}, entries left ${st.get('entries') ?? 0}`);
  }
  if (pagesMissed > 0) lostDetail.push(`${pagesMissed} of ${pagesRead} pages flagged missed events${missedStored > 0 ? ` (${missedStored} counted)` : ''}`);
  if (table.counters.evicted > 0) lostDetail.push(`${table.counters.evicted} objects evicted from the ${s.maxTracked}-object table (still counted against their sites)`);

  const summaries = monoClock
    ? summarizeBySite(table.objects(), endNs, s.minAgeSec, table.evicted())
    : summarizeBySite(table.objects(), Number.MAX_SAFE_INTEGER, 0, table.evicted());
  const { allocs, frees, matchedFrees, replaced, evicted } = table.counters;
  return {
    summaries,
    caches,
    samples,
    lost: { total: lostTotal, detail: lostDetail },
    counters: { allocs, frees, matchedFrees, replaced, evicted },
    interrupted,
    warnings,
  };
}
