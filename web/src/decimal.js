// Exact decimals for the page: the API's numbers arrive as text (json.js) and are formatted,
// summed and compared here as BigInt-scaled integers, never as binary floats. Only the chart's
// geometry converts to Number (toChartNumber).

const DECIMAL = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;
const MAX_EXPONENT = 400;

// A decimal as {units: BigInt, scale: n} meaning units × 10^-scale (scale ≥ 0). Throws on text
// that is not a JSON-style decimal number, or whose exponent is beyond ±400.
export function parseDecimal(text) {
  const m = DECIMAL.exec(String(text));
  if (!m) throw new Error(`not a decimal number: ${JSON.stringify(String(text))}`);
  const [, sign, int, frac = '', expText = '0'] = m;
  const exp = Number(expText);
  if (Math.abs(exp) > MAX_EXPONENT) throw new Error(`exponent out of range: ${text}`);
  let digits = int + frac;
  let scale = frac.length - exp;
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  const units = BigInt(digits);
  return { units: sign === '-' ? -units : units, scale };
}

// The plain text of a decimal: no exponent, no trailing fractional zeros ("1.50" -> "1.5").
export function decimalText({ units, scale }) {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  let int = digits.slice(0, digits.length - scale);
  let frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  const zero = /^0*$/.test(int + frac);
  return (negative && !zero ? '-' : '') + int + (frac ? '.' + frac : '');
}

// Normalizes decimal text to its plain form ("1.2e3" -> "1200", "-0.0" -> "0").
export function normalizeDecimal(text) {
  return decimalText(parseDecimal(text));
}

function align(a, b) {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

// The exact sum of decimal texts, as plain text ("0" for none).
export function sumDecimals(texts) {
  let total = { units: 0n, scale: 0 };
  for (const t of texts) {
    const [x, y, scale] = align(total, parseDecimal(t));
    total = { units: x + y, scale };
  }
  return decimalText(total);
}

// -1, 0 or 1 as decimal text a is less than, equal to or greater than b (exact).
export function compareDecimals(a, b) {
  const [x, y] = align(parseDecimal(a), parseDecimal(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

// Groups an unsigned digit string by thousands with ",": "1234567" -> "1,234,567".
function group(int) {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// Decimal text for people: thousands separators in the integer part, the fractional digits as
// the API wrote them (trailing zeros dropped), an optional unit: "12345.5" -> "12,345.5 ECU".
// Negative amounts keep their sign: "-1,000 ECU".
export function formatDecimal(text, unit = '') {
  const plain = normalizeDecimal(text);
  const negative = plain.startsWith('-');
  const [int, frac] = (negative ? plain.slice(1) : plain).split('.');
  const number = (negative ? '-' : '') + group(int) + (frac ? '.' + frac : '');
  return unit ? `${number} ${unit}` : number;
}

// formatDecimal with the unit "ECU".
export function formatEcu(text) {
  return formatDecimal(text, 'ECU');
}

// A Number for chart geometry only (bar heights): never shown, never summed.
export function toChartNumber(text) {
  return Number(normalizeDecimal(text));
}
