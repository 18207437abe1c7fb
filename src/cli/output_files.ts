/**
 * Files the user names for output (-o, --html, --md, --junit, --db): checked before any work starts, so a typo
 * in a folder name costs one line and exit 2, not a finished analysis thrown away or a stack trace.
 * memsleuth never creates a folder the user named; only its own default folder (./.memsleuth/).
 */
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../model/errors.js';

/** Throws InputError when FILE cannot be created: its folder is missing or not a folder, or FILE is a folder. */
export function checkOutputPath(file: string, flag: string): void {
  if (file === '') throw new InputError(`${flag} needs a file name`);
  const folder = dirname(resolve(file));
  let st;
  try {
    st = statSync(folder);
  } catch {
    throw new InputError(`${flag} ${file}: the folder ${folder} does not exist (memsleuth does not create it)`);
  }
  if (!st.isDirectory()) throw new InputError(`${flag} ${file}: ${folder} is not a folder`);
  try {
    if (statSync(file).isDirectory()) throw new InputError(`${flag} ${file}: is a folder, not a file`);
  } catch (err) {
    if (err instanceof InputError) throw err;
    // Does not exist yet: that is the normal case.
  }
}

/** Writes TEXT to FILE; a failure (permissions, full disk) is one line naming the flag, not a stack. */
export function writeOutputFile(file: string, text: string, flag: string): void {
  checkOutputPath(file, flag);
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new InputError(`${flag} ${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
