import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalCdf, normalQuantile, twoSidedP } from './normal.js';
import { studentTQuantile, studentTTwoSidedP, ols } from './ols.js';

test('normal CDF and quantile at known points', () => {
  const cases: [number, number][] = [[0, 0.5], [1.959963984540054, 0.975], [-2.5758293035489, 0.005], [3.090232306167813, 0.999]];
  for (const [z, p] of cases) {
    assert.ok(Math.abs(normalCdf(z) - p) < 2e-7, `cdf(${z})`);
    assert.ok(Math.abs(normalQuantile(p) - z) < 1e-6, `quantile(${p})`);
  }
  assert.ok(Math.abs(twoSidedP(6) / 1.973175290075e-9 - 1) < 1e-5);
});

test('Student t quantiles and p-values (tables)', () => {
  assert.ok(Math.abs(studentTQuantile(0.975, 10) - 2.228138851986) < 1e-6);
  assert.ok(Math.abs(studentTQuantile(0.995, 3) - 5.840909309733) < 1e-6);
  assert.ok(Math.abs(studentTTwoSidedP(2.228138851986, 10) - 0.05) < 1e-8);
});

test('OLS recovers an exact line', () => {
  const t = Float64Array.from([0, 1, 2, 3, 4]);
  const v = Float64Array.from([1, 3.1, 4.9, 7.2, 8.8]);
  const f = ols(t, v);
  assert.ok(Math.abs(f.slope - 1.97) < 1e-12);
  assert.ok(Math.abs(f.intercept - 1.06) < 1e-12);
  assert.ok(f.ci[0] < 1.97 && f.ci[1] > 1.97 && f.pValue < 0.001);
});
