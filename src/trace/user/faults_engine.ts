/**
 * Engine `faults` (`--engine first-touch` on the command line): attributes the growth of resident memory to the user code that first touched each new
 * anonymous page (tracepoint exceptions:page_fault_user), minus what munmap/madvise(DONTNEED|FREE|REMOVE) gave back
 * and what left the address space (brk shrink, munmap: gone from the final maps). Its cost scales with pages
 * faulted, not with malloc calls.
 * A first touch usually happens inside the allocator (glibc writes the next chunk's header) or in memset, both
 * without frame pointers, so the frame-pointer stack stops there. The probe therefore also scans 48 words of the
 * user stack (user registers from task_pt_regs(curtask)) for values inside the program's text
 * (mm->start_code..end_code, plus the other executable mappings when attached), and we keep those that follow a
 * call instruction: the classic stack-scanning unwinder, good for "which function", not a proof.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import type { AllocationSite } from '../../model/allocation_site.js';
import { TargetError } from '../../model/errors.js';
import type { MapEntry } from '../../symbolize/proc_maps.js';
import { findMapping, parseProcMaps } from '../../symbolize/proc_maps.js';
import { findLibc } from './libc.js';
import { READY_PROBE, parseBpftraceMaps, runBpftrace } from './bpftrace_run.js';
import type { Outstanding, UserTraceOptions, UserTraceResult } from './result.js';
import { framesOf, groupByStack, symbolizeUserSites } from './result.js';
import { withSession } from './session.js';
import { waitForEnd } from './target.js';

const NOW = '@@NOW';
const REL = '@@REL';
const SCAN_WORDS = 48;
const CANDIDATES = 4;
/** x86-64: THREAD_SIZE 16 KiB (KASAN doubles it) and sizeof(struct pt_regs) = 168; task_pt_regs() sits at the top. */
const X64_PT_REGS = '(struct pt_regs *)((uint64)curtask->stack + 16384 - 168)';

export function faultsScript(pid: number, extraRanges: Array<[bigint, bigint]>, stackDepth: number): string {
  const scan = process.arch === 'x64';
  const ranges = [`($w >= $lo && $w < $hi)`, ...extraRanges.slice(0, 6).map(([a, b]) => `($w >= ${a} && $w < ${b})`)].join(' || ');
  const cands = Array.from({ length: CANDIDATES }, (_, i) => `$c${i}`);
  const body = scan ? `
  $r = ${X64_PT_REGS};
  $sp = $r->sp; $lo = curtask->mm->start_code; $hi = curtask->mm->end_code;
  $i = 0; $n = 0; ${cands.map((c) => `${c} = 0;`).join(' ')}
  unroll(${SCAN_WORDS}) {
    $w = *(uint64 *)uptr($sp + $i * 8);
    if (${ranges}) {
      ${cands.map((c, i) => `${i === 0 ? '' : 'else '}if ($n == ${i}) { ${c} = $w; }`).join(' ')}
      $n = $n + 1;
    }
    $i = $i + 1;
  }` : cands.map((c) => `${c} = 0;`).join(' ');
  return `tracepoint:exceptions:page_fault_user /pid == ${pid}/ {${body}
  @pg[args->address >> 12] = (ustack(perf, ${stackDepth}), nsecs, ${cands.join(', ')});
}
tracepoint:syscalls:sys_enter_munmap /pid == ${pid}/ { printf("${REL} %lld %lu %lu\\n", nsecs, args->addr, args->len); }
tracepoint:syscalls:sys_enter_madvise /pid == ${pid} && (args->behavior == 4 || args->behavior == 8 || args->behavior == 9)/ { printf("${REL} %lld %lu %lu\\n", nsecs, args->start, args->len_in); }
${READY_PROBE}
END { printf("${NOW} %lld\\n", nsecs); clear(@__ready); }
`;
}

/** True when the bytes before `ret` in its file end with a call instruction (x86-64 encodings). */
export function followsCall(before: Buffer): boolean {
  const n = before.length;
  const at = (k: number): number | undefined => (n - k >= 0 ? before[n - k] : undefined);
  if (at(5) === 0xe8) return true; // call rel32
  if (at(2) === 0xff && ((at(1) ?? 0) & 0x38) === 0x10) return true; // call *%reg
  if (at(3) === 0xff && ((at(2) ?? 0) & 0x38) === 0x10) return true; // call *disp8(%reg)
  if (at(6) === 0xff && ((at(5) ?? 0) & 0x38) === 0x10) return true; // call *disp32(%rip|%reg)
  if (at(7) === 0xff && ((at(6) ?? 0) & 0x38) === 0x10) return true; // call *disp32(,%reg,s)
  return false;
}

