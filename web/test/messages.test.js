import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageFor, retryable } from '../src/messages.js';

test('each failure has its kind and a useful text', () => {
  assert.equal(messageFor({ kind: 'unauthenticated' }).kind, 'unauthenticated');
  assert.match(messageFor({ kind: 'unauthenticated' }).text, /Sign in again/);
  assert.equal(messageFor({ kind: 'forbidden' }).kind, 'forbidden');
  assert.equal(messageFor({ kind: 'not-found' }).kind, 'not-found');
  const server = messageFor({ kind: 'server-error', status: 500 });
  assert.equal(server.kind, 'server-error');
  assert.match(server.text, /could not be read.*try again/);
  assert.equal(messageFor({ kind: 'network' }).kind, 'network');
  assert.equal(messageFor(undefined).kind, 'network');
});

test('429 says when to retry, from Retry-After', () => {
  assert.deepEqual(messageFor({ kind: 'rate-limited', retryAfter: 7 }),
    { kind: 'rate-limited', text: 'Too many requests: retry in 7 s.' });
  assert.equal(messageFor({ kind: 'rate-limited' }).text, 'Too many requests: retry in 1 s.');
});

test('a 401 answering a sign-in means wrong credentials', () => {
  assert.equal(messageFor({ kind: 'unauthenticated' }, { signingIn: true }).kind, 'bad-credentials');
  assert.match(messageFor({ kind: 'unauthenticated' }, { signingIn: true, apiKey: true }).text, /API key/);
  assert.equal(messageFor({ kind: 'rate-limited', retryAfter: 3 }, { signingIn: true }).kind, 'rate-limited');
});

test('a 400 (e.g. a range over --max-range-days) is bad-range with the API\'s own message', () => {
  const m = messageFor({ kind: 'bad-request', status: 400, message: 'The range is longer than 60 days.' });
  assert.deepEqual(m, { kind: 'bad-range', text: 'The range is longer than 60 days.' });
  assert.equal(messageFor({ kind: 'bad-request', status: 400, message: '' }).kind, 'bad-range');
  assert.equal(retryable('bad-range'), false);
  assert.equal(retryable('server-error'), true);
  assert.equal(retryable('network'), true);
});

test('a 403 answering a sign-in is a refused request, not "pick another organization"', () => {
  const m = messageFor({ kind: 'forbidden', status: 403, message: 'Origin does not match' }, { signingIn: true });
  assert.equal(m.kind, 'forbidden');
  assert.doesNotMatch(m.text, /organization/i);
  assert.match(m.text, /sign-in request was refused/i);
});

test('a session that does not stick after sign-in is not a wrong password', () => {
  const m = messageFor({ kind: 'cookie-not-kept' });
  assert.equal(m.kind, 'unauthenticated');
  assert.doesNotMatch(m.text, /password/i);
  assert.match(m.text, /cookie/i);
});
