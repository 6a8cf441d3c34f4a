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

// Series and labels of a ChartItems body: {labels, series:[{id, name, exact:[text|null]}]},
// series sorted by id (as the API sorts a bucket's values), `null` where a bucket has no value.
export function chartSeries(chart, bucketing) {
  const buckets = chart.data ?? [];
  const labels = buckets.map((b) => bucketLabel(Number(numberText(b.timestamp)), bucketing));
  const byId = new Map();
  buckets.forEach((b, i) => {
    for (const v of b.values ?? []) {
      if (!byId.has(v.id)) byId.set(v.id, { id: v.id, name: v.name || v.id, exact: new Array(buckets.length).fill(null) });
      byId.get(v.id).exact[i] = numberText(v.value);
    }
  });
  const series = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { labels, series };
}
