// The dashboard's error states, each provoked for real: a wrong password, an expired session
// (its row aged in the store), a 429 from a costsd with a tiny rate limit, a store failure
// (another process holds the SQLite database locked), and the cookie refused after sign-out.
import assert from 'node:assert/strict';
import { PLAIN_HOST, message, newContext, signIn, visible } from '../lib/browser.mjs';
import { describe, request } from '../lib/api.mjs';
import { Costsd } from '../lib/procs.mjs';
import { choosePreset, openSignedIn } from '../lib/views.mjs';

const MINUTE_NS = 60n * 1_000_000_000n;
// SQLite gives up on a locked database after its busy timeout (~5 s) or WAL retries (~10 s);
// costsd's PostgreSQL statement timeout bounds the other store.
const STORE_FAILURE_MS = 60_000;

async function signInPage(env, server, allowStatuses, headers) {
  const { context, problems } = await newContext(env.browser, server.base, { allowStatuses, headers });
  env.track(context, problems);
  const page = await context.newPage();
  await page.goto(server.base + '/');
  return { context, page };
}

async function wrongPassword(env) {
  const { page } = await signInPage(env, env.srv, [401]);
  await signIn(page, 'alice', env.users.alice + 'x');
  const text = await message(page, 'bad-credentials');
  assert.ok(await page.isVisible('#signin-view'), 'the sign-in view must stay after a wrong password');
  return `#message[data-kind=bad-credentials]: "${text}"`;
}

async function expiredSession(env) {
  const { page } = await openSignedIn(env, { user: 'erin', allowStatuses: [401] });
  // 40 minutes: past the idle limit whether it counts 30 or 31 minutes from the stored last use.
  const aged = env.store.ageSessions('erin', 40n * MINUTE_NS);
  assert.ok(aged >= 1, `no sessions row of erin to age (${aged} rows)`);
  // Any data call now finds the session expired.
  await page.check('input[name="bucketing"][value="monthly"]');
  const text = await message(page, 'unauthenticated');
  await visible(page, '#signin-view');
  return `session idle 40 min: sign-in view, #message[data-kind=unauthenticated]: "${text}"`;
}

// A second costsd on the same database whose rate limit allows 3 requests, then one per 100 s;
// node spends them first (Basic auth as alice: the limit is per user name), so the page's calls
// as alice get 429 with a Retry-After the message must repeat.
async function rateLimited(env) {
  const slow = await new Costsd(env.costsd, env.store.url, env.dir, ['--rate-limit', '0.01', '--rate-burst', '3']).start();
  env.onEnd(() => slow.stop());
  let last;
  for (let i = 0; i < 10 && last?.status !== 429; i++) {
    last = await request(slow.base, 'GET', '/api/v1/billing/costs/acme', { user: 'alice', password: env.users.alice });
  }
  assert.equal(last.status, 429, `the limited costsd did not answer 429 within 10 requests: ${describe(last)}`);
  const { page } = await signInPage(env, slow, [429]);
  const retryAfter = new Set();
  page.on('response', (r) => { if (r.status() === 429) retryAfter.add(r.headers()['retry-after']); });
  await signIn(page, 'alice', env.users.alice);
  const text = await message(page, 'rate-limited');
  assert.ok(retryAfter.size > 0, 'the page shows rate-limited but got no 429');
  assert.ok([...retryAfter].some((s) => new RegExp(`(^|\\D)${s}(\\D|$)`).test(text)),
            `#message "${text}" does not contain the Retry-After (${[...retryAfter].join(', ')} s)`);
  await slow.stop();
  return `#message[data-kind=rate-limited]: "${text}"`;
}

async function storeFailure(env) {
  const { page } = await openSignedIn(env, { allowStatuses: [500, 503] });
  const failure = await env.store.fail();
  env.onEnd(() => failure.restore());
  await page.selectOption('#preset', 'last-7');  // a range not asked before: nothing from a cache
  const text = await message(page, 'server-error', STORE_FAILURE_MS);
  assert.match(text, /try again/i, `#message "${text}" must say to try again`);
  // Opening the page while the store fails: its session check gets 500/503, and the page must
  // still offer a way on (the sign-in view with the message), not a blank page.
  await page.reload();
  await visible(page, '#signin-view', STORE_FAILURE_MS);
  const atStart = await message(page, 'server-error');
  return `${failure.how}: "${text}"; on opening: the sign-in view and "${atStart}"`;
}

