/**
 * Quoting for POSIX sh (dash, busybox ash, bash): single quotes keep every byte literal, and a single quote
 * itself is closed, escaped and reopened ('it'\''s'). Nothing from a user or a target (a path, a process name)
 * is ever pasted into a command any other way.
 */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new TypeError('a NUL byte cannot be passed through a shell command');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
