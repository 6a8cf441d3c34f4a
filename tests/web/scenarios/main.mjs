// The dashboard used as intended: first load and sign-in, the exact total, monthly bucketing,
// both CSV downloads, drill-down and back, a shared link at phone width, 17 significant digits.
import assert from 'node:assert/strict';
import { download, newContext, settle, signInAndSettle, viewOf, visible } from '../lib/browser.mjs';
import { axeViolations, networkMeter } from '../lib/audit.mjs';
import { EXACT_TOTAL, EXACT_SHOWN } from '../lib/dataset.mjs';
import { apiBytes, apiJson, assertAmount, bytesDiff, chooseOrg, choosePreset, csvLines, openSignedIn, query,
         screenshot } from '../lib/views.mjs';

const MAX_PAGE_BYTES = 500_000;
const ORG_API = '/api/v1/billing/costs/acme';

function assertNoAxe(violations, view) {
  assert.deepEqual(violations, [], `axe-core: serious or critical violations on the ${view} view:\n  ` +
                   violations.join('\n  '));
}

async function firstLoad(env) {
  const { context, problems } = await newContext(env.browser, env.srv.base);
  env.track(context, problems);
  const page = await context.newPage();
  const meter = await networkMeter(context, page);
  await page.goto(env.srv.base + '/');
  await visible(page, '#signin-view');
  const before = meter.total();
  await screenshot(env, page, 'signin-1280');
  assertNoAxe(await axeViolations(page), 'sign-in');
  await signInAndSettle(page, 'alice', env.users.alice);
  await visible(page, '#org-view');
  assert.match(await page.innerText('body'), /All dates and times are UTC/i, 'the page must say dates are UTC');
  const total = meter.total();
  const plain = meter.responses().filter((r) => /\/assets\/.+\.(js|css)$/.test(new URL(r.url).pathname) &&
                                                 r.encoding !== 'gzip');
  assert.deepEqual(plain.map((r) => r.url), [], 'scripts and styles must arrive gzip-compressed');
  assert.ok(total < MAX_PAGE_BYTES, `page weight ${total} bytes on first load, over ${MAX_PAGE_BYTES}:\n` +
            meter.responses().map((r) => `  ${r.bytes} ${r.encoding || 'identity'} ${r.url}`).join('\n'));
  env.pageWeight = total;
  return `page weight ${total} bytes on first load (${before} before sign-in)`;
}

async function exactTotal(env) {
  const { page } = await openSignedIn(env);
  await chooseOrg(page, 'acme');
  await choosePreset(page, 'last-90');
  const view = viewOf(page);
  assert.equal(view.org, 'acme', `the URL names org ${view.org}`);
  const overview = await apiJson(env, `${ORG_API}?${query(view)}`);
  await assertAmount(page, '#total', overview.costs.total, `the total of ${view.from}..${view.to}`);
  await assertAmount(page, '#hourly-rate', overview.hourly_rate, 'the hourly rate', ' per hour');
  const deployments = await apiJson(env, `${ORG_API}/deployments?${query(view)}`);
  for (const d of deployments.deployments) {
    assert.ok(await page.$(`table#deployments tr[data-deployment-id="${d.deployment_id}"]`),
              `no row for deployment ${d.deployment_id} in table#deployments`);
  }
  await screenshot(env, page, 'organization-1280');
  assertNoAxe(await axeViolations(page), 'organization');
  return `#total ${overview.costs.total} = the API's costs.total for ${view.from}..${view.to}`;
}

const ZERO = /^-?0(\.0*)?$/;

// One CSV field as RFC 4180 writes it (quoted when it holds a comma, quote, CR or LF).
const csvField = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

// Every column the chart CSV must have, "timestamp,date,deployment_id,deployment_name,value",
// of every value of the API's chart but zeros, sorted.
function chartRows(charts) {
  const rows = [];
  for (const bucket of charts.data) {
    const date = new Date(Number(bucket.timestamp) * 1000).toISOString().slice(0, 10);
    for (const v of bucket.values) {
      if (!ZERO.test(v.value)) rows.push([bucket.timestamp, date, v.id, v.name, v.value].map(csvField).join(','));
    }
  }
  return rows.sort();
}

// Signed in as alice, acme over the last 90 days, monthly bars: where the next two start.
async function acmeMonthly(env) {
  const { page } = await openSignedIn(env);
  await chooseOrg(page, 'acme');
  await choosePreset(page, 'last-90');
  await settle(page, () => page.check('input[name="bucketing"][value="monthly"]'));
  return page;
}

