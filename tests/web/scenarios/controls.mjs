// The page's controls as a person uses them: custom dates typed key by key, a preset re-applied
// after a link's dates, the deployments table sorted, back and forward through the history.
import assert from 'node:assert/strict';
import { settle, viewOf, visible } from '../lib/browser.mjs';
import { apiJson, chooseOrg, choosePreset, openSignedIn, query } from '../lib/views.mjs';

const DAY_MS = 86_400_000;
const utcDay = (offsetDays = 0) => new Date(Date.now() + offsetDays * DAY_MS).toISOString().slice(0, 10);

// Types `date` (YYYY-MM-DD) into the date input `selector` as a person does: month, day, year,
// one key at a time (en-US field order); the focus stays in the input.
async function typeDate(page, selector, date) {
  const [y, m, d] = date.split('-');
  await page.focus(selector);
  // To the month field: a date input that still has the focus keeps its last field (the year).
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.type(`${m}${d}${y}`);
  assert.equal(await page.inputValue(selector), date, `${selector} after typing ${date}`);
}

// The billing API requests the page makes from now on (their URLs).
function watchBilling(page) {
  const seen = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/v1/billing/')) seen.push(r.url()); });
  return seen;
}

// Waits for #range-error to show a text matching `pattern`; fails with what it shows instead.
async function rangeError(page, pattern) {
  try {
    await page.waitForFunction((source) => {
      const e = document.getElementById('range-error');
      return e && !e.hidden && new RegExp(source).test(e.textContent);
    }, pattern.source);
  } catch {
    const e = await page.$('#range-error');
    throw new Error(`#range-error never said ${pattern}: it is ${await e.isVisible() ? 'shown' : 'hidden'}, ` +
                    `"${(await e.textContent()).trim()}"`);
  }
}

async function customDates(env) {
  const { page } = await openSignedIn(env);
  await chooseOrg(page, 'acme');
  const billing = watchBilling(page);
  const from = utcDay(-20);
  const to = utcDay(-10);
  await typeDate(page, '#from', from);
  await typeDate(page, '#to', to);
  assert.equal(billing.length, 0, `typing dates must not load anything before they are applied; ${billing.length} ` +
               `requests, e.g.\n  ${billing.slice(0, 4).join('\n  ')}`);
  await settle(page, () => page.keyboard.press('Enter'));
  await visible(page, '#org-view');
  assert.deepEqual({ ...viewOf(page), deployment: undefined }, { org: 'acme', from, to, bucketing: 'daily', deployment: undefined },
                   'the URL after applying the typed dates');
  assert.equal(await page.inputValue('#preset'), 'custom', '#preset after typing dates');
  const wrong = billing.filter((u) => new URL(u).searchParams.get('from') !== from ||
                                      new URL(u).searchParams.get('to') !== to);
  assert.deepEqual(wrong, [], 'requests with other ranges than the typed one');
  const asked = billing.length;
  await typeDate(page, '#from', '1969-12-31');
  await page.keyboard.press('Enter');
  await rangeError(page, /1970/);
  await typeDate(page, '#from', from);
  await typeDate(page, '#to', utcDay(1));
  await page.keyboard.press('Enter');
  await rangeError(page, /after today/);
  assert.equal(billing.length, asked, `refused dates must not be asked for: ${billing.slice(asked).join(', ')}`);
  return `typed ${from}..${to}: ${asked} requests, all for that range; 1969 and tomorrow refused in #range-error`;
}

async function presetReapplied(env) {
  // A link made a week ago with "last 7 days": its dates win, so the picker must say custom.
  const old = { from: utcDay(-13), to: utcDay(-7) };
  const { page } = await openSignedIn(env, { url: `/?org=acme&from=${old.from}&to=${old.to}&bucketing=daily&preset=last-7` });
  await visible(page, '#org-view');
  assert.equal(await page.inputValue('#preset'), 'custom', `#preset for a link of ${old.from}..${old.to} (preset=last-7)`);
  await settle(page, () => page.selectOption('#preset', 'last-7'));
  const view = viewOf(page);
  assert.deepEqual([view.from, view.to], [utcDay(-6), utcDay(0)], 'last 7 days re-applied on today');
  assert.equal(await page.inputValue('#preset'), 'last-7');
  return `a link's ${old.from}..${old.to} shows as custom; last-7 re-applied gives ${view.from}..${view.to}`;
}

