/**
 * Where the real-sample corpus, the field notes (seeds) and this machine's fixtures live, for tests in any folder.
 * All of them are inside the repository (test/corpus/SOURCES.md, test/seeds/SOURCES.md, test/fixtures/SOURCES.md
 * give their provenance): a clone runs its tests with nothing beside it.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/corpus.js -> repository root (two levels up from dist/test). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const corpusDir = join(repoRoot, 'test', 'corpus');
export const seedsDir = join(repoRoot, 'test', 'seeds');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');

export interface SampleFile { name: string; path: string; text: string }

/** Every file in a corpus (or fixtures) folder whose name matches, read as UTF-8. Empty when the folder is missing. */
export function samples(dir: string, match: RegExp = /./): SampleFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => match.test(n) && statSync(join(dir, n)).isFile())
    .sort()
    .map((name) => ({ name, path: join(dir, name), text: readFileSync(join(dir, name), 'utf8') }));
}

export const corpus = (folder: string, match?: RegExp): SampleFile[] => samples(join(corpusDir, folder), match);
export const fixtures = (match?: RegExp): SampleFile[] => samples(fixturesDir, match);
export const seed = (prefix: string): string => {
  const name = readdirSync(seedsDir).find((n) => n.startsWith(prefix));
  if (!name) throw new Error(`seed ${prefix} not found in ${seedsDir}`);
  return readFileSync(join(seedsDir, name), 'utf8');
};
