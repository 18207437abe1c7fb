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

/**
 * The last step of every parser: no NaN or Infinity leaves it. A number of 309+ digits reads as Infinity and a
 * garbled one as NaN; such a number takes its record with it (the nearest enclosing element of an array: a site,
 * a zone, a mapping, a pid) or, outside any array, its own key; one data-loss warning says how many and where.
 * The value is changed in place and the same result returned.
 */
export function withFiniteValues<T>(parsed: Parsed<T>): Parsed<T> {
  let count = 0;
  let first: string | undefined;
  const keys: (string | number)[] = []; // the path to the node being looked at, spelt out only for the first find
  const seen = new Map<object, boolean>(); // a record shared by two arrays goes from both
  /** True when the subtree holds a non-finite number its parent must remove (the number, or a record). */
  const bad = (node: unknown, inRecord: boolean): boolean => {
    if (typeof node === 'number') {
      if (node - node === 0) return false; // finite (NaN and ±Infinity give NaN)
      count++;
      first ??= keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
      return true;
    }
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return false;
    const known = seen.get(node);
    if (known !== undefined) return known;
    seen.set(node, false);
    if (Array.isArray(node)) {
      let w = 0;
      for (let i = 0; i < node.length; i++) {
        keys.push(i);
        const drop = bad(node[i], true);
        keys.pop();
        if (!drop) node[w++] = node[i];
      }
      node.length = w;
      return false;
    }
    let holds = false;
    if (node instanceof Map) {
      for (const [k, v] of node) {
        if (typeof v !== 'object' && typeof v !== 'number') continue;
        keys.push(String(k));
        const drop = bad(v, inRecord);
        keys.pop();
        if (drop && inRecord) holds = true;
        else if (drop) node.delete(k);
      }
    } else {
      for (const k in node) {
        const v = (node as Record<string, unknown>)[k];
        if (typeof v !== 'object' && typeof v !== 'number') continue;
        keys.push(k);
        const drop = bad(v, inRecord);
        keys.pop();
        if (drop && inRecord) holds = true;
        else if (drop) delete (node as Record<string, unknown>)[k];
      }
    }
    seen.set(node, holds);
    return holds;
  };
  if (bad(parsed.value, false)) (parsed as { value: unknown }).value = undefined;
  if (first === undefined) return parsed;
  const more = count > 1 ? ` and ${count - 1} more` : '';
  // Line 0: a record's own "line" may be a source line (a frame's), not one of this text.
  parsed.warnings.push(warning(0, '', `number out of range (309+ digits, or not a number) at value${first}${more}: dropped with the record holding it`, 'data-loss'));
  return parsed;
}
