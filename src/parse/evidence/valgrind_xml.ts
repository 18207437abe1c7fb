// src/parse/evidence/valgrind_xml.ts
/**
 * Parses valgrind memcheck `--xml=yes` output, protocol versions 4 and 6
 * (valgrind docs/internals/xml-output-protocol4.txt; protocol 6 only adds elements we do not need).
 *
 *   <error>
 *     <kind>Leak_DefinitelyLost</kind>
 *     <xwhat>
 *       <text>147 (16 direct, 131 indirect) bytes in 1 blocks are definitely lost in loss record 6 of 6</text>
 *       <leakedbytes>147</leakedbytes>
 *     ...
 *       <fn>CppUnit::TestCaller&lt;DBusAPITest&gt;::setUp()</fn>     <- entities decoded
 *   starting ...                                                    <- program output mixed into the XML file
 *
 * A small tolerant tag scanner, one pass, linear in the input: unknown elements are skipped, unclosed ones at the
 * end of a file cut by a fatal signal are closed with a warning. Non-leak errors (InvalidRead, UninitCondition,
 * SyscallParam, MismatchedFree, ...) are counted and kept in `otherErrors`, never as sites.
 */
import type { AllocationSite, Frame, LeakKind } from '../../model/allocation_site.js';
import type { Parsed, ParseWarning } from '../../model/parsed.js';
import { warning, withFiniteValues } from '../../model/parsed.js';
import type { Bytes } from '../../model/units.js';
import { bytes } from '../../model/units.js';

/** One element of the scanned document. */
export interface XmlElement {
  name: string;
  line: number;
  children: XmlElement[];
  /** Decoded character data directly inside this element, concatenated. */
  text: string;
}

export interface ValgrindXmlOtherError {
  kind: string;
  what?: string;
  unique?: string;
  /** From <errorcounts>: how many times this error happened. */
  count?: number;
  line: number;
  stack: Frame[];
}

export interface ValgrindXmlLeak {
  line: number;
  site: AllocationSite;
  unique?: string;
  text?: string;
  /** <leakedbytes>: includes the indirect bytes of a "(D direct, I indirect)" record. */
  leakedBytes?: Bytes;
  indirectBytes?: Bytes;
}

export interface ValgrindXml {
  sites: AllocationSite[];
  leaks: ValgrindXmlLeak[];
  otherErrors: ValgrindXmlOtherError[];
  summary: {
    protocolVersion?: number;
    tool?: string;
    pid?: number;
    ppid?: number;
    command?: string;
    preamble: string[];
    /** Last <status><state>: RUNNING, FINISHED. */
    state?: string;
    errorCountsByKind: Record<string, number>;
    suppressions: { name: string; count: number }[];
    fatalSignal?: { signo?: number; signame?: string; stack: Frame[] };
    /** The document ended before </valgrindoutput>. */
    truncated: boolean;
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXmlEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return safeCodePoint(parseInt(e.slice(2), 16), all);
    if (e.startsWith('#')) return safeCodePoint(parseInt(e.slice(1), 10), all);
    return ENTITIES[e] ?? all;
  });
}

function safeCodePoint(n: number, fallback: string): string {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : fallback;
}

/**
 * Scans tags into a tree. Tolerates junk text between elements, unclosed elements (closed at EOF) and stray
 * closing tags (ignored, or closing the nearest open element of that name). Attributes are ignored: valgrind
 * emits none.
 */
