/** How a series key reads in every output: the real names, decoded, with what the key is (see model/series.ts). */
import { decodeKeyPart } from '../model/series.js';

/** Short display name of a series key. */
export function displayName(key: string): string {
  const d = decodeKeyPart;
  let m = /^slab\.(.+)\.bytes$/.exec(key);
  if (m) return d(m[1] as string);
  m = /^vmalloc\.caller\.(.+)\.bytes$/.exec(key);
  if (m) return `vmalloc caller ${d(m[1] as string)}`;
  m = /^proc\.(.+):(\d+)\.map\.(.+)\.(uss|rss|anon|file)$/.exec(key);
  if (m) return `${d(m[3] as string)}${m[4] === 'file' ? ' (file-backed)' : m[4] === 'anon' ? ' (anonymous)' : ''} of ${d(m[1] as string)} (pid ${m[2] as string})`;
  m = /^proc\.(.+):(\d+)\.(anon|uss|pss|rss)$/.exec(key);
  if (m) return `${d(m[1] as string)} (pid ${m[2] as string})`;
  m = /^allocinfo\.(.+)\.bytes$/.exec(key);
  if (m) return d(m[1] as string);
  return key;
}
