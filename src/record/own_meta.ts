/**
 * Which processes of a recording are memsleuth's own, from the options kept with it: the recorder's pid
 * (`ownPid`, local targets only), and for `run` the tool and the command's pid. Under valgrind the command's
 * process is valgrind itself (the program runs inside it): it is own, and memcheck's report judges the program.
 * Under any other tool the command's tree is the program under test, never own.
 */
import type { SeriesTable } from '../model/series_table.js';

export type OwnMeta = Pick<SeriesTable['meta'], 'own' | 'subject' | 'tools'>;

export function ownMetaOf(options: Record<string, unknown>): OwnMeta {
  const out: OwnMeta = {};
  const ownPid = options['ownPid'];
  const run = options['run'] as { tool?: unknown; pid?: unknown } | undefined;
  const tool = typeof run?.tool === 'string' && run.tool !== 'none' ? run.tool : undefined;
  const cmdPid = typeof run?.pid === 'number' ? run.pid : undefined;
  if (typeof ownPid === 'number') {
    out.own = [{ pid: ownPid, role: run ? 'memsleuth run (recorder)' : 'memsleuth (recorder)' }];
    if (cmdPid !== undefined) {
      if (tool === 'valgrind') out.own.push({ pid: cmdPid, role: 'valgrind running the program under test' });
      else out.subject = [cmdPid];
    }
  }
  const tools = Array.isArray(options['tools']) ? (options['tools'] as unknown[]).filter((t): t is string => typeof t === 'string') : [];
  if (tool !== undefined && !tools.includes(tool)) tools.push(tool);
  if (tools.length > 0) out.tools = tools;
  return out;
}
