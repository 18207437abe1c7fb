/**
 * SQLite schema of a memsleuth recording file, with migrations keyed by PRAGMA user_version.
 *
 * Why this shape (bench/store.ts: 7 days at 1 s of a board with ~950 series, ~60 of which change per second:
 * 604,800 samples, 36 M changes, 273 MiB on disk, ~2000-5000x real time, one series over the week in
 * well under 200 ms):
 * - Values are stored per series, change-only, in compressed chunks (codec.ts: sample-id delta + scaled
 *   zigzag varint, ~2.2 bytes a change), one chunk per series per flush window of FLUSH_SAMPLES samples.
 *   A row per value would be 570 M rows a week; even a row per change (36 M) would take ~1 GB, and
 *   better-sqlite3 returns rows at ~0.75 M/s, so a noisy series alone would take ~800 ms to read back.
 *   Most slab caches and vmalloc callers are flat for hours, so change-only is the big win. Absence is a
 *   point too (NaN: a process exited, or its smaps_rollup was skipped), so a value is never carried over
 *   a sample that did not have it.
 * - Crash safety: samples are committed in groups of 10 s of target time (writer.ts; WAL, synchronous=NORMAL:
 *   a kill -9 loses at most the samples of the last 10 s, power loss the last commits). Each sample appends a `sample` row and a `pending` row holding that
 *   sample's changes as one small blob: both go at the right edge of their B-trees, so a commit dirties a
 *   handful of pages (a row per change into a per-series index dirtied ~80 pages a commit: ~1 ms a sample).
 *   Every FLUSH_SAMPLES samples one transaction turns the pending changes into series chunks plus a
 *   timeline chunk and deletes them from `pending`. Readers merge chunks with pending rows, so the state
 *   after any commit, flushed or not, is complete.
 * - `timeline` holds the (sample id, taken_at_ms) pairs of FLUSH_SAMPLES samples as one chunk: reading
 *   604,800 `sample` rows takes ~800 ms, decoding 591 chunks ~20 ms. `sample` rows stay (18 MiB a week)
 *   for what hangs off a sample: boot segment, raw text, skips, warnings.
 * - Raw section text of a sample is brotli-compressed into one `raw` row (all kinds together compress better
 *   than apart; ~9 KB for a 130 KB sample). It is kept for the first sample, the first after a boot or a
 *   gap, any sample with warnings, and otherwise at most every `rawEverySec` (default 60 s: ~120 MiB a
 *   week; every sample would be ~5 GiB). readSamples() says which samples have it.
 * - Skips and parser warnings are rows keyed by sample: what was not read is recorded, not hidden.
 * Time is host wall-clock ms (INTEGER affinity: integral values stored as integers, fractions kept).
 */
import type Database from 'better-sqlite3';
import { InputError } from '../model/errors.js';

/** Samples per flush of pending changes into chunks: bounds the pending table and the points of a chunk. */
export const FLUSH_SAMPLES = 1024;

