/**
 * Kernel tracer overhead: the busy open/socket/pipe/eventfd loop (src/trace/kernel/testdata/fd_churn.c,
 * leaking every 64th iteration's fds) plain and under each kernel engine, rounds interleaved (other load on
 * the machine drifts). Prints iterations/s, slowdown vs plain (medians), lost events, leak site found.
 * Two floors run in the same rounds, so that a slowdown can be read against what any bpftrace program pays:
 * an empty program on the same four kmem tracepoints (the cost of the attach alone), and the smallest program
 * that can tell live objects from freed ones (ptr -> call site on allocation, delete on free).
 *   node dist/bench/trace_kernel.js [seconds per run, default 4] [rounds, default 3]
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname } from 'node:path';
import { traceKernel } from '../src/trace/kernel/index.js';
import type { KernelEngineName } from '../src/trace/kernel/index.js';
import { bpftraceInstalled, compileFdChurn, liveSkipReason, runFdChurn } from '../src/trace/kernel/testing.js';

const seconds = Number(process.argv[2] ?? 4);
const rounds = Number(process.argv[3] ?? 3);

interface Row { name: string; rates: number[]; lost: number[]; found: boolean[] }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
}

async function plain(bin: string): Promise<number> {
  const w = runFdChurn(bin, seconds, 'leak');
  return (await w.done).iterations / seconds;
}

const KMEM = ['kmalloc', 'kmem_cache_alloc', 'kfree', 'kmem_cache_free'].map((e) => `tracepoint:kmem:${e}`);
const FLOORS: [string, string][] = [
  ['floor: attach', `BEGIN { printf("ready\\n"); } ${KMEM.join(', ')} {}`],
  ['floor: live set', `BEGIN { printf("ready\\n"); } ${KMEM.slice(0, 2).join(', ')} { @live[args->ptr] = args->call_site; } ${KMEM.slice(2).join(', ')} { delete(@live[args->ptr]); } END { clear(@live); }`],
];

/** fd_churn under a bare bpftrace program (a floor), with the map size the engine uses. */
async function underScript(bin: string, script: string): Promise<number> {
  const child = spawn('bpftrace', ['-f', 'json', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '262144' } });
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve) => { lines.on('line', (l) => { if (l.includes('ready')) resolve(); }); child.on('exit', () => resolve()); });
  const w = runFdChurn(bin, seconds, 'leak');
  const { iterations } = await w.done;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGINT');
  await exited;
  return iterations / seconds;
}

async function underEngine(bin: string, engine: KernelEngineName, sampleEvery = 1): Promise<{ rate: number; lost: number; found: boolean }> {
  let go: () => void = () => undefined;
  const ready = new Promise<void>((r) => { go = r; });
  const tracing = traceKernel({ engine, durationSec: seconds + 1.5, settleSec: 1, handleSignals: false, top: 30, sampleEvery, onProgress: () => go() });
  await ready;
  const w = runFdChurn(bin, seconds, 'leak', true);
  const { iterations, leaked } = await w.done;
  const result = await tracing;
  w.release();
  const site = result.sites.find((s) => s.stack[0]?.symbol === 'sock_alloc_inode');
  // Sampled: an estimate, found when within three of its standard errors of the leaked count.
  const k = (site?.count ?? 0) / sampleEvery;
  const tolerance = sampleEvery > 1 && k > 0 ? 3 * Math.sqrt((sampleEvery - 1) / (sampleEvery * k)) : 0.1;
  return { rate: iterations / seconds, lost: result.lost.total, found: site !== undefined && site.count >= leaked * (1 - tolerance) };
}

async function main(): Promise<void> {
  const skip = liveSkipReason();
  if (skip !== undefined) { console.log(`skipped: ${skip}`); return; }
  const bin = compileFdChurn();
  if (typeof bin !== 'string') { console.log(`skipped: ${bin.skip}`); return; }
  process.on('exit', () => rmSync(dirname(bin), { recursive: true, force: true }));
  const engines: [KernelEngineName, number][] = bpftraceInstalled() ? [['bpftrace', 1], ['bpftrace', 16], ['ftrace', 1]] : [['ftrace', 1]];
  const floors = bpftraceInstalled() ? FLOORS : [];
  const rows: Row[] = [{ name: 'plain', rates: [], lost: [], found: [] }, ...engines.map(([e, n]) => ({ name: n > 1 ? `${e} 1/${n}` : e, rates: [], lost: [], found: [] }))];
  const floorRows: Row[] = floors.map(([name]) => ({ name, rates: [], lost: [], found: [] }));
  for (let r = 0; r < rounds; r++) {
    rows[0]!.rates.push(await plain(bin));
    for (const [i, [, script]] of floors.entries()) floorRows[i]!.rates.push(await underScript(bin, script));
    for (const [i, [e, n]] of engines.entries()) {
      const m = await underEngine(bin, e, n);
      const row = rows[i + 1]!;
      row.rates.push(m.rate);
      row.lost.push(m.lost);
      row.found.push(m.found);
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
  const base = median(rows[0]!.rates);
  console.log(`kernel tracer overhead: fd_churn ${seconds} s x ${rounds} rounds (median), leaking every 64th iteration`);
  console.log(`${'engine'.padEnd(13)} ${'iter/s'.padStart(10)} ${'slowdown'.padStart(9)} ${'lost events'.padStart(12)}  leak site found`);
  for (const row of [...rows, ...floorRows]) {
    const rate = median(row.rates);
    const measured = row.name !== 'plain' && !row.name.startsWith('floor');
    const lost = measured ? String(Math.round(median(row.lost))) : '-';
    const found = measured ? `${row.found.filter(Boolean).length}/${row.found.length}` : '-';
    console.log(`${row.name.padEnd(13)} ${rate.toFixed(0).padStart(10)} ${`${(base / rate).toFixed(2)}x`.padStart(9)} ${lost.padStart(12)}  ${found}`);
  }
  const slow = (name: string): number => base / median([...rows, ...floorRows].find((r) => r.name === name)?.rates ?? []);
  if (floors.length > 0) {
    console.log(`bpftrace exact / floor: live set ${(slow('bpftrace') / slow('floor: live set')).toFixed(2)}x; bpftrace 1/16 / floor: attach ${(slow('bpftrace 1/16') / slow('floor: attach')).toFixed(2)}x`);
    console.log('floors: bpftrace programs on the same four kmem tracepoints, "attach" empty, "live set" ptr -> call site and delete on free; no bpftrace program can run below "attach"');
  }
  console.log(`default engine: ${engines[0]?.[0] ?? 'none'} (exact; "1/16": --sample 16, counts scaled, found = within 3 standard errors); target: at most 1.5x and no lost events`);
}

await main();