function readBefore(path: string, fileOffset: bigint, n = 8): Buffer | undefined {
  if (fileOffset < BigInt(n)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, Number(fileOffset) - n);
    return got === n ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const isAnon = (m: MapEntry | undefined): boolean => m !== undefined && (m.path === undefined || m.path === '[heap]') && m.perms.includes('w');

export async function traceFaults(o: UserTraceOptions): Promise<UserTraceResult> {
  return withSession(o, true, async (s) => {
    const maps0 = parseProcMaps(s.maps.text).value;
    const libc = findLibc(maps0)?.path;
    const extra: Array<[bigint, bigint]> = s.target.launched ? [] : maps0
      .filter((m) => m.perms.includes('x') && m.path?.startsWith('/') === true && m.path !== libc && !/\/ld-linux|\/ld-musl/.test(m.path ?? '') && m.path !== maps0[0]?.path)
      .map((m) => [m.start, m.end]);
    const bt = runBpftrace(faultsScript(s.target.pid, extra, o.stackDepth ?? 8), s.dir, s.undo, { pid: s.target.pid });
    await bt.ready;
    s.rss.start();
    const t0 = process.hrtime.bigint();
    s.target.resume();
    const ended = await waitForEnd(s.target, o.durationSec, o.signal);
    const durationSec = Number(process.hrtime.bigint() - t0) / 1e9;
    s.maps.refresh();
    await bt.stop();
    if (bt.stderr.some((l) => /ERROR/.test(l))) throw new TargetError(`bpftrace: ${bt.stderr.filter((l) => /ERROR/.test(l)).slice(0, 3).join(' | ')}`, 'bpftrace');

    const maps = parseProcMaps(s.maps.text).value;
    const releases: Array<{ ts: number; start: number; end: number }> = [];
    let nowNs: number | undefined;
    for (const l of bt.stdout) {
      if (l.startsWith(REL)) {
        const [, ts, a, len] = l.split(' ');
        releases.push({ ts: Number(ts), start: Number(a), end: Number(a) + Number(len) });
      } else if (l.startsWith(NOW)) nowNs = Number(l.split(' ')[1]);
    }
    const retCheck = new Map<bigint, boolean>();
    const plausibleReturn = (addr: bigint): boolean => {
      let ok = retCheck.get(addr);
      if (ok !== undefined) return ok;
      const m = findMapping(maps, addr);
      ok = false;
      if (m?.path?.startsWith('/') === true && m.perms.includes('x')) {
        const before = readBefore(m.path, addr - m.start + m.offset);
        ok = before !== undefined && followsCall(before);
      }
      retCheck.set(addr, ok);
      return ok;
    };
    const objects: Outstanding[] = [];
    let faults = 0;
    let released = 0;
    let notAnon = 0;
    for (const e of parseBpftraceMaps(bt.stdout)) {
      if (e.map !== 'pg') continue;
      faults++;
      const page = BigInt(e.key) << 12n;
      const [ts, ...cands] = e.values;
      if (ts === undefined) continue;
      if (!isAnon(findMapping(maps, page))) { notAnon++; continue; }
      const p = Number(page);
      if (releases.some((r) => r.ts >= ts && p >= r.start && p < r.end)) { released++; continue; }
      // The frame-pointer stack is trusted while it stays in one object's code; scanned return addresses are
      // put after the faulting instruction when it sits in code without frame pointers (libc, memset).
      const [ip, ...rest] = e.stack;
      const scanned = cands.filter((c) => c !== 0).map((c) => BigInt(c)).filter((c, i, all) => all.indexOf(c) === i && plausibleReturn(c));
      let addrs: bigint[];
      const ipMap = ip !== undefined ? findMapping(maps, ip) : undefined;
      if (ip !== undefined && scanned.length > 0 && ipMap?.path !== maps[0]?.path) addrs = [ip, ...scanned];
      else addrs = e.stack.length > 0 ? [...(ip !== undefined ? [ip] : []), ...rest] : scanned;
      const obj: Outstanding = { stack: framesOf(addrs), size: 4096 };
      if (nowNs !== undefined) obj.ageSec = Math.max(0, (nowNs - ts) / 1e9);
      objects.push(obj);
    }
    s.notes.push('first touch: one object = one 4 KiB anonymous page still mapped at the end, attributed to the first user code that touched it (innermost frame: the faulting instruction). Frees are not seen: a page reused by another allocation stays with its first toucher, so this is not who holds memory');
    // Frees are unknown here: a page is reported as first touched, never as outstanding or leaked.
    let sites: AllocationSite[] = groupByStack(objects, 'trace', s.target.pid, s.comm).map((x) => ({ ...x, kind: 'first-touch' }));
    if (o.minBytes !== undefined) sites = sites.filter((x) => x.bytes >= (o.minBytes ?? 0));
    if (o.symbolize !== false) {
      // The first frame is the faulting instruction itself, the rest return addresses: a leading symbol-only frame
      // would make the symbolizer look the fault address up at -1, so it is symbolized as its own site.
      sites = await symbolizeUserSites(sites, s.maps.text, undefined, s.problems);
    }
    const result: UserTraceResult = {
      engine: 'faults', pid: s.target.pid, sites, maps: s.maps.text, durationSec, ended, rss: s.rss.samples, problems: s.problems, notes: s.notes,
      stats: { pagesFaulted: faults, pagesReleased: released, pagesNotAnonymous: notAnon, pagesOutstanding: objects.length },
    };
    if (s.target.done()) result.exitCode = await s.target.exited;
    return result;
  });
}
