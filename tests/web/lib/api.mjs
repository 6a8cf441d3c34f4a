// Direct HTTP calls to costsd from node (Basic auth or the session cookie): the reference the
// page's numbers and downloads are compared with. Bodies are kept as text (exact decimals).
import http from 'node:http';

export function request(base, method, path, { user, password, cookie, headers = {}, body } = {}) {
  const h = { ...headers };
  if (user !== undefined) h.Authorization = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  if (cookie !== undefined) h.Cookie = cookie;
  if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes: Buffer.concat(chunks),
                                    get text() { return this.bytes.toString('utf8'); } }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export function describe(resp) {
  return `HTTP ${resp.status} ${JSON.stringify(resp.headers)}\n${resp.text.slice(0, 2000)}`;
}

// GET that must answer 200; returns the response.
export async function get200(base, path, opts) {
  const resp = await request(base, 'GET', path, opts);
  if (resp.status !== 200) throw new Error(`GET ${path}: expected 200, got ${describe(resp)}`);
  return resp;
}

// JSON.parse with every number kept as its exact text (a string): the tokens outside strings
// that start a number are quoted before parsing, so nothing goes through a double.
export function parseExact(text) {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /-?[0-9][0-9.eE+-]*/y;
      m.lastIndex = i;
      const tok = m.exec(text)[0];
      out += `"${tok}"`;
      i += tok.length;
    } else {
      out += c;
      i += 1;
    }
  }
  return JSON.parse(out);
}
