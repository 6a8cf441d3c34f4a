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

test('monthly buckets that the range cuts say which days they hold', () => {
  const sep = Date.UTC(2026, 8, 1) / 1000;
  const oct = Date.UTC(2026, 9, 1) / 1000;
  const nov = Date.UTC(2026, 10, 1) / 1000;
  const chart = parseJson(`{"data":[{"timestamp":${sep},"values":[]},{"timestamp":${oct},"values":[]},` +
    `{"timestamp":${nov},"values":[]}]}`);
  assert.deepEqual(chartSeries(chart, 'monthly', { from: '2026-09-09', to: '2026-11-05' }).labels,
    ['Sept 2026 (9–30 Sept)', 'Oct 2026', 'Nov 2026 (1–5 Nov)']);
  assert.deepEqual(chartSeries(chart, 'monthly', { from: '2026-09-01', to: '2026-11-30' }).labels,
    ['Sept 2026', 'Oct 2026', 'Nov 2026']);
  const one = parseJson(`{"data":[{"timestamp":${sep},"values":[]}]}`);
  assert.deepEqual(chartSeries(one, 'monthly', { from: '2026-09-09', to: '2026-09-09' }).labels, ['Sept 2026 (9 Sept)']);
  // Days are whole: no note.
  assert.deepEqual(chartSeries(one, 'daily', { from: '2026-09-01', to: '2026-09-01' }).labels, ['1 Sept 2026']);
});

test('series of the same name are told apart by their id', () => {
  const chart = parseJson('{"data":[{"timestamp":0,"values":[{"id":"a1","name":"web","value":1},' +
    '{"id":"b2","name":"web","value":2},{"id":"c3","name":"logs","value":3}]}]}');
  assert.deepEqual(chartSeries(chart, 'daily').series.map((s) => s.name), ['web (a1)', 'web (b2)', 'logs']);
});
