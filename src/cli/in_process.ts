/**
 * Runs one command's action inside this process and keeps what it writes to stdout as text: tests of a command's
 * JSON output without a child process. The test runner talks to its parent through stdout in binary frames, so
 * only string writes are kept; the rest pass through.
 */
import { Command } from 'commander';
import type { CommandSpec } from './command.js';

export async function runInProcess(spec: CommandSpec, args: string[]): Promise<{ code: number; out: string }> {
  const program = new Command('memsleuth').exitOverride();
  let code = -1;
  spec.define(program.command(spec.name), (c) => { code = c; });
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]): boolean => {
    if (typeof s === 'string') { out += s; return true; }
    return (write as (c: Uint8Array, ...r: unknown[]) => boolean)(s, ...rest);
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'memsleuth', spec.name, ...args]);
  } finally {
    process.stdout.write = write;
  }
  return { code, out };
}
