// Debian's chromium driven by playwright-core: launched headless as a browser server (so the
// test knows its PID and stops it), one fresh context per scenario, and what every page must
// satisfy recorded as it happens (console errors, CSP violations, requests to other origins).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.COSTS_CHROMIUM || '/usr/bin/chromium';
export const PLAIN_HOST = 'costs-plain-http.test';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
              // A name for 127.0.0.1 that is not "potentially trustworthy" (as 127.0.0.1 is): a
              // Secure cookie is refused there, as on any plain-http host.
              `--host-resolver-rules=MAP ${PLAIN_HOST} 127.0.0.1`];
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
// console error, which is then expected, not a fault of the page); a 401 to the page's own
// GET /api/v1/session check is always expected.
export async function newContext(browser, base, { width = 1280, allowStatuses = [], headers } = {}) {
  // en-US: the date inputs' fields are month/day/year (scenarios type dates key by key).
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true, locale: 'en-US',
                                             extraHTTPHeaders: headers });
  context.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const allowed = (msg) => {
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
    if (!m) return false;
    // The page asks GET /api/v1/session whether it is signed in: 401 is its normal "no".
    const probe = m[1] === '401' && new URL(msg.location().url || base).pathname === '/api/v1/session';
    return probe || allowStatuses.includes(Number(m[1]));
  };
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
    if (msg.type() === 'error' && !allowed(msg)) {
      problems.push(`console error: ${msg.text()} (${msg.location().url || 'no URL'})`);
    }
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.stack || err}`));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(base + '/') && !url.startsWith('blob:') && !url.startsWith('data:')) {
      problems.push(`request to something other than costsd: ${req.method()} ${url}`);
    }
  });
}

// Where the page is and what it says, for a failure message.
export async function pageState(page) {
  try {
    return await page.evaluate(() => {
      const m = document.getElementById('message');
      const views = ['signin-view', 'app-view', 'org-view', 'deployment-view']
        .filter((id) => { const el = document.getElementById(id); return el && el.offsetParent !== null; });
      const said = m && m.offsetParent !== null ? `#message[data-kind=${m.dataset.kind}] "${m.innerText.trim()}"`
        : 'no #message';
      return `page at ${location.pathname}${location.search}, visible: ${views.join(', ') || 'none of the views'}, ` +
             `${said}, body[data-ready=${document.body.dataset.ready}]`;
    });
  } catch (e) {
    return `(page state unavailable: ${e.message.split('\n')[0]})`;
  }
}

// Waits for `selector` to be visible; fails saying what the page shows instead.
export async function visible(page, selector, timeout = WAIT_MS) {
  try {
    return await page.waitForSelector(selector, { state: 'visible', timeout });
  } catch (e) {
    throw new Error(`${selector} not visible within ${timeout} ms: ${await pageState(page)}`);
  }
}

async function ready(page) {
  try {
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  } catch (e) {
    throw new Error(`body[data-ready] never became "true" within ${WAIT_MS} ms: ${await pageState(page)}`);
  }
}

// Runs `action` and waits until the page has rendered the data it caused: the test marks
// body[data-ready] stale first, the page sets it "false" while loading and "true" when done.
export async function settle(page, action) {
  await page.evaluate(() => { document.body.dataset.ready = 'stale'; });
  await action();
  await ready(page);
}

async function onSignInView(page) {
  await visible(page, '#signin-view');
  await ready(page);  // its own session check answered: the form is the page's to use
}

async function submitSignIn(page, user, password) {
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#signin-submit');
}

// Signs in once the page has settled on its sign-in view.
export async function signIn(page, user, password) {
  await onSignInView(page);
  await submitSignIn(page, user, password);
}

// Signs in and waits for the organization (or deployment) view to be rendered.
export async function signInAndSettle(page, user, password) {
  await onSignInView(page);
  await settle(page, () => submitSignIn(page, user, password));
  await visible(page, '#app-view');
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
  const el = await visible(page, `#message[data-kind="${kind}"]`, timeout);
  return (await el.innerText()).trim();
}

export async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const stream = await dl.createReadStream();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}
