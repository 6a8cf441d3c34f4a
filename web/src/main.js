// The dashboard's entry: sign-in and sign-out, the organization picker and range controls, and
// the view the URL names (organization or deployment), kept in the URL (pushState) so that a
// link restores it. body[data-ready] is "false" while a view loads and "true" once it shows its
// data, its empty state or a message.
import { ApiError, getJson, paths, request } from './api.js';
import { destroyChart } from './chartpanel.js';
import { fetchDeploymentView, renderDeploymentView } from './deploymentview.js';
import { $, revokeDownloads, showMessage } from './dom.js';
import { messageFor, retryable } from './messages.js';
import { fetchOrgView, renderOrgView } from './orgview.js';
import { customRangeError, parseViewState, presetRange, utcToday, viewStateToSearch } from './state.js';

let state = null; // the view shown: {org, deployment, from, to, bucketing, preset}
let organizations = []; // [{id, name}] of the signed-in user
let generation = 0; // bumps per load: answers to an older load are dropped
let useKey = false; // the sign-in form asks for an API key

const setReady = (ready) => {
  document.body.dataset.ready = String(ready);
};

function showSignIn(message) {
  generation++; // a load still in flight (the previous user's) must not paint over this view
  destroyChart();
  $('#retry-line').hidden = true;
  revokeDownloads();
  $('#main').replaceChildren();
  $('#main').setAttribute('aria-busy', 'false');
  $('#main').classList.remove('loading');
  $('#app-view').hidden = true;
  $('#user-box').hidden = true;
  $('#signin-view').hidden = false;
  if (message) showMessage(message.kind, message.text);
  document.title = 'Sign in · Costs';
  setReady(true);
  (useKey ? $('#api-key') : $('#username')).focus();
}

function showError(error) {
  if (error?.kind === 'unauthenticated') {
    showSignIn(messageFor(error));
    return;
  }
  const { kind, text } = messageFor(error);
  showMessage(kind, text);
  // A view to load again, and an error that trying again can mend (a refused range stays refused).
  $('#retry-line').hidden = !state || $('#app-view').hidden || !retryable(kind);
  setReady(true);
}

// Fills the controls from `state`.
function syncControls() {
  $('#org').value = state.org;
  $('#preset').value = state.preset;
  $('#from').value = state.from;
  $('#to').value = state.to;
  $('#range-error').hidden = true;
  for (const r of document.querySelectorAll('input[name="bucketing"]')) r.checked = r.value === state.bucketing;
}

// The organization picker shows `id` even when the list does not have it (a link or history
// entry naming it: the API then answers 403 or 404, which the page says).
function ensureOrgOption(id) {
  const select = $('#org');
  if (id && ![...select.options].some((o) => o.value === id)) select.append(new Option(id, id));
}

function orgName(id) {
  return organizations.find((o) => o.id === id)?.name || id;
}

// Shows `next`; `push` adds a history entry (a user's action), else the entry is replaced.
async function navigate(next, { push = true } = {}) {
  state = next;
  const search = viewStateToSearch(state);
  if (push && search !== location.search) history.pushState(null, '', search);
  else history.replaceState(null, '', search);
  syncControls();
  await loadView();
}

async function loadView() {
  const mine = ++generation;
  setReady(false);
  showMessage('');
  $('#retry-line').hidden = true;
  const main = $('#main');
  main.setAttribute('aria-busy', 'true');
  main.classList.add('loading');
  const name = orgName(state.org);
  document.title = `${name} · Costs`;
  try {
    const data = state.deployment ? await fetchDeploymentView(state) : await fetchOrgView(state);
    if (mine !== generation) return;
    destroyChart();
    revokeDownloads();
    if (state.deployment) renderDeploymentView(main, state, name, data);
    else renderOrgView(main, state, name, data);
    setReady(true);
  } catch (error) {
    if (mine !== generation) return;
    destroyChart(); // no stale numbers under a message about other ones
    revokeDownloads();
    main.replaceChildren();
    if (!(error instanceof ApiError)) console.error(error);
    showError(error instanceof ApiError ? error : new ApiError('server-error', 0, String(error)));
  } finally {
    if (mine === generation) {
      main.setAttribute('aria-busy', 'false');
      main.classList.remove('loading');
    }
  }
}

// After sign-in (or with a live session): the organizations, then the view the URL names.
async function enterApp(who) {
  $('#whoami').textContent = `Signed in as ${who.username}`;
  const list = await getJson(paths.organizations);
  organizations = (list.organizations ?? []).map((o) => ({ id: o.id, name: o.name || o.id }));
  const select = $('#org');
  select.replaceChildren(...organizations.map((o) => new Option(`${o.name} (${o.id})`, o.id)));
  $('#signin-view').hidden = true;
  $('#app-view').hidden = false;
  $('#user-box').hidden = false;
  const wanted = parseViewState(location.search, utcToday());
  if (!wanted.org && organizations.length === 0) {
    showMessage(...Object.values(messageFor({ kind: 'no-organizations' })));
    setReady(true);
    return;
  }
  if (!wanted.org) wanted.org = organizations[0].id;
  ensureOrgOption(wanted.org);
  await navigate(wanted, { push: false });
}

