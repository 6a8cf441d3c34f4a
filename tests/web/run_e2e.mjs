// The dashboard's browser tests (tests/web/README.md): a costsd of their own on a fresh SQLite
// database made with costsctl, Debian's chromium driven by playwright-core, each scenario in
// fresh browser contexts. One line per scenario on success; on failure the scenario's error,
// the page's problems and the tail of costsd's log. Exit code 1 when any scenario failed.
//
//   node tests/web/run_e2e.mjs --costsd PATH --costsctl PATH --out BUILD/tests/web [--db sqlite|postgres]
//                              [-k PATTERN]... [--keep]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDeps } from './ensure-deps.mjs';

const { values: opts } = parseArgs({ options: {
  costsd: { type: 'string' }, costsctl: { type: 'string' }, out: { type: 'string' },
  db: { type: 'string', default: 'sqlite' }, k: { type: 'string', multiple: true }, keep: { type: 'boolean' },
} });
for (const name of ['costsd', 'costsctl', 'out']) {
  if (!opts[name]) {
    console.error(`usage: run_e2e.mjs --costsd PATH --costsctl PATH --out DIR [--db sqlite|postgres] [-k PATTERN]... [--keep] (no --${name})`);
    process.exit(2);
  }
}

ensureDeps();
// Imported after ensureDeps: they need node_modules.
const { launch } = await import('./lib/browser.mjs');
const { Costsd, stopAll } = await import('./lib/procs.mjs');
const { makeDataset } = await import('./lib/dataset.mjs');
const { openStore } = await import('./lib/store.mjs');
const main = await import('./scenarios/main.mjs');
const controls = await import('./scenarios/controls.mjs');
const errors = await import('./scenarios/errors.mjs');
const { describe, request } = await import('./lib/api.mjs');
let browser;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'costs-web-e2e-'));
const screenshots = path.join(path.resolve(opts.out), 'screenshots');
// This run's screenshots only: a scenario that fails before its screenshot leaves none behind.
fs.rmSync(screenshots, { recursive: true, force: true });
fs.mkdirSync(screenshots, { recursive: true });
const env = { costsd: path.resolve(opts.costsd), dir, screenshots, artifacts: [] };

// An error's message without terminal colours or playwright's repeated call log, and where in
// tests/web it was thrown.
function clean(error) {
  // eslint-disable-next-line no-control-regex
  const text = String(error.message).replace(/\x1b\[[0-9;]*m/g, '');
  const lines = text.split('\n');
  const callLog = lines.indexOf('Call log:');
  const kept = callLog < 0 ? lines : [...lines.slice(0, callLog), ...lines.slice(callLog + 1, callLog + 3)];
  const at = String(error.stack || '').split('\n').find((l) => /tests\/web\/(scenarios|lib)\//.test(l));
  return kept.join('\n') + (at ? `\n  ${at.trim()}` : '');
}

async function runScenario(name, fn) {
  const contexts = [];
  const ends = [];
  Object.assign(env, { track: (c, problems) => contexts.push({ c, problems }), onEnd: (f) => ends.push(f) });
  let error = null;
  let summary = '';
  try {
    summary = await fn(env);
    const problems = contexts.flatMap((x) => x.problems);
    if (problems.length) error = new Error(`the page reported problems:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    const problems = contexts.flatMap((x) => x.problems);
    error = e;
    if (problems.length) e.message += `\nthe page also reported:\n  ${problems.join('\n  ')}`;
  }
  for (const f of ends.reverse()) await f().catch(() => {});
  for (const { c } of contexts) await c.close().catch(() => {});
  if (!error) {
    console.log(`ok   ${name}: ${summary}`);
    return true;
  }
  console.log(`FAIL ${name}: ${clean(error)}`);
  return false;
}

// Every scenario needs the page: say so once, at once, when costsd does not serve it.
async function dashboardServed(srv) {
  const resp = await request(srv.base, 'GET', '/');
  if (resp.status !== 200 || !/^text\/html/.test(resp.headers['content-type'] || '')) {
    throw new Error(`costsd does not serve the dashboard at / (GET / must be 200 text/html): ${describe(resp)}`);
  }
}

// A CTest timeout or Ctrl-C still stops what the test started.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    console.log(`web_e2e: ${sig}, stopping what it started`);
    if (browser) await browser.close().catch(() => {});
    await stopAll();
    if (env.store) await env.store.close().catch(() => {});
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
}

let failed = 0;
try {
  env.store = await openStore(opts.db, dir);
  Object.assign(env, makeDataset(path.resolve(opts.costsctl), env.store.url, dir));
  env.srv = await new Costsd(env.costsd, env.store.url, dir).start();
  await dashboardServed(env.srv);
  browser = await launch();
  env.browser = browser.browser;
  const all = [...main.scenarios, ...controls.scenarios, ...errors.scenarios];
  const chosen = all.filter(([name]) => !opts.k || opts.k.some((k) => name.includes(k)));
  for (const [name, fn] of chosen) {
    if (!(await runScenario(name, fn))) failed++;
  }
  if (failed) console.log(env.srv.logTail());
  console.log(`${failed ? 'FAILED' : 'passed'}: ${chosen.length - failed} of ${chosen.length} scenarios; ` +
              `${env.artifacts.length} screenshots in ${screenshots}`);
} catch (e) {
  failed++;
  console.log(`FAIL setup: ${e.stack || e}`);
  if (env.srv) console.log(env.srv.logTail());
} finally {
  if (browser) await browser.close();
  await stopAll();
  if (env.store) await env.store.close();
  if (opts.keep) console.log(`kept ${dir}`); else fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
