/** How a merged slab cache is named to people (sources/slab_aliases.ts reads the aliases). */
import { terminalSafe } from './escape.js';

/** "signal_cache (merged: UNIX, UNIX-STREAM)", or the name alone; escaped for a terminal. */
export function withAliases(name: string, aliases: Readonly<Record<string, readonly string[]>> | undefined): string {
  const a = aliases?.[name];
  const shown = a !== undefined && a.length > 0 ? `${name} (merged: ${a.slice(0, 4).join(', ')}${a.length > 4 ? `, +${a.length - 4} more` : ''})` : name;
  return terminalSafe(shown);
}
