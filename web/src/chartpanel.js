// The chart panel of both views: the stacked bars, the "no usage" state, the accessible table
// of the same numbers (exact text), and the chart's CSV download.
import { drawChart } from './bars.js';
import { chartCsv } from './csv.js';
import { formatEcu } from './decimal.js';
import { $, cell, el, setDownload } from './dom.js';
import { chartSeries } from './series.js';

let current = null; // the Chart on the page, destroyed before the next one is drawn

export function destroyChart() {
  current?.destroy();
  current = null;
}

// Renders ChartItems `chart` into `root` (a view), in place of its `.chart-slot` (whose
// data-heading names the panel): the panel of the #chart-template. `what`: "deployment" or
// "dimension" (series and CSV columns).
export function renderChartPanel(root, chart, { bucketing, what, filename, range }) {
  destroyChart();
  const slot = $('.chart-slot', root);
  const panel = document.getElementById('chart-template').content.cloneNode(true).firstElementChild;
  $('#chart-heading', panel).textContent = slot.dataset.heading;
  slot.replaceWith(panel);
  const data = chartSeries(chart, bucketing, range);
  const figure = $('#chart-figure', root);
  const empty = data.series.length === 0;
  $('#empty', root).hidden = !empty;
  figure.hidden = empty;
  setDownload($('#download-chart-csv', root), chartCsv(chart, what), filename);
  if (empty) return;
  const per = bucketing === 'monthly' ? 'month' : 'day';
  const canvas = $('#chart', root);
  canvas.setAttribute('aria-label', `Stacked bar chart of the cost per ${what} per ${per} in ECU. ` +
    'The same numbers are in the table below the chart.');
  $('figcaption', figure).textContent =
    `Cost per ${what} per ${per} (UTC), in ECU. Point at a bar for its exact amounts.`;
  $('.chart-data .table-scroll', figure).replaceChildren(dataTable(data, what));
  current = drawChart(canvas, data, bucketing);
}

// The chart's numbers as a table: one row per bucket, one column per series.
function dataTable({ labels, series }, what) {
  const table = el('table', { className: 'chart-table' });
  const caption = el('caption', { text: `Cost per ${what} (ECU)` });
  const head = el('tr');
  head.append(Object.assign(el('th', { text: 'Period (UTC)' }), { scope: 'col' }));
  for (const s of series) head.append(Object.assign(el('th', { className: 'num', text: s.name }), { scope: 'col' }));
  const body = el('tbody');
  labels.forEach((label, i) => {
    const row = el('tr');
    row.append(cell(label, { header: true }));
    for (const s of series) row.append(cell(s.exact[i] === null ? '–' : formatEcu(s.exact[i]), { num: true }));
    body.append(row);
  });
  const thead = el('thead');
  thead.append(head);
  table.append(caption, thead, body);
  return table;
}
