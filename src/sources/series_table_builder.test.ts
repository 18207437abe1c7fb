import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSeriesTable } from './series_table_builder.js';

test('aligns samples on one axis from t = 0, NaN where a series is missing, a new boot keeps time increasing', () => {
  const tb = buildSeriesTable([
    { tSec: 100, bootId: 'a', values: new Map([['x', 1]]) },
    { tSec: 105, bootId: 'a', values: new Map([['x', 2], ['y', 5]]) },
    { tSec: 3, bootId: 'b', values: new Map([['x', 3]]) },
  ], { source: 's', intervalSec: 5 });
  assert.deepEqual([...tb.t], [0, 5, 10]);
  assert.deepEqual([...(tb.series.get('x') ?? [])], [1, 2, 3]);
  assert.deepEqual([...(tb.series.get('y') ?? [])].map((v) => (Number.isNaN(v) ? null : v)), [null, 5, null]);
  assert.deepEqual(tb.boots, [{ bootId: 'a', fromIndex: 0, toIndex: 1 }, { bootId: 'b', fromIndex: 2, toIndex: 2 }]);
  assert.equal(tb.gaps.length, 1);
});
