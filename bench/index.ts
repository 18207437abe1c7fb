/**
 * `npm run bench`: every throughput benchmark in one run, each next to its floor or peer, printing ratios.
 * Each runs in its own process so one's memory and JIT state do not colour the next. Slow ones take flags:
 *   node dist/bench/index.js [--quick]     --quick: smaller inputs (256 MB log, 1 day store, 500 series)
 * The store bench keeps its recording for week.js (analyze's time and peak RSS with /usr/bin/time -v, the
 * dashboard's requests); it is deleted at the end.
 * The detection benchmark is separate (npm run bench:detect); npm run bench:trace adds the user-space tracers.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/corpus.js';

const quick = process.argv.includes('--quick');
/** The store bench's recording, kept for the week bench (analyze time and peak RSS, dashboard requests). */
const weekDb = join(tmpdir(), `memsleuth-bench-week-${process.pid}.db`);
const benches: { name: string; file: string; args: string[] }[] = [
  { name: 'ingest: capture log vs wc -l and cat', file: 'ingest.js', args: ['--size-mb', quick ? '256' : '1024'] },
  { name: 'ps: vs smem and a C floor', file: 'ps.js', args: ['--runs', '10'] },
  { name: 'store: simulated recording of a board at 1 s', file: 'store.js', args: ['--days', quick ? '1' : '7', '--db', weekDb, '--keep'] },
  { name: `analyze and dashboard on that recording (${quick ? '1 day' : '7 days'})`, file: 'week.js', args: ['--db', weekDb] },
  { name: 'statistics: series x points on both cores', file: 'stats.js', args: quick ? ['500', '100000'] : ['2000', '100000'] },
  { name: 'HTML report of a 24 h recording at 1 s', file: 'report_html.js', args: [] },
  // Needs root and bpftrace (it says so and skips otherwise); npm run bench:trace also runs the user-space tracers.
  { name: 'trace kernel: syscall-heavy loop plain and under each engine', file: 'trace_kernel.js', args: quick ? ['2', '2'] : ['4', '3'] },
];

let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b.name}`);
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'bench', b.file), ...b.args], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.log(`(${b.file} exited with ${r.status ?? r.signal})`); }
}
for (const s of ['', '-wal', '-shm']) rmSync(weekDb + s, { force: true });
process.exit(failed === 0 ? 0 : 1);
