// The organization view: summary (total, hourly rate, credits), chart per deployment, cost by
// dimension, the sortable deployments table and its CSV.
import { getCsv, getJson, paths } from './api.js';
import { compareDecimals } from './decimal.js';
import { $, cell, el, rangeText, setAmount, setDownload } from './dom.js';
import { numberText } from './json.js';
import { renderChartPanel } from './chartpanel.js';
import { rangeQuery, viewStateToSearch } from './state.js';

export const DIMENSION_NAMES = {
  capacity: 'Capacity',
  data_in: 'Data in',
  data_out: 'Data out',
  data_internode: 'Data between nodes',
  storage_api: 'Storage API requests',
  storage_bytes: 'Storage',
};

// The deployments table's sort: column and direction, kept while the page lives.
const sort = { key: 'total', dir: 'descending' };

// Reads everything the view shows; rejects with the first ApiError.
export async function fetchOrgView(state) {
  const range = rangeQuery(state);
  const [overview, chart, deployments, csv] = await Promise.all([
    getJson(paths.overview(state.org, range)),
    getJson(paths.orgCharts(state.org, range, state.bucketing)),
    getJson(paths.deployments(state.org, range)),
    getCsv(paths.deployments(state.org, range)),
  ]);
  return { overview, chart, deployments, csv };
}

// Renders fetched data into a fresh copy of the view's template inside `main`.
export function renderOrgView(main, state, orgName, data) {
  const view = document.getElementById('org-template').content.cloneNode(true).firstElementChild;
  main.replaceChildren(view);
  $('#org-title', view).textContent = orgName;
  $('.range-line', view).textContent = rangeText(state.from, state.to);
  setAmount($('#total', view), numberText(data.overview.costs.total));
  setAmount($('#hourly-rate', view), numberText(data.overview.hourly_rate));
  $('#hourly-rate', view).textContent += ' per hour';
  if (data.overview.balance) setAmount($('#balance', view), numberText(data.overview.balance.remaining));
  else $('.balance-card', view).remove(); // no credits: no #balance at all
  const dims = $('#dimensions tbody', view);
  for (const d of data.overview.costs.dimensions ?? []) {
    const row = el('tr');
    row.append(cell(DIMENSION_NAMES[d.type] ?? d.type, { header: true }), amountCell(numberText(d.cost)));
    dims.append(row);
  }
  const stem = `costs-${state.org}-${state.from}-to-${state.to}`;
  renderChartPanel(view, data.chart, { bucketing: state.bucketing, what: 'deployment', filename: `${stem}-chart.csv`,
    range: state });
  setDownload($('#download-csv', view), data.csv, `${stem}-deployments.csv`);
  const rows = (data.deployments.deployments ?? []).map((d) => ({
    id: d.deployment_id,
    name: d.deployment_name || d.deployment_id,
    total: numberText(d.costs.total),
    hourly: numberText(d.hourly_rate),
  }));
  renderDeployments(view, state, rows);
  for (const th of view.querySelectorAll('#deployments th[data-sort]')) {
    $('button', th).addEventListener('click', () => {
      const key = th.dataset.sort;
      sort.dir = sort.key === key && sort.dir === 'descending' ? 'ascending' : 'descending';
      if (sort.key !== key) sort.dir = key === 'name' ? 'ascending' : 'descending';
      sort.key = key;
      renderDeployments(view, state, rows);
    });
  }
}

function amountCell(exact) {
  const c = cell('', { num: true });
  setAmount(c, exact);
  return c;
}

function compareRows(a, b) {
  const order = sort.key === 'name' ? a.name.localeCompare(b.name) || a.id.localeCompare(b.id)
    : compareDecimals(a[sort.key], b[sort.key]) || a.id.localeCompare(b.id);
  return sort.dir === 'ascending' ? order : -order;
}

function renderDeployments(view, state, rows) {
  for (const th of view.querySelectorAll('#deployments th[data-sort]')) {
    th.setAttribute('aria-sort', th.dataset.sort === sort.key ? sort.dir : 'none');
  }
  const body = $('#deployments tbody', view);
  body.replaceChildren();
  if (rows.length === 0) {
    const row = el('tr');
    const c = el('td', { className: 'empty-row', text: 'No deployment has usage in this range.' });
    c.colSpan = 3;
    row.append(c);
    body.append(row);
    return;
  }
  for (const r of [...rows].sort(compareRows)) {
    const row = el('tr');
    row.dataset.deploymentId = r.id;
    const name = el('th');
    name.scope = 'row';
    const link = el('a', { className: 'drill', text: r.name });
    link.href = viewStateToSearch({ ...state, deployment: r.id });
    link.dataset.deploymentId = r.id;
    const id = el('span', { className: 'dep-id', text: r.id });
    name.append(link, id);
    const hourly = amountCell(r.hourly);
    hourly.textContent += ' per hour';
    row.append(name, amountCell(r.total), hourly);
    body.append(row);
  }
}