export function scanXml(text: string): { root: XmlElement; unclosed: XmlElement[]; stray: { name: string; line: number }[] } {
  const root: XmlElement = { name: '#document', line: 0, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const stray: { name: string; line: number }[] = [];
  let pos = 0;
  let line = 1;
  // The next line feed at or after the last position counted, kept between calls: searching again from each tag
  // would rescan the rest of a file without line feeds (CR-only, one line) at every tag, quadratic.
  let nextLf = text.indexOf('\n');
  const advanceLine = (to: number): void => {
    while (nextLf >= 0 && nextLf < to) {
      line++;
      nextLf = text.indexOf('\n', nextLf + 1);
    }
  };
  let nextGt = -2; // the next '>' at or after a '<', kept for the same reason ('<<<<...>' would rescan)
  const len = text.length;
  while (pos < len) {
    const lt = text.indexOf('<', pos);
    const top = stack[stack.length - 1] ?? root;
    if (lt < 0) {
      if (top !== root) top.text += decodeXmlEntities(text.slice(pos));
      break;
    }
    if (lt > pos && top !== root) top.text += decodeXmlEntities(text.slice(pos, lt));
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      pos = end < 0 ? len : end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (top !== root) top.text += text.slice(lt + 9, end < 0 ? len : end);
      pos = end < 0 ? len : end + 3;
      continue;
    }
    if (nextGt !== -1 && nextGt <= lt) nextGt = text.indexOf('>', lt + 1);
    const gt = nextGt;
    if (gt < 0) break; // a tag cut by the end of the file
    const innerLt = text.indexOf('<', lt + 1);
    if (innerLt >= 0 && innerLt < gt) {
      // "<" in junk text with another "<" before any ">": text up to that one.
      if (top !== root) top.text += decodeXmlEntities(text.slice(lt, innerLt));
      pos = innerLt;
      continue;
    }
    const inner = text.slice(lt + 1, gt);
    pos = gt + 1;
    if (inner.startsWith('?') || inner.startsWith('!')) continue;
    advanceLine(lt);
    const closing = inner.startsWith('/');
    const selfClosing = !closing && inner.endsWith('/');
    const name = (closing ? inner.slice(1) : selfClosing ? inner.slice(0, -1) : inner).trim().split(/\s/)[0] ?? '';
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) {
      // "<" in junk text (program output): keep it as text
      if (top !== root) top.text += decodeXmlEntities(text.slice(lt, pos));
      continue;
    }
    if (closing) {
      let k = stack.length - 1;
      while (k > 0 && stack[k]?.name !== name) k--;
      if (k === 0) stray.push({ name, line });
      else stack.length = k;
      continue;
    }
    const el: XmlElement = { name, line, children: [], text: '' };
    top.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  return { root, unclosed: stack.slice(1), stray };
}

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}
function childText(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}
/** A number unless valgrind's test filter replaced it with "...". */
function int(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  return Number(s);
}
function known(s: string | undefined): s is string {
  return s !== undefined && s !== '' && s !== '...' && !/^0x\.+$/.test(s);
}

export function xmlFrame(el: XmlElement): Frame {
  const f: Frame = {};
  const ip = childText(el, 'ip');
  const obj = childText(el, 'obj');
  const fn = childText(el, 'fn');
  const dir = childText(el, 'dir');
  const file = childText(el, 'file');
  const line = int(childText(el, 'line'));
  if (known(ip)) f.address = ip;
  if (known(obj)) f.module = obj;
  if (known(fn) && fn !== '???') f.symbol = fn;
  if (known(file)) f.file = known(dir) ? `${dir}/${file}` : file;
  if (line !== undefined) f.line = line;
  return f;
}

function stackOf(el: XmlElement | undefined): Frame[] {
  const s = child(el, 'stack');
  return s ? s.children.filter((c) => c.name === 'frame').map(xmlFrame) : [];
}

const LEAK_KINDS: Record<string, LeakKind> = {
  Leak_DefinitelyLost: 'definite',
  Leak_IndirectlyLost: 'indirect',
  Leak_PossiblyLost: 'possible',
  Leak_StillReachable: 'reachable',
};

