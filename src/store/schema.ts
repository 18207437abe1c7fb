/**
 * SQLite schema of a memsleuth recording file, with migrations keyed by PRAGMA user_version.
 *
 * Why this shape (bench/store.ts: 7 days at 1 s of a board with ~950 series, ~60 of which change per second:
 * 604,800 samples, 36 M changes, 353 MiB on disk, ~1000-3000x real time, one series over the week in
 * well under 200 ms):
 * - Values are stored per series, change-only, in compressed chunks (codec.ts: sample-id delta + scaled
 *   zigzag varint, ~2.2 bytes a change), one chunk per series per flush window of FLUSH_SAMPLES samples.
 *   A row per value would be 570 M rows a week; even a row per change (36 M) would take ~1 GB, and
 *   better-sqlite3 returns rows at ~0.75 M/s, so a noisy series alone would take ~800 ms to read back.
 *   Most slab caches and vmalloc callers are flat for hours, so change-only is the big win. Absence is a
 *   point too (NaN: a process exited, or its smaps_rollup was skipped), so a value is never carried over
 *   a sample that did not have it.
 * - Crash safety: samples are committed in groups of 10 s of target time (writer.ts; WAL, synchronous=NORMAL:
 *   a kill -9 loses at most the samples of the last 10 s, power loss the last commits).
 * - Write amplification (schema version 2; bench/store.ts, 7 days: 6.0 KiB written to disk a 1 s sample, 13x
 *   the file's growth, down to 1.8 KiB and 3.0x): a commit rewrites in the WAL every page it touches, whole, and
 *   a checkpoint copies each page once more, so the few pages a commit touches decide the cost. Each sample
 *   appends one `sample` row that also holds its changes as one small blob (codec.ts encodeChanges format 2:
 *   steps from the previous value, ~3 bytes a change), kept for good: written once, at the right edge of one
 *   B-tree (plus the `sample_time` index's right edge and the header page). That costs ~170 bytes a sample of
 *   file (353 instead of 273 MiB a week). Version 1 put the changes in a `pending` table emptied at every flush,
 *   whose pages went to the freelist and came back dirty. Every FLUSH_SAMPLES samples one transaction writes
 *   the series chunks and a timeline chunk. A chunk's id is its timeline row's id * 2^32 + its series id
 *   (chunkId()), written in id order, so a flush appends; version 1 kept an index on (series_id,
 *   first_sample_id) that took ~1,000 random inserts a flush (most of its leaf pages rewritten each time). A
 *   series' chunks are found by one rowid lookup per flush window (~600 a week). Readers merge chunks with the
 *   changes of unflushed samples, so the state after any commit, flushed or not, is complete.
 *   New files use 1 KiB pages: the pages a commit touches are mostly old, and smaller pages rewrite less
 *   (1 day: 1 KiB pages 1.8 KiB a sample, 3.0x; 2 KiB pages 2.2 KiB, 3.6x).
 * - `timeline` holds the (sample id, taken_at_ms) pairs of FLUSH_SAMPLES samples as one chunk: reading
 *   604,800 `sample` rows takes ~800 ms, decoding 591 chunks ~20 ms. `sample` rows stay
 *   for what hangs off a sample: boot segment, raw text, skips, warnings, its changes.
 * - Raw section text of a sample is brotli-compressed into one `raw` row (all kinds together compress better
 *   than apart; ~9 KB for a 130 KB sample). It is kept for the first sample, the first after a boot or a
 *   gap, any sample with warnings, and otherwise at most every `rawEverySec` (default 60 s: ~120 MiB a
 *   week; every sample would be ~5 GiB). readSamples() says which samples have it.
 * - Skips and parser warnings are rows keyed by sample: what was not read is recorded, not hidden.
 * Time is host wall-clock ms (INTEGER affinity: integral values stored as integers, fractions kept).
 */
import type Database from 'better-sqlite3';
import { InputError } from '../model/errors.js';

