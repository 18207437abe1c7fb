// src/parse/allocinfo.ts
/**
 * Parses /proc/allocinfo (CONFIG_MEM_ALLOC_PROFILING, Linux 6.10+; Documentation/mm/allocation-profiling.rst,
 * Documentation/filesystems/proc.rst "allocinfo"; lib/alloc_tag.c, later mm/alloc_tag.c, alloc_tag_to_text).
 *
 *   allocinfo - version: 1.0
 *   #     <size>  <calls> <tag info>
 *            512        1 arch/x86/events/rapl.c:681 func:init_rapl_pmus
 *          4096        1 drivers/staging/ctagmod/ctagmod.c:20 [ctagmod] func:ctagmod_start
 *          16384        4 mm/slub.c:2442 func:alloc_slab_page accurate:no     <- version 2.0 marks inaccurate counts
 *          2.8M    22648 fs/kernfs/dir.c:615 func:__kernfs_new_node          <- after `numfmt --to=iec` (docs example)
 *
 * The kernel prints "%12lli %8llu " (size in raw bytes, signed; calls), then "file:line [module] func:name",
 * then a trailing space. Human sizes ("2.8M") only appear when a person piped the file through numfmt: they are
 * accepted (IEC multiples of 1024) with an info warning, because their precision is gone.
 */
import type { Allocinfo, AllocinfoSite } from '../model/proc_files.js';
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';

const VERSION_PREFIX = 'allocinfo - version:';
const MAX_WARNINGS = 50;
const IEC: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50, E: 2 ** 60 };

export function parseAllocinfo(text: string): Parsed<Allocinfo> {
  const value: Allocinfo = { sites: [] };
  const warnings: ParseWarning[] = [];
  let humanLine = 0;
  let bad = 0;
  const push = (w: ParseWarning): void => {
    if (bad++ < MAX_WARNINGS) warnings.push(w);
  };
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = (lines[li] ?? '').trim();
    if (line === '') continue;
    const lineNo = li + 1;
    if (line.startsWith(VERSION_PREFIX)) {
      value.version = line.slice(VERSION_PREFIX.length).trim();
      continue;
    }
    // "#     <size>  <calls> <tag info>" (and "<size> <calls> <tag info>" of a patch that was discussed).
    if (line.startsWith('#') || line.startsWith('<')) continue;

    const tok = line.split(/\s+/);
    let inaccurate = false;
    const sizeTok = tok[0] ?? '';
    const callsTok = tok[1] ?? '';
    // A proposed 2.0 format marked inaccurate counters with a star ("1234* 5*"); the merged one prints "accurate:no".
    if (sizeTok.endsWith('*') || callsTok.endsWith('*')) inaccurate = true;
    const size = number(sizeTok.replace(/\*$/, ''));
    if (size === undefined) {
      push(warning(lineNo, line, 'not an allocinfo line (no size first): prose or a shell prompt?', 'info'));
      continue;
    }
    if (size.human && humanLine === 0) humanLine = lineNo;
    const calls = number(callsTok.replace(/\*$/, ''));
    if (calls === undefined) {
      push(warning(lineNo, line, `calls "${callsTok}" is not a number`));
      continue;
    }
    const where = tok[2] ?? '';
    const colon = where.lastIndexOf(':');
    const lineNum = colon > 0 ? Number(where.slice(colon + 1)) : NaN;
    if (!(colon > 0) || !Number.isInteger(lineNum)) {
      push(warning(lineNo, line, `expected "file:line" after the counts, got "${where}"`));
      continue;
    }
    let k = 3;
    let module: string | undefined;
    const modTok = tok[k] ?? '';
    if (modTok.startsWith('[') && modTok.endsWith(']') && modTok.length > 2) {
      module = modTok.slice(1, -1);
      k++;
    }
    const funcTok = tok[k] ?? '';
    if (!funcTok.startsWith('func:')) {
      push(warning(lineNo, line, `expected "func:NAME", got "${funcTok}"`));
      continue;
    }
    k++;
    const contextParts = tok.slice(k).filter((t) => t !== '');
    if (inaccurate && !contextParts.includes('accurate:no')) contextParts.push('accurate:no');
    const site: AllocinfoSite = {
      bytes: size.value as Bytes,
      calls: calls.value,
      file: where.slice(0, colon),
      line: lineNum,
      func: funcTok.slice(5),
    };
    if (module !== undefined) site.module = module;
    if (contextParts.length > 0) site.context = contextParts.join(' ');
    value.sites.push(site);
  }
  if (bad > MAX_WARNINGS) warnings.push(warning(0, '', `${bad} lines not understood; only the first ${MAX_WARNINGS} are reported`));
  if (humanLine > 0) {
    warnings.push(warning(humanLine, (lines[humanLine - 1] ?? '').trim(), 'sizes are rounded human figures (numfmt?), not the raw byte counts the kernel prints: precision lost', 'info'));
  }
  if (value.sites.length === 0) warnings.push(warning(0, '', 'no allocation site line found', 'error'));
  return withFiniteValues({ value, warnings });
}

/** Raw integer (the kernel's form, possibly negative) or an IEC figure such as "2.8M", "2.80MiB", "13M". */
function number(t: string): { value: number; human: boolean } | undefined {
  if (/^-?\d+$/.test(t)) return { value: Number(t), human: false };
  const m = /^(-?\d+(?:\.\d+)?)([KMGTPE])(?:i?B)?$/.exec(t);
  if (!m) return undefined;
  return { value: Math.round(Number(m[1]) * (IEC[m[2] ?? ''] ?? 1)), human: true };
}
