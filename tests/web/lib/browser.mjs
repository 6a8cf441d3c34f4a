// Debian's chromium driven by playwright-core: launched headless as a browser server (so the
// test knows its PID and stops it), one fresh context per scenario, and what every page must
// satisfy recorded as it happens (console errors, CSP violations, requests to other origins).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.COSTS_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const WAIT_MS = 30_000;  // a selector or event the page must reach

// Playwright gives each launch a fresh temporary user-data-dir (and removes it on close).
export async function launch() {
  const server = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const pid = server.process().pid;
  let browser;
  try {
    browser = await chromium.connect(server.wsEndpoint());
  } catch (e) {
    await server.kill();
    throw e;
  }
  return {
    browser,
    pid,
    async close() {
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
      try { process.kill(pid, 0); } catch { return; }  // gone
      process.kill(pid, 'SIGKILL');
    },
  };
}

// A fresh context (no cookies) at `width` px whose pages record their problems in `problems`.
// `allowStatuses`: HTTP statuses the scenario provokes (chromium logs each failed fetch as a
// console error, which is then expected, not a fault of the page).
export async function newContext(browser, base, { width = 1280, allowStatuses = [] } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const allowed = new RegExp(`status of (${allowStatuses.join('|') || 'none'})\\b`);
  await context.exposeBinding('__costsCspViolation', (_src, v) => problems.push(`CSP violation: ${v}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__costsCspViolation(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  context.on('page', (page) => watch(page, base, problems, allowed));
  return { context, problems };
}

function watch(page, base, problems, allowed) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !allowed.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.stack || err}`));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(base + '/') && !url.startsWith('blob:') && !url.startsWith('data:')) {
      problems.push(`request to something other than costsd: ${req.method()} ${url}`);
    }
  });
}

// Runs `action` and waits until the page has rendered the data it caused: the test marks
// body[data-ready] stale first, the page sets it "false" while loading and "true" when done.
export async function settle(page, action) {
  await page.evaluate(() => { document.body.dataset.ready = 'stale'; });
  await action();
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
}

export async function signIn(page, user, password) {
  await page.waitForSelector('#signin-view', { state: 'visible' });
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#signin-submit');
}

// Signs in and waits for the organization (or deployment) view to be rendered.
export async function signInAndSettle(page, user, password) {
  await settle(page, () => signIn(page, user, password));
  await page.waitForSelector('#app-view', { state: 'visible' });
}

export function params(page) {
  return Object.fromEntries(new URL(page.url()).searchParams);
}

// The shared URL's view parameters (what must survive drill-down, back and sharing).
export function viewOf(page) {
  const p = params(page);
  return { org: p.org, from: p.from, to: p.to, bucketing: p.bucketing, deployment: p.deployment };
}

export async function message(page, kind, timeout = WAIT_MS) {
  const el = await page.waitForSelector(`#message[data-kind="${kind}"]`, { state: 'visible', timeout });
  return (await el.innerText()).trim();
}

export async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const stream = await dl.createReadStream();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}
