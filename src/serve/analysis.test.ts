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
