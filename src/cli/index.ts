/**
 * memsleuth's command line: an explicit registry of commands. Errors become one-line messages and exit codes:
 * InputError/TargetError -> 2, anything else -> 70 with the stack only under --debug.
 */
import { Command, CommanderError } from 'commander';
import { BugError, InputError, TargetError } from '../model/errors.js';
import { EXIT_BUG, EXIT_USAGE, type CommandSpec } from './command.js';
import { snapshotCommand } from './snapshot.js';
import { psCommand } from './ps.js';
import { parseCommand } from './parse.js';
import { diffCommand } from './diff.js';
import { ingestCommand } from './ingest.js';
import { evidenceCommand } from './evidence.js';
import { kmemleakCommand } from './kmemleak.js';
import { slabCallsCommand } from './slab_calls.js';
import { oomCommand } from './oom.js';
import { analyzeCommand } from './analyze.js';
import { recordCommand } from './record.js';
import { watchCommand } from './watch.js';
import { scriptCommand } from './script.js';
import { exportCommand } from './export.js';
import { serveCommand } from './serve.js';
import { traceCommand } from './trace.js';
import { runCommand } from './run.js';

const COMMANDS: CommandSpec[] = [
  snapshotCommand, psCommand, parseCommand, diffCommand, ingestCommand,
  recordCommand, watchCommand, scriptCommand, exportCommand, serveCommand,
  analyzeCommand, evidenceCommand, traceCommand, kmemleakCommand, slabCallsCommand, oomCommand, runCommand,
];

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  let exitCode = 0;
  const program = new Command('memsleuth')
    .description('Find Linux memory leaks and name the culprit')
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  for (const spec of COMMANDS) spec.define(program.command(spec.name), (code) => { exitCode = code; });
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
