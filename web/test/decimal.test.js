import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDecimals, formatDecimal, formatEcu, normalizeDecimal, parseDecimal, sumDecimals, toChartNumber }
  from '../src/decimal.js';

test('formats exact decimals for people', () => {
  assert.equal(formatEcu('12345678.123456789'), '12,345,678.123456789 ECU');
  assert.equal(formatEcu('12345678901234567'), '12,345,678,901,234,567 ECU');
  assert.equal(formatEcu('99999999.999999999'), '99,999,999.999999999 ECU');
  assert.equal(formatEcu('0'), '0 ECU');
  assert.equal(formatEcu('-1234.5'), '-1,234.5 ECU');
  assert.equal(formatEcu('0.000000001'), '0.000000001 ECU');
  assert.equal(formatDecimal('999'), '999');
  assert.equal(formatDecimal('1000'), '1,000');
  assert.equal(formatDecimal('1.50'), '1.5');
  assert.equal(formatDecimal('1.2e3', 'ECU'), '1,200 ECU');
  assert.equal(formatDecimal('-0.0'), '0');
});

test('a 17-digit total is not rounded through a float', () => {
  // As a double, 12345678.123456789 prints as 12345678.12345679.
  assert.notEqual(String(Number('12345678.123456789')), '12345678.123456789');
  assert.equal(formatEcu('12345678.123456789'), '12,345,678.123456789 ECU');
});

test('parses exponents exactly and refuses what is not a decimal', () => {
  assert.deepEqual(parseDecimal('1.25e-2'), { units: 125n, scale: 4 });
  assert.equal(normalizeDecimal('1.25e-2'), '0.0125');
  assert.equal(normalizeDecimal('5E+2'), '500');
  for (const bad of ['', 'abc', '1,000', '1.', '.5', '--1', '1e', 'NaN', '1e401', null]) {
    assert.throws(() => parseDecimal(bad), Error, `accepted ${bad}`);
  }
});

test('sums and compares exactly', () => {
  assert.equal(sumDecimals(['0.1', '0.2']), '0.3');
  assert.equal(sumDecimals([]), '0');
  assert.equal(sumDecimals(['12345678.123456789', '0.000000001', '-8']), '12345670.12345679');
  assert.equal(compareDecimals('0.3', '0.30'), 0);
  assert.equal(compareDecimals('10', '9.999999999'), 1);
  assert.equal(compareDecimals('-1', '0'), -1);
  assert.deepEqual(['10', '9', '100.5', '-2'].sort(compareDecimals), ['-2', '9', '10', '100.5']);
});

test('chart geometry may use floats', () => {
  assert.equal(toChartNumber('1.5'), 1.5);
});
