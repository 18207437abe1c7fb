/**
 * Events the kernel did not give to our BPF programs. A tracepoint program does not run while another BPF
 * program is running on the same CPU (trace_call_bpf's bpf_prog_active guard); the kernel counts each such
 * skip as a "recursion miss" of the program (fdinfo, Linux 5.12+). On a busy machine this is common and
 * lopsided: an RCU callback freeing a socket inode in softirq interrupts an allocation's program, so the
 * free is never seen and a freed object looks outstanding. Measured on fd_churn (open/socket/pipe/eventfd
 * and close, nothing kept): 9,000-13,000 skipped frees in 2 s, thousands of "outstanding" sock_alloc_inode
 * objects. bpftrace does not report these, so memsleuth reads them from the bpftrace process's fds.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Sum of recursion_misses in fdinfo text of one or more BPF program fds; undefined when the field is absent. */
export function parseRecursionMisses(fdinfo: string): number | undefined {
  let total: number | undefined;
  for (const m of fdinfo.matchAll(/^recursion_misses:\s+(\d+)\s*$/gm)) total = (total ?? 0) + Number(m[1]);
  return total;
}

/** Recursion misses summed over every BPF program the process holds open; undefined when none can be read. */
export function recursionMissesOf(pid: number): number | undefined {
  let fds: string[];
  try { fds = readdirSync(`/proc/${pid}/fd`); } catch { return undefined; }
  let total: number | undefined;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const n = parseRecursionMisses(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
      if (n !== undefined) total = (total ?? 0) + n;
    } catch { /* closed meanwhile */ }
  }
  return total;
}
