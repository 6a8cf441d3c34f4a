// The chart's data as series of exact decimal texts, from a ChartItems body (json.js): pure, so
// that node tests it without a browser or Chart.js.
import { numberText } from './json.js';

const MONTH = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', month: 'short', year: 'numeric' });
const FULL_DAY = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

// The label of a bucket starting at Unix `seconds` (UTC).
export function bucketLabel(seconds, bucketing) {
  const d = new Date(seconds * 1000);
  return bucketing === 'monthly' ? MONTH.format(d) : FULL_DAY.format(d);
}

const DAY_MONTH = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short' });

// A monthly bucket's label with the days the inclusive UTC `range` {from, to} (YYYY-MM-DD) keeps
// of it when it does not cover the whole month: "Sept 2026 (9–30 Sept)".
function monthLabel(seconds, range) {
  const label = bucketLabel(seconds, 'monthly');
  if (!range) return label;
  const start = new Date(seconds * 1000);
  const first = start.toISOString().slice(0, 10);
  const last = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
  const from = range.from > first ? range.from : first;
  const to = range.to < last ? range.to : last;
  if (from === first && to === last) return label;
  const day = (text) => new Date(text + 'T00:00:00Z');
  const days = from === to ? DAY_MONTH.format(day(from))
    : `${day(from).getUTCDate()}–${DAY_MONTH.format(day(to))}`;
  return `${label} (${days})`;
}

// Series and labels of a ChartItems body: {labels, series:[{id, name, exact:[text|null]}]},
// series sorted by id (as the API sorts a bucket's values), `null` where a bucket has no value.
// `range` ({from, to}, inclusive UTC days): monthly labels of partial months name their days.
// Series of the same name are named "name (id)".
export function chartSeries(chart, bucketing, range) {
  const buckets = chart.data ?? [];
  const labels = buckets.map((b) => {
    const seconds = Number(numberText(b.timestamp));
    return bucketing === 'monthly' ? monthLabel(seconds, range) : bucketLabel(seconds, bucketing);
  });
  const byId = new Map();
  buckets.forEach((b, i) => {
    for (const v of b.values ?? []) {
      if (!byId.has(v.id)) byId.set(v.id, { id: v.id, name: v.name || v.id, exact: new Array(buckets.length).fill(null) });
      byId.get(v.id).exact[i] = numberText(v.value);
    }
  });
  const series = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const count = new Map();
  for (const s of series) count.set(s.name, (count.get(s.name) ?? 0) + 1);
  for (const s of series) if (count.get(s.name) > 1) s.name = `${s.name} (${s.id})`;
  return { labels, series };
}
