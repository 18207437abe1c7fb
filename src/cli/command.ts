/**
 * The shape of one CLI command: flags -> library call -> exit code, nothing else (STYLE.md, rule 13).
 * Each command file exports a `CommandSpec`; index.ts lists them explicitly. Heavy modules are imported
 * inside `run`, so `memsleuth --help` stays instant.
 */
import type { Command } from 'commander';

export interface CommandSpec {
  name: string;
  /** Adds arguments, options, help text with an example, and an action that returns the exit code. */
  define(cmd: Command, setExitCode: (code: number) => void): void;
}

export const EXIT_OK = 0;
/** Only where the user asked to fail on leaks (--fail-on). */
export const EXIT_LEAK = 1;
export const EXIT_USAGE = 2;
export const EXIT_BUG = 70;
