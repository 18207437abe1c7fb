/**
 * memsleuth's command line: an explicit registry of commands. Errors become one-line messages and exit codes:
 * InputError/TargetError -> 2, anything else -> 70 with the stack only under --debug.
 */
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
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
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

function exitCodeFor(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version end through here with exit code 0.
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (err instanceof InputError || err instanceof TargetError) {
    process.stderr.write(`memsleuth: ${err.message}\n`);
    if (debug) process.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT_USAGE;
  }
  const message = err instanceof Error ? err.message : String(err);
  const kind = err instanceof BugError ? 'internal error' : 'unexpected error';
  process.stderr.write(`memsleuth: ${kind}: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  return EXIT_BUG;
}
