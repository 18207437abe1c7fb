/**
 * The exporter's target list (`memsleuth exporter --config targets.yml`), in JSON or in a small YAML subset:
 *
 *   # comments, blank lines
 *   listen: 127.0.0.1:9840          # key: scalar (plain, 'single' or "double" quoted; numbers and true/false)
 *   defaults:                        # key: followed by a more indented block is a mapping
 *     top_processes: 20
 *   targets:
 *     cam-01:
 *       via: ssh root@cam-01
 *
 * Not supported (a clear error names the line): lists, flow style ({a: 1}, [1, 2]), anchors and aliases,
 * multi-line strings, tabs for indentation. That is all a target list needs; the full example is
 * examples/prometheus/memsleuth_exporter.yml.
 */
import { InputError } from '../model/errors.js';

export type ConfigValue = string | number | boolean | ConfigMap;
export interface ConfigMap { [key: string]: ConfigValue }

/** Parses the YAML subset above into nested maps; throws InputError naming the line of the first problem. */
export function parseYamlSubset(text: string, file = 'config'): ConfigMap {
  const root: ConfigMap = {};
  // Open mappings by indentation; a key with no value opens a child block at a deeper indent.
  const stack: { indent: number; map: ConfigMap }[] = [{ indent: 0, map: root }];
  let pendingKey: { map: ConfigMap; key: string; indent: number; line: number } | null = null;
  const lines = text.split(/\r?\n/);
  const fail = (n: number, why: string): never => { throw new InputError(`Cannot read "${file}" line ${n}: ${why}`); };
  lines.forEach((raw, i) => {
    const n = i + 1;
    const noComment = stripComment(raw);
    if (noComment.trim() === '' || noComment.trim() === '---') return;
    const lead = /^[ \t]*/.exec(noComment)?.[0] ?? '';
    if (lead.includes('\t')) fail(n, 'a tab in the indentation (use spaces)');
    const indent = lead.length;
    const body = noComment.slice(indent).trimEnd();
    if (body.startsWith('- ') || body === '-') fail(n, 'lists are not supported in this config (use a mapping: one key per item)');
    if (/^[[{]/.test(body)) fail(n, 'flow style ({...} or [...]) is not supported; write one "key: value" per line');
    let opened = false;
    if (pendingKey) {
      if (indent > pendingKey.indent) {
        const child: ConfigMap = {};
        pendingKey.map[pendingKey.key] = child;
        stack.push({ indent, map: child });
        opened = true;
      } else {
        pendingKey.map[pendingKey.key] = '';
      }
      pendingKey = null;
    }
    if (!opened) while (stack.length > 1 && indent < (stack[stack.length - 1] as { indent: number }).indent) stack.pop();
    const top = stack[stack.length - 1] as { indent: number; map: ConfigMap };
    if (indent !== top.indent) fail(n, `indentation of ${indent} spaces does not match the block above (${top.indent})`);
    const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:'"][^:]*?)\s*:(?:\s+(.*))?$/.exec(body);
    if (!m) fail(n, `expected "key: value", got "${body}"`);
    const key = unquote(m?.[1] ?? '', n, fail);
    if (Object.prototype.hasOwnProperty.call(top.map, key)) fail(n, `"${key}" is given twice`);
    const rest = (m?.[2] ?? '').trim();
    if (rest === '') { pendingKey = { map: top.map, key, indent, line: n }; return; }
    if (/^[&*!|>]/.test(rest)) fail(n, `anchors, aliases, tags and block strings are not supported ("${rest}")`);
    if (/^[[{]/.test(rest)) fail(n, 'flow style ({...} or [...]) is not supported; write one "key: value" per line');
    top.map[key] = scalar(rest, n, fail);
  });
  if (pendingKey) (pendingKey as { map: ConfigMap; key: string }).map[(pendingKey as { key: string }).key] = '';
  return root;
}

function stripComment(line: string): string {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) { if (c === '\\' && q === '"') i++; else if (c === q) q = null; continue; }
    if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i);
  }
  return line;
}

function unquote(s: string, n: number, fail: (n: number, why: string) => never): string {
  if (s.startsWith('"')) {
    try { return JSON.parse(s) as string; } catch { return fail(n, `cannot read the quoted string ${s}`); }
  }
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  return s;
}

function scalar(s: string, n: number, fail: (n: number, why: string) => never): ConfigValue {
  if (s.startsWith('"') || s.startsWith("'")) {
    const close = s.startsWith('"') ? /^"(?:[^"\\]|\\.)*"$/ : /^'(?:[^']|'')*'$/;
    if (!close.test(s)) fail(n, `unterminated or trailing text after the quoted string ${s}`);
    return unquote(s, n, fail);
  }
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

export interface ExporterTargetConfig {
  name: string;
  /** One of: a command giving a shell (ssh, adb), a serial device, or this machine. */
  via?: string;
  serial?: string;
  baud?: number;
  login?: string;
  /** Local target: a /proc tree (default /proc). */
  proc?: string;
  /** Top-N per probe: processes by USS and slab caches by size; the rest are summed into `other` families. */
  topProcesses: number;
  topCaches: number;
  /** Seconds a probe may take before it fails (capped by Prometheus' scrape timeout header). */
  timeoutSec: number;
}

