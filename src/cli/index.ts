/**
 * memsleuth's command line: an explicit registry of commands. Errors become one-line messages and exit codes:
 * InputError/TargetError -> 2, anything else -> 70 with the stack only under --debug.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { BugError, InputError, TargetError } from '../model/errors.js';
import { EXIT_BUG, EXIT_USAGE, type CommandSpec } from './command.js';
/**
 * The registry, in the order `--help` lists it. Each command module is loaded only when it is the one being run
 * (all of them for --help or an unknown word), so `memsleuth ps` does not pay for the other sixteen.
 */
const COMMANDS: { name: string; load: () => Promise<CommandSpec> }[] = [
  { name: 'snapshot', load: async () => (await import('./snapshot.js')).snapshotCommand },
  { name: 'ps', load: async () => (await import('./ps.js')).psCommand },
  { name: 'parse', load: async () => (await import('./parse.js')).parseCommand },
  { name: 'diff', load: async () => (await import('./diff.js')).diffCommand },
  { name: 'ingest', load: async () => (await import('./ingest.js')).ingestCommand },
  { name: 'record', load: async () => (await import('./record.js')).recordCommand },
  { name: 'watch', load: async () => (await import('./watch.js')).watchCommand },
  { name: 'script', load: async () => (await import('./script.js')).scriptCommand },
  { name: 'export', load: async () => (await import('./export.js')).exportCommand },
  { name: 'serve', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'exporter', load: async () => (await import('./exporter.js')).exporterCommand },
  { name: 'analyze', load: async () => (await import('./analyze.js')).analyzeCommand },
  { name: 'evidence', load: async () => (await import('./evidence.js')).evidenceCommand },
  { name: 'trace', load: async () => (await import('./trace.js')).traceCommand },
  { name: 'kmemleak', load: async () => (await import('./kmemleak.js')).kmemleakCommand },
  { name: 'slab-calls', load: async () => (await import('./slab_calls.js')).slabCallsCommand },
  { name: 'oom', load: async () => (await import('./oom.js')).oomCommand },
  { name: 'run', load: async () => (await import('./run.js')).runCommand },
];

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  // `memsleuth ps | head` closes the pipe early: that is the reader being done, not an error worth a stack.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err; });
  }
  let exitCode = 0;
  const program = new Command('memsleuth')
    .description('Find Linux memory leaks and name the culprit')
    .version(packageVersion(), '-V, --version', 'print the version of memsleuth')
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(oneLine(text)) });
  const named = COMMANDS.find((c) => c.name === argv[2]);
  const specs = await Promise.all((named ? [named] : COMMANDS).map((c) => c.load()));
  for (const spec of specs) spec.define(program.command(spec.name), (code) => { exitCode = code; });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitCode = exitCodeFor(err, debug);
  }
  process.exitCode = exitCode;
}

/** Commander's usage errors in memsleuth's one-line style: "memsleuth: --top must be ... (see --help)". */
function oneLine(text: string): string {
  const body = text.trim().replace(/^error: /, '')
    .replace(/^option '[^']*' argument '[^']*' is invalid\. /, '');
  return `memsleuth: ${body} (see --help)\n`;
}

/** The version in package.json, read when asked (the CLI ships with its package.json: bin/ and dist/ beside it). */
function packageVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function exitCodeFor(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version end through here with exit code 0.
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  const userError = err instanceof InputError || err instanceof TargetError ? err : asUserError(err);
  if (userError) {
    process.stderr.write(`memsleuth: ${userError.message}\n`);
    if (debug) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return EXIT_USAGE;
  }
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof BugError ? 'internal error' : 'unexpected error';
  process.stderr.write(`memsleuth: ${kind}: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  return EXIT_BUG;
}

/**
 * Errors that are the input's fault though no check of ours threw them: a database damaged after it was opened
 * (truncated while being read), a file or folder the user named that the system refuses. One line, exit 2.
 */
function asUserError(err: unknown): Error | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException;
  if (typeof e.code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(e.code)) {
    return new InputError(`the database is damaged (truncated or overwritten) or not a memsleuth database: ${e.message}`);
  }
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or folder', EACCES: 'permission denied', EPERM: 'not permitted', EISDIR: 'is a folder',
    ENOTDIR: 'a part of the path is not a folder', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
  };
  const reason = typeof e.code === 'string' ? reasons[e.code] : undefined;
  if (reason !== undefined && typeof e.path === 'string') return new InputError(`${e.path}: ${reason}`);
  return undefined;
}
