/**
 * `npm run bench:fuzz`: generated and mutated inputs over every parser and the capture path (test/fuzz.ts),
 * then 10 MB lines of each character class through each of them. Prints, per target: inputs, throws, hangs
 * (one input over --hang-ms), outputs holding a non-finite number, the slowest input, and the worst time of a
 * hostile line against as much ordinary text of the format (about 1 is linear; quadratic is 1000 at 100 KB).
 *   node dist/bench/fuzz.js [--inputs 1000000] [--seed 1] [--line-mb 10] [--only NAME] [--hang-ms 1000]
 */
import { CHAR_CLASSES, CapturePath, Rng, fuzzTargets, lineVsOrdinary, makeInput, nonFinitePaths } from '../test/fuzz.js';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? dflt : dflt;
}
const INPUTS = Number(flag('inputs', '1000000'));
const SEED = Number(flag('seed', '1'));
const LINE_BYTES = Number(flag('line-mb', '10')) * 1_000_000;
const HANG_MS = Number(flag('hang-ms', '1000'));
const ONLY = flag('only', '');
/** A hostile line may take this many times as long as ordinary text of the same size. */
const LINEAR_LIMIT = 20;

interface Tally {
  inputs: number; throws: number; hangs: number; nonFinite: number; ms: number;
  slowestMs: number; slowestLen: number; slowestHead: string; firstProblem: string;
}

const capture = new CapturePath();
const targets = fuzzTargets(capture).filter((t) => ONLY === '' || t.name === ONLY);
const all = targets.flatMap((t) => t.seeds);
const tallies = new Map<string, Tally>(targets.map((t) => [t.name, {
  inputs: 0, throws: 0, hangs: 0, nonFinite: 0, ms: 0, slowestMs: 0, slowestLen: 0, slowestHead: '', firstProblem: '',
}]));
const rng = new Rng(SEED);
const started = performance.now();
const short = (s: string): string => JSON.stringify(s.slice(0, 50));

// The capture path writes a file per input: it gets a tenth of the inputs the pure parsers get.
const weights = targets.map((t) => (t.name === 'capture' ? 1 : 10));
const totalWeight = weights.reduce((a, b) => a + b, 0);
for (let n = 0; n < INPUTS; n++) {
  let w = rng.int(totalWeight);
  let k = 0;
  while (w >= (weights[k] as number)) w -= weights[k++] as number;
  const target = targets[k]!;
  const tally = tallies.get(target.name)!;
  const input = makeInput(rng, target.seeds, all);
  tally.inputs++;
  const t0 = performance.now();
  let value: unknown;
  let threw: unknown;
  try {
    value = target.run(input);
  } catch (err) {
    threw = err;
  }
  const ms = performance.now() - t0;
  tally.ms += ms;
  if (ms > tally.slowestMs) Object.assign(tally, { slowestMs: ms, slowestLen: input.length, slowestHead: short(input) });
  if (ms > HANG_MS) tally.hangs++;
  if (threw !== undefined) {
    tally.throws++;
    tally.firstProblem ||= `throw ${String(threw).slice(0, 80)} on ${short(input)}`;
  } else {
    const bad = nonFinitePaths(value);
    if (bad.length > 0) {
      tally.nonFinite++;
      tally.firstProblem ||= `non-finite ${bad[0]} on ${short(input)}`;
    }
  }
  if ((n + 1) % 100_000 === 0) console.error(`${n + 1} inputs, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
const fuzzSec = (performance.now() - started) / 1000;

console.log(`${INPUTS} inputs (seed ${SEED}) in ${fuzzSec.toFixed(0)} s; then lines up to ${LINE_BYTES / 1e6} MB of ${Object.keys(CHAR_CLASSES).length} character classes, glued to the front and the end of a real line`);
console.log('target                    inputs  throws  hangs  non-finite  mean ms  slowest ms (length, head)            worst hostile line / ordinary text (times at 0.1/1/10 MB)');
let problems = 0;
for (const target of targets) {
  const t = tallies.get(target.name)!;
  let worst = { ratio: 0, what: '' };
  const seed = target.seeds[0] ?? '';
  const ordinary = new Map<number, number>();
  for (const [cls, chars] of Object.entries(CHAR_CLASSES)) {
    for (const where of ['front', 'end'] as const) {
      const g = lineVsOrdinary(target.run, seed, chars, where, LINE_BYTES, LINEAR_LIMIT, ordinary);
      if (g.worstRatio > worst.ratio) {
        worst = { ratio: g.worstRatio, what: `${cls}, ${where}: ${g.hostileMs.map((m) => m.toFixed(1)).join('/')} vs ${g.ordinaryMs.map((m) => m.toFixed(1)).join('/')} ms` };
      }
    }
  }
  problems += t.throws + t.hangs + t.nonFinite + (worst.ratio > LINEAR_LIMIT ? 1 : 0);
  console.log(
    `${target.name.padEnd(24)} ${String(t.inputs).padStart(7)} ${String(t.throws).padStart(7)} ${String(t.hangs).padStart(6)} ${String(t.nonFinite).padStart(11)}` +
    `  ${(t.ms / Math.max(1, t.inputs)).toFixed(3).padStart(7)}  ${t.slowestMs.toFixed(1).padStart(10)} (${t.slowestLen}, ${t.slowestHead})  x${worst.ratio.toFixed(1)} (${worst.what})`,
  );
  if (t.firstProblem) console.log(`    first problem: ${t.firstProblem}`);
}
capture.close();
console.log(problems === 0 ? 'no throws, hangs, non-finite outputs or super-linear lines' : `${problems} problems`);
process.exit(problems === 0 ? 0 : 1);
