/**
 * Every string from a target (process names, paths, cache names) passes through here before it is shown.
 * A process may name itself anything, including escape sequences that would rewrite the terminal.
 */

/** Replaces control characters (C0, DEL, C1) with a visible \xNN, so terminal output cannot be hijacked. */
export function terminalSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Markdown table cells: pipes and backticks would break the table or open code spans. */
export function markdownSafe(s: string): string {
  return terminalSafe(s).replace(/[|`*_<>[\]]/g, (c) => `\\${c}`);
}
