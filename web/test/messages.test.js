import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageFor } from '../src/messages.js';

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
