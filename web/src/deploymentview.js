// A deployment's view: its chart by billing dimension and its itemized costs (resources, and
// data transfer and storage), the items' CSV, and the way back with the range kept.
import { getCsv, getJson, paths } from './api.js';
import { formatDecimal } from './decimal.js';
import { $, cell, el, rangeText, setAmount, setDownload } from './dom.js';
import { numberText } from './json.js';
import { renderChartPanel } from './chartpanel.js';
import { DIMENSION_NAMES } from './orgview.js';
import { rangeQuery, viewStateToSearch } from './state.js';

export async function fetchDeploymentView(state) {
  const range = rangeQuery(state);
  const [chart, items, csv, deployments] = await Promise.all([
    getJson(paths.deploymentCharts(state.org, state.deployment, range, state.bucketing)),
    getJson(paths.deploymentItems(state.org, state.deployment, range)),
    getCsv(paths.deploymentItems(state.org, state.deployment, range)),
    getJson(paths.deployments(state.org, range)),
  ]);
  return { chart, items, csv, deployments };
}

export function renderDeploymentView(main, state, orgName, data) {
  const view = document.getElementById('deployment-template').content.cloneNode(true).firstElementChild;
  main.replaceChildren(view);
  const found = (data.deployments.deployments ?? []).find((d) => d.deployment_id === state.deployment);
  const name = found?.deployment_name || state.deployment;
  $('#deployment-title', view).textContent = `${name} (deployment ${state.deployment}) in ${orgName}`;
  $('#back', view).href = viewStateToSearch({ ...state, deployment: '' });
  $('#back', view).textContent = `← Back to ${orgName}`;
  $('.range-line', view).textContent = rangeText(state.from, state.to);
  setAmount($('#total', view), numberText(data.items.costs.total));
  const stem = `costs-${state.org}-${state.deployment}-${state.from}-to-${state.to}`;
  renderChartPanel(view, data.chart, { bucketing: state.bucketing, what: 'dimension', filename: `${stem}-chart.csv`,
    range: state });
  setDownload($('#download-csv', view), data.csv, `${stem}-items.csv`);
  fillRows($('#items-resources tbody', view), data.items.resources ?? [], 7, 'No resources in this range.', (r) => [
    cell(r.name, { header: true }), cell(r.sku), cell(r.kind ?? ''),
    number(r.instance_count), number(r.hours), amount(r.price_per_hour), amount(r.price),
  ]);
  fillRows($('#items-data-transfer tbody', view), data.items.data_transfer_and_storage ?? [], 6,
    'No data transfer or storage in this range.', (d) => [
      cell(d.name, { header: true }), cell(d.sku), cell(DIMENSION_NAMES[d.type] ?? d.type ?? ''),
      cell(quantityText(d.quantity?.formatted_value), { num: true }),
      cell(quantityText(d.rate?.formatted_value), { num: true }), amount(d.cost),
    ]);
}

function fillRows(body, items, columns, emptyText, cellsOf) {
  if (items.length === 0) {
    const c = el('td', { className: 'empty-row', text: emptyText });
    c.colSpan = columns;
    const row = el('tr');
    row.append(c);
    body.append(row);
    return;
  }
  const headings = [...body.closest('table').tHead.rows[0].cells].map((th) => th.textContent);
  for (const item of items) {
    const row = el('tr');
    row.append(...cellsOf(item));
    // Column names for the stacked layout of narrow screens (style.css: td::before).
    [...row.cells].forEach((c, i) => {
      c.dataset.label = headings[i];
    });
    body.append(row);
  }
}

function number(value) {
  const text = numberText(value);
  return cell(text === undefined ? '' : formatDecimal(text), { num: true });
}

function amount(value) {
  const c = cell('', { num: true });
  const text = numberText(value);
  if (text !== undefined) setAmount(c, text);
  return c;
}

// "1234.5 GB" -> "1,234.5 GB": the API's exact quantity with its thousands grouped.
export function quantityText(formatted) {
  if (typeof formatted !== 'string') return '';
  const space = formatted.indexOf(' ');
  const num = space < 0 ? formatted : formatted.slice(0, space);
  try {
    return formatDecimal(num) + (space < 0 ? '' : formatted.slice(space));
  } catch {
    return formatted;
  }
}
