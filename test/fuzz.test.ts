/**
 * A fast slice of `npm run bench:fuzz` (test/fuzz.ts): every parser, both detectors and the capture path on
 * generated and mutated inputs (no throw, no NaN or Infinity in any output), and each of them on 10 MB lines of
 * every character class, in time linear in the line: compared, in this same test, with the time the same target
 * takes on as much ordinary text of its format (no absolute time anywhere).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PARSERS } from '../src/parse/index.js';
import { EVIDENCE_PARSERS } from '../src/parse/evidence/index.js';
import { CHAR_CLASSES, CapturePath, Rng, fuzzTargets, lineVsOrdinary, makeInput, nonFinitePaths } from './fuzz.js';

const capture = new CapturePath();
after(() => capture.close());
const targets = fuzzTargets(capture);
const all = targets.flatMap((t) => t.seeds);

test('fuzz slice: every target has real seeds', () => {
  for (const t of targets) assert.ok(t.seeds.length > 0, `${t.name}: no seed`);
  assert.equal(targets.length, Object.keys(PARSERS).length + Object.keys(EVIDENCE_PARSERS).length + 2 + 1);
});

for (const target of targets) {
  test(`fuzz slice, ${target.name}: mutated inputs never throw and never give a non-finite number`, () => {
    const rng = new Rng(16 + target.name.length);
    const n = target.name === 'capture' ? 100 : 600;
    for (let i = 0; i < n; i++) {
      const input = makeInput(rng, target.seeds, all);
      let value: unknown;
      try {
        value = target.run(input);
      } catch (err) {
        assert.fail(`${target.name} threw ${String(err)} on ${JSON.stringify(input.slice(0, 200))}`);
      }
      const bad = nonFinitePaths(value);
      assert.deepEqual(bad, [], `${target.name}: non-finite at ${bad[0]} on ${JSON.stringify(input.slice(0, 200))}`);
    }
  });
}

/**
 * A hostile line may take this many times as long as ordinary text of the same size. Linear readers measured
 * 0.1 to 10 here (npm run bench:fuzz); the quadratic trim this guards against was ~3000 at 100 KB, where the walk
 * stops. The margin is for a machine busy with other work while one of the two is measured.
 */
const LIMIT = 40;

for (const target of targets) {
  test(`10 MB lines, ${target.name}: every character class at a line's end (and 1 MB at its front) reads in linear time`, () => {
    const seed = target.seeds[0] ?? '';
    const ordinary = new Map<number, number>();
    for (const [cls, chars] of Object.entries(CHAR_CLASSES)) {
      for (const where of ['front', 'end'] as const) {
        // 10 MB at a line's end (where trims go wrong); 1 MB at its front keeps the test's time in bounds, and
        // the bench (npm run bench:fuzz) walks both to 10 MB.
        const g = lineVsOrdinary(target.run, seed, chars, where, where === 'end' ? 10_000_000 : 1_000_000, LIMIT, ordinary);
        assert.ok(g.worstRatio <= LIMIT,
          `${target.name}, ${cls} at the ${where}: ${g.hostileMs.map((m) => m.toFixed(1)).join('/')} ms at ${g.sizes.join('/')} chars, ` +
          `ordinary text ${g.ordinaryMs.map((m) => m.toFixed(1)).join('/')} ms (x${g.worstRatio.toFixed(0)})`);
      }
    }
  });
}