/** Samples per flush of changes into chunks: bounds the unflushed tail readers decode and the points of a chunk. */
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
  // 2: changes in the sample row, written once (no pending table); chunks found by id, no per-series index.
  // Pending rows of a file left by a killed version-1 recorder move into their samples; old chunks get their ids.
  `
  ALTER TABLE sample ADD COLUMN changes BLOB;  -- codec.ts encodeChanges; NULL for samples flushed by version 1
  UPDATE sample SET changes = (SELECT data FROM pending p WHERE p.sample_id = sample.id) WHERE id IN (SELECT sample_id FROM pending);
  DROP TABLE pending;
  UPDATE chunk SET id = COALESCE((SELECT tl.id FROM timeline tl
    WHERE tl.recording_id = (SELECT s.recording_id FROM series s WHERE s.id = chunk.series_id) AND tl.first_sample_id <= chunk.first_sample_id
    ORDER BY tl.first_sample_id DESC LIMIT 1) * 4294967296 + series_id, id);
  DROP INDEX chunk_series;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Layout of a file: 1 (changes in `pending`, chunks by index) or 2 (changes in `sample`, chunks by chunkId). */
export type Layout = 1 | 2;

/** Id of the chunk of one series written with one timeline row (a flush): flushes append in id order. */
export function chunkId(timelineId: number, seriesId: number): number {
  return timelineId * CHUNK_ID_SPAN + seriesId;
}
const CHUNK_ID_SPAN = 2 ** 32;

/**
 * SQL of the queries whose tables differ between layouts (read-only handles read version-1 files as they are).
 * Parameters are named: :rec recording, :series series id, :after / :upTo sample ids, :first / :last sample ids.
 */
export function layoutSql(layout: Layout): {
  /** [sampleId, changes blob] of the samples in (:after, :upTo] of :rec that have changes, in sample order. */
  tailChanges: string;
  /** [first_sample_id, n, data] of the last chunk of :series starting at or before :first. */
  carryChunk: string;
  /** [first_sample_id, n, data] of the chunks of :series starting in (:first, :last], in order. */
  seriesChunks: string;
} {
  if (layout === 1) {
    return {
      tailChanges: 'SELECT sample_id, data FROM pending WHERE recording_id = :rec AND sample_id > :after AND sample_id <= :upTo ORDER BY sample_id',
      carryChunk: `SELECT first_sample_id, n, data FROM chunk WHERE series_id = :series AND first_sample_id <= :first
        ORDER BY first_sample_id DESC LIMIT 1`,
      seriesChunks: `SELECT first_sample_id, n, data FROM chunk WHERE series_id = :series AND first_sample_id > :first AND first_sample_id <= :last
        ORDER BY first_sample_id`,
    };
  }
  return {
    tailChanges: `SELECT id, changes FROM sample WHERE id > :after AND id <= :upTo AND +recording_id = :rec AND changes IS NOT NULL
      ORDER BY id`,
    // One rowid lookup per flush window of the recording, newest first, until one holds the series.
    carryChunk: `SELECT c.first_sample_id, c.n, c.data FROM timeline tl JOIN chunk c ON c.id = tl.id * ${CHUNK_ID_SPAN} + :series
      WHERE tl.recording_id = :rec AND tl.first_sample_id <= :first AND c.first_sample_id <= :first
      ORDER BY tl.first_sample_id DESC LIMIT 1`,
    seriesChunks: `SELECT c.first_sample_id, c.n, c.data FROM timeline tl JOIN chunk c ON c.id = tl.id * ${CHUNK_ID_SPAN} + :series
      WHERE tl.recording_id = :rec AND tl.last_sample_id > :first AND tl.first_sample_id <= :last
        AND c.first_sample_id > :first AND c.first_sample_id <= :last
      ORDER BY tl.first_sample_id`,
  };
}

export function layoutOf(db: Database.Database): Layout {
  return currentVersion(db) >= 2 ? 2 : 1;
}

/** Page size of new files (schema.ts header says why). */
const NEW_FILE_PAGE_SIZE = 1024;
/** WAL bytes between automatic checkpoints. */
const WAL_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/** Connection settings for every handle: WAL lets the dashboard read while the recorder writes. */
export function configure(db: Database.Database, readonly: boolean): void {
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    // The page size of a file is chosen before its first table; existing files keep theirs.
    if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma(`page_size = ${NEW_FILE_PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    // Checkpoint every ~16 MB of WAL rather than 4 MB: the pages every commit touches (the right edges of the
    // sample B-tree and its time index) are copied into the database once per checkpoint, so fewer checkpoints copy
    // them fewer times (bench/store.ts, 1 day: 4.7 -> 4.3 KiB written a sample). A reader's WAL index grows to ~130 KB.
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`wal_autocheckpoint = ${Math.round(WAL_CHECKPOINT_BYTES / pageSize)}`);
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

/** Read-only handles cannot migrate: they read versions 1 to SCHEMA_VERSION as they are (layoutSql). */
export function checkVersion(db: Database.Database, file: string): void {
  const current = currentVersion(db);
  if (current < 1 || current > SCHEMA_VERSION) {
    throw new InputError(
      `Cannot read "${file}": schema version ${current}, expected 1 to ${SCHEMA_VERSION}` +
        (current < 1 ? ' (an empty file: open it once without --readonly to create it)' : ' (made by a newer memsleuth)'),
      'store-version',
    );
  }
}

export function currentVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}
