import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonError, JsonNumber, parseJson } from '../src/json.js';

// JsonNumber -> Number, so that a parse compares with JSON.parse's structure.
function plain(v) {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: plain(v[k]), enumerable: true });
    return out;
  }
  return v;
}

test('numbers keep their exact text', () => {
  const v = parseJson('{"total": 12345678.123456789, "n": [-0, 1e400, 0.30000000000000004]}');
  assert.equal(v.total.text, '12345678.123456789');
  assert.deepEqual(v.n.map((x) => x.text), ['-0', '1e400', '0.30000000000000004']);
});

test('strings, escapes and literals read as JSON.parse reads them', () => {
  const text = '{"a":"x\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","b":[true,false,null],"__proto__":1}';
  const v = parseJson(text);
  assert.deepEqual(plain(v), JSON.parse(text));
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.ok(Object.hasOwn(v, '__proto__'));
});

test('malformed input is refused with the offset', () => {
  const bad = ['', ' ', '{', '[1,]', '{"a":1,}', '01', '1.', '.5', '-', '+1', '1e', 'tru', 'nul', '"a', '"\u0001"',
    '"\\x"', '"\\u12g4"', '{a:1}', '[1 2]', '1 2', "'a'", 'NaN', 'Infinity', '{"a" 1}', '[', ']'];
  for (const text of bad) {
    assert.throws(() => parseJson(text), JsonError, `accepted ${JSON.stringify(text)}`);
  }
  assert.throws(() => parseJson('[1,x]'), (e) => e.offset === 3);
});

test('nesting is bounded', () => {
  assert.deepEqual(plain(parseJson('['.repeat(64) + ']'.repeat(64))).flat(Infinity), []);
  assert.throws(() => parseJson('['.repeat(65) + ']'.repeat(65)), /nesting deeper than 64/);
  assert.throws(() => parseJson('{"a":'.repeat(3) + '1' + '}'.repeat(3), { maxDepth: 2 }), JsonError);
});

// A seeded generator (mulberry32) of random JSON text, whitespace included.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(r, depth, numbers) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const ws = () => pick(['', '', ' ', '\n', '\t ', '\r\n']);
  const digits = (n) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
  const kind = depth > 5 ? Math.floor(r() * 4) : Math.floor(r() * 6);
  switch (kind) {
    case 0: {
      const int = r() < 0.3 ? '0' : String(1 + Math.floor(r() * 9)) + digits(Math.floor(r() * 20));
      const text = (r() < 0.3 ? '-' : '') + int + (r() < 0.5 ? '.' + digits(1 + Math.floor(r() * 12)) : '') +
        (r() < 0.2 ? pick(['e', 'E']) + pick(['', '+', '-']) + digits(1 + Math.floor(r() * 2)) : '');
      numbers.push(text);
      return text;
    }
    case 1: {
      const chars = ['a', 'é', '€', '"', '\\', '\n', '\u0001', '😀', ' ', '/', 'z'];
      return JSON.stringify(Array.from({ length: Math.floor(r() * 8) }, () => pick(chars)).join(''))
        .replace(/é/g, () => (r() < 0.5 ? 'é' : '\\u00e9'));
    }
    case 2:
      return pick(['true', 'false', 'null']);
    case 3:
      return JSON.stringify(pick(['', 'id', 'name', 'value', '__proto__', 'constructor', '1', '0']));
    case 4: {
      const n = Math.floor(r() * 5);
      const items = Array.from({ length: n }, () => ws() + generate(r, depth + 1, numbers) + ws());
      return '[' + ws() + items.join(',') + ']';
    }
    default: {
      const n = Math.floor(r() * 5);
      const members = Array.from({ length: n }, () =>
        ws() + JSON.stringify(pick(['a', 'b', 'id', 'value', '__proto__', '2', 'x y'])) + ws() + ':' +
        ws() + generate(r, depth + 1, numbers) + ws());
      return '{' + ws() + members.join(',') + '}';
    }
  }
}

function collectNumbers(v, out) {
  if (v instanceof JsonNumber) out.push(v.text);
  else if (Array.isArray(v)) v.forEach((x) => collectNumbers(x, out));
  else if (v && typeof v === 'object') Object.keys(v).forEach((k) => collectNumbers(v[k], out));
  return out;
}

test('property: random JSON parses to JSON.parse\'s structure, numbers verbatim', () => {
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const numbers = [];
    const text = generate(r, 0, numbers);
    const v = parseJson(text);
    assert.deepEqual(plain(v), JSON.parse(text), `seed ${seed}: ${text}`);
    for (const n of collectNumbers(v, [])) assert.ok(numbers.includes(n), `seed ${seed}: ${n} not written`);
  }
});

test('property: a corrupted text is refused exactly when JSON.parse refuses it', () => {
  const noise = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '.', 'e', '0', ' ', 'x', '\u0000'];
  for (let seed = 1; seed <= 3000; seed++) {
    const r = rng(seed);
    const text = generate(r, 0, []);
    const at = Math.floor(r() * (text.length + 1));
    const corrupted = r() < 0.5
      ? text.slice(0, at) + text.slice(at + 1)
      : text.slice(0, at) + noise[Math.floor(r() * noise.length)] + text.slice(at);
    let expected;
    try {
      expected = JSON.parse(corrupted);
    } catch {
      assert.throws(() => parseJson(corrupted), JsonError, `seed ${seed}: accepted ${JSON.stringify(corrupted)}`);
      continue;
    }
    assert.deepEqual(plain(parseJson(corrupted)), expected, `seed ${seed}: ${JSON.stringify(corrupted)}`);
  }
});