async function signOut(env) {
  const { context, page } = await openSignedIn(env);
  await choosePreset(page, 'last-30');
  const cookie = (await context.cookies()).find((c) => c.name === 'costs_session');
  assert.ok(cookie, 'no costs_session cookie after sign-in');
  assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict', `cookie flags: ${JSON.stringify(cookie)}`);
  const header = `costs_session=${cookie.value}`;
  const before = await request(env.srv.base, 'GET', '/api/v1/organizations', { cookie: header });
  assert.equal(before.status, 200, `the session cookie before sign-out: ${describe(before)}`);
  await page.click('#signout');
  await visible(page, '#signin-view');
  const after = await request(env.srv.base, 'GET', '/api/v1/organizations', { cookie: header });
  assert.equal(after.status, 401, `the old session cookie after sign-out: ${describe(after)}`);
  assert.ok(!(await context.cookies()).some((c) => c.name === 'costs_session'), 'the cookie is still in the browser');
  return 'the old cookie gets 401 after sign-out';
}

// Behind a proxy that says https (X-Forwarded-Proto from a trusted address) the session cookie
// is Secure, which a browser on plain http does not keep: the sign-in succeeds, the next call
// gets 401, and the page must say so, not "wrong password".
async function cookieNotKept(env) {
  const proxied = await new Costsd(env.costsd, env.store.url, env.dir, ['--trusted-proxies', '127.0.0.1']).start();
  env.onEnd(() => proxied.stop());
  // The page at a plain-http host name (127.0.0.1 itself is trusted with Secure cookies).
  const plain = { base: proxied.base.replace('127.0.0.1', PLAIN_HOST) };
  const { context, page } = await signInPage(env, plain, [401], { 'X-Forwarded-Proto': 'https' });
  await signIn(page, 'alice', env.users.alice);
  const text = await message(page, 'unauthenticated');
  assert.doesNotMatch(text, /password/i, `#message "${text}" blames the password`);
  assert.match(text, /cookie/i, `#message "${text}" must say the cookie was not kept`);
  assert.ok(!(await context.cookies()).some((c) => c.name === 'costs_session'), 'the browser kept the cookie after all');
  await proxied.stop();
  return `#message[data-kind=unauthenticated]: "${text}"`;
}

// A costsd whose ranges are at most 60 days: "Last 90 days" gets 400, which the page shows as
// bad-range with the API's own message and without a "Try again" (it would fail the same way).
async function rangeTooLong(env) {
  const short = await new Costsd(env.costsd, env.store.url, env.dir, ['--max-range-days', '60']).start();
  env.onEnd(() => short.stop());
  const { page } = await openSignedIn(env, { server: short, allowStatuses: [400] });
  await page.selectOption('#preset', 'last-90');
  const text = await message(page, 'bad-range');
  const q = new URLSearchParams(new URL(page.url()).search);
  const resp = await request(short.base, 'GET', `/api/v1/billing/costs/acme?from=${q.get('from')}&to=${q.get('to')}`,
                             { user: 'alice', password: env.users.alice });
  assert.equal(resp.status, 400, `the API for a 90-day range with --max-range-days 60: ${describe(resp)}`);
  const apiMessage = JSON.parse(resp.text).errors[0].message;
  assert.equal(text, apiMessage, '#message must be the API\'s message');
  assert.ok(!(await page.isVisible('#retry')), '"Try again" must not be offered for a refused range');
  await short.stop();
  return `#message[data-kind=bad-range]: "${text}", no Try again`;
}

// 403 and 404 each say what they mean on the page: erin is not a member of "exact"; "nosuch"
// does not exist.
async function forbiddenAndNotFound(env) {
  const denied = await openSignedIn(env, { user: 'erin', url: '/?org=exact', allowStatuses: [403] });
  const forbidden = await message(denied.page, 'forbidden');
  assert.match(forbidden, /access/i, `the 403 message "${forbidden}"`);
  assert.equal(await denied.page.inputValue('#org'), 'exact', '#org names the organization of the link');
  const missing = await openSignedIn(env, { url: '/?org=nosuch', allowStatuses: [404] });
  const notFound = await message(missing.page, 'not-found');
  assert.match(notFound, /not found|does not exist/i, `the 404 message "${notFound}"`);
  return `403: "${forbidden}"; 404: "${notFound}"`;
}

export const scenarios = [
  ['wrong password', wrongPassword],
  ['a Secure cookie over plain http', cookieNotKept],
  ['expired session', expiredSession],
  ['429 shows the Retry-After', rateLimited],
  ['sign-out ends the session', signOut],
  ['a range over --max-range-days', rangeTooLong],
  ['403 and 404 on the page', forbiddenAndNotFound],
  ['store failure', storeFailure],
];
