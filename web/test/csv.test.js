import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartCsv, csvField } from '../src/csv.js';
import { parseJson } from '../src/json.js';

test('fields are quoted only when they must be', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(undefined), '');
});

test('the chart CSV has one row per value, exact decimals, UTC dates', () => {
  const chart = parseJson('{"data":[{"timestamp":1772323200,"values":[' +
    '{"id":"d1","name":"search, prod","value":12345678.123456789},{"id":"d2","name":"logs","value":0.1}]},' +
    '{"timestamp":1772409600,"values":[]}]}');
  assert.equal(chartCsv(chart),
    'timestamp,date,deployment_id,deployment_name,value\r\n' +
    '1772323200,2026-03-01,d1,"search, prod",12345678.123456789\r\n' +
    '1772323200,2026-03-01,d2,logs,0.1\r\n');
  assert.equal(chartCsv(parseJson('{"data":[]}'), 'dimension'),
    'timestamp,date,dimension_id,dimension_name,value\r\n');
});
