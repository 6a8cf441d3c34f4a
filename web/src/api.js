// Calls to costsd's API: same origin, the session cookie, `X-Requested-With: costs` on every
// request (the CSRF header the API requires of cookie-authenticated writes, and what tells it
// to answer 401 without a Basic challenge). JSON bodies are parsed losslessly (json.js).
import { parseJson } from './json.js';

// A failed call, sorted into the kinds the page's message region knows (#message data-kind).
export class ApiError extends Error {
  constructor(kind, status, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind; // unauthenticated | forbidden | not-found | rate-limited | server-error | network | bad-request
    this.status = status;
    this.retryAfter = retryAfter; // seconds, for rate-limited
  }
}

function kindOf(status) {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'server-error';
  return 'bad-request';
}

// The first error message of a BasicFailedReply body, or ''.
function serverMessage(text) {
  try {
    const body = parseJson(text);
    return typeof body?.errors?.[0]?.message === 'string' ? body.errors[0].message : '';
  } catch {
    return '';
  }
}

// Sends one request; resolves to {status, text, headers} for a 2xx, else throws ApiError.
export async function request(method, path, { accept = 'application/json', body } = {}) {
  const headers = { 'X-Requested-With': 'costs', Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('network', 0, 'The server did not answer.');
  }
  let text;
  try {
    text = await res.text();
  } catch {
    throw new ApiError('network', 0, 'The server did not answer.');
  }
  if (res.ok) return { status: res.status, text, headers: res.headers };
  const retry = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  throw new ApiError(kindOf(res.status), res.status, serverMessage(text), Number.isFinite(retry) ? retry : undefined);
}

// GET of a JSON resource, parsed losslessly.
export async function getJson(path) {
  const { text } = await request('GET', path);
  return parseJson(text);
}

// GET of a CSV representation: the body exactly as the API wrote it.
export async function getCsv(path) {
  return (await request('GET', path, { accept: 'text/csv' })).text;
}

const seg = encodeURIComponent;
export const paths = {
  session: '/api/v1/session',
  organizations: '/api/v1/organizations',
  overview: (org, range) => `/api/v1/billing/costs/${seg(org)}?${range}`,
  orgCharts: (org, range, bucketing) =>
    `/api/v1/billing/costs/${seg(org)}/charts?${range}&bucketing_strategy=${seg(bucketing)}`,
  deployments: (org, range) => `/api/v1/billing/costs/${seg(org)}/deployments?${range}`,
  deploymentCharts: (org, dep, range, bucketing) =>
    `/api/v1/billing/costs/${seg(org)}/deployments/${seg(dep)}/charts?${range}&bucketing_strategy=${seg(bucketing)}`,
  deploymentItems: (org, dep, range) => `/api/v1/billing/costs/${seg(org)}/deployments/${seg(dep)}/items?${range}`,
};
