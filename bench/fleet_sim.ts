/**
 * A simulated fleet for bench/fleet.ts: every instance is a machine whose /proc/meminfo (as node_exporter exports
 * it), and on some instances /proc/slabinfo (node_exporter's slabinfo collector) and per-process USS (the memsleuth
 * exporter), follow the shapes the detection benchmark models after real recordings (src/analyze/testing_tables.ts:
 * AR(1) allocation noise, page-cache fill and drop, a JVM-like sawtooth, warm-up, steps, reclaimable dentries),
 * stretched to a week: a daily load cycle, sawtooth periods from minutes to hours, a warm-up after boot.
 * A few percent of the instances leak, each with a known kind, culprit, start and rate. Seeded: the same arguments
 * give the same fleet.
 *
 * Every instance keeps meminfo's identity sample by sample:
 *   MemTotal = MemFree + Cached + Buffers + AnonPages + SReclaimable + SUnreclaim + VmallocUsed + KernelStack
 *            + PageTables + unexplained          (Shmem is 0 here, so Cached is all page cache)
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Rng } from '../src/analyze/stats/prng.js';
import type { LeakKind } from '../src/model/analysis.js';

export type PlantedKind = Extract<LeakKind, 'kernel-slab' | 'kernel-vmalloc' | 'user' | 'kernel-other'>;

export interface Planted {
  kind: PlantedKind;
  /** Fraction of MemTotal per hour. */
  ratePerHour: number;
  startSec: number;
  /** Series key analysis should name first (slab cache, process), when the instance exports one. */
  culprit: string | null;
}

export interface InstanceSpec {
  name: string;
  index: number;
  memTotal: number;
  leak: Planted | null;
  /** Non-leak shapes present (for the bench table and for debugging a false positive). */
  shapes: string[];
  slabinfo: boolean;
  processes: boolean;
  seed: number;
}

export const DT = 15;
const PAGE = 4096;
const GiB = 1024 ** 3;
const SIZES = [0.5 * GiB, 2 * GiB, 8 * GiB, 32 * GiB, 128 * GiB];
const KINDS: PlantedKind[] = ['kernel-slab', 'user', 'kernel-vmalloc', 'kernel-other'];

/** Instance i of a fleet: leaks on every 25th instance (4%), kinds in turn. */
export function instanceSpec(i: number, seed = 1): InstanceSpec {
  const r = new Rng((seed * 7919 + i * 104729) >>> 0);
  const name = `node-${String(i).padStart(4, '0')}`;
  const memTotal = SIZES[r.int(SIZES.length)] as number;
  const leaking = i % 25 === 7;
  const shapes: string[] = ['ar1-noise'];
  if (r.next() < 0.7) shapes.push('page-cache');
  if (r.next() < 0.5) shapes.push('sawtooth');
  if (r.next() < 0.5) shapes.push('warmup');
  if (r.next() < 0.6) shapes.push('daily-cycle');
  if (r.next() < 0.2) shapes.push('step');
  if (r.next() < 0.4) shapes.push('dentry-churn');
  let leak: Planted | null = null;
  const kind = KINDS[Math.floor(i / 25) % KINDS.length] as PlantedKind;
  if (leaking) {
    const days = 7;
    const startSec = r.next() * 3 * 86400;
    // 2% to 8% of MemTotal a day (analysis ignores slower than 1%/day by policy), at most 20% by the end of the week.
    const left = (days * 86400 - startSec) / 86400;
    const perDay = 0.02 + r.next() * (Math.min(0.2 / left, 0.08) - 0.02);
    leak = {
      kind, ratePerHour: perDay / 24, startSec,
      culprit: kind === 'kernel-slab' ? 'slab.kmalloc-256.bytes' : kind === 'user' ? 'proc.leaky-app:4242.uss' : null,
    };
  }
  const slabinfo = (leaking && kind === 'kernel-slab') || r.next() < 0.1;
  const processes = (leaking && kind === 'user') || r.next() < 0.1;
  return { name, index: i, memTotal, leak, shapes, slabinfo, processes, seed: r.int(2 ** 31) };
}

