/**
 * Capture-log ingestion against the floor: generates an N MB log from this machine's real corpus files
 * (meminfo, slabinfo, procps free, numbers varied per sample, loop noise: "####" separators, echoed
 * "cat meminfo...", printk lines mid-block, CRLF), then times `wc -l` and memsleuth's full ingestion
 * (clean -> sectionize -> parse every section -> Snapshot -> flattened series) on it.
 *
 * The generic path runs on the first --generic-mb (default 128) of the log, the fast path on all of it.
 *
 *   node dist/bench/ingest.js [--size-mb 1024] [--generic-mb 128] [--keep]
 */
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestToSnapshots } from '../src/sources/capture_file.js';
import { canTakeFastPath, scanCaptureFast } from '../src/sources/capture_fast.js';
import { flattenSnapshot } from '../src/model/series.js';

const here = dirname(fileURLToPath(import.meta.url));
const CORPUS = resolve(here, '..', '..', '..', 'shared', 'corpus', 'local-6.18');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad ${name}`);
  return v;
}

/** Replaces every run of digits by itself plus a per-sample delta, so no two samples are the same text. */
function vary(template: string, delta: number): string {
  return template.replace(/\b\d+\b/g, (d) => String(Number(d) + (Number(d) > 16 ? delta : 0)));
}

function generate(path: string, bytesWanted: number): number {
  const meminfo = readFileSync(join(CORPUS, 'meminfo.txt'), 'utf8');
  const slabinfo = readFileSync(join(CORPUS, 'slabinfo.txt'), 'utf8');
  const free = readFileSync(join(CORPUS, 'free-procps.txt'), 'utf8');
  // Slab text is 25 KB a sample: a few precomputed variants keep generation fast; meminfo and free vary every time.
  const slabVariants = Array.from({ length: 8 }, (_, i) => vary(slabinfo, i * 3));
  const fd = openSync(path, 'w');
  let written = 0;
  let pending: string[] = [];
  let pendingLen = 0;
  try {
    for (let i = 0; written + pendingLen < bytesWanted; i++) {
      let mem = vary(meminfo, i % 5000);
      if (i % 7 === 0) mem = mem.replace('Slab:', `[ ${1000 + i}.123456] usb 1-1: printk in the middle of a dump\nSlab:`);
      const block = `${'#'.repeat(68)}\ncat meminfo...\n${mem}${'#'.repeat(68)}\ncat slabinfo...\n${slabVariants[i % 8] ?? ''}###################\n${vary(free, i % 5000)}`;
      const text = i % 3 === 0 ? block.replace(/\n/g, '\r\n') : block;
      pending.push(text);
      pendingLen += text.length;
      if (pendingLen > 8 << 20) {
        written += writeSync(fd, pending.join(''));
        pending = [];
        pendingLen = 0;
      }
    }
    written += writeSync(fd, pending.join(''));
  } finally {
    closeSync(fd);
  }
  return written;
}

function main(): void {
  const sizeMb = arg('--size-mb', 1024);
  const path = join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.log`);
  const t0 = performance.now();
  generate(path, sizeMb * 1024 * 1024);
  const size = statSync(path).size;
  const mb = size / (1024 * 1024);
  console.log(`generated ${mb.toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${path}`);
  try {
    const w0 = performance.now();
    const lines = execFileSync('wc', ['-l', path], { encoding: 'utf8' }).trim().split(/\s+/)[0];
    const wcSec = (performance.now() - w0) / 1000;

    const head = Buffer.alloc(1 << 20);
    const hfd = openSync(path, 'r');
    readSync(hfd, head, 0, head.length, 0);
    closeSync(hfd);
    const f0 = performance.now();
    let fastValues = 0;
    const fastSamples = scanCaptureFast(path, (s, keys) => {
      for (let i = 0; i < keys.meminfo.names.length; i++) if (!Number.isNaN(s.meminfo[i] as number)) fastValues++;
      for (let i = 0; i < keys.slab.names.length; i++) if (!Number.isNaN(s.slabBytes[i] as number)) fastValues += 2;
      for (const v of s.freeMem) if (!Number.isNaN(v)) fastValues++;
    });
    const fastSec = (performance.now() - f0) / 1000;

    // The generic path, on a prefix: at its speed the whole log would take minutes.
    const genericMb = Math.min(mb, arg('--generic-mb', 128));
    const prefix = join(tmpdir(), `memsleuth-bench-ingest-${process.pid}.prefix.log`);
    execFileSync('head', ['-c', String(Math.floor(genericMb * 1024 * 1024)), path], { stdio: ['ignore', openSync(prefix, 'w'), 'inherit'] });
    const i0 = performance.now();
    let values = 0;
    const summary = ingestToSnapshots(prefix, {
      intervalSec: 5,
      onSample: (snap) => {
        values += flattenSnapshot(snap).size;
      },
    });
    const inSec = (performance.now() - i0) / 1000;
    rmSync(prefix, { force: true });
    const rssMb = process.resourceUsage().maxRSS / 1024;
    const wcRate = mb / wcSec;
    const fastRate = mb / fastSec;
    const inRate = genericMb / inSec;
    console.log(`wc -l:             ${lines} lines in ${wcSec.toFixed(2)} s = ${wcRate.toFixed(0)} MB/s`);
    console.log(`memsleuth fast:    ${fastSamples} samples, ${fastValues} values in ${fastSec.toFixed(2)} s = ${fastRate.toFixed(0)} MB/s, ${(wcRate / fastRate).toFixed(1)}x wc -l (fast path eligible by sniff: ${canTakeFastPath(head)})`);
    console.log(`memsleuth generic: ${summary.samples} samples, ${summary.sections} sections, ${values} series values, ${summary.warnings} warnings on the first ${genericMb.toFixed(0)} MB in ${inSec.toFixed(2)} s = ${inRate.toFixed(0)} MB/s, ${(wcRate / inRate).toFixed(1)}x wc -l`);
    console.log(`targets: >= 300 MB/s, <= 25x wc -l, peak RSS < 300 MB; peak RSS ${rssMb.toFixed(0)} MB`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(path, { force: true });
  }
}

main();
