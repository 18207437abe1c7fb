import { readFileSync } from 'node:fs';
import type { CommandSpec } from './command.js';
import { InputError } from '../model/errors.js';
import type { Parsed } from '../model/parsed.js';

/** Whole-file parsing holds the text in memory; bigger inputs are capture logs, which `ingest` streams. */
const MAX_PARSE_BYTES = 256 * 1024 * 1024;

/** A one-line description of what a parser returned: counts of records, not the records. */
function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(v)) parts.push(`${v.length} ${k}`);
    else if (v && typeof v === 'object') parts.push(`${Object.keys(v).length} ${k}`);
    else if (v !== undefined) parts.push(`${k} ${String(v)}`);
  }
  return parts.join(', ');
}

export const parseCommand: CommandSpec = {
  name: 'parse',
  define(cmd, setExitCode) {
    cmd
      .description('parse memory files and leak-tool reports; print what was understood and warnings with line numbers')
      .argument('<files...>', 'files to parse (format detected from the content)')
      .option('--format <name>', 'skip detection and use this parser')
      .option('--json', 'print the parsed values as JSON')
      .addHelpText('after', '\nExample:\n  cat /proc/slabinfo > s.txt; memsleuth parse s.txt --json')
      .action(async (files: string[], opts: { format?: string; json?: boolean }) => {
        const { checkTextFile } = await import('../sources/input_file.js');
        const { PARSERS, detect } = await import('../parse/index.js');
        const { EVIDENCE_PARSERS, detectEvidence } = await import('../parse/evidence/index.js');
        const registry: Record<string, (text: string) => Parsed<unknown>> = { ...PARSERS, ...EVIDENCE_PARSERS };
        const results: { file: string; format: string; value: unknown; warnings: Parsed<unknown>['warnings'] }[] = [];
        for (const file of files) {
          const { size } = checkTextFile(file);
          if (size > MAX_PARSE_BYTES) throw new InputError(`Cannot parse "${file}": ${size} bytes is more than parse holds in memory; use "memsleuth ingest", which streams`);
          const text = readFileSync(file, 'utf8');
          const format = opts.format ?? detect(text) ?? detectEvidence(text);
          if (!format) throw new InputError(`Cannot parse "${file}": its format is not one memsleuth knows (use --format; known: ${Object.keys(registry).join(', ')})`);
          const parser = registry[format];
          if (!parser) throw new InputError(`Unknown format "${format}": known formats are ${Object.keys(registry).join(', ')}`);
          const parsed = parser(text);
          results.push({ file, format, value: parsed.value, warnings: parsed.warnings });
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 1)}\n`);
        } else {
          const { terminalSafe } = await import('../report/escape.js');
          for (const r of results) {
            process.stdout.write(`${r.file}: ${r.format}: ${describe(r.value)}; ${r.warnings.length} warnings\n`);
            for (const w of r.warnings) process.stdout.write(`  line ${w.line}: ${w.severity}: ${w.reason}${w.text ? `: ${terminalSafe(w.text)}` : ''}\n`);
          }
        }
        setExitCode(0);
      });
  },
};
