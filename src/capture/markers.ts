/**
 * The frame markers of the capture protocol (DESIGN.md, "Capture protocol"):
 *
 *   @@ms 3f9a1c0b7d2e begin
 *   @@ms 3f9a1c0b7d2e sec meminfo
 *   MemTotal:       24588404 kB
 *   @@ms 3f9a1c0b7d2e end 0
 *   @@ms 3f9a1c0b7d2e sec status 1234
 *   @@ms 3f9a1c0b7d2e done
 *
 * The live framer and the capture script print the same markers, so the sectionizer reads a saved live session
 * or a script's log exactly as the framer reads the wire.
 */

export const MARKER = '@@ms';

export type Marker =
  | { op: 'begin' | 'done'; tag: string }
  | { op: 'sec'; tag: string; name: string; pid?: number }
  | { op: 'end'; tag: string; status: number };

/** Tags and section names travel unquoted through the shell, so they are kept to characters sh never expands. */
export const SAFE_WORD = /^[A-Za-z0-9_.:-]+$/;

const MARKER_RE = /^@@ms ([A-Za-z0-9_.:-]+) (begin|done|sec|end)(?: ([A-Za-z0-9_.:-]+))?(?: (\d+))?\s*$/;

/** Parses a line that is exactly a marker. */
export function parseMarker(line: string): Marker | undefined {
  if (!line.startsWith(MARKER)) return undefined;
  const m = MARKER_RE.exec(line);
  if (!m) return undefined;
  const [, tag = '', op, a, b] = m;
  if (op === 'begin' || op === 'done') return a === undefined ? { op, tag } : undefined;
  if (op === 'end') {
    const status = Number(a);
    return a !== undefined && /^\d+$/.test(a) && b === undefined ? { op, tag, status } : undefined;
  }
  if (a === undefined) return undefined;
  return b === undefined ? { op: 'sec', tag, name: a } : { op: 'sec', tag, name: a, pid: Number(b) };
}

/**
 * A file that does not end in a newline glues the next marker to its last line ("42 kB@@ms abc end 0").
 * Returns [content before, marker] when a marker sits after some text.
 */
export function splitGluedMarker(line: string): [string, Marker] | undefined {
  const at = line.indexOf(`${MARKER} `, 1);
  if (at <= 0) return undefined;
  const marker = parseMarker(line.slice(at));
  return marker ? [line.slice(0, at), marker] : undefined;
}
