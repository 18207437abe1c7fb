/**
 * Generated series for tests and the benchmark: the truth is known by construction. Seeded, so every run
 * sees the same data.
 */
import { Rng } from './prng.js';

export interface Synthetic {
  t: Float64Array;
  v: Float64Array;
}

/** n samples every dt seconds: v = shape(t) + sigma * noise, noise AR(1) with coefficient phi (0 = white). */
export function synth(n: number, dt: number, shape: (t: number) => number, sigma: number, seed: number, phi = 0): Synthetic {
  const r = new Rng(seed);
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let e = 0;
  const innov = Math.sqrt(1 - phi * phi); // keeps the marginal s.d. at sigma
  for (let i = 0; i < n; i++) {
    t[i] = i * dt;
    e = i === 0 ? r.normal() : phi * e + innov * r.normal();
    v[i] = shape(t[i] as number) + sigma * e;
  }
  return { t, v };
}
