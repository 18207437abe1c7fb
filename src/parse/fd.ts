// src/parse/fd.ts
/**
 * Reads the entries of /proc/<pid>/fd (Documentation/filesystems/proc.rst, "/proc/<pid>/fd") as a capture loop
 * prints them: one symlink per open descriptor. Two forms:
 *
 *   ls -l /proc/PID/fd                                     ls /proc/PID/fd | wc -l
 *   total 0                                                17
 *   lr-x------ 1 root root 64 Dec  7 04:46 0 -> /dev/null
 *   lrwx------    1 root     root    64 Dec  7 04:46 3 -> socket:[56560463]     (busybox pads its columns)
 *   l-wx------    1 root     root    64 Dec  7 04:46 4                          (busybox: link unreadable)
 *
 * The value is the number of descriptors: what grows when a process leaks them.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning } from '../model/parsed.js';

export interface FdListing {
  count: number;
}

/** One descriptor's line of `ls -l /proc/PID/fd`: a symlink whose name is a number. */
export const FD_LINK_RE = /^l[-rwxsStT]{9}\S?\s+\d+\s+\S+\s+\S+\s+\d+\s.*?\s\d+(?: -> .*)?$/;
const TOTAL_RE = /^total\s+\d+$/;

export function parseFd(text: string): Parsed<FdListing> {
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  let count = 0;
  let bare: number | undefined;
  let listing = false;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (/^\d+$/.test(line) && bare === undefined && !listing && count === 0) {
      bare = Number(line);
      continue;
    }
    if (TOTAL_RE.test(line)) continue;
    if (FD_LINK_RE.test(line)) {
      listing = true;
      count++;
      continue;
    }
    warnings.push(warning(i + 1, line, bare !== undefined ? 'a count of descriptors is one number; extra line ignored' : 'not a line of `ls -l /proc/PID/fd`; skipped'));
  }
  if (bare !== undefined && listing) {
    warnings.push(warning(0, '', 'both a count and a listing of descriptors; the listing is kept'));
    return { value: { count }, warnings };
  }
  if (bare !== undefined) return { value: { count: bare }, warnings };
  if (!listing && !lines.some((l) => TOTAL_RE.test(l.trim()))) warnings.push(warning(0, '', 'no descriptor found', 'error'));
  return { value: { count }, warnings };
}
