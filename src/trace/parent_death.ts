/**
 * A tracer child (bpftrace) must not outlive memsleuth: killed with -9, we get no chance to stop it, and it
 * would stay attached to its probes. setpriv (util-linux) sets PR_SET_PDEATHSIG and execs the program, so the
 * kernel sends it SIGKILL when we die; the pid stays the program's. Without setpriv, the argv is unchanged.
 */
import { findTool } from '../symbolize/addr2line.js';

export function killedWithUs(argv: readonly string[]): string[] {
  const setpriv = findTool('setpriv');
  return setpriv !== undefined ? [setpriv, '--pdeathsig', 'SIGKILL', ...argv] : [...argv];
}
