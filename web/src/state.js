// Date ranges and the view's state in the URL. All dates are UTC calendar days, written
// YYYY-MM-DD; a range is inclusive of both days (the API reads `to=YYYY-MM-DD` as the end of
// that day). "today" is injected so that tests fix it.

export const PRESETS = ['this-month', 'last-month', 'last-7', 'last-30', 'last-90', 'this-year', 'custom'];
export const PRESET_LABELS = {
  'this-month': 'This month',
  'last-month': 'Last month',
  'last-7': 'Last 7 days',
  'last-30': 'Last 30 days',
  'last-90': 'Last 90 days',
  'this-year': 'This year',
  custom: 'Custom dates',
};
export const BUCKETINGS = ['daily', 'monthly'];
export const DEFAULT_PRESET = 'this-month';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

// Whether `text` is a real calendar date written YYYY-MM-DD.
export function isDate(text) {
  const m = DATE.exec(String(text ?? ''));
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function toDate(text) {
  const [y, m, d] = text.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function fromDate(date) {
  return date.toISOString().slice(0, 10);
}

// The UTC day of a JavaScript Date (e.g. `new Date()`), YYYY-MM-DD.
export function utcToday(now = new Date()) {
  return fromDate(now);
}

function addDays(text, days) {
  const d = toDate(text);
  d.setUTCDate(d.getUTCDate() + days);
  return fromDate(d);
}

// The inclusive UTC days {from, to} a preset stands for on `today` (YYYY-MM-DD); null for
// "custom" or an unknown preset.
export function presetRange(preset, today) {
  const [y, m] = today.split('-').map(Number);
  switch (preset) {
    case 'this-month':
      return { from: fromDate(new Date(Date.UTC(y, m - 1, 1))), to: today };
    case 'last-month':
      return { from: fromDate(new Date(Date.UTC(y, m - 2, 1))), to: fromDate(new Date(Date.UTC(y, m - 1, 0))) };
    case 'last-7':
      return { from: addDays(today, -6), to: today };
    case 'last-30':
      return { from: addDays(today, -29), to: today };
    case 'last-90':
      return { from: addDays(today, -89), to: today };
    case 'this-year':
      return { from: `${String(y).padStart(4, '0')}-01-01`, to: today };
    default:
      return null;
  }
}

const MAX_ID_LENGTH = 256; // domain::kMaxIdLength
const ORG_ID = /^[A-Za-z0-9._@-]+$/; // the API's organization id syntax (admin_service.cpp)

// An id that can be one API path segment: the API's syntax, never "." or ".." (which a URL
// would resolve to another path). Organization ids have the API's name syntax; deployment ids
// are any text the usage had.
function idOrEmpty(text, syntax) {
  const id = text ?? '';
  if (id === '.' || id === '..' || id.length > MAX_ID_LENGTH || (syntax && !syntax.test(id))) return '';
  return id;
}

// Why custom days `from`..`to` (from the date inputs) cannot be asked for, or '' when they can:
// not a date, before 1970, after `today`, or from after to.
export function customRangeError(from, to, today) {
  if (!DATE.test(from ?? '') || !DATE.test(to ?? '')) return 'Enter both days as dates (YYYY-MM-DD).';
  if (from < '1970-01-01' || to < '1970-01-01') return 'Dates before 1970-01-01 are not possible.';
  if (!isDate(from) || !isDate(to)) return 'Enter both days as real calendar dates.';
  if (from > today || to > today) return `Dates after today (${today}, UTC) have no usage yet.`;
  if (from > to) return 'The "From" day must not be after the "To" day.';
  return '';
}

// The view a URL's query string asks for: {org, deployment, from, to, bucketing, preset}.
// Dates in the URL win over its preset (a shared link shows the days it was made for); the
// preset is kept only when its days on `today` are those dates, else it is "custom". A link
// without valid dates gets its preset's (or this month's) days on `today`. from > to is swapped.
// Unknown or malformed values fall back to the defaults; org/deployment are '' when absent or
// not ids the API could have.
export function parseViewState(search, today) {
  const q = new URLSearchParams(search);
  const preset = PRESETS.includes(q.get('preset')) ? q.get('preset') : '';
  let from = q.get('from');
  let to = q.get('to');
  let chosen = preset;
  if (!isDate(from) || !isDate(to)) {
    chosen = preset && preset !== 'custom' ? preset : DEFAULT_PRESET;
    ({ from, to } = presetRange(chosen, today));
  } else {
    if (from > to) [from, to] = [to, from];
    const days = presetRange(preset, today);
    if (!days || days.from !== from || days.to !== to) chosen = 'custom';
  }
  const bucketing = BUCKETINGS.includes(q.get('bucketing')) ? q.get('bucketing') : 'daily';
  return { org: idOrEmpty(q.get('org'), ORG_ID), deployment: idOrEmpty(q.get('deployment')), from, to, bucketing,
    preset: chosen };
}

// The query string ("?org=…") of a view: org, from, to, bucketing, deployment when set, and the
// preset when one chose the dates (not "custom").
export function viewStateToSearch(state) {
  const q = new URLSearchParams();
  if (state.org) q.set('org', state.org);
  q.set('from', state.from);
  q.set('to', state.to);
  q.set('bucketing', state.bucketing);
  if (state.deployment) q.set('deployment', state.deployment);
  if (state.preset && state.preset !== 'custom') q.set('preset', state.preset);
  return '?' + q.toString();
}

// The API's range parameters of a view: "from=YYYY-MM-DD&to=YYYY-MM-DD".
export function rangeQuery(state) {
  return `from=${encodeURIComponent(state.from)}&to=${encodeURIComponent(state.to)}`;
}
