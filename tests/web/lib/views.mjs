// Scenario helpers shared by the happy-path and error-state scenarios: opening a signed-in page,
// the exact formatting the page must show, comparisons with precise failure messages.
import assert from 'node:assert/strict';
import path from 'node:path';
import { newContext, settle, signInAndSettle, visible } from './browser.mjs';
import { get200, parseExact } from './api.mjs';

// "1234567.5" -> "1,234,567.5 ECU": the API's exact decimal with thousands separators.
export function ecu(text) {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(text);
  assert.ok(m, `not a decimal: ${text}`);
  return `${m[1]}${m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${m[3] ?? ''} ECU`;
}

// A page of a fresh context at `width` px on `url` (default: the dashboard), signed in as `user`
// and rendered. The caller closes `context` (env.track does it at the end of the scenario).
export async function openSignedIn(env, { user = 'alice', width = 1280, url = '/', server = env.srv,
                                          allowStatuses = [] } = {}) {
  const { context, problems } = await newContext(env.browser, server.base, { width, allowStatuses });
  env.track(context, problems);
  const page = await context.newPage();
  await page.goto(server.base + url);
  await signInAndSettle(page, user, env.users[user]);
  return { context, page, problems };
}

// Picks a range preset and waits for the view to render it.
export async function choosePreset(page, preset) {
  if ((await page.inputValue('#preset')) === preset) return;
  await settle(page, () => page.selectOption('#preset', preset));
}

export async function chooseOrg(page, org) {
  await visible(page, '#org-view');
  if ((await page.inputValue('#org')) === org) return;
  await settle(page, () => page.selectOption('#org', org));
}

// The API's JSON at `apiPath` (Basic auth as `user`), numbers as exact text.
export async function apiJson(env, apiPath, user = 'alice') {
  const resp = await get200(env.srv.base, apiPath, { user, password: env.users[user] });
  return parseExact(resp.text);
}

export async function apiBytes(env, apiPath, accept, user = 'alice') {
  const resp = await get200(env.srv.base, apiPath, { user, password: env.users[user], headers: { Accept: accept } });
  return resp.bytes;
}

// An element's data-value and visible text, both checked against the API's exact decimal: the
// text is that decimal formatted (`unit` may follow it: "0.5 ECU per hour").
export async function assertAmount(page, selector, apiText, what, unit = '') {
  const el = await visible(page, selector);
  const value = await el.getAttribute('data-value');
  const shown = (await el.innerText()).replace(/\s+/g, ' ').trim();
  const want = `${ecu(apiText)}${unit}`;
  assert.equal(value, apiText, `${what}: ${selector}[data-value] is ${value}, the API says ${apiText}`);
  assert.equal(shown, want, `${what}: ${selector} shows "${shown}", expected "${want}"`);
}

export function query(view, extra = {}) {
  return new URLSearchParams({ from: view.from, to: view.to, ...extra }).toString();
}

export async function screenshot(env, page, name) {
  const file = path.join(env.screenshots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  env.artifacts.push(file);
}

// Lines of a CSV text (CRLF or LF), without the empty last one.
export function csvLines(bytes) {
  return bytes.toString('utf8').split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
}

export function bytesDiff(got, want) {
  if (got.equals(want)) return null;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  return `differ at byte ${i} (got ${got.length} bytes, the API ${want.length}):\n` +
         `  page: ${JSON.stringify(got.subarray(Math.max(0, i - 40), i + 60).toString('utf8'))}\n` +
         `  API:  ${JSON.stringify(want.subarray(Math.max(0, i - 40), i + 60).toString('utf8'))}`;
}