async function monthlyAndCsv(env) {
  const page = await acmeMonthly(env);
  const view = viewOf(page);
  assert.equal(view.bucketing, 'monthly', `the URL says bucketing=${view.bucketing} after choosing monthly`);
  const chartCsv = csvLines(await download(page, '#download-chart-csv'));
  assert.equal(chartCsv[0], 'timestamp,date,deployment_id,deployment_name,value', 'the chart CSV header');
  const got = chartCsv.slice(1).filter((l) => !ZERO.test(l.slice(l.lastIndexOf(',') + 1))).sort();
  const want = chartRows(await apiJson(env, `${ORG_API}/charts?${query(view, { bucketing_strategy: 'monthly' })}`));
  assert.deepEqual(got, want, 'the chart CSV (every column) must be the API\'s monthly chart');
  const csv = await download(page, '#download-csv');
  const apiCsv = await apiBytes(env, `${ORG_API}/deployments?${query(view)}`, 'text/csv');
  const diff = bytesDiff(csv, apiCsv);
  assert.equal(diff, null, `#download-csv is not the API's deployments CSV: ${diff}`);
  return `monthly: ${want.length} chart values and the deployments CSV (${csv.length} bytes) match the API`;
}

async function drillAndBack(env) {
  const page = await acmeMonthly(env);
  const orgView = viewOf(page);
  const dep = env.deployments[0];
  await settle(page, () => page.click(`tr[data-deployment-id="${dep.id}"] a.drill`));
  await visible(page, '#deployment-view');
  assert.deepEqual(viewOf(page), { ...orgView, deployment: dep.id }, 'the URL of the deployment view');
  assert.match(await page.innerText('#deployment-title'), new RegExp(`${dep.name}|${dep.id}`), '#deployment-title');
  assert.ok(await page.$('table#items-resources tbody tr'), 'table#items-resources has no row');
  await visible(page, 'table#items-data-transfer');
  const csv = await download(page, '#download-csv');
  const apiCsv = await apiBytes(env, `${ORG_API}/deployments/${dep.id}/items?${query(orgView)}`, 'text/csv');
  const diff = bytesDiff(csv, apiCsv);
  assert.equal(diff, null, `the deployment's #download-csv is not the API's items CSV: ${diff}`);
  env.sharedUrl = page.url();
  env.sharedView = viewOf(page);
  await screenshot(env, page, 'deployment-1280');
  assertNoAxe(await axeViolations(page), 'deployment');
  await settle(page, () => page.click('#back'));
  await visible(page, '#org-view');
  assert.deepEqual(viewOf(page), orgView, 'back to the organization must keep org, range and bucketing');
  return `drilled into ${dep.id} and back, range ${orgView.from}..${orgView.to} ${orgView.bucketing} kept`;
}

async function sharedUrl(env) {
  if (!env.sharedUrl) await drillAndBack(env); // run alone (-k shared): make the link first
  assert.ok(env.sharedUrl, 'no shared URL: the drill-down did not get that far');
  const { context, problems } = await newContext(env.browser, env.srv.base, { width: 390 });
  env.track(context, problems);
  const page = await context.newPage();
  await page.goto(env.sharedUrl);
  await visible(page, '#signin-view');
  await screenshot(env, page, 'signin-390');
  await signInAndSettle(page, 'alice', env.users.alice);
  await visible(page, '#deployment-view');
  const want = env.sharedView;
  assert.deepEqual(viewOf(page), want, 'the shared URL after sign-in');
  assert.equal(await page.inputValue('#from'), want.from, '#from after opening the shared URL');
  assert.equal(await page.inputValue('#to'), want.to, '#to after opening the shared URL');
  assert.ok(await page.isChecked(`input[name="bucketing"][value="${want.bucketing}"]`), 'the bucketing radio');
  await screenshot(env, page, 'deployment-390');
  await settle(page, () => page.click('#back'));
  await visible(page, '#org-view');
  await screenshot(env, page, 'organization-390');
  return `a new context at 390 px restored ${new URL(env.sharedUrl).search} after sign-in`;
}

async function seventeenDigits(env) {
  const { page } = await openSignedIn(env);
  await chooseOrg(page, 'exact');
  await choosePreset(page, 'last-30');
  const view = viewOf(page);
  const overview = await apiJson(env, `/api/v1/billing/costs/exact?${query(view)}`);
  assert.equal(overview.costs.total, EXACT_TOTAL, 'the API\'s total of org exact (test data)');
  await assertAmount(page, '#total', EXACT_TOTAL, 'the 17-digit total');
  assert.equal((await page.innerText('#total')).replace(/\s+/g, ' ').trim(), EXACT_SHOWN);
  return `#total shows ${EXACT_SHOWN}`;
}

export const scenarios = [
  ['first load, sign in, page weight', firstLoad],
  ['total equals the API to the last digit', exactTotal],
  ['monthly, chart CSV and deployments CSV', monthlyAndCsv],
  ['drill into a deployment and back', drillAndBack],
  ['shared URL restores the view (390 px)', sharedUrl],
  ['17 significant digits shown exactly', seventeenDigits],
];
