/**
 * Every option value of every command is checked here, at parse time, with one syntax per idea: a count, a
 * size ("64K"), a duration ("30s"), a port, a pid, a choice. A bad value stops the command before it opens a
 * database or a target, with one line naming the flag and an example (exit 2 through index.ts).
 *
 * Each function returns a commander argument parser: `.option('--top <n>', 'rows', count('--top'), 10)`.
 */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from './durations.js';
import { InputError } from '../model/errors.js';

type Parser<T> = (text: string) => T;

/** InputError (the library's checks) becomes commander's own argument error, so both read the same. */
export function checked<T>(parse: Parser<T>): Parser<T> {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      if (err instanceof InputError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

/** A whole number >= min (1 unless said): rows, frames, scans. */
export function count(flag: string, min = 1): Parser<number> {
  return checked((text) => {
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InputError(`${flag} must be a whole number >= ${min}, not "${text}"`);
    return n;
  });
}

/** A duration: "5s", "10m", "24h", "7d", "500ms" or a bare number of seconds -> seconds. */
export function duration(flag: string, options: { allowZero?: boolean } = {}): Parser<number> {
  return checked((text) => parseDuration(text, flag, options));
}

/** "65536", "64K", "64KiB", "1M", "2g" -> bytes: the one size syntax of every flag. */
export function parseByteSize(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text);
  if (!m) throw new InputError(`${flag} "${text}" is not a size (examples: 0, 4096, 64K, 1M)`);
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

export function size(flag: string): Parser<number> {
  return checked((text) => parseByteSize(text, flag));
}

/** A TCP port, 0 meaning "any free one". */
export function port(flag: string): Parser<number> {
  return checked((text) => {
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InputError(`${flag} must be a port number 0-65535, not "${text}"`);
    return n;
  });
}

/** One of a fixed set of words. */
export function choice<T extends string>(flag: string, words: readonly T[]): Parser<T> {
  return checked((text) => {
    if (!(words as readonly string[]).includes(text)) throw new InputError(`${flag} must be one of ${words.join(', ')}, not "${text}"`);
    return text as T;
  });
}

/** A process id (whether it exists is the target's question, asked when the target is open). */
export function pid(flag: string): Parser<number> {
  return count(flag, 1);
}

/** Repeatable flags: each value checked, all kept in order. */
export function repeated<T>(parse: Parser<T>): (text: string, previous: T[]) => T[] {
  return (text, previous) => [...previous, parse(text)];
}

/** --fail-on: the one spelling of "make the exit code say a leak was found" in every command. */
export const FAIL_ON = ['leak', 'inconclusive'] as const;
export type FailOn = (typeof FAIL_ON)[number];
