import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordingWriter } from '../store/writer.js';
import type { SamplePlan, Target, TargetSample } from '../sources/target.js';
import { SamplePlanner } from '../sources/sample_planner.js';
import { record, RECLAIM_PROBE_KEY } from './recorder.js';

/** A target that answers at once and remembers each plan's reclaim level; a writer that keeps the values. */
function fakes(): { target: Target; writer: RecordingWriter; levels: (number | undefined)[]; probeValues: (number | undefined)[] } {
  const levels: (number | undefined)[] = [];
  const probeValues: (number | undefined)[] = [];
  let clock = 0;
  const target: Target = {
    name: 'fake',
    sample: async (plan: SamplePlan): Promise<TargetSample> => {
      levels.push(plan.reclaim?.level);
      return { snapshot: { takenAtMs: ++clock, target: {}, processes: [], warnings: [] }, raw: [], skipped: [], unreadable: [], lost: [], durationMs: 1 };
    },
    close: async () => undefined,
    onLink: () => () => undefined,
  };
  let id = 0;
  const writer = {
    wantsRaw: () => false,
    recordGap: () => undefined,
    appendSample: (s: { values: Map<string, number> }) => { probeValues.push(s.values.get(RECLAIM_PROBE_KEY)); return { sampleId: ++id, newBootSegment: false }; },
  } as unknown as RecordingWriter;
  return { target, writer, levels, probeValues };
}

test('--probe-reclaim: after Ctrl-C, one sample after echo 2 and one after echo 3, each marked probe.reclaim', async () => {
  const { target, writer, levels, probeValues } = fakes();
  const abort = new AbortController();
  let n = 0;
  const summary = await record({
    target, writer, planner: new SamplePlanner({}), intervalSec: 0.001, signal: abort.signal,
    probeReclaim: {},
    onSample: () => { if (++n === 3) abort.abort(); },
  });
  assert.equal(summary.stoppedBy, 'signal');
  assert.deepEqual(levels, [undefined, undefined, undefined, 2, 3]);
  assert.deepEqual(probeValues, [undefined, undefined, undefined, 2, 3]);
});

test('without --probe-reclaim nothing is dropped, whatever the exit', async () => {
  const { target, writer, levels } = fakes();
  const abort = new AbortController();
  let n = 0;
  await record({ target, writer, planner: new SamplePlanner({}), intervalSec: 0.001, signal: abort.signal, onSample: () => { if (++n === 2) abort.abort(); } });
  assert.deepEqual(levels, [undefined, undefined]);
});
