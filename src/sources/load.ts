/**
 * Turns what a user names on the command line into Snapshots: a snapshot JSON file (`memsleuth snapshot -o`),
 * a raw dump (a saved /proc/meminfo, slabinfo...), or a capture log, optionally "LOG#N" for its N-th sample (1-based).
 * Capture logs stream: only the samples asked for are kept in memory.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../model/errors.js';
import type { Snapshot } from '../model/snapshot.js';
import { checkTextFile } from './input_file.js';
import { ingestToSnapshots } from './capture_file.js';

export interface SampleRef { path: string; index?: number }

/** "log.txt#3" -> { path: "log.txt", index: 3 }. A "#" not followed by digits is part of the file name. */
export function parseSampleRef(spec: string): SampleRef {
  const m = /^(.*)#(\d+)$/.exec(spec);
  return m && m[1] ? { path: m[1], index: Number(m[2]) } : { path: spec };
}

function readSnapshotJson(path: string): Snapshot | undefined {
  const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 1);
  if (head !== '{') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(`Cannot read "${path}": it starts like JSON but is not valid JSON (${(err as Error).message})`);
  }
  const v = value as Partial<Snapshot>;
  if (typeof v.takenAtMs !== 'number' || !Array.isArray(v.processes)) {
    throw new InputError(`Cannot read "${path}": JSON, but not a memsleuth snapshot (no "takenAtMs"/"processes")`);
  }
  return value as Snapshot;
}

export interface LoadedSamples {
  first?: Snapshot; last?: Snapshot; picked?: Snapshot; count: number;
  /** First and last samples holding a full dump (meminfo or slabinfo), and how many there were: a log often
   * mixes many `free` lines with a few full dumps, and the dumps are what a diff should compare. */
  firstFull?: Snapshot; lastFull?: Snapshot; fullCount: number;
}

/** Reads a file and keeps its first, last and (with "#N") N-th sample. */
export function loadSamples(ref: SampleRef, intervalSec?: number): LoadedSamples {
  const { size } = checkTextFile(ref.path);
  if (size < 64 * 1024 * 1024) {
    const snap = readSnapshotJson(ref.path);
    if (snap) {
      if (ref.index !== undefined && ref.index !== 1) throw new InputError(`"${ref.path}" is one snapshot; there is no sample #${ref.index}`);
      return { first: snap, last: snap, picked: snap, count: 1, firstFull: snap, lastFull: snap, fullCount: 1 };
    }
  }
  const out: LoadedSamples = { count: 0, fullCount: 0 };
  ingestToSnapshots(ref.path, {
    ...(intervalSec !== undefined ? { intervalSec } : {}),
    onSample: (snapshot) => {
      out.count++;
      out.first ??= snapshot;
      out.last = snapshot;
      if (ref.index === out.count) out.picked = snapshot;
      if (snapshot.meminfo || snapshot.slabinfo) {
        out.fullCount++;
        out.firstFull ??= snapshot;
        out.lastFull = snapshot;
      }
    },
  });
  if (out.count === 0) throw new InputError(`Cannot read "${ref.path}": no memory dump recognised in it (expected meminfo, slabinfo, free, ... output)`);
  if (ref.index !== undefined && !out.picked) throw new InputError(`"${ref.path}" has ${out.count} samples; there is no sample #${ref.index}`);
  return out;
}
