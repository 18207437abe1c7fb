/**
 * Merged slab caches (SLUB, Documentation/mm/slub.rst "slab_merge"): caches of the same size and flags share one
 * cache, and /proc/slabinfo shows it under the first name only, so UNIX sockets grow "signal_cache" on 6.x.
 * /sys/kernel/slab names every cache, the merged ones as symlinks to one shared directory:
 *
 *   UNIX -> :A-0001152        UNIX-STREAM -> :A-0001152        signal_cache -> :A-0001152
 *
 * Read here: slabinfo name -> the other names merged into it. Undefined when the directory is not readable.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function readSlabAliases(sysRoot = '/sys'): Record<string, string[]> | undefined {
  const dir = join(sysRoot, 'kernel', 'slab');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const byTarget = new Map<string, string[]>();
  for (const n of names) {
    if (n.startsWith(':')) continue; // the shared directories themselves (":A-0001152")
    let target: string;
    try {
      target = readlinkSync(join(dir, n)).split('/').pop() ?? '';
    } catch {
      continue; // a real directory: a cache nothing was merged into
    }
    const list = byTarget.get(target) ?? [];
    list.push(n);
    byTarget.set(target, list);
  }
  const out: Record<string, string[]> = {};
  for (const group of byTarget.values()) {
    if (group.length < 2) continue;
    for (const n of group) out[n] = group.filter((x) => x !== n).sort();
  }
  return out;
}