export interface InstanceSeries {
  /** meminfo field -> bytes per sample. */
  meminfo: Map<string, Float64Array>;
  /** slab cache -> { objects, active, size } */
  slabs: Map<string, { objects: Float64Array; active: Float64Array; size: number }>;
  /** "comm:pid" -> USS bytes per sample. */
  processes: Map<string, Float64Array>;
}

const page = (x: number): number => Math.round(x / PAGE) * PAGE;

/** The instance's series at n samples DT seconds apart. */
export function simulate(spec: InstanceSpec, n: number): InstanceSeries {
  const r = new Rng(spec.seed);
  const MT = spec.memTotal;
  const has = (s: string): boolean => spec.shapes.includes(s);
  const mk = (): Float64Array => new Float64Array(n);
  const names = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'AnonPages', 'SReclaimable', 'SUnreclaim', 'VmallocUsed', 'KernelStack', 'PageTables'];
  const m = new Map<string, Float64Array>(names.map((k) => [k, mk()]));
  const get = (k: string): Float64Array => m.get(k) as Float64Array;
  const k256 = mk(), k64 = mk(), dentry = mk();
  const leakyUss = mk(), javaUss = mk(), sshdUss = mk();
  const cachePeriod = (6 + r.next() * 42) * 3600;
  const cacheLow = 0.05 + r.next() * 0.05, cacheHigh = cacheLow + 0.05 + r.next() * 0.1;
  const sawPeriod = 300 + r.next() * 4 * 3600;
  const sawAmp = (0.01 + r.next() * 0.03) * MT;
  const warmTau = (0.5 + r.next() * 6) * 3600, warmAmp = (0.02 + r.next() * 0.03) * MT;
  const dayAmp = (0.01 + r.next() * 0.04) * MT, dayPhase = r.next() * 2 * Math.PI;
  const stepAt = r.next() * 7 * 86400, stepAmp = (0.01 + r.next() * 0.03) * MT;
  const dentryPeriod = (2 + r.next() * 20) * 3600, dentryAmp = (0.01 + r.next() * 0.04) * MT;
  const leak = spec.leak;
  const leakAt = (x: number, kind: PlantedKind): number => (leak && leak.kind === kind && x > leak.startSec ? (leak.ratePerHour * MT * (x - leak.startSec)) / 3600 : 0);
  let ar = 0;
  for (let i = 0; i < n; i++) {
    const x = i * DT;
    ar = 0.9 * ar + Math.sqrt(1 - 0.81) * r.normal();
    const saw = has('sawtooth') ? sawAmp * ((x % sawPeriod) / sawPeriod) : 0;
    const warm = has('warmup') ? warmAmp * (1 - Math.exp(-x / warmTau)) : 0;
    const day = has('daily-cycle') ? dayAmp * Math.sin((2 * Math.PI * x) / 86400 + dayPhase) : 0;
    const step = has('step') && x > stepAt ? stepAmp : 0;
    leakyUss[i] = page(0.01 * MT + 0.0005 * MT * ar + leakAt(x, 'user'));
    javaUss[i] = page(0.05 * MT + saw + 0.001 * MT * r.normal());
    sshdUss[i] = page(2e6 + 4096 * r.int(3));
    const anon = page(0.1 * MT + warm + day + step + 0.002 * MT * ar) + (leakyUss[i] as number) + (javaUss[i] as number) + (sshdUss[i] as number);
    const cached = page(has('page-cache') ? MT * (cacheLow + (cacheHigh - cacheLow) * ((x % cachePeriod) / cachePeriod)) : 0.15 * MT + 0.001 * MT * r.normal());
    dentry[i] = page(0.01 * MT + (has('dentry-churn') ? dentryAmp * ((x % dentryPeriod) / dentryPeriod) : 0) + 0.0005 * MT * r.normal());
    k256[i] = page(0.004 * MT + 0.0003 * MT * ar + leakAt(x, 'kernel-slab'));
    k64[i] = page(0.003 * MT + 0.0002 * MT * r.normal());
    const sreclaim = (dentry[i] as number) + page(0.005 * MT);
    const sunreclaim = (k256[i] as number) + (k64[i] as number) + page(0.01 * MT);
    const vmalloc = page(0.004 * MT + 0.0001 * MT * r.normal() + leakAt(x, 'kernel-vmalloc'));
    const kstack = page(0.002 * MT + 16384 * r.int(8));
    const pt = page(0.003 * MT + 0.0001 * MT * r.normal());
    const buffers = page(0.01 * MT);
    const unexplained = page(0.01 * MT + leakAt(x, 'kernel-other'));
    const free = MT - cached - buffers - anon - sreclaim - sunreclaim - vmalloc - kstack - pt - unexplained;
    get('MemTotal')[i] = MT;
    get('MemFree')[i] = free;
    get('MemAvailable')[i] = page(free + 0.9 * cached + buffers + 0.5 * sreclaim - 0.01 * MT);
    get('Buffers')[i] = buffers;
    get('Cached')[i] = cached;
    get('AnonPages')[i] = anon;
    get('SReclaimable')[i] = sreclaim;
    get('SUnreclaim')[i] = sunreclaim;
    get('VmallocUsed')[i] = vmalloc;
    get('KernelStack')[i] = kstack;
    get('PageTables')[i] = pt;
  }
  const slabs = new Map<string, { objects: Float64Array; active: Float64Array; size: number }>();
  if (spec.slabinfo) {
    const add = (name: string, bytes: Float64Array, size: number): void => {
      const objects = Float64Array.from(bytes, (b) => Math.round(b / size));
      slabs.set(name, { objects, active: Float64Array.from(objects, (o) => Math.round(o * 0.97)), size });
    };
    add('kmalloc-256', k256, 256);
    add('kmalloc-64', k64, 64);
    add('dentry', dentry, 192);
  }
  const processes = new Map<string, Float64Array>();
  if (spec.processes) {
    processes.set('leaky-app:4242', leakyUss);
    processes.set('java:77', javaUss);
    processes.set('sshd:512', sshdUss);
  }
  return { meminfo: m, slabs, processes };
}

