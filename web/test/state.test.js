import { test } from 'node:test';
import assert from 'node:assert/strict';
import { customRangeError, isDate, parseViewState, presetRange, rangeQuery, utcToday, viewStateToSearch } from '../src/state.js';

test('presets are inclusive UTC days ending today', () => {
  const today = '2026-03-15';
  assert.deepEqual(presetRange('this-month', today), { from: '2026-03-01', to: '2026-03-15' });
  assert.deepEqual(presetRange('last-month', today), { from: '2026-02-01', to: '2026-02-28' });
  assert.deepEqual(presetRange('last-7', today), { from: '2026-03-09', to: '2026-03-15' });
  assert.deepEqual(presetRange('last-30', today), { from: '2026-02-14', to: '2026-03-15' });
  assert.deepEqual(presetRange('last-90', today), { from: '2025-12-16', to: '2026-03-15' });
  assert.deepEqual(presetRange('this-year', today), { from: '2026-01-01', to: '2026-03-15' });
  assert.equal(presetRange('custom', today), null);
});

test('last month across a year end and in a leap year', () => {
  assert.deepEqual(presetRange('last-month', '2027-01-01'), { from: '2026-12-01', to: '2026-12-31' });
  assert.deepEqual(presetRange('last-month', '2028-03-31'), { from: '2028-02-01', to: '2028-02-29' });
});

test('today is the UTC day', () => {
  assert.equal(utcToday(new Date('2026-03-15T23:30:00-05:00')), '2026-03-16');
});

test('dates are checked as calendar dates', () => {
  assert.ok(isDate('2028-02-29'));
  for (const bad of ['2026-02-29', '2026-13-01', '2026-1-01', '26-01-01', '', null, '2026-01-01T00:00:00Z']) {
    assert.ok(!isDate(bad), `accepted ${bad}`);
  }
});

test('a view survives the URL both ways', () => {
  const view = { org: 'acme.co@x', deployment: 'd/1 & 2', from: '2026-01-05', to: '2026-02-10', bucketing: 'monthly',
    preset: 'custom' };
  const search = viewStateToSearch(view);
  assert.equal(search, '?org=acme.co%40x&from=2026-01-05&to=2026-02-10&bucketing=monthly&deployment=d%2F1+%26+2');
  assert.deepEqual(parseViewState(search, '2026-03-15'), view);
  const preset = { ...view, deployment: '', ...presetRange('last-7', '2030-01-01'), preset: 'last-7' };
  assert.deepEqual(parseViewState(viewStateToSearch(preset), '2030-01-01'), preset);
});

test('dates in a link win over its preset; without dates the preset chooses', () => {
  assert.deepEqual(parseViewState('?org=a&from=2026-01-01&to=2026-01-31&preset=last-7', '2026-03-15'),
    { org: 'a', deployment: '', from: '2026-01-01', to: '2026-01-31', bucketing: 'daily', preset: 'custom' });
  assert.deepEqual(parseViewState('?org=a&preset=last-7', '2026-03-15'),
    { org: 'a', deployment: '', from: '2026-03-09', to: '2026-03-15', bucketing: 'daily', preset: 'last-7' });
});

test('malformed values fall back to the defaults', () => {
  assert.deepEqual(parseViewState('?from=2026-02-30&to=x&bucketing=hourly&preset=bogus', '2026-03-15'),
    { org: '', deployment: '', from: '2026-03-01', to: '2026-03-15', bucketing: 'daily', preset: 'this-month' });
  assert.deepEqual(parseViewState('?from=2026-03-10&to=2026-03-01', '2026-03-15'),
    { org: '', deployment: '', from: '2026-03-01', to: '2026-03-10', bucketing: 'daily', preset: 'custom' });
});

test('the API gets the inclusive days', () => {
  assert.equal(rangeQuery({ from: '2026-03-01', to: '2026-03-15' }), 'from=2026-03-01&to=2026-03-15');
});

test('a preset whose days are not the link\'s dates shows as custom; a matching one stays', () => {
  assert.equal(parseViewState('?from=2026-01-01&to=2026-01-31&preset=last-7', '2026-03-15').preset, 'custom');
  assert.equal(parseViewState('?from=2026-03-09&to=2026-03-15&preset=last-7', '2026-03-15').preset, 'last-7');
  // A link made yesterday with "last 7 days": its dates win, so it is no longer "last 7 days".
  assert.equal(parseViewState('?from=2026-03-08&to=2026-03-14&preset=last-7', '2026-03-15').preset, 'custom');
});

test('ids that are not the API\'s id syntax are refused (no "." or ".." path segments)', () => {
  for (const bad of ['.', '..', 'a/b', 'a b', '%2e%2e', 'x'.repeat(257)]) {
    assert.equal(parseViewState(`?org=${encodeURIComponent(bad)}`, '2026-03-15').org, '', `org ${bad} accepted`);
  }
  for (const bad of ['.', '..', 'x'.repeat(257)]) {
    const v = parseViewState(`?org=acme&deployment=${encodeURIComponent(bad)}`, '2026-03-15');
    assert.equal(v.deployment, '', `deployment ${bad} accepted`);
  }
  // Deployment ids are any text the usage had (encoded as one path segment by api.js).
  const ok = parseViewState('?org=acme_1.x%40y&deployment=web+2%2Fprod', '2026-03-15');
  assert.deepEqual([ok.org, ok.deployment], ['acme_1.x@y', 'web 2/prod']);
});

test('custom dates: before 1970, after today, or from > to are refused with a reason', () => {
  const today = '2026-03-15';
  assert.equal(customRangeError('2026-03-01', '2026-03-15', today), '');
  assert.equal(customRangeError('1970-01-01', '1970-01-01', today), '');
  assert.match(customRangeError('0002-03-01', '2026-03-15', today), /1970/);
  assert.match(customRangeError('2026-03-01', '2026-03-16', today), /after today/);
  assert.match(customRangeError('2026-03-10', '2026-03-01', today), /"From" day must not be after/);
  assert.match(customRangeError('2026-02-30', '2026-03-01', today), /date/);
  assert.match(customRangeError('', '2026-03-01', today), /date/);
});
