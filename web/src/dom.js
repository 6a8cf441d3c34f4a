// Small DOM helpers: elements built with textContent only (no HTML strings), the message
// region, download links and table rows.
import { formatEcu } from './decimal.js';

export const $ = (selector, root = document) => root.querySelector(selector);

// A new element with `className` and text.
export function el(tag, { className, text } = {}) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// A <td> (or <th scope=row>) of text; `num` right-aligns it.
export function cell(text, { num = false, header = false } = {}) {
  const c = el(header ? 'th' : 'td', { className: num ? 'num' : undefined, text });
  if (header) c.scope = 'row';
  return c;
}

// Shows an amount: text "12,345.5 ECU" and data-value = the exact decimal text the API wrote.
export function setAmount(element, exact) {
  element.textContent = formatEcu(exact);
  element.dataset.value = exact;
}

// The message region: shown with `kind` and `text`, or hidden when `kind` is empty.
export function showMessage(kind, text = '') {
  const m = $('#message');
  if (!kind) {
    m.hidden = true;
    m.textContent = '';
    delete m.dataset.kind;
    return;
  }
  m.dataset.kind = kind;
  m.textContent = text;
  m.hidden = false;
}

const blobUrls = new Set();

// Points link `a` at `text` as a CSV download named `filename` (a blob: URL, revoked when the
// view is rendered again).
export function setDownload(a, text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  blobUrls.add(url);
  a.href = url;
  a.download = filename;
}

export function revokeDownloads() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls.clear();
}

const DAY = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'long', year: 'numeric' });

// "1 March 2026 to 15 March 2026 (UTC, both days included)".
export function rangeText(from, to) {
  const d = (text) => DAY.format(new Date(text + 'T00:00:00Z'));
  return `${d(from)} to ${d(to)} (UTC days, both included)`;
}
