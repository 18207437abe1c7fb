/**
 * Colour decided here, not by picocolors' own guess (it turns colour on whenever CI is set):
 * NO_COLOR wins, then FORCE_COLOR, then whether the stream is a terminal.
 */
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

export function colorsFor(stream: { isTTY?: boolean }, env?: NodeJS.ProcessEnv): Colors {
  return pc.createColors(useColor(stream, env));
}
