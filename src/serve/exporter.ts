/**
 * `memsleuth exporter`: Prometheus' multi-target exporter pattern (as blackbox_exporter and snmp_exporter), for
 * boards that cannot run node_exporter. Prometheus scrapes /probe?target=NAME; the exporter samples that target
 * through its own transport (ssh, adb, serial, local /proc: the same Target and capture path as `record`, opened by
 * the caller) and answers with the sample's series; /metrics carries the exporter's own health; /verdicts serves
 * the fleet verdicts file of `memsleuth analyze prometheus+... --metrics-out`.
 *
 * Names follow model/prom_names.ts. Cardinality is bounded per target: the top N processes (by USS) and slab
 * caches and vmalloc callers (by bytes) get their own series (processes ranked by RSS, which every probe reads), the rest are summed into `*_other_*` families, and
 * memsleuth_probe_limit{what} says where the cut is. The top N is sticky (a member stays while it is in the top
 * 2N), so series do not churn when two processes trade places.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { Snapshot } from '../model/snapshot.js';
import { negotiateFormat, OPENMETRICS_TYPE, PROMETHEUS_TEXT_TYPE, PromText } from '../report/prom_text.js';
import type { ExporterConfig, ExporterTargetConfig } from './exporter_config.js';

export interface ProbeSample {
  snapshot: Snapshot;
  durationMs: number;
  /** Files the target could not read (slabinfo without root, ...), in the target's words. */
  unreadable: { name: string; pid?: number; error: string }[];
}

/** One open connection to a target (built by the CLI from sources/: a Target and a SamplePlanner). */
export interface ProbeTarget {
  sample(): Promise<ProbeSample>;
  close(): Promise<void>;
}

export type OpenProbeTarget = (cfg: ExporterTargetConfig) => Promise<ProbeTarget>;

