/**
 * Checks a file named on the command line before anyone reads it, so bad input gets one clear line
 * (missing, a directory, empty, binary) instead of a stack trace.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from '../model/errors.js';

const SNIFF_BYTES = 64 * 1024;

export function checkTextFile(path: string): { size: number } {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`Cannot read "${path}": no such file`);
    if (code === 'EACCES') throw new InputError(`Cannot read "${path}": permission denied`);
    throw new InputError(`Cannot read "${path}": ${(err as Error).message}`);
  }
  if (st.isDirectory()) throw new InputError(`Cannot read "${path}": it is a directory, not a file`);
  if (st.size === 0 && !path.startsWith('/proc/') && !path.startsWith('/sys/')) throw new InputError(`Cannot read "${path}": the file is empty`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(SNIFF_BYTES, Math.max(st.size, 1)));
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (looksBinary(buf.subarray(0, n))) {
      throw new InputError(`Cannot read "${path}": it looks like binary data, not text (NUL bytes or mostly non-printable in the first ${n} bytes)`);
    }
  } finally {
    closeSync(fd);
  }
  return { size: st.size };
}

/** NUL bytes, or more than 10% control bytes that text never has, mean binary. UTF-8 (Chinese notes) is text. */
export function looksBinary(buf: Uint8Array): boolean {
  let control = 0;
  for (const b of buf) {
    if (b === 0) return true;
    if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 27 && b !== 8 && b !== 12) control++;
  }
  return buf.length > 0 && control / buf.length > 0.1;
}
