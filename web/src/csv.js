// CSV (RFC 4180, CRLF) of the data the chart shows, with the API's exact decimal text.
import { numberText } from './json.js';

// One CSV field: quoted only when it holds ",", '"', CR or LF (quotes doubled).
export function csvField(value) {
  const s = String(value ?? '');
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRows(rows) {
  return rows.map((row) => row.map(csvField).join(',') + '\r\n').join('');
}

// The UTC date (YYYY-MM-DD) of a Unix timestamp in seconds.
export function utcDate(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

// The chart's CSV from a ChartItems body as json.js parsed it ({data:[{timestamp, values:[{id,
// name, value}]}]}): `timestamp,date,<id column>,<name column>,value`, one row per value,
// buckets in order. `series` names the id/name columns: "deployment" on the organization's chart,
// "dimension" on a deployment's.
export function chartCsv(chart, series = 'deployment') {
  const rows = [['timestamp', 'date', `${series}_id`, `${series}_name`, 'value']];
  for (const bucket of chart.data ?? []) {
    const ts = numberText(bucket.timestamp);
    for (const v of bucket.values ?? []) {
      rows.push([ts, utcDate(Number(ts)), v.id, v.name, numberText(v.value)]);
    }
  }
  return csvRows(rows);
}