const MIGRATIONS: readonly string[] = [
  // 1: first schema.
  `
  CREATE TABLE target (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    via TEXT NOT NULL DEFAULT ''          -- the --via command or serial device; '' for the local machine
  );
  CREATE UNIQUE INDEX target_name ON target(name, via);

  CREATE TABLE recording (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES target(id),
    started_at_ms INTEGER NOT NULL,
    interval_sec REAL NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',   -- JSON of the recorder's options, for the report
    ended_at_ms INTEGER                   -- NULL while recording, or when the recorder was killed
  );

  CREATE TABLE boot_segment (
    id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    seq INTEGER NOT NULL,                 -- 0, 1, ... within the recording
    boot_id TEXT,
    first_sample_id INTEGER,
    started_at_ms INTEGER NOT NULL,       -- taken_at_ms of its first sample
    uptime_sec REAL,                      -- target uptime at its first sample
    reason TEXT NOT NULL                  -- 'start' | 'boot_id' | 'uptime'
  );
  CREATE INDEX boot_segment_recording ON boot_segment(recording_id, seq);

  CREATE TABLE sample (
    id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    boot_segment_id INTEGER NOT NULL REFERENCES boot_segment(id),
    taken_at_ms INTEGER NOT NULL,
    uptime_sec REAL,
    n_values INTEGER NOT NULL,            -- series present in this sample
    n_changed INTEGER NOT NULL            -- of which changed (or appeared, or disappeared)
  );
  CREATE INDEX sample_time ON sample(recording_id, taken_at_ms);

  CREATE TABLE gap (
    id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    after_sample_id INTEGER               -- last sample before the gap (NULL: none yet)
  );
  CREATE INDEX gap_recording ON gap(recording_id, from_ms);

  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    key TEXT NOT NULL,
    first_sample_id INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX series_key ON series(recording_id, key);

  -- Change-only points of one series over one flush window (codec.ts).
  CREATE TABLE chunk (
    id INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL REFERENCES series(id),
    first_sample_id INTEGER NOT NULL,
    last_sample_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    last_value REAL,                      -- NULL when the series was absent at last_sample_id
    data BLOB NOT NULL
  );
  CREATE INDEX chunk_series ON chunk(series_id, first_sample_id);

  -- (sample id, taken_at_ms) of every flushed sample, FLUSH_SAMPLES to a chunk (codec.ts).
  CREATE TABLE timeline (
    id INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recording(id),
    first_sample_id INTEGER NOT NULL,
    last_sample_id INTEGER NOT NULL,
    min_ms INTEGER NOT NULL,              -- host clocks can step back: min and max, not first and last
    max_ms INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL
  );
  CREATE INDEX timeline_recording ON timeline(recording_id, first_sample_id);

  -- Changes of samples not yet flushed into chunks: one blob per sample (codec.ts encodeChanges).
  CREATE TABLE pending (
    sample_id INTEGER PRIMARY KEY REFERENCES sample(id),
    recording_id INTEGER NOT NULL,
    data BLOB NOT NULL
  );

  CREATE TABLE raw (
    sample_id INTEGER PRIMARY KEY REFERENCES sample(id),
    codec TEXT NOT NULL,                  -- 'br' (brotli) or 'none'
    sections TEXT NOT NULL,               -- JSON [[kind, utf8 byte length], ...] in order
    data BLOB NOT NULL
  );

  CREATE TABLE skipped (
    sample_id INTEGER NOT NULL REFERENCES sample(id),
    what TEXT NOT NULL                    -- e.g. "/proc/412/smaps_rollup: permission denied"
  );
  CREATE INDEX skipped_sample ON skipped(sample_id);

  CREATE TABLE warning (
    id INTEGER PRIMARY KEY,
    sample_id INTEGER NOT NULL REFERENCES sample(id),
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    severity TEXT NOT NULL
  );
  CREATE INDEX warning_sample ON warning(sample_id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

const WAL_CHECKPOINT_PAGES = 4000;

/** Connection settings for every handle: WAL lets the dashboard read while the recorder writes. */
export function configure(db: Database.Database, readonly: boolean): void {
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    // Checkpoint every ~16 MB of WAL rather than 4 MB: the pages every commit touches (the right edges of the
    // sample and pending B-trees) are copied into the database once per checkpoint, so fewer checkpoints copy
    // them fewer times (bench/store.ts, 1 day: 4.7 -> 4.3 KiB written a sample). A reader's WAL index grows to ~130 KB.
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
}

/** Brings the file to SCHEMA_VERSION, one transaction per step; refuses files from a newer memsleuth. */
export function migrate(db: Database.Database, file: string): void {
  const current = currentVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new InputError(`Cannot open "${file}": schema version ${current} is newer than this memsleuth understands (${SCHEMA_VERSION})`, 'store-version');
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Read-only handles cannot migrate: they accept only the current version. */
export function checkVersion(db: Database.Database, file: string): void {
  const current = currentVersion(db);
  if (current !== SCHEMA_VERSION) {
    throw new InputError(
      `Cannot read "${file}": schema version ${current}, expected ${SCHEMA_VERSION}` +
        (current < SCHEMA_VERSION ? ' (open it once without --readonly to upgrade it)' : ''),
      'store-version',
    );
  }
}

export function currentVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}
