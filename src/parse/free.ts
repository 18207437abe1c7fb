// src/parse/free.ts
/**
 * Parses the output of `free` (procps and procps-ng free(1), busybox procps/free.c): one header line and
 * its rows. Shapes seen in the field:
 *
 *                  total        used        free      shared  buff/cache   available     <- procps-ng >= 3.3.10, busybox >= 1.28
 *   Mem:            23Gi       298Mi        23Gi       8.7Mi       139Mi        23Gi      <- -h
 *   -/+ buffers/cache:    7003340    9329672                                              <- procps < 3.3.10
 *   total used free shared buffers                                                        <- old busybox, then "-/+ buffers:"
 *
 * Columns are read by the header's names, never by position, because -w, old procps and busybox order them
 * differently. Blank lines between rows (serial consoles, pasted logs) are skipped.
 *
 * The unit is not printed: -b/-k/-m/-g only show in the command line. A line before the header that runs
 * free ("# free -m", "$ busybox free -m") is read for its flags; otherwise options.unit, otherwise KiB
 * (the default of every free). -h values carry their own suffix ("8.7Mi", "1.2G", "0B") and lose digits:
 * the result's unit says how precise the numbers are.
 */
import type { Parsed, ParseWarning } from '../model/parsed.js';
import { warning, withFiniteValues } from '../model/parsed.js';
import type { Bytes } from '../model/units.js';
import type { Free, FreeRow } from '../model/proc_files.js';

export type FreeUnit = Free['unit'];
export interface FreeOptions {
  /** The unit flag the command ran with, when the text does not show it. */
  unit?: Exclude<FreeUnit, 'human'>;
}

type Column = keyof FreeRow;
const COLUMNS: Record<string, Column> = {
  total: 'total', used: 'used', free: 'free', shared: 'shared', buffers: 'buffers',
  cached: 'cache', cache: 'cache', 'buff/cache': 'buffCache', available: 'available',
};
/** Column order assumed when the header line is missing (procps-ng and busybox today). */
const DEFAULT_COLUMNS: Column[] = ['total', 'used', 'free', 'shared', 'buffCache', 'available'];

const UNIT_BYTES: Record<Exclude<FreeUnit, 'human'>, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const SUFFIX_POWER: Record<string, number> = { B: 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 };

interface Scale { unit: FreeUnit; factor: number }

export function parseFree(text: string, options: FreeOptions = {}): Parsed<Free> {
  const warnings: ParseWarning[] = [];
  const lines = text.split('\n');
  let columns: (Column | undefined)[] | undefined;
  let scale: Scale | undefined = options.unit ? { unit: options.unit, factor: UNIT_BYTES[options.unit] } : undefined;
  const value: Free = { unit: scale?.unit ?? 'KiB' };
  let sawHuman = false;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').replace(/\r$/, '').trim();
    if (line === '') continue;
    if (isHeader(line)) {
      const unknown: string[] = [];
      columns = line.split(/\s+/, MAX_FIELDS).map((name) => {
        const c = Object.hasOwn(COLUMNS, name) ? COLUMNS[name] : undefined;
        if (c === undefined) unknown.push(name);
        return c;
      });
      // One warning per header, however many columns it names (a garbled 10 MB line must not make millions).
      if (unknown.length > 0) {
        const named = unknown.slice(0, 5).map((n) => `"${n.slice(0, 40)}"`).join(', ') + (unknown.length > 5 ? ` and ${unknown.length - 5} more` : '');
        warnings.push(warning(lineNo, line, `unknown column${unknown.length > 1 ? 's' : ''} ${named}; ${unknown.length > 1 ? 'their' : 'its'} values are skipped`, 'info'));
      }
      continue;
    }
    const row = splitRow(line);
    if (!row) {
      if (!columns) {
        // Before the header: maybe the command that printed it.
        const flags = commandScale(line);
        if (flags && !options.unit) scale = flags;
        continue;
      }
      warnings.push(warning(lineNo, line, 'not a "Label: numbers" row; skipped'));
      continue;
    }
    if (!columns) {
      columns = DEFAULT_COLUMNS;
      warnings.push(warning(lineNo, line, 'no header line before the first row; assumed "total used free shared buff/cache available"'));
    }
    const values: (number | undefined)[] = [];
    for (const tok of row.values) {
      const parsed = toBytes(tok, scale);
      if (parsed === undefined) {
        warnings.push(warning(lineNo, line, `"${tok.slice(0, 30)}" is not a number; left out`));
        values.push(undefined);
        continue;
      }
      if (parsed.human) sawHuman = true;
      values.push(parsed.bytes);
    }
    const label = row.label;
    if (label === '-/+ buffers/cache' || label === '-/+ buffers') {
      const r: FreeRow = {};
      if (values[0] !== undefined) r.used = values[0] as Bytes;
      if (values[1] !== undefined) r.free = values[1] as Bytes;
      if (values.length > 2) warnings.push(warning(lineNo, line, `"${label}:" has ${values.length} values, expected 2; extra ignored`));
      setRow(value, 'buffersCache', r, lineNo, line, warnings);
      continue;
    }
    const slot = label === 'Mem' ? 'mem' : label === 'Swap' ? 'swap' : label === 'Total' ? 'total' : undefined;
    if (!slot) {
      // "Low:"/"High:" (-l) and "Comm:" (-v) rows are not kept.
      warnings.push(warning(lineNo, line, `row "${label}:" is not kept`, 'info'));
      continue;
    }
    if (values.length > columns.length) {
      warnings.push(warning(lineNo, line, `${values.length} values for ${columns.length} columns; extra ignored`));
    }
    const r: FreeRow = {};
    for (let c = 0; c < values.length && c < columns.length; c++) {
      const col = columns[c];
      const v = values[c];
      if (col !== undefined && v !== undefined) r[col] = v as Bytes;
    }
    setRow(value, slot, r, lineNo, line, warnings);
  }
  if (sawHuman) value.unit = 'human';
  else if (scale) value.unit = scale.unit;
  if (!value.mem && text.trim() !== '') warnings.push(warning(0, '', 'no "Mem:" row', 'error'));
  return withFiniteValues({ value, warnings });
}

