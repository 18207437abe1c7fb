import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecastOom, watermarkOf } from './forecast.js';

test('time to OOM: headroom over the fall rate, interval from the rate CI', () => {
  const f = forecastOom({
    availableBytes: 1_100_000, memTotalBytes: 8e9, zones: [{ node: 0, zone: 'Normal', min: 100_000 as never, counters: {} }],
    fall: { rateBytesPerSec: 100, ci: [50, 200], ciLevel: 0.99 }, leaking: true, level: 'high', rateSource: 'MemAvailable',
  });
  assert.equal(f.status, 'oom-expected');
  assert.equal(f.watermarkSource, 'zoneinfo');
  assert.equal(f.secondsToOom, 10_000);
  assert.deepEqual(f.interval, [5_000, 20_000]);
});

test('a CI that allows no fall has no latest time; no leak gives no forecast', () => {
  const f = forecastOom({ availableBytes: 2e6, memTotalBytes: 1e9, fall: { rateBytesPerSec: 10, ci: [-5, 20], ciLevel: 0.99 }, leaking: true, level: 'low', rateSource: 'x' });
  assert.equal(f.interval[1], null);
  const g = forecastOom({ availableBytes: 2e6, memTotalBytes: 1e9, fall: { rateBytesPerSec: -3, ci: [-5, 1], ciLevel: 0.99 }, leaking: false, level: 'high', rateSource: 'x' });
  assert.equal(g.status, 'no-oom-trend');
});

test('watermark estimated like min_free_kbytes when zoneinfo is missing', () => {
  assert.deepEqual(watermarkOf(undefined, 44792 * 1024), { bytes: Math.round(4 * Math.sqrt(44792)) * 1024 - (Math.round(4 * Math.sqrt(44792)) - 4 * Math.sqrt(44792)) * 1024, source: 'estimated' });
});
