/**
 * `memsleuth trace user`: outstanding allocations of one process by stack, aged and symbolized, through one of
 * three engines (see each file): heaptrack (LD_PRELOAD or gdb injection), bpftrace (uprobes on the C library it
 * maps, free through a tracefs uprobe event) and faults (first touch of anonymous pages, no malloc probes at all).
 */
import { InputError } from '../../model/errors.js';
import { traceBpftrace } from './bpftrace_engine.js';
import { traceFaults } from './faults_engine.js';
import { traceHeaptrack } from './heaptrack_engine.js';
import type { UserTraceOptions, UserTraceResult } from './result.js';

export type { FreeProbe, RssSample, UserEngine, UserTraceOptions, UserTraceResult } from './result.js';
export { allocatorLibrary, allocatorLibraryOf, findLibc, freeProbeOffset } from './libc.js';
export { UndoStack } from './undo.js';
export { GROUP_PREFIX, enabledOurEvents, ourUprobeEvents, tracefsRoot } from './tracefs.js';

export async function traceUser(options: UserTraceOptions): Promise<UserTraceResult> {
  switch (options.engine) {
    case 'bpftrace': return traceBpftrace(options);
    case 'faults': return traceFaults(options);
    case 'heaptrack': return traceHeaptrack(options);
    default: throw new InputError(`Unknown engine "${String(options.engine)}" (heaptrack, bpftrace, faults)`, 'engine');
  }
}
