/**
 * Generated recordings with known truth, for tests and bench/detect.ts: a machine's meminfo, slab caches and
 * processes, with a leak (or none) and realistic noise. Everything is seeded: the same scenario is the same data.
 */
import type { SeriesTable } from '../model/series_table.js';
import { Rng } from './stats/prng.js';

export type LeakTruth = 'kernel-slab' | 'user' | 'kernel-vmalloc' | 'none';
export type Noise = 'white' | 'ar1' | 'cache-churn' | 'sawtooth' | 'warmup' | 'step';

export interface Scenario {
  name: string;
  leak: LeakTruth;
  /** Leak rate as a fraction of MemTotal per hour (0.001 = 0.1%/h). */
  ratePerHour: number;
  noise: Noise[];
  /** Non-leak shapes on culprit series. */
  nonLeak?: 'page-cache' | 'sawtooth' | 'warmup' | 'step' | 'saturating' | 'reclaimable-slab' | 'flat';
  seconds: number;
  dt: number;
  seed: number;
  memTotal?: number;
  /** Leak starts after this many seconds. */
  leakStartSec?: number;
}

export const PAGE = 4096;

/** The truth's culprit key, for culprit accuracy. */
export function culpritKeyOf(s: Scenario): string | undefined {
  if (s.leak === 'kernel-slab') return 'slab.kmalloc-256.bytes';
  if (s.leak === 'user') return 'proc.leaky:4242.uss';
  if (s.leak === 'kernel-vmalloc') return 'vmalloc.caller.leaky_vmalloc.bytes';
  return undefined;
}

export function makeTable(s: Scenario): SeriesTable {
  const r = new Rng(s.seed);
  const n = Math.floor(s.seconds / s.dt) + 1;
  const memTotal = s.memTotal ?? 8 * 1024 ** 3;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = i * s.dt;
  const rate = (s.ratePerHour * memTotal) / 3600;
  const start = s.leakStartSec ?? 0;
  const leakAt = (x: number): number => (x > start ? rate * (x - start) : 0);
  const page = (x: number): number => Math.round(x / PAGE) * PAGE;
  const mk = (): Float64Array => new Float64Array(n);
  const ser = new Map<string, Float64Array>();
  const slab = { k256: mk(), filp: mk(), dentry: mk(), k64: mk() };
  const vm = mk();
  const leakyUss = mk();
  const javaUss = mk();
  const anonOther = mk();
  const cached = mk();
  let ar = 0;
  let churn = 0;
  const hasNoise = (k: Noise): boolean => s.noise.includes(k);
  for (let i = 0; i < n; i++) {
    const x = t[i] as number;
    ar = 0.9 * ar + Math.sqrt(1 - 0.81) * r.normal();
    const e = hasNoise('ar1') ? ar : r.normal();
    // Slab caches: page-granular, with allocation noise.
    slab.k256[i] = page(40e6 + 200e3 * e + (s.leak === 'kernel-slab' ? leakAt(x) : 0) + (s.nonLeak === 'step' && x > s.seconds / 2 ? 20e6 : 0));
    slab.filp[i] = page(8e6 + 50e3 * r.normal());
    slab.k64[i] = page(20e6 + 100e3 * r.normal() + (s.nonLeak === 'warmup' ? 30e6 * (1 - Math.exp(-x / 300)) : 0));
    slab.dentry[i] = page(100e6 + 300e3 * r.normal() + (s.nonLeak === 'reclaimable-slab' ? 5000 * x : 0));
    vm[i] = page(30e6 + 30e3 * r.normal() + (s.leak === 'kernel-vmalloc' ? leakAt(x) : 0));
    // Processes: the leaky one, and a JVM-like sawtooth.
    const saw = hasNoise('sawtooth') || s.nonLeak === 'sawtooth' ? 200e6 * ((x % 120) / 120) : 0;
    leakyUss[i] = page(50e6 + 100e3 * e + (s.leak === 'user' ? leakAt(x) : 0) + (s.nonLeak === 'saturating' ? 80e6 * (1 - Math.exp(-x / 200)) : 0) + (hasNoise('warmup') ? 40e6 * (1 - Math.exp(-x / 120)) : 0));
    javaUss[i] = page(500e6 + saw + 1e6 * r.normal());
    anonOther[i] = page(2e9 + 5e6 * r.normal() + (hasNoise('step') && x > s.seconds / 3 ? 100e6 : 0));
    churn += hasNoise('cache-churn') ? 2e6 * r.normal() : 0;
    cached[i] = page(3e9 + churn + (s.nonLeak === 'page-cache' ? 200e3 * x : 0));
  }
  const meminfo = (k: string, v: Float64Array): void => { ser.set(`meminfo.${k}`, v); };
  const sunreclaim = mk(), sreclaim = mk(), anon = mk(), free = mk(), avail = mk(), total = mk(), vmused = mk(), kstack = mk(), pt = mk(), buffers = mk(), shmem = mk();
  for (let i = 0; i < n; i++) {
    sunreclaim[i] = (slab.k256[i] as number) + (slab.filp[i] as number) + (slab.k64[i] as number) + 300e6;
    sreclaim[i] = (slab.dentry[i] as number) + 200e6;
    anon[i] = (leakyUss[i] as number) + (javaUss[i] as number) + (anonOther[i] as number);
    vmused[i] = vm[i] as number;
    kstack[i] = 20e6;
    pt[i] = 40e6;
    buffers[i] = 100e6;
    shmem[i] = 50e6;
    total[i] = memTotal;
    const used = (sunreclaim[i] as number) + (sreclaim[i] as number) + (anon[i] as number) + (vmused[i] as number) + 20e6 + 40e6 + 100e6 + (cached[i] as number) + 300e6;
    free[i] = memTotal - used;
    avail[i] = (free[i] as number) + (cached[i] as number) + 100e6 + (sreclaim[i] as number) * 0.5 - 50e6;
  }
  meminfo('MemTotal', total); meminfo('MemFree', free); meminfo('MemAvailable', avail); meminfo('Cached', Float64Array.from(cached, (c) => c + 50e6));
  meminfo('Buffers', buffers); meminfo('Shmem', shmem); meminfo('AnonPages', anon); meminfo('SReclaimable', sreclaim); meminfo('SUnreclaim', sunreclaim);
  meminfo('VmallocUsed', vmused); meminfo('KernelStack', kstack); meminfo('PageTables', pt);
  ser.set('slab.kmalloc-256.bytes', slab.k256);
  ser.set('slab.filp.bytes', slab.filp);
  ser.set('slab.kmalloc-64.bytes', slab.k64);
  ser.set('slab.dentry.bytes', slab.dentry);
  ser.set('vmalloc.caller.leaky_vmalloc.bytes', vm);
  ser.set('proc.leaky:4242.uss', leakyUss);
  ser.set('proc.java:77.uss', javaUss);
  return { t, series: ser, boots: [{ fromIndex: 0, toIndex: n - 1 }], gaps: [], meta: { source: s.name, intervalSec: s.dt, timeSource: 'uptime', notes: [] } };
}

/** A copy of the first `sec` seconds of a table (time to detection is measured on growing prefixes). */
export function prefix(table: SeriesTable, sec: number): SeriesTable {
  let n = 0;
  while (n < table.t.length && (table.t[n] as number) <= sec) n++;
  const series = new Map<string, Float64Array>();
  for (const [k, v] of table.series) series.set(k, v.subarray(0, n));
  return { ...table, t: table.t.subarray(0, n), series };
}
