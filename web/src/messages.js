// What the page says when something goes wrong: the #message region's data-kind and text.

const TEXTS = {
  'bad-credentials': 'The user name or password is not right. Check them and try again.',
  'bad-key': 'That API key is not valid (or was revoked). Check it and try again.',
  unauthenticated: 'Your session has ended (signed out or idle too long). Sign in again.',
  forbidden: 'You do not have access to this. Pick another organization, or ask an administrator for access.',
  'not-found': 'Not found: this organization or deployment does not exist. Check the link or pick another one.',
  'server-error': 'The cost data could not be read right now. Please try again in a moment.',
  network: 'The server did not answer. Check your connection and try again.',
  'bad-range': 'The server refused this date range. Choose a shorter or valid range.',
  'signin-forbidden': 'The sign-in request was refused (403): the address in the browser does not match the ' +
    'server\'s own (a proxy changing Origin or Host?). Open the dashboard at its own address, or ask an administrator.',
  'cookie-not-kept': 'Signed in, but the browser did not keep the session cookie (a Secure cookie over plain ' +
    'http?). Open the dashboard over https, or ask an administrator.',
  'no-organizations': 'Your user is not a member of any organization yet. Ask an administrator to add you.',
};

// {kind, text} for an ApiError-like {kind, status, message, retryAfter}. `signingIn`: the error
// answers a sign-in, where 401 means wrong credentials (with `apiKey`: a wrong key).
export function messageFor(error, { signingIn = false, apiKey = false } = {}) {
  const kind = error?.kind ?? 'network';
  if (signingIn && (kind === 'unauthenticated' || kind === 'bad-request')) {
    return { kind: 'bad-credentials', text: TEXTS[apiKey ? 'bad-key' : 'bad-credentials'] };
  }
  if (kind === 'rate-limited') {
    const seconds = Number.isInteger(error.retryAfter) && error.retryAfter > 0 ? error.retryAfter : 1;
    return { kind, text: `Too many requests: retry in ${seconds} s.` };
  }
  if (signingIn && kind === 'forbidden') return { kind, text: TEXTS['signin-forbidden'] };
  if (kind === 'bad-request') return { kind: 'bad-range', text: error.message || TEXTS['bad-range'] };
  if (kind === 'cookie-not-kept') return { kind: 'unauthenticated', text: TEXTS[kind] };
  if (kind === 'no-organizations') return { kind: 'not-found', text: TEXTS[kind] };
  return { kind, text: TEXTS[kind] ?? TEXTS.network };
}

// Whether "Try again" can help after a message of `kind` (a refused range stays refused).
export function retryable(kind) {
  return kind === 'server-error' || kind === 'network' || kind === 'rate-limited';
}
