/** Plain-text tables that fit the terminal: right-aligned numbers, the last (name) column cut to the width left. */
import { terminalSafe } from './escape.js';

export interface Column { header: string; align?: 'left' | 'right' }

const visibleLength = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/** Width used when the output is not a terminal, or when it says it has 0 columns (serial consoles do). */
export const DEFAULT_WIDTH = 120;

/** The terminal's width where it knows one. */
export function terminalWidth(stream: { columns?: number } = process.stdout): number {
  const c = stream.columns;
  return c !== undefined && c > 0 ? c : DEFAULT_WIDTH;
}

export function renderTable(columns: Column[], rows: string[][], width: number = terminalWidth()): string {
  const safeRows = rows.map((r) => r.map((c) => terminalSafe(c)));
  const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...safeRows.map((r) => visibleLength(r[i] ?? ''))));
  const fixed = widths.slice(0, -1).reduce((n, w) => n + w + 2, 0);
  const lastIdx = widths.length - 1;
  widths[lastIdx] = Math.max(8, Math.min(widths[lastIdx] ?? 8, width - fixed - 1));
  const cell = (text: string, i: number): string => {
    const w = widths[i] ?? 0;
    let t = text;
    if (i === lastIdx && visibleLength(t) > w) t = `${t.slice(0, w - 1)}~`;
    const pad = ' '.repeat(Math.max(0, w - visibleLength(t)));
    return columns[i]?.align === 'right' ? pad + t : i === lastIdx ? t : t + pad;
  };
  const lines = [columns.map((c, i) => cell(c.header, i)).join('  ')];
  for (const r of safeRows) lines.push(columns.map((_, i) => cell(r[i] ?? '', i)).join('  '));
  return lines.map((l) => l.trimEnd()).join('\n');
}
