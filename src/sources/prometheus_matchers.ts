/**
 * Label matchers as PromQL writes them (`job="cameras", site=~"eu-.*"`), read into name/operator/value for
 * remote read, which takes matchers, not PromQL. Values are PromQL double-quoted strings: Go escapes.
 */
import { InputError } from '../model/errors.js';

export interface Matcher { type: number; name: string; value: string }

const OPS: Record<string, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };
const ESC: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

/** Go string escapes: \n, \t, \\, \", \xHH, \uHHHH, \UHHHHHHHH, octal \NNN. */
export function unquote(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length > 1 && (e[0] === 'x' || e[0] === 'u' || e[0] === 'U')) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ESC[e] ?? e;
  });
}

/** The matchers of a bare matcher list (what parseSelector returns); '' is none. */
export function parseMatchers(body: string): Matcher[] {
  const out: Matcher[] = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) {
      if (body.slice(pos).trim() === '') break;
      throw new InputError(`Cannot read --match "{${body}}": "${body.slice(pos)}" is not a label matcher like job="cameras"`);
    }
    out.push({ type: OPS[m[2] ?? '='] ?? 0, name: m[1] ?? '', value: unquote(m[3] ?? '') });
    pos = re.lastIndex;
  }
  return out;
}
