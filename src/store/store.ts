/**
 * Entry point of the store: one SQLite file per recording by default (`--db FILE`, else defaultDbPath()).
 *
 *   const store = openStore(defaultDbPath('cam-01', Date.now()));
 *   const w = store.beginRecording({ target: { name: 'cam-01' }, startedAtMs: Date.now(), intervalSec: 1 });
 *   ... w.appendSample(...) ...; w.close(); store.close();
 *
 *   const r = openStore(file, { readonly: true });
 *   const [rec] = r.listRecordings();
 *   const { t, v, segments } = r.readSeries(rec.id, 'slab.kmalloc-64.bytes');
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../model/errors.js';
import { checkVersion, configure, migrate } from './schema.js';
import { StoreReader } from './reader.js';
import { RecordingWriter, type RecordingStart } from './writer.js';

export interface OpenOptions {
  /** Read only: never creates, migrates or writes (the dashboard, `analyze`). */
  readonly?: boolean;
}

export class Store extends StoreReader {
  readonly readonly: boolean;

  constructor(db: Database.Database, path: string, readonly: boolean) {
    super(db, path);
    this.readonly = readonly;
  }

  beginRecording(start: RecordingStart): RecordingWriter {
    this.writable('record into');
    return RecordingWriter.begin(this.db, start);
  }

  /** Continues an existing recording (the recorder restarted, or was killed); record the gap with recordGap(). */
  resumeRecording(recordingId: number, rawEverySec?: number, commitEverySec?: number): RecordingWriter {
    this.writable('resume a recording in');
    return RecordingWriter.resume(this.db, recordingId, rawEverySec, commitEverySec);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private writable(action: string): void {
    if (this.readonly) throw new InputError(`Cannot ${action} "${this.path}": it was opened read-only`);
  }
}

/** The folder must exist: a database named by the user never creates folders (defaultDbPath's own folder aside). */
export function openStore(path: string, options: OpenOptions = {}): Store {
  const readonly = options.readonly === true;
  if (!readonly && path !== ':memory:') {
    const folder = dirname(path);
    if (!isFolder(folder)) throw new InputError(`Cannot create database "${path}": the folder ${folder} does not exist`, 'store-open');
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (e) {
    throw new InputError(`Cannot open database "${path}": ${(e as Error).message}`, 'store-open');
  }
  try {
    configure(db, readonly);
    if (readonly) checkVersion(db, path); else migrate(db, path);
  } catch (e) {
    db.close();
    throw damagedAsInputError(e, path);
  }
  return new Store(db, path, readonly);
}

/** SQLite's "file is not a database" and "database disk image is malformed", said as what they mean for the user. */
export function damagedAsInputError(e: unknown, path: string): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
    return new InputError(`"${path}" is not a memsleuth database, or it is damaged (truncated or overwritten): ${(e as Error).message}`, 'store-open');
  }
  return e;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The database file of a new recording: the user's --db as given (its folder must exist), else defaultDbPath() with its folder made. */
export function newRecordingPath(given: string | undefined, targetName: string, startedAtMs: number): string {
  if (given !== undefined) return given;
  const path = defaultDbPath(targetName, startedAtMs);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

/** `./.memsleuth/<target>-<UTC yyyymmdd-hhmmss>.db`: one file per recording, sortable by start. */
export function defaultDbPath(targetName: string, startedAtMs: number, dir: string = '.memsleuth'): string {
  const safe = targetName.replace(/[^A-Za-z0-9._-]+/g, '_') || 'target';
  const stamp = new Date(startedAtMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join(dir, `${safe}-${stamp}.db`);
}
