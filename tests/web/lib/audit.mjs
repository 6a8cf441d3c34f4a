// What the browser measures about a page: axe-core's accessibility violations and the bytes
// transferred over the network (CDP: encodedDataLength, headers and compressed bodies).
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// The serious and critical violations axe-core reports on the page as it is now, one line each.
// axe's source is evaluated through the DevTools protocol, which the page's CSP does not govern.
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.slice(0, 5).join(', ')}`);
}

// Records every response of `page` from now on: its URL, status, Content-Encoding and the bytes
// it took on the wire.
export async function networkMeter(context, page) {
  const cdp = await context.newCDPSession(page);
  const byId = new Map();
  await cdp.send('Network.enable');
  cdp.on('Network.responseReceived', (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    byId.set(e.requestId, { url: e.response.url, status: e.response.status, encoding: h['content-encoding'] || '',
                            bytes: 0 });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = byId.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  return {
    responses: () => [...byId.values()],
    total: () => [...byId.values()].reduce((sum, r) => sum + r.bytes, 0),
  };
}
