/**
 * `memsleuth trace user`: live allocations of one process by stack, symbolized, through one of four engines (see
 * each file): sampler (our own sampling heap profiler, preloaded or injected; the default), heaptrack (LD_PRELOAD
 * or gdb injection), bpftrace (uprobes on the C library it maps, free through a tracefs uprobe event) and faults
 * (first touch of anonymous pages: who touched new memory first, not who holds it).
 */
import { InputError } from '../../model/errors.js';
import { traceBpftrace } from './bpftrace_engine.js';
import { traceFaults } from './faults_engine.js';
import { traceHeaptrack } from './heaptrack_engine.js';
import { traceSampler } from './sampler_engine.js';
import type { UserTraceOptions, UserTraceResult } from './result.js';

export type { FreeProbe, RssSample, SiteSeries, UserEngine, UserTraceOptions, UserTraceResult } from './result.js';
export { DEFAULT_SAMPLE_BYTES } from './sampler_engine.js';
export { ensureSampler, samplerPath } from './native_lib.js';
export { allocatorLibrary, allocatorLibraryOf, findLibc, freeProbeOffset } from './libc.js';
export { UndoStack } from './undo.js';
export { GROUP_PREFIX, enabledOurEvents, ourUprobeEvents, tracefsRoot } from './tracefs.js';

export async function traceUser(options: UserTraceOptions): Promise<UserTraceResult> {
  switch (options.engine) {
    case 'sampler': return traceSampler(options);
    case 'bpftrace': return traceBpftrace(options);
    case 'faults': return traceFaults(options);
    case 'heaptrack': return traceHeaptrack(options);
    default: throw new InputError(`Unknown engine "${String(options.engine)}" (sampler, heaptrack, bpftrace, faults)`, 'engine');
  }
}