function setRow(
  value: Free, slot: 'mem' | 'swap' | 'total' | 'buffersCache', row: FreeRow,
  lineNo: number, line: string, warnings: ParseWarning[],
): void {
  if (value[slot]) {
    warnings.push(warning(lineNo, line, `a second "${slot}" row: the text holds more than one free output; only the first is kept`));
    return;
  }
  value[slot] = row;
}

/** "total used free ..." without colons (the legacy /proc/meminfo header has "total:" and is not ours). */
function isHeader(line: string): boolean {
  return /^total\s+used\s+free(?:\s|$)/.test(line);
}

/** free prints at most 7 columns: a line is read up to this many fields (a garbled 10 MB line is not split whole). */
const MAX_FIELDS = 32;

function splitRow(line: string): { label: string; values: string[] } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const label = line.slice(0, colon).trim();
  if (!/^(?:[A-Za-z]+|-\/\+ [a-z/]+)$/.test(label)) return undefined;
  const rest = line.slice(colon + 1).trim();
  return { label, values: rest === '' ? [] : rest.split(/\s+/, MAX_FIELDS) };
}

/** Unit flags on a command line that runs free: "free -m", "busybox free -k", "free --mebi -t". */
function commandScale(line: string): Scale | undefined {
  const m = /(?:^|[\s/$#>])free((?:\s+\S+)*)\s*$/.exec(line);
  if (!m) return undefined;
  // Only dashed words are flags; "-s 5" leaves a bare 5 behind, and prose after "free" has none.
  const flags = (m[1] ?? '').trim().split(/\s+/).filter((f) => f.startsWith('-'));
  const si = flags.includes('--si');
  let power: number | undefined;
  for (const f of flags) {
    const long: Record<string, number> = { '--bytes': 0, '--kibi': 1, '--mebi': 2, '--gibi': 3, '--kilo': -1, '--mega': -2, '--giga': -3 };
    if (f.startsWith('--')) {
      const p = long[f];
      if (p !== undefined) power = p;
      continue;
    }
    for (const ch of f.slice(1)) {
      if (ch === 'b') power = 0; else if (ch === 'k') power = 1; else if (ch === 'm') power = 2; else if (ch === 'g') power = 3;
    }
  }
  if (power === undefined) return { unit: 'KiB', factor: si ? 1000 : 1024 };
  // --kilo/--mega/--giga (and -k/-m/-g with --si) count in powers of 1000.
  const decimal = power < 0 || si;
  const p = Math.abs(power);
  const unit: Exclude<FreeUnit, 'human'> = p === 0 ? 'B' : p === 1 ? 'KiB' : p === 2 ? 'MiB' : 'GiB';
  return { unit, factor: (decimal ? 1000 : 1024) ** p };
}

/** "24684084" in the scale's unit, or a -h value "8.7Mi" / "1,2G" / "0B" / "23Gi". */
function toBytes(tok: string, scale: Scale | undefined): { bytes: number; human: boolean } | undefined {
  if (/^\d+$/.test(tok)) {
    const n = Number(tok) * (scale?.factor ?? 1024);
    return Number.isSafeInteger(n) ? { bytes: n, human: false } : undefined;
  }
  const m = /^(\d+(?:[.,]\d+)?)([BKMGTPE])(i?)B?$/.exec(tok);
  if (!m) return undefined;
  const power = SUFFIX_POWER[m[2] ?? ''];
  if (power === undefined) return undefined;
  // procps -h prints "Gi" (1024) or, with --si, "G" (1000); busybox and old procps print "G" for 1024.
  const base = m[3] === '' && scale?.factor === 1000 ? 1000 : 1024;
  const n = Math.round(Number((m[1] ?? '').replace(',', '.')) * base ** power);
  return Number.isSafeInteger(n) ? { bytes: n, human: true } : undefined;
}