/**
 * Instances as one OpenMetrics file for `promtool tsdb create-blocks-from openmetrics`: each family contiguous,
 * each series in time order, n samples DT apart from startSec. Returns the samples written.
 */
export function writeOpenMetrics(path: string, specs: InstanceSpec[], n: number, startSec: number): number {
  const fd = openSync(path, 'w');
  let buf: string[] = [];
  let size = 0;
  let samples = 0;
  const flush = (): void => { writeSync(fd, buf.join('')); buf = []; size = 0; };
  const line = (s: string): void => { buf.push(s); size++; if (size >= 50_000) flush(); };
  const sims = specs.map((s) => ({ spec: s, sim: simulate(s, n) }));
  const family = (name: string, rows: { labels: string; v: Float64Array }[]): void => {
    if (rows.length === 0) return;
    line(`# TYPE ${name} gauge\n`);
    for (const r of rows) {
      const prefix = `${name}{${r.labels}} `;
      for (let i = 0; i < n; i++) line(`${prefix}${r.v[i] as number} ${startSec + i * DT}\n`);
      samples += n;
    }
  };
  const fields = [...(sims[0]?.sim.meminfo.keys() ?? [])];
  for (const f of fields) {
    family(`node_memory_${f}_bytes`, sims.map((x) => ({ labels: `instance="${x.spec.name}"`, v: x.sim.meminfo.get(f) as Float64Array })));
  }
  const slabRows = (pick: (s: { objects: Float64Array; active: Float64Array; size: number }) => Float64Array): { labels: string; v: Float64Array }[] =>
    sims.flatMap((x) => [...x.sim.slabs].map(([c, s]) => ({ labels: `instance="${x.spec.name}",slab="${c}"`, v: pick(s) })));
  family('node_slabinfo_objects', slabRows((s) => s.objects));
  family('node_slabinfo_active_objects', slabRows((s) => s.active));
  family('node_slabinfo_object_size_bytes', slabRows((s) => new Float64Array(n).fill(s.size)));
  family('memsleuth_process_uss_bytes', sims.flatMap((x) => [...x.sim.processes].map(([p, v]) => {
    const [comm, pid] = p.split(':');
    return { labels: `instance="${x.spec.name}",comm="${comm ?? ''}",pid="${pid ?? ''}"`, v };
  })));
  line('# EOF\n');
  flush();
  closeSync(fd);
  return samples;
}
