/**
 * The one result type of every parser: what was understood, plus what was not.
 * Parsers never throw on input; they degrade, count and report (STYLE.md, rule 2).
 */

export type WarningSeverity = 'info' | 'data-loss' | 'error';

export interface ParseWarning {
  /** 1-based line number in the text given to the parser (0 when the warning is about the whole text). */
  line: number;
  /** The offending line, cut to a readable length. */
  text: string;
  reason: string;
  severity: WarningSeverity;
}

export interface Parsed<T> {
  value: T;
  warnings: ParseWarning[];
}

const MAX_WARNING_TEXT = 160;

export function warning(line: number, text: string, reason: string, severity: WarningSeverity = 'data-loss'): ParseWarning {
  const cut = text.length > MAX_WARNING_TEXT ? `${text.slice(0, MAX_WARNING_TEXT)}...` : text;
  return { line, text: cut, reason, severity };
}
