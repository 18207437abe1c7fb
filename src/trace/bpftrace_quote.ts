/**
 * Quoting for bpftrace program text: the one way a string from a user or a target (a library path, a cache name,
 * a symbol) enters a program memsleuth writes. Strings become double-quoted literals with `"` escaped; bytes that
 * bpftrace 0.17 cannot carry in a literal are refused with a TargetError naming the way out: a backslash (in an
 * attach point it drops the next byte's meaning), newline, NUL and other controls (they end or corrupt the
 * program), and in an attach point's file a ':' (bpftrace splits "file:symbol" again when it resolves symbols).
 */
import { TargetError } from '../model/errors.js';

export function bpftraceString(s: string, what: string, where: 'literal' | 'attach-point' = 'literal'): string {
  const bad = where === 'attach-point' ? /[\\:\x00-\x1f\x7f]/ : /[\\\x00-\x1f\x7f]/;
  if (bad.test(s)) {
    throw new TargetError(`Cannot put ${what} ${JSON.stringify(s)} into a bpftrace program: it holds a backslash, ${where === 'attach-point' ? 'a colon, ' : ''}or a control character (link or copy it to a plain path and name that one)`, 'bpftrace-quote');
  }
  return `"${s.replace(/"/g, '\\"')}"`;
}

/** A symbol name in an attach point (`uprobe:"LIB":SYMBOL`): C identifiers only, as allocator entry points are. */
export function bpftraceSymbol(s: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new TargetError(`Cannot probe symbol ${JSON.stringify(s)} with bpftrace: not a C identifier`, 'bpftrace-quote');
  return s;
}
