import { test } from 'node:test';
import assert from 'node:assert/strict';
import { persistentWorkerRunner } from './analysis.js';
import { makeRecording } from './testing.js';

test('analysis worker: one worker keeps the bins between jobs; each job sees the samples committed since, and a closed dashboard stops it', async () => {
  const rec = makeRecording(40);
  const stop = new AbortController();
  try {
    const run = persistentWorkerRunner();
    const job = { dbPath: rec.dbPath, recordingId: rec.writer.recordingId };
    const first = await run(job, stop.signal);
    assert.equal(first.error, null);
    assert.equal(first.analysis?.window.samples, 40);
    assert.equal(first.analysis?.verdict, 'leak');
    let last = 0;
    for (let i = 0; i < 25; i++) last = rec.append();
    const second = await run(job, stop.signal);
    assert.equal(second.error, null);
    assert.equal(second.lastSampleId, last);
    assert.equal(second.analysis?.window.samples, 65);
    assert.deepStrictEqual(second.keys, first.keys);
    const third = await run(job, stop.signal);
    assert.equal(third.analysis?.window.samples, 65, 'nothing new: the same samples');
    stop.abort();
    await assert.rejects(run(job, stop.signal), /dashboard is closing/);
  } finally {
    stop.abort();
    rec.cleanup();
  }
});

test('analysis worker: samples that only fill the open bin keep the last verdicts (with a note); a completed bin re-runs the analysis', async () => {
  const rec = makeRecording(40);
  const stop = new AbortController();
  try {
    const run = persistentWorkerRunner();
    // 8 bins at most: 40 samples are 5 complete bins of 8.
    const job = { dbPath: rec.dbPath, recordingId: rec.writer.recordingId, maxBins: 8 };
    const first = await run(job, stop.signal);
    assert.equal(first.error, null);
    const toSec = first.analysis?.window.toSec;
    let id = 0;
    for (let i = 0; i < 3; i++) id = rec.append();
    const kept = await run(job, stop.signal);
    assert.equal(kept.lastSampleId, id, 'the new samples are read');
    assert.equal(kept.analysis?.window.toSec, toSec, 'the verdicts of the complete bins stand');
    assert.deepStrictEqual(kept.analysis?.leaks, first.analysis?.leaks);
    assert.ok(kept.analysis?.notes.some((n) => n === 'verdicts from the first 40 samples (5 bins of 8); the 3 samples since join when their bin is complete'), kept.analysis?.notes.join('\n'));
    for (let i = 0; i < 5; i++) id = rec.append();
    const rerun = await run(job, stop.signal);
    assert.equal(rerun.lastSampleId, id);
    assert.ok((rerun.analysis?.window.toSec ?? 0) > (toSec ?? 0), 'a complete bin: analysed again');
    assert.ok(!rerun.analysis?.notes.some((n) => n.startsWith('verdicts from the first ')));
  } finally {
    stop.abort();
    rec.cleanup();
  }
});
