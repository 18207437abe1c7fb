import { instanceSpec, simulate, DT } from './fleet_sim.js';
import { analyzeRecording } from '../src/analyze/report_model.js';
import type { SeriesTable } from '../src/model/series_table.js';
const N = Number(process.argv[2] ?? 100), every = Number(process.argv[3] ?? 20);
const n = 7 * 86400 / DT;
let fp = 0, found = 0, leaks = 0, wrong = 0, inc = 0; let ms = 0;
for (let i = 0; i < N; i++) {
  const spec = instanceSpec(i);
  const s = simulate(spec, n);
  const m = Math.floor(n / every);
  const t = Float64Array.from({ length: m }, (_, j) => j * every * DT);
  const pick = (v: Float64Array): Float64Array => Float64Array.from({ length: m }, (_, j) => v[j * every] as number);
  const series = new Map<string, Float64Array>();
  for (const [k, v] of s.meminfo) series.set(`meminfo.${k}`, pick(v));
  for (const [c, x] of s.slabs) { series.set(`slab.${c}.bytes`, pick(x.objects).map((o) => o * x.size)); series.set(`slab.${c}.objs`, pick(x.active)); }
  for (const [p, v] of s.processes) series.set(`proc.${p}.uss`, pick(v));
  const table: SeriesTable = { t, series, startedAtMs: Date.now() - 7 * 86400e3, boots: [{ fromIndex: 0, toIndex: m - 1 }], gaps: [], meta: { source: spec.name, intervalSec: every * DT, timeSource: 'host', notes: [] } };
  const t0 = Date.now();
  const a = analyzeRecording(table);
  ms += Date.now() - t0;
  const kinds = a.leaks.map((l) => l.kind + ':' + l.confidence.level + ':' + (l.culprits[0] ?? l.key));
  if (spec.leak) { leaks++; if (a.leaks.some((l) => l.kind === spec.leak!.kind)) found++; else { console.log('MISSED', spec.name, spec.leak, a.verdict, kinds, spec.shapes.join(',')); } if (a.leaks.some((l) => l.kind !== spec.leak!.kind)) { wrong++; console.log('WRONGKIND', spec.name, spec.leak.kind, kinds); } }
  else if (a.verdict === 'leak') { fp++; console.log('FP', spec.name, kinds, spec.shapes.join(','), a.leaks[0]?.confidence.reason); }
  else if (a.verdict === 'inconclusive') { inc++; if (process.env.V) console.log('INC', spec.name, a.confidence.reason, spec.shapes.join(',')); }
}
console.log({ N, leaks, found, fp, wrong, inc, msPerInstance: ms / N });
