// The stacked bar chart (Chart.js, only the parts used are registered). Bar heights are floats
// (geometry only); tooltips and the accessible table show the API's exact decimal text.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { formatEcu, toChartNumber } from './decimal.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

// Distinct colours that stay apart for common colour-vision deficiencies (Okabe-Ito, then more).
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000',
  '#7F3C8D', '#11A579', '#3969AC', '#F2B701', '#E73F74', '#80BA5A', '#E68310', '#008695'];

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
        maxBarThickness: 72,
        stack: 'cost',
      })),
    },
    options: {
      locale: 'en-US', // the y-axis ticks' separators as the page writes numbers, not the browser's
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