/** Sticky top-N: members stay while they rank in the top 2N; free places go to the largest. */
export function pickTop(sizes: ReadonlyMap<string, number>, previous: ReadonlySet<string>, n: number): Set<string> {
  if (n <= 0) return new Set();
  const ranked = [...sizes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  const wide = new Set(ranked.slice(0, 2 * n));
  const out = new Set([...previous].filter((k) => wide.has(k)).slice(0, n));
  for (const k of ranked) {
    if (out.size >= n) break;
    out.add(k);
  }
  return out;
}

export interface TopState { processes: Set<string>; caches: Set<string>; callers: Set<string> }

export function newTopState(): TopState {
  return { processes: new Set(), caches: new Set(), callers: new Set() };
}

const PROC_SEP = '\u0000';

/** The series of one sample, with bounded cardinality (updates `state`, the sticky top-N). */
export function renderSample(p: PromText, s: ProbeSample, cfg: ExporterTargetConfig, state: TopState): void {
  const snap = s.snapshot;
  const b = { unit: 'bytes' };
  if (snap.meminfo) {
    for (const [field, v] of Object.entries(snap.meminfo.bytes)) p.add('memsleuth_meminfo_bytes', '/proc/meminfo field, bytes', { field }, v, b);
    for (const [field, v] of Object.entries(snap.meminfo.counts)) {
      if (snap.meminfo.bytes[field] === undefined) p.add('memsleuth_meminfo_pages', '/proc/meminfo unitless field (HugePages_*), pages', { field }, v);
    }
  }
  if (snap.target.uptimeSec !== undefined) {
    p.add('memsleuth_boot_time_seconds', 'target boot time (sample time minus /proc/uptime), Unix seconds', {}, Math.round(snap.takenAtMs / 1000 - snap.target.uptimeSec), { unit: 'seconds' });
  }
  if (snap.slabinfo) {
    const caches = new Map<string, { bytes: number; active: number; objs: number }>();
    for (const c of snap.slabinfo.caches) {
      // Per-memcg copies of a cache share its name on old kernels: one series per name, summed.
      const x = caches.get(c.name) ?? { bytes: 0, active: 0, objs: 0 };
      x.bytes += c.slabBytes; x.active += c.activeBytes; x.objs += c.activeObjs;
      caches.set(c.name, x);
    }
    state.caches = pickTop(new Map([...caches].map(([k, v]) => [k, v.bytes])), state.caches, cfg.topCaches);
    let otherBytes = 0, otherN = 0;
    for (const [cache, v] of caches) {
      if (!state.caches.has(cache)) { otherBytes += v.bytes; otherN++; continue; }
      p.add('memsleuth_slab_bytes', 'slab cache size (slabs x pages per slab), from /proc/slabinfo', { cache }, v.bytes, b);
    }
    for (const [cache, v] of caches) if (state.caches.has(cache)) p.add('memsleuth_slab_active_bytes', 'slab cache bytes in active objects', { cache }, v.active, b);
    for (const [cache, v] of caches) if (state.caches.has(cache)) p.add('memsleuth_slab_active_objects', 'slab cache active objects', { cache }, v.objs);
    p.add('memsleuth_slab_other_bytes', 'slab caches outside the top N, summed', {}, otherBytes, b);
    p.add('memsleuth_slab_other_caches', 'how many slab caches are summed in memsleuth_slab_other_bytes', {}, otherN);
  }
  if (snap.vmallocinfo) {
    const callers = new Map<string, number>();
    for (const a of snap.vmallocinfo.areas) {
      const k = a.caller ?? 'unknown';
      callers.set(k, (callers.get(k) ?? 0) + a.size);
    }
    state.callers = pickTop(callers, state.callers, cfg.topCaches);
    let other = 0;
    for (const [caller, v] of callers) {
      if (state.callers.has(caller)) p.add('memsleuth_vmalloc_bytes', 'vmalloc bytes by caller, from /proc/vmallocinfo', { caller }, v, b);
      else other += v;
    }
    p.add('memsleuth_vmalloc_other_bytes', 'vmalloc bytes of callers outside the top N, summed', {}, other, b);
  }
  const procs = snap.processes.filter((x) => x.memory !== undefined || x.status?.bytes['VmRSS'] !== undefined);
  if (procs.length > 0) {
    // Ranked by RSS, which status gives every probe; USS and PSS need smaps_rollup, which a busy target may owe.
    const size = (x: (typeof procs)[number]): number => x.status?.bytes['VmRSS'] ?? x.memory?.rss ?? 0;
    const id = (x: (typeof procs)[number]): string => `${x.comm}${PROC_SEP}${x.pid}`;
    state.processes = pickTop(new Map(procs.map((x) => [id(x), size(x)])), state.processes, cfg.topProcesses);
    const other = { uss: 0, pss: 0, rss: 0, swap: 0, n: 0 };
    const metrics = ['uss', 'pss', 'rss', 'swap'] as const;
    for (const m of metrics) {
      for (const x of procs) {
        if (!state.processes.has(id(x))) continue;
        const v = m === 'rss' ? x.memory?.rss ?? x.status?.bytes['VmRSS'] : x.memory?.[m];
        if (v !== undefined) p.add(`memsleuth_process_${m}_bytes`, `process ${m.toUpperCase()} from /proc/PID/smaps_rollup${m === 'rss' ? ' (or status VmRSS)' : ''}`, { comm: x.comm, pid: String(x.pid) }, v, b);
      }
    }
    for (const x of procs) {
      if (state.processes.has(id(x))) continue;
      other.n++;
      other.rss += x.memory?.rss ?? x.status?.bytes['VmRSS'] ?? 0;
      other.uss += x.memory?.uss ?? 0;
      other.pss += x.memory?.pss ?? 0;
      other.swap += x.memory?.swap ?? 0;
    }
    for (const m of metrics) p.add(`memsleuth_process_other_${m}_bytes`, `${m.toUpperCase()} of the processes outside the top N, summed`, {}, other[m], b);
    p.add('memsleuth_process_other_processes', 'how many processes are summed in memsleuth_process_other_*', {}, other.n);
  }
  p.add('memsleuth_probe_limit', 'cardinality limit per target: series kept before the rest go to *_other_* (top N by size)', { what: 'processes' }, cfg.topProcesses);
  p.add('memsleuth_probe_limit', 'cardinality limit per target: series kept before the rest go to *_other_* (top N by size)', { what: 'slab_caches' }, cfg.topCaches);
  p.add('memsleuth_probe_limit', 'cardinality limit per target: series kept before the rest go to *_other_* (top N by size)', { what: 'vmalloc_callers' }, cfg.topCaches);
  for (const u of s.unreadable.filter((x) => x.pid === undefined)) {
    p.add('memsleuth_probe_unreadable', 'a system file the target could not read (1), with its name', { file: u.name }, 1);
  }
}

interface TargetState {
  cfg: ExporterTargetConfig;
  conn: ProbeTarget | null;
  top: TopState;
  queue: Promise<unknown>;
  probes: number;
  failures: number;
  lastDurationSec: number | null;
  lastSuccess: boolean | null;
  lastProbeMs: number | null;
  lastError: string | null;
  connects: number;
}

export interface ExporterOptions {
  now?: () => number;
  log?: (line: string) => void;
}

export class Exporter {
  private readonly targets = new Map<string, TargetState>();
  private server: Server | null = null;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly startedMs: number;

  constructor(private readonly config: ExporterConfig, private readonly open: OpenProbeTarget, o: ExporterOptions = {}) {
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => undefined);
    this.startedMs = this.now();
    for (const [name, cfg] of config.targets) {
      this.targets.set(name, { cfg, conn: null, top: newTopState(), queue: Promise.resolve(), probes: 0, failures: 0, lastDurationSec: null, lastSuccess: null, lastProbeMs: null, lastError: null, connects: 0 });
    }
  }

  /** One probe of a target: its series, or memsleuth_probe_success 0 with the reason in the log. */
  async probe(name: string, timeoutSec?: number): Promise<PromText> {
    const st = this.targets.get(name);
    if (!st) throw new Error(`unknown target "${name}"`);
    // One probe at a time per target: a shell or a serial line carries one conversation.
    const run = st.queue.then(() => this.probeNow(st, Math.min(st.cfg.timeoutSec, timeoutSec ?? Infinity)));
    st.queue = run.catch(() => undefined);
    return run;
  }

  private async probeNow(st: TargetState, timeoutSec: number): Promise<PromText> {
    const t0 = this.now();
    const p = new PromText();
    let ok = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${timeoutSec} s`)), timeoutSec * 1000); });
      if (!st.conn) {
        st.connects++;
        st.conn = await Promise.race([this.open(st.cfg), timeout]);
      }
      const sample = await Promise.race([st.conn.sample(), timeout]);
      renderSample(p, sample, st.cfg, st.top);
      ok = true;
      st.lastError = null;
    } catch (err) {
      st.failures++;
      st.lastError = (err as Error).message;
      this.log(`probe of "${st.cfg.name}" failed: ${st.lastError}`);
      // A link that failed or hung is reopened on the next probe.
      const conn = st.conn;
      st.conn = null;
      if (conn) void conn.close().catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
    const dur = (this.now() - t0) / 1000;
    st.probes++;
    st.lastDurationSec = dur;
    st.lastSuccess = ok;
    st.lastProbeMs = this.now();
    p.add('memsleuth_probe_success', 'whether the probe read the target (1) or failed (0)', {}, ok ? 1 : 0);
    p.add('memsleuth_probe_duration_seconds', 'time the probe took, connecting included', {}, dur, { unit: 'seconds' });
    return p;
  }

  /** The exporter's own health. */
  metrics(): PromText {
    const p = new PromText();
    const s = { unit: 'seconds' };
    for (const [name, st] of this.targets) p.add('memsleuth_exporter_probes', 'probes answered per target', { target: name }, st.probes, { type: 'counter' });
    for (const [name, st] of this.targets) p.add('memsleuth_exporter_probe_failures', 'probes that could not read the target', { target: name }, st.failures, { type: 'counter' });
    for (const [name, st] of this.targets) p.add('memsleuth_exporter_connects', 'connections opened per target (ssh, adb, serial); more than one means the link dropped', { target: name }, st.connects, { type: 'counter' });
    for (const [name, st] of this.targets) p.add('memsleuth_exporter_link_up', 'whether the link to the target is open now', { target: name }, st.conn ? 1 : 0);
    for (const [name, st] of this.targets) if (st.lastDurationSec !== null) p.add('memsleuth_exporter_last_probe_duration_seconds', 'duration of the last probe', { target: name }, st.lastDurationSec, s);
    for (const [name, st] of this.targets) if (st.lastProbeMs !== null) p.add('memsleuth_exporter_last_probe_timestamp_seconds', 'when the last probe ended', { target: name }, st.lastProbeMs / 1000, s);
    p.add('memsleuth_exporter_targets', 'targets in the config', {}, this.targets.size);
    p.add('memsleuth_exporter_start_time_seconds', 'when the exporter started', {}, this.startedMs / 1000, s);
    return p;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://exporter');
    const format = negotiateFormat(req.headers.accept);
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const sendMetrics = (p: PromText): void => send(200, p.text(format), format === 'openmetrics' ? OPENMETRICS_TYPE : PROMETHEUS_TEXT_TYPE);
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'only GET\n'); return; }
    if (url.pathname === '/probe') {
      const name = url.searchParams.get('target');
      if (!name) { send(400, 'missing ?target=NAME\n'); return; }
      if (!this.targets.has(name)) { send(404, `unknown target "${name}" (targets: ${[...this.targets.keys()].join(', ')})\n`); return; }
      // Prometheus says how long it will wait; answer before that, with a failed probe if need be.
      const header = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
      const timeout = Number.isFinite(header) && header > 1 ? header - 0.5 : undefined;
      sendMetrics(await this.probe(name, timeout));
      return;
    }
    if (url.pathname === '/metrics') { sendMetrics(this.metrics()); return; }
    if (url.pathname === '/verdicts') {
      if (!this.config.verdictsFile) { send(404, 'no verdicts_file in the config\n'); return; }
      try {
        send(200, await readFile(this.config.verdictsFile, 'utf8'), PROMETHEUS_TEXT_TYPE);
      } catch (err) {
        send(503, `cannot read verdicts file: ${(err as Error).message}\n`);
      }
      return;
    }
    if (url.pathname === '/') {
      send(200, `memsleuth exporter\n\n/probe?target=NAME   one target's memory series\n/metrics             the exporter's own health\n/verdicts            fleet verdicts (verdicts_file)\n\ntargets:\n${[...this.targets.keys()].map((t) => `  ${t}`).join('\n')}\n`);
      return;
    }
    send(404, 'not found\n');
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        this.handle(req, res).catch((err: Error) => {
          this.log(`request ${req.url ?? ''} failed: ${err.message}`);
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      });
      this.server = server;
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address();
        resolve({ host, port: typeof a === 'object' && a ? a.port : port });
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await Promise.all([...this.targets.values()].map(async (st) => {
      const conn = st.conn;
      st.conn = null;
      if (conn) await conn.close().catch(() => undefined);
    }));
  }
}