export interface ExporterConfig {
  listen?: string;
  /** Verdicts file (memsleuth analyze --metrics-out) served on /verdicts. */
  verdictsFile?: string;
  targets: Map<string, ExporterTargetConfig>;
}

const TARGET_KEYS = new Set(['via', 'serial', 'baud', 'login', 'proc', 'local', 'top_processes', 'top_caches', 'timeout']);
const DEFAULT_KEYS = new Set(['top_processes', 'top_caches', 'timeout']);

/** The config file's text (JSON when it starts with "{", else the YAML subset), checked. */
export function parseExporterConfig(text: string, file = 'config'): ExporterConfig {
  let raw: unknown;
  if (text.trimStart().startsWith('{')) {
    try { raw = JSON.parse(text); } catch (err) { throw new InputError(`Cannot read "${file}": not valid JSON (${(err as Error).message})`); }
  } else {
    raw = parseYamlSubset(text, file);
  }
  const bad = (why: string): never => { throw new InputError(`Cannot use "${file}": ${why}`); };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('expected a mapping at the top (listen, defaults, targets)');
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!['listen', 'defaults', 'targets', 'verdicts_file'].includes(k)) bad(`unknown key "${k}" (known: listen, defaults, targets, verdicts_file)`);
  const defaults = (top['defaults'] ?? {}) as Record<string, unknown>;
  if (typeof defaults !== 'object' || defaults === null) bad('"defaults" must be a mapping');
  for (const k of Object.keys(defaults)) if (!DEFAULT_KEYS.has(k)) bad(`unknown key "defaults.${k}" (known: ${[...DEFAULT_KEYS].join(', ')})`);
  const targets = top['targets'];
  if (typeof targets !== 'object' || targets === null || Array.isArray(targets) || Object.keys(targets).length === 0) {
    bad('"targets" must be a mapping of target names, e.g.\n  targets:\n    cam-01:\n      via: ssh root@cam-01');
  }
  const int = (v: unknown, where: string, min: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(`"${where}" must be a whole number >= ${min}, got "${String(v)}"`);
    return v as number;
  };
  const seconds = (v: unknown, where: string): number => {
    const m = typeof v === 'number' ? [String(v), String(v), 's'] : typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*(s|ms|m)?$/.exec(v) : null;
    if (!m) return bad(`"${where}" must be seconds (30 or 30s), got "${String(v)}"`);
    const x = Number(m[1]) * ({ s: 1, ms: 0.001, m: 60 }[m[2] ?? 's'] ?? 1);
    if (!(x > 0)) bad(`"${where}" must be more than 0`);
    return x;
  };
  const out = new Map<string, ExporterTargetConfig>();
  for (const [name, v] of Object.entries(targets as Record<string, unknown>)) {
    const t = (v === '' || v === null ? {} : v) as Record<string, unknown>;
    if (typeof t !== 'object' || Array.isArray(t)) bad(`target "${name}" must be a mapping (via, serial or local)`);
    for (const k of Object.keys(t)) if (!TARGET_KEYS.has(k)) bad(`unknown key "${k}" in target "${name}" (known: ${[...TARGET_KEYS].join(', ')})`);
    const str = (k: string): string | undefined => {
      const x = t[k];
      if (x === undefined) return undefined;
      if (typeof x !== 'string' || x.trim() === '') bad(`"targets.${name}.${k}" must be a non-empty string`);
      return x as string;
    };
    const via = str('via'), serial = str('serial'), proc = str('proc'), login = str('login');
    const transports = [via, serial, proc ?? (t['local'] === true ? '/proc' : undefined)].filter((x) => x !== undefined);
    if (transports.length > 1) bad(`target "${name}" names more than one transport (give one of via, serial, local/proc)`);
    const cfg: ExporterTargetConfig = {
      name,
      topProcesses: int(t['top_processes'] ?? defaults['top_processes'] ?? 20, `targets.${name}.top_processes`, 0),
      topCaches: int(t['top_caches'] ?? defaults['top_caches'] ?? 30, `targets.${name}.top_caches`, 0),
      timeoutSec: seconds(t['timeout'] ?? defaults['timeout'] ?? 30, `targets.${name}.timeout`),
    };
    if (via !== undefined) cfg.via = via;
    if (serial !== undefined) {
      cfg.serial = serial;
      cfg.baud = int(t['baud'] ?? 115200, `targets.${name}.baud`, 1);
      if (login !== undefined) cfg.login = login;
    }
    if (via === undefined && serial === undefined) cfg.proc = proc ?? '/proc';
    out.set(name, cfg);
  }
  const listen = top['listen'];
  if (listen !== undefined && typeof listen !== 'string') bad('"listen" must be HOST:PORT');
  const verdicts = top['verdicts_file'];
  if (verdicts !== undefined && typeof verdicts !== 'string') bad('"verdicts_file" must be a path');
  return { ...(listen !== undefined ? { listen: listen as string } : {}), ...(verdicts !== undefined ? { verdictsFile: verdicts as string } : {}), targets: out };
}
