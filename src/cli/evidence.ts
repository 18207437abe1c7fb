import { readFileSync } from 'node:fs';
import { count } from './option_types.js';
import { checkOutputPath, writeOutputFile } from './output_files.js';
import { terminalWidth } from '../report/table.js';
import { basename, dirname, resolve } from 'node:path';
import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import type { AllocationSite } from '../model/allocation_site.js';
import type { ParseWarning } from '../model/parsed.js';

/** Evidence files are read whole; bigger ones are not leak reports. */
const MAX_EVIDENCE_BYTES = 256 * 1024 * 1024;

interface EvidenceOptions {
  format: string;
  symbolize?: boolean;
  maps?: string;
  sysroot?: string;
  debugDir: string[];
  toolchain?: string;
  programDir?: string;
  kallsyms?: string;
  modules?: string;
  vmlinux?: string;
  diff?: string;
  json?: boolean;
  top: number;
  frames: number;
  html?: string;
  md?: string;
}

interface LoadedFile {
  file: string;
  format: string;
  sites: AllocationSite[];
  warnings: ParseWarning[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** "line 41" / "lsan:41" (the parsers' own origins) -> "asan.log:41", so merged sites say which file they came from. */
function withFileOrigin(site: AllocationSite, file: string): AllocationSite {
  const name = basename(file);
  const m = /^(?:line |[\w.-]+:)(\d+)$/.exec(site.origin ?? '');
  return { ...site, origin: m ? `${name}:${m[1]}` : site.origin !== undefined ? `${name}: ${site.origin}` : name };
}

async function loadEvidence(file: string, format: string): Promise<LoadedFile> {
  const { checkTextFile } = await import('../sources/input_file.js');
  const { EVIDENCE_PARSERS, detectEvidence } = await import('../parse/evidence/index.js');
  const { size } = checkTextFile(file);
  if (size > MAX_EVIDENCE_BYTES) throw new InputError(`Cannot read "${file}": ${size} bytes is larger than any leak report memsleuth reads whole`);
  const text = readFileSync(file, 'utf8');
  const known = Object.keys(EVIDENCE_PARSERS);
  const chosen = format === 'auto' ? detectEvidence(text) : format;
  if (chosen === undefined) {
    throw new InputError(`Cannot tell which leak tool wrote "${file}": no kmemleak, valgrind, sanitizer, dmalloc, mtrace, heaptrack, massif, bcc memleak, page_owner, SLUB or OOM report in it (use --format; known: ${known.join(', ')})`);
  }
  const parser = (EVIDENCE_PARSERS as Record<string, ((t: string) => { value: { sites: AllocationSite[] }; warnings: ParseWarning[] }) | undefined>)[chosen];
  if (parser === undefined) throw new InputError(`Unknown evidence format "${chosen}": known formats are auto, ${known.join(', ')}`);
  const parsed = parser(text);
  if (format !== 'auto' && parsed.value.sites.length === 0) {
    // A forced format that reads nothing must not pass for "no leaks".
    const looks = detectEvidence(text);
    if (looks !== chosen) {
      throw new InputError(`"${file}" is not a ${chosen} report${looks !== undefined ? ` (it reads as ${looks}: use --format ${looks}, or leave --format out)` : ': nothing in it reads as one (leave --format out to detect the tool)'}`);
    }
  }
  return { file, format: chosen, sites: parsed.value.sites.map((s) => withFileOrigin(s, file)), warnings: parsed.warnings };
}

function readOptional(path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`Cannot read ${what} "${path}": ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
  }
}

export const evidenceCommand: CommandSpec = {
  name: 'evidence',
  define(cmd, setExitCode) {
    cmd
      .description('read leak-tool reports (valgrind, LSan/ASan, kmemleak, SLUB alloc_calls, dmalloc, mtrace, heaptrack, massif, bcc memleak, page_owner, OOM), merge them by stack and rank the sites')
      .argument('<files...>', 'reports to read (the tool is detected from the content)')
      .option('--format <name>', 'skip detection: auto, valgrind, valgrind-xml, lsan, kmemleak, slub_alloc_calls, oom, ...', 'auto')
      .option('--symbolize', 'resolve addresses to function, file and line (addr2line; kallsyms for the kernel)')
      .option('--maps <file>', 'captured /proc/PID/maps of the process the user-space addresses come from (implies --symbolize)')
      .option('--sysroot <dir>', "target's root filesystem on this host, to find its binaries (implies --symbolize)")
      .option('--debug-dir <dir>', 'where separate debug files live (repeatable; default /usr/lib/debug)', collect, [])
      .option('--toolchain <prefix>', 'cross toolchain prefix for addr2line, e.g. arm-linux-gnueabihf- (implies --symbolize)')
      .option('--program-dir <dir>', 'directory a program named by a relative path ("./app" in an mtrace log) was started in (default: the report\'s directory, then the current one)')
      .option('--kallsyms <file>', "target's /proc/kallsyms, captured as root (implies --symbolize)")
      .option('--modules <file>', "target's /proc/modules, to place module addresses")
      .option('--vmlinux <file>', 'vmlinux with debug info, for kernel file:line (implies --symbolize)')
      .option('--diff <old>', 'an earlier report of the same kind: show new, grown, shrunk and gone sites')
      .option('--json', 'print sites, totals and problems as JSON')
      .option('--top <n>', 'sites shown', count('--top'), 10)
      .option('--frames <n>', 'frames shown per site', count('--frames'), 12)
      .option('--html <file>', 'write a self-contained HTML report (site table, stack tree) to FILE')
      .option('--md <file>', 'write a short Markdown summary for a bug tracker to FILE')
      .addHelpText('after', [
        '',
        'Examples:',
        '  valgrind --leak-check=full --xml=yes --xml-file=vg.xml ./app; memsleuth evidence vg.xml',
        '  ASAN_OPTIONS=symbolize=0 ./app 2> asan.log; memsleuth evidence asan.log --maps app.maps',
        '  memsleuth evidence kmemleak.txt --kallsyms kallsyms.txt --vmlinux vmlinux',
        '  memsleuth evidence after.txt --diff before.txt',
        '  memsleuth evidence vg.xml --html leaks.html --md leaks.md',
      ].join('\n'))
      .action(async (files: string[], opts: EvidenceOptions) => {
        const { top, frames } = opts;
        if (opts.html !== undefined) checkOutputPath(opts.html, '--html');
        if (opts.md !== undefined) checkOutputPath(opts.md, '--md');
        const { mergeSites, mergeReports, rankSites, diffSites } = await import('../model/allocation_sites.js');

        const loaded: LoadedFile[] = [];
        for (const f of files) loaded.push(await loadEvidence(f, opts.format));
        // "No leaks" only from reports that were understood: a file that yields no site and says why is an error
        // when nothing else was found; beside other sites its reason is listed under the file.
        const unread = loaded.filter((l) => l.sites.length === 0 && l.warnings.some((w) => w.severity === 'error'));
        if (unread.length > 0 && loaded.every((l) => l.sites.length === 0)) {
          throw new InputError(unread.map((l) => `Cannot read leaks from "${l.file}" (${l.format}): ${l.warnings.filter((w) => w.severity === 'error').map((w) => w.reason).join('; ')}`).join('\n'));
        }
        // Each file is one report: sites merge inside it (summed), then the same leak across reports is joined once.
        let reports = loaded.map((l) => mergeSites(l.sites));
        let sites = rankSites(mergeReports(reports));
        let old: AllocationSite[] | undefined;
        if (opts.diff !== undefined) old = rankSites(mergeSites((await loadEvidence(opts.diff, opts.format)).sites));

        const wantSymbols = opts.symbolize === true || opts.programDir !== undefined || opts.toolchain !== undefined || opts.maps !== undefined || opts.sysroot !== undefined || opts.kallsyms !== undefined || opts.vmlinux !== undefined;
        let problems: string[] = [];
        if (wantSymbols) {
          const { symbolizeSites } = await import('../symbolize/index.js');
          const so: Parameters<typeof symbolizeSites>[1] = {};
          const maps = readOptional(opts.maps, 'maps file');
          const kallsyms = readOptional(opts.kallsyms, 'kallsyms file');
          const modules = readOptional(opts.modules, 'modules file');
          if (maps !== undefined) so.maps = maps;
          if (kallsyms !== undefined) so.kallsyms = kallsyms;
          if (modules !== undefined) so.modules = modules;
          if (opts.sysroot !== undefined) so.sysroot = opts.sysroot;
          if (opts.debugDir.length > 0) so.debugDirs = opts.debugDir;
          if (opts.toolchain !== undefined) {
            const { findTool } = await import('../symbolize/index.js');
            if (findTool(`${opts.toolchain}addr2line`) === undefined && findTool(`${opts.toolchain}gdb`) === undefined) {
              throw new InputError(`--toolchain "${opts.toolchain}": neither "${opts.toolchain}addr2line" nor "${opts.toolchain}gdb" is on PATH (the prefix names the cross tools, e.g. arm-linux-gnueabihf- for arm-linux-gnueabihf-addr2line)`);
            }
            so.toolchainPrefix = opts.toolchain;
          }
          so.relativeTo = opts.programDir !== undefined ? [opts.programDir] : [...new Set([...files.map((f) => dirname(resolve(f))), process.cwd()])];
          if (opts.vmlinux !== undefined) {
            readOptional(opts.vmlinux, 'vmlinux');
            so.vmlinux = opts.vmlinux;
          }
          const { withProgress } = await import('../report/progress.js');
          const nFrames = reports.flat().reduce((n, s) => n + s.stack.length, 0);
          const flat = reports.flat();
          const r = await withProgress(`symbolizing ${nFrames} frames of ${flat.length} sites`, () => symbolizeSites(flat, so));
          // Symbol names fill in: sites that were apart only by address may now be one.
          let at = 0;
          reports = reports.map((rep) => mergeSites(r.sites.slice(at, (at += rep.length))));
          sites = rankSites(mergeReports(reports));
          problems = r.problems;
          if (old !== undefined) {
            // The old report is another run: its addresses need its own maps, so only symbol-based frames match.
            const rest = { ...so };
            delete rest.maps;
            old = rankSites(mergeSites((await symbolizeSites(old, rest)).sites));
          }
        }

        const { evidenceTotals, siteWhere, renderEvidence, renderSiteDiff } = await import('../report/evidence_text.js');
        const diff = old !== undefined ? diffSites(old, sites) : undefined;
        if (opts.html !== undefined) {
          const { renderHtmlReport } = await import('../report/html/render.js');
          const inputs = loaded.map((l) => ({ file: l.file, format: l.format, sites: l.sites.length, warnings: l.warnings.filter((w) => w.severity !== 'info').length }));
          writeOutputFile(opts.html, renderHtmlReport({ sites, evidence: { inputs, problems }, title: `memsleuth evidence: ${files.join(', ')}`, generatedAt: new Date().toISOString() }), '--html');
        }
        if (opts.md !== undefined) {
          const { renderMarkdown } = await import('../report/markdown.js');
          writeOutputFile(opts.md, renderMarkdown(undefined, sites), '--md');
        }
        if (opts.json === true) {
          const out = {
            files: loaded.map((l) => ({ file: l.file, format: l.format, sites: l.sites.length, warnings: l.warnings })),
            totals: evidenceTotals(sites),
            sites: sites.slice(0, top).map((s) => ({ where: siteWhere(s) ?? null, ...s })),
            moreSites: Math.max(0, sites.length - top),
            problems,
            ...(diff !== undefined ? { diff } : {}),
          };
          process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
        } else {
          const { colorsFor } = await import('../report/color.js');
          const c = colorsFor(process.stdout);
          const width = terminalWidth();
          const view = {
            inputs: loaded.map((l) => ({ file: l.file, format: l.format, sites: l.sites.length, warnings: l.warnings })),
            sites,
            problems,
            symbolized: wantSymbols,
          };
          const ro: Parameters<typeof renderEvidence>[2] = { top, frames };
          ro.width = width;
          process.stdout.write(`${renderEvidence(view, c, ro)}\n`);
          if (diff !== undefined && opts.diff !== undefined) {
            process.stdout.write(`\n${renderSiteDiff(diff, { a: opts.diff, b: files.join(', ') }, c, { top, frames: Math.min(frames, 6) })}\n`);
          }
        }
        setExitCode(0);
      });
  },
};