// An exact decimal as a BigInt of 10^-18 units, for ordering.
function scaled(text) {
  const m = /^(-?)(\d+)(?:\.(\d{1,18}))?$/.exec(text);
  assert.ok(m, `not a decimal: ${text}`);
  const v = BigInt(m[2] + (m[3] ?? '').padEnd(18, '0'));
  return m[1] ? -v : v;
}

async function rowIds(page) {
  return page.$$eval('table#deployments tbody tr[data-deployment-id]', (rows) => rows.map((r) => r.dataset.deploymentId));
}

async function sorting(env) {
  const { page } = await openSignedIn(env);
  await chooseOrg(page, 'acme');
  await choosePreset(page, 'last-30');
  const api = (await apiJson(env, `/api/v1/billing/costs/acme/deployments?${query(viewOf(page))}`)).deployments;
  const byTotal = [...api].sort((a, b) => {
    const d = scaled(a.costs.total) - scaled(b.costs.total);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }).map((d) => d.deployment_id);
  const total = 'table#deployments th[data-sort="total"]';
  assert.deepEqual(await rowIds(page), [...byTotal].reverse(), 'rows by total, descending (the default)');
  await page.click(`${total} button`);
  assert.equal(await page.getAttribute(total, 'aria-sort'), 'ascending', 'aria-sort after one click on Total');
  assert.deepEqual(await rowIds(page), byTotal, 'rows by total, ascending');
  const name = 'table#deployments th[data-sort="name"]';
  await page.click(`${name} button`);
  assert.equal(await page.getAttribute(name, 'aria-sort'), 'ascending', 'aria-sort after a click on Deployment');
  assert.equal(await page.getAttribute(total, 'aria-sort'), 'none', 'Total\'s aria-sort once another column sorts');
  const byName = [...api].sort((a, b) => a.deployment_name.localeCompare(b.deployment_name)).map((d) => d.deployment_id);
  assert.deepEqual(await rowIds(page), byName, 'rows by name, ascending');
  return `total descending, ascending, then by name: ${byName.join(', ')}`;
}

async function backAndForward(env) {
  const { page } = await openSignedIn(env, { allowStatuses: [404] });
  await chooseOrg(page, 'acme');
  await choosePreset(page, 'last-30');
  const daily = viewOf(page);
  await settle(page, () => page.check('input[name="bucketing"][value="monthly"]'));
  const monthly = viewOf(page);
  await settle(page, () => page.goBack());
  assert.deepEqual(viewOf(page), daily, 'the URL after back');
  assert.ok(await page.isChecked('input[name="bucketing"][value="daily"]'), 'the daily radio after back');
  await settle(page, () => page.goForward());
  assert.deepEqual(viewOf(page), monthly, 'the URL after forward');
  assert.ok(await page.isChecked('input[name="bucketing"][value="monthly"]'), 'the monthly radio after forward');
  // A history entry naming an organization the picker does not list: the picker names it too.
  await page.evaluate(() => {
    const here = location.search;
    history.pushState(null, '', here.replace(/org=[^&]*/, 'org=ghost'));
    history.pushState(null, '', here);
  });
  await settle(page, () => page.goBack());
  assert.equal(await page.inputValue('#org'), 'ghost', '#org after back to an entry of organization "ghost"');
  await visible(page, '#message[data-kind="not-found"]');
  return 'back and forward restore range, bucketing and the radios; an unlisted organization stays named';
}

export const scenarios = [
  ['custom dates typed and applied', customDates],
  ['a preset re-applied after a link\'s dates', presetReapplied],
  ['deployments table sorting', sorting],
  ['back and forward', backAndForward],
];
