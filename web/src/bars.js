// The stacked bar chart (Chart.js, only the parts used are registered). Bar heights are floats
// (geometry only); tooltips and the accessible table show the API's exact decimal text.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { formatEcu, toChartNumber } from './decimal.js';
import { numberText } from './json.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Distinct colours that stay apart for common colour-vision deficiencies (Okabe-Ito, then more).
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000',
  '#7F3C8D', '#11A579', '#3969AC', '#F2B701', '#E73F74', '#80BA5A', '#E68310', '#008695'];

const MONTH = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', month: 'short', year: 'numeric' });
const FULL_DAY = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

// The label of a bucket starting at Unix `seconds` (UTC).
export function bucketLabel(seconds, bucketing) {
  const d = new Date(seconds * 1000);
  return bucketing === 'monthly' ? MONTH.format(d) : FULL_DAY.format(d);
}

// Series and labels of a ChartItems body: {labels, series:[{id, name, exact:[text|null]}]},
// series in order of first appearance (the API sorts values by id).
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
  return { labels, series: [...byId.values()] };
}

// Draws (or redraws) the chart on `canvas`; returns the Chart (destroy() it before re-rendering).
export function drawChart(canvas, { labels, series }, bucketing) {
  const shortLabels = labels.map((l) => (bucketing === 'monthly' ? l : l.replace(/ \d{4}$/, '')));
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: shortLabels,
      datasets: series.map((s, i) => ({
        label: s.name,
        data: s.exact.map((t) => (t === null ? null : toChartNumber(t))),
        exact: s.exact,
        backgroundColor: PALETTE[i % PALETTE.length],
        borderWidth: 0,
        stack: 'cost',
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: 'ECU' } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12 } },
        tooltip: {
          filter: (item) => item.dataset.exact[item.dataIndex] !== null,
          callbacks: {
            title: (items) => (items.length ? labels[items[0].dataIndex] + ' (UTC)' : ''),
            label: (item) => `${item.dataset.label}: ${formatEcu(item.dataset.exact[item.dataIndex])}`,
          },
        },
      },
    },
  });
}
