import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson } from '../src/json.js';
import { bucketLabel, chartSeries } from '../src/series.js';

test('series keep the exact texts, sorted by id, with gaps where a bucket has no value', () => {
  const chart = parseJson('{"data":[' +
    '{"timestamp":1772323200,"values":[{"id":"d2","name":"logs","value":0.1}]},' +
    '{"timestamp":1772409600,"values":[]},' +
    '{"timestamp":1772496000,"values":[{"id":"d1","name":"","value":12345678.123456789},' +
    '{"id":"d2","name":"logs","value":1E+2}]}]}');
  assert.deepEqual(chartSeries(chart, 'daily'), {
    labels: ['1 Mar 2026', '2 Mar 2026', '3 Mar 2026'],
    series: [
      { id: 'd1', name: 'd1', exact: [null, null, '12345678.123456789'] },
      { id: 'd2', name: 'logs', exact: ['0.1', null, '1E+2'] },
    ],
  });
  assert.deepEqual(chartSeries(parseJson('{"data":[{"timestamp":0,"values":[]}]}'), 'daily').series, []);
});

test('bucket labels are UTC days or months', () => {
  assert.equal(bucketLabel(1772323200, 'daily'), '1 Mar 2026');
  assert.equal(bucketLabel(1772323200 - 1, 'daily'), '28 Feb 2026');
  assert.equal(bucketLabel(1772323200, 'monthly'), 'Mar 2026');
});
