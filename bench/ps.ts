/**
 * `memsleuth ps` against the floor and the peer, in one run:
 *  - whole command: `memsleuth ps` vs `smem` (Debian's procrank-like tool), wall time per run;
 *  - per snapshot inside one process: takeLocalSnapshot vs a C program reading the same files.
 * The table of issue 15 is for 400 processes: `sleep` children make up the difference (--processes N).
 * Run: node dist/bench/ps.js [--runs N] [--processes N]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from '../test/corpus.js';
import { takeLocalSnapshot } from '../src/sources/local.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 10;
const bin = join(repoRoot, 'bin', 'memsleuth.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function timeCommand(cmd: string, args: string[]): number | undefined {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0) return undefined;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

const countProcesses = (): number => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
const wanted = Number(process.argv[process.argv.indexOf('--processes') + 1]) || 400;
const fillers = Array.from({ length: Math.max(0, wanted - countProcesses()) }, () => spawn('sleep', ['3600'], { stdio: 'ignore' }));
for (const f of fillers) f.unref();
process.on('exit', () => { for (const f of fillers) f.kill(); });
await new Promise((r) => setTimeout(r, 500));
const processes = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
console.log(`memsleuth ps benchmark: ${processes} processes, median of ${runs} runs`);

const ours = timeCommand(process.execPath, [bin, 'ps', '--limit', '1000']);
const smem = existsSync('/usr/bin/smem') ? timeCommand('smem', ['-t']) : undefined;
console.log(`whole command: memsleuth ps ${ours?.toFixed(1)} ms | smem ${smem === undefined ? 'not installed (apt-get install smem)' : `${smem.toFixed(1)} ms`}`
  + (ours !== undefined && smem !== undefined ? ` | ratio ${(ours / smem).toFixed(2)} (target <= 0.4, issue 15)` : ''));
// What no JavaScript command can go below: Node itself starting and exiting, in the same run.
const nodeAlone = timeCommand(process.execPath, ['-e', '0']);
if (nodeAlone !== undefined && ours !== undefined) {
  console.log(`node start-up alone (node -e 0): ${nodeAlone.toFixed(1)} ms, ${smem !== undefined ? `${(nodeAlone / smem).toFixed(2)}x smem; ` : ''}memsleuth ps beyond it: ${(ours - nodeAlone).toFixed(1)} ms`);
}

// Per snapshot, inside one process: the C floor reads the same files.
const floorBin = join(tmpdir(), 'memsleuth-ps-floor');
execFileSync('gcc', ['-O2', '-o', floorBin, join(repoRoot, 'bench', 'ps_floor.c')]);
const loops = 50;
let t0 = process.hrtime.bigint();
execFileSync(floorBin, [String(loops)]);
const floorMs = Number(process.hrtime.bigint() - t0) / 1e6 / loops;
takeLocalSnapshot({ system: { slabinfo: false, vmallocinfo: false, zoneinfo: false, buddyinfo: false, vmstat: false } });
t0 = process.hrtime.bigint();
for (let i = 0; i < loops; i++) takeLocalSnapshot({ system: { slabinfo: false, vmallocinfo: false, zoneinfo: false, buddyinfo: false, vmstat: false } });
const snapMs = Number(process.hrtime.bigint() - t0) / 1e6 / loops;
// What no JavaScript reader can go below: the same open/read/close calls through node:fs, nothing parsed.
const rawBuffer = Buffer.allocUnsafe(1 << 16);
const readRaw = (path: string): number => {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return 0; }
  let n = 0;
  for (let got = 1; got > 0; n += got) got = readSync(fd, rawBuffer, n, rawBuffer.length - n, null);
  closeSync(fd);
  return n;
};
const rawSnapshot = (): number => {
  let total = readRaw('/proc/meminfo');
  for (const p of readdirSync('/proc')) if (/^\d/.test(p)) total += readRaw(`/proc/${p}/status`) + readRaw(`/proc/${p}/smaps_rollup`);
  return total;
};
rawSnapshot();
t0 = process.hrtime.bigint();
for (let i = 0; i < loops; i++) rawSnapshot();
const rawMs = Number(process.hrtime.bigint() - t0) / 1e6 / loops;
console.log(`per snapshot: memsleuth ${snapMs.toFixed(2)} ms | C floor ${floorMs.toFixed(2)} ms | ratio ${(snapMs / floorMs).toFixed(2)} (target <= 1.3, issue 15)`);
console.log(`node's own floor: the same files read through node:fs, nothing parsed: ${rawMs.toFixed(2)} ms, ${(rawMs / floorMs).toFixed(2)}x the C floor; memsleuth ${(snapMs / rawMs).toFixed(2)}x it`);
t0 = process.hrtime.bigint();
for (let i = 0; i < 10; i++) takeLocalSnapshot();
console.log(`full snapshot (with slabinfo, vmallocinfo, zoneinfo, buddyinfo, vmstat): ${(Number(process.hrtime.bigint() - t0) / 1e6 / 10).toFixed(2)} ms`);
