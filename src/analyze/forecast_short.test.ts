import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecastOom } from './forecast.js';

test('no time to OOM from a 20 s recording: too short, said why', () => {
  const f = forecastOom({
    availableBytes: 22e9, memTotalBytes: 24e9, fall: { rateBytesPerSec: 70e6, ci: [60e6, 80e6], ciLevel: 0.99 },
    leaking: true, level: 'low', rateSource: 'MemAvailable', spanSec: 20,
  });
  assert.equal(f.status, 'too-short');
  assert.equal(f.secondsToOom, null);
  assert.match(f.confidence.reason, /lasted 20 s: too short/);
});

test('ten minutes are enough to forecast', () => {
  const f = forecastOom({
    availableBytes: 22e9, memTotalBytes: 24e9, fall: { rateBytesPerSec: 1e6, ci: [0.9e6, 1.1e6], ciLevel: 0.99 },
    leaking: true, level: 'medium', rateSource: 'MemAvailable', spanSec: 600,
  });
  assert.equal(f.status, 'oom-expected');
});
