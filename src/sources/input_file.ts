/**
 * Checks a file named on the command line before anyone reads it, so bad input gets one clear line
 * (missing, a directory, empty, binary) instead of a stack trace.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from '../model/errors.js';

const SNIFF_BYTES = 64 * 1024;

export interface TextFileCheck {
  size: number;
  /** NUL and other control bytes text never has, in the bytes sniffed: noise (a serial console at connect). */
  noiseBytes: number;
}

/**
 * One clear line for a file that cannot be read as text. A few NUL or control bytes (serial consoles emit them
 * at connect) are noise: the readers set them aside, and a warning on stderr says how many; only a file that is
 * mostly binary is refused.
 */
export function checkTextFile(path: string, warn: (line: string) => void = (l) => process.stderr.write(`memsleuth: warning: ${l}\n`)): TextFileCheck {
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
  let noiseBytes = 0;
  try {
    const buf = Buffer.allocUnsafe(Math.min(SNIFF_BYTES, Math.max(st.size, 1)));
    const n = readSync(fd, buf, 0, buf.length, 0);
    const sniffed = buf.subarray(0, n);
    if (looksBinary(sniffed)) {
      throw new InputError(`Cannot read "${path}": it looks like binary data, not text (mostly NUL or non-printable bytes in the first ${n} bytes)`);
    }
    noiseBytes = binaryBytes(sniffed);
    if (noiseBytes > 0) warn(`"${path}": ${noiseBytes} NUL or control byte${noiseBytes > 1 ? 's' : ''} in the first ${n} bytes (serial line noise?) set aside`);
  } finally {
    closeSync(fd);
  }
  return { size: st.size, noiseBytes };
}

/** Bytes text never has: NUL and the C0 controls other than tab, LF, CR, ESC, backspace and form feed. */
function binaryBytes(buf: Uint8Array): number {
  let n = 0;
  for (const b of buf) if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 27 && b !== 8 && b !== 12) n++;
  return n;
}

/** Bytes that are not part of a well-formed UTF-8 sequence (Latin-1 notes have a few; random data half its high bytes). */
function badUtf8Bytes(buf: Uint8Array): number {
  let bad = 0;
  for (let i = 0; i < buf.length;) {
    const b = buf[i] as number;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) { bad++; i++; continue; }
    let k = 1;
    while (k <= need && i + k < buf.length && ((buf[i + k] as number) & 0xc0) === 0x80) k++;
    if (k <= need && i + k < buf.length) { bad++; i++; continue; } // cut short (the sniffed window's end is forgiven)
    i += k;
  }
  return bad;
}

/**
 * Mostly binary: over 30% of the bytes are ones text never has (NUL, stray controls) or are not UTF-8. Random
 * data is ~45%; a serial capture with a burst of NULs at connect, Latin-1 or Chinese notes are far below.
 */
export function looksBinary(buf: Uint8Array): boolean {
  return buf.length > 0 && (binaryBytes(buf) + badUtf8Bytes(buf)) / buf.length > 0.3;
}