export function parseValgrindXml(text: string, source = 'valgrind-xml'): Parsed<ValgrindXml> {
  const warnings: ParseWarning[] = [];
  const { root, unclosed, stray } = scanXml(text);
  const doc = child(root, 'valgrindoutput');
  const summary: ValgrindXml['summary'] = { preamble: [], errorCountsByKind: {}, suppressions: [], truncated: false };
  const leaks: ValgrindXmlLeak[] = [];
  const otherErrors: ValgrindXmlOtherError[] = [];
  if (!doc) {
    warnings.push(warning(0, text.slice(0, 80), 'no <valgrindoutput> element: not valgrind --xml=yes output', 'error'));
    return withFiniteValues({ value: { sites: [], leaks, otherErrors, summary }, warnings });
  }
  if (unclosed.length > 0) {
    summary.truncated = true;
    const innermost = unclosed[unclosed.length - 1];
    warnings.push(
      warning(innermost?.line ?? 0, `<${innermost?.name ?? ''}>`, `file ends inside <${unclosed.map((e) => e.name).join('><')}> (cut by a crash or a fatal signal?)`),
    );
  }
  for (const s of stray) warnings.push(warning(s.line, `</${s.name}>`, 'closing tag without an open element', 'info'));

  const counts = new Map<string, number>();
  for (const el of doc.children) {
    switch (el.name) {
      case 'protocolversion': {
        const v = int(el.text.trim());
        if (v !== undefined) summary.protocolVersion = v;
        if (v !== undefined && (v < 4 || v > 6)) warnings.push(warning(el.line, el.text, `protocol version ${v} not seen before; read as 4`, 'info'));
        break;
      }
      case 'protocoltool':
      case 'tool':
        summary.tool = el.text.trim();
        break;
      case 'pid':
      case 'ppid': {
        const v = int(el.text.trim());
        if (v !== undefined && el.name === 'pid') summary.pid = v;
        else if (v !== undefined) summary.ppid = v;
        break;
      }
      case 'preamble':
        summary.preamble = el.children.filter((c) => c.name === 'line').map((c) => c.text.trim());
        break;
      case 'args': {
        const argv = child(el, 'argv');
        if (argv) {
          const parts = argv.children.filter((c) => c.name === 'exe' || c.name === 'arg').map((c) => c.text.trim());
          if (parts.length > 0) summary.command = parts.join(' ');
        }
        break;
      }
      case 'status': {
        const st = childText(el, 'state');
        if (st !== undefined) summary.state = st;
        break;
      }
      case 'fatal_signal': {
        const fs: NonNullable<ValgrindXml['summary']['fatalSignal']> = { stack: stackOf(el) };
        const signo = int(childText(el, 'signo'));
        const signame = childText(el, 'signame');
        if (signo !== undefined) fs.signo = signo;
        if (signame !== undefined) fs.signame = signame;
        summary.fatalSignal = fs;
        break;
      }
      case 'errorcounts':
        for (const pair of el.children) {
          const u = childText(pair, 'unique');
          const c = int(childText(pair, 'count'));
          if (u !== undefined && c !== undefined && known(u)) counts.set(u, c);
        }
        break;
      case 'suppcounts':
        for (const pair of el.children) {
          const name = childText(pair, 'name');
          const c = int(childText(pair, 'count'));
          if (name !== undefined && c !== undefined) summary.suppressions.push({ name, count: c });
        }
        break;
      case 'error':
        readError(el, source, leaks, otherErrors, warnings);
        break;
      default:
        break;
    }
  }
  for (const e of otherErrors) {
    if (e.unique !== undefined) {
      const c = counts.get(e.unique);
      if (c !== undefined) e.count = c;
    }
    summary.errorCountsByKind[e.kind] = (summary.errorCountsByKind[e.kind] ?? 0) + (e.count ?? 1);
  }
  for (const l of leaks) {
    if (summary.pid !== undefined) l.site.pids = [summary.pid];
    const k = `Leak_${l.site.kind}`;
    summary.errorCountsByKind[k] = (summary.errorCountsByKind[k] ?? 0) + 1;
  }
  if (!summary.truncated && summary.state !== 'FINISHED' && summary.fatalSignal === undefined) {
    warnings.push(warning(0, '', 'no FINISHED status: the run may have been cut short', 'info'));
  }
  return withFiniteValues({ value: { sites: leaks.map((l) => l.site), leaks, otherErrors, summary }, warnings });
}

function readError(el: XmlElement, source: string, leaks: ValgrindXmlLeak[], otherErrors: ValgrindXmlOtherError[], warnings: ParseWarning[]): void {
  const kindText = childText(el, 'kind') ?? '';
  const unique = childText(el, 'unique');
  const kind = LEAK_KINDS[kindText];
  if (kind === undefined) {
    const e: ValgrindXmlOtherError = { kind: kindText === '' ? 'unknown' : kindText, line: el.line, stack: stackOf(el) };
    const what = childText(el, 'what') ?? childText(child(el, 'xwhat'), 'text');
    if (what !== undefined) e.what = what;
    if (known(unique)) e.unique = unique;
    otherErrors.push(e);
    return;
  }
  const xwhat = child(el, 'xwhat');
  const what = childText(xwhat, 'text') ?? childText(el, 'what');
  let leaked = int(childText(xwhat, 'leakedbytes'));
  let blocks = int(childText(xwhat, 'leakedblocks'));
  // Protocol 4 always has <leakedbytes>; fall back on the sentence for anything older or filtered.
  const sentence = what === undefined ? null : /^([\d,]+) (?:\(([\d,]+) direct, ([\d,]+) indirect\) )?bytes in ([\d,]+) blocks/.exec(what);
  const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s.replace(/,/g, '')));
  if (leaked === undefined) leaked = num(sentence?.[1]);
  if (blocks === undefined) blocks = num(sentence?.[4]);
  const direct = num(sentence?.[2]);
  const indirect = num(sentence?.[3]);
  if (leaked === undefined || blocks === undefined) {
    warnings.push(warning(el.line, what ?? kindText, 'leak error without a readable byte or block count: recorded as 0'));
  }
  const site: AllocationSite = {
    stack: stackOf(el),
    bytes: bytes(direct ?? leaked ?? 0),
    count: blocks ?? 0,
    kind,
    tool: 'valgrind',
    origin: `${source}:${el.line}`,
  };
  const leak: ValgrindXmlLeak = { line: el.line, site };
  if (known(unique)) leak.unique = unique;
  if (what !== undefined) leak.text = what;
  if (leaked !== undefined) leak.leakedBytes = bytes(leaked);
  if (indirect !== undefined) leak.indirectBytes = bytes(indirect);
  if (indirect !== undefined && indirect > 0) site.indirectBytes = bytes(indirect);
  leaks.push(leak);
}