async function signIn(event) {
  event.preventDefault();
  const body = useKey
    ? { api_key: $('#api-key').value.trim() }
    : { username: $('#username').value.trim(), password: $('#password').value };
  if (useKey ? !body.api_key : !body.username || !body.password) {
    showMessage('bad-credentials', useKey ? 'Enter an API key.' : 'Enter your user name and password.');
    return;
  }
  setReady(false);
  $('#signin-submit').disabled = true;
  showMessage('');
  let who;
  try {
    who = JSON.parse((await request('POST', paths.session, { body })).text);
    $('#password').value = '';
    $('#api-key').value = '';
  } catch (error) {
    // 401: wrong credentials; 403: the request's Origin is not the server's own (a proxy?).
    const { kind, text } = messageFor(error, { signingIn: true, apiKey: useKey });
    showMessage(kind, text);
    setReady(true);
    $('#signin-submit').disabled = false;
    return;
  }
  try {
    await enterApp(who);
  } catch (error) {
    // Signed in, yet the next call is not: the browser did not keep the cookie.
    const cookieLost = error instanceof ApiError && error.kind === 'unauthenticated';
    showSignIn(messageFor(cookieLost ? { kind: 'cookie-not-kept' } : error));
  } finally {
    $('#signin-submit').disabled = false;
  }
}

async function signOut() {
  try {
    await request('DELETE', paths.session);
  } catch (error) {
    if (error?.kind !== 'unauthenticated') {
      showError(error);
      return;
    }
  }
  organizations = [];
  showMessage('');
  showSignIn();
}

function toggleKey() {
  useKey = !useKey;
  $('#key-fields').hidden = !useKey;
  $('#password-fields').hidden = useKey;
  $('#use-api-key').setAttribute('aria-pressed', String(useKey));
  $('#use-api-key').textContent = useKey ? 'Sign in with a user name and password instead'
    : 'Sign in with an API key instead';
  (useKey ? $('#api-key') : $('#username')).focus();
}

function wireControls() {
  $('#org').addEventListener('change', (e) => navigate({ ...state, org: e.target.value, deployment: '' }));
  $('#preset').addEventListener('change', (e) => {
    const range = presetRange(e.target.value, utcToday());
    if (range) navigate({ ...state, ...range, preset: e.target.value });
    else {
      state = { ...state, preset: 'custom' };
      history.replaceState(null, '', viewStateToSearch(state));
    }
  });
  // Custom days are applied on Enter, the Apply button, or when the focus leaves the dates: not
  // on every edit (typing a year passes through 0002, 0020, 0202 …).
  const applyDates = () => {
    if (!state || $('#app-view').hidden) return; // a blur as the view goes (sign-out)
    const from = $('#from').value;
    const to = $('#to').value;
    const problem = customRangeError(from, to, utcToday());
    $('#range-error').hidden = !problem;
    $('#range-error').textContent = problem;
    if (problem || (from === state.from && to === state.to)) return;
    navigate({ ...state, from, to, preset: 'custom' });
  };
  const dateControls = ['#from', '#to', '#apply-dates'];
  for (const id of ['#from', '#to']) {
    $(id).addEventListener('blur', (e) => {
      if (!dateControls.some((c) => e.relatedTarget === $(c))) applyDates();
    });
  }
  for (const r of document.querySelectorAll('input[name="bucketing"]')) {
    r.addEventListener('change', () => navigate({ ...state, bucketing: r.value }));
  }
  $('#controls').addEventListener('submit', (e) => {
    e.preventDefault(); // Enter in a date, or the Apply button
    applyDates();
  });
  // Drill-down and back: links with real URLs, followed in the page.
  $('#main').addEventListener('click', (e) => {
    const a = e.target.closest('a.drill, a#back');
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(parseViewState(new URL(a.href).search, utcToday())).then(() => $('#main').focus());
  });
  window.addEventListener('popstate', () => {
    if ($('#app-view').hidden) return;
    state = parseViewState(location.search, utcToday());
    ensureOrgOption(state.org);
    syncControls();
    loadView();
  });
}

async function start() {
  $('#signin-form').addEventListener('submit', signIn);
  $('#use-api-key').addEventListener('click', toggleKey);
  $('#signout').addEventListener('click', signOut);
  $('#retry').addEventListener('click', () => loadView());
  wireControls();
  try {
    const who = JSON.parse((await request('GET', paths.session)).text);
    await enterApp(who);
  } catch (error) {
    // Not signed in; or no answer / a failure: the sign-in view with the message, from where
    // signing in tries again (not a page without any way on).
    if (error instanceof ApiError && error.kind === 'unauthenticated') showSignIn();
    else showSignIn(messageFor(error instanceof ApiError ? error : { kind: 'network' }));
  }
}

start();
