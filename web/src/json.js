// A lossless JSON parser (RFC 8259): numbers are kept as their exact text (JsonNumber), never
// turned into binary floats, so a cost of 17 significant digits survives to the page. Strings,
// booleans, null, arrays and objects are as JSON.parse makes them (objects are plain objects;
// a "__proto__" member is an ordinary own property). Nesting is bounded (maxDepth); anything
// malformed throws a JsonError saying where.

export class JsonNumber {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

export class JsonError extends Error {
  constructor(message, offset) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonError';
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

// Parses `text` as one JSON value (whitespace around it allowed). Throws JsonError.
export function parseJson(text, { maxDepth = 64 } = {}) {
  let pos = 0;

  const fail = (message) => {
    throw new JsonError(message, pos);
  };
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };
  const expect = (c) => {
    if (text[pos] !== c) fail(`expected '${c}'`);
    pos++;
  };
  const literal = (word, value) => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail('unexpected token');
  };

  function parseString() {
    expect('"');
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      if (e === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 6;
      } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        pos += 2;
      } else {
        fail('bad escape');
      }
      start = pos;
    }
    out += text.slice(start, pos);
    pos++;
    return out;
  }

  function parseNumber() {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) fail('bad number');
    pos += m[0].length;
    return new JsonNumber(m[0]);
  }

  function parseArray(depth) {
    expect('[');
    const out = [];
    skipSpace();
    if (text[pos] === ']') {
      pos++;
      return out;
    }
    for (;;) {
      out.push(parseValue(depth));
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      expect(',');
    }
  }

  function parseObject(depth) {
    expect('{');
    const out = {};
    skipSpace();
    if (text[pos] === '}') {
      pos++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') fail('expected a member name');
      const key = parseString();
      skipSpace();
      expect(':');
      Object.defineProperty(out, key, { value: parseValue(depth), enumerable: true, writable: true, configurable: true });
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      expect(',');
    }
  }

  function parseValue(depth) {
    skipSpace();
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') return parseString();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (c === '-' || (c >= '0' && c <= '9')) return parseNumber();
    return fail(pos >= text.length ? 'unexpected end of input' : 'unexpected character');
  }

  if (typeof text !== 'string') throw new JsonError('input is not text', 0);
  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) fail('unexpected text after the value');
  return value;
}

// The exact text of a number member (JsonNumber), or undefined when `value` is not one.
export function numberText(value) {
  return value instanceof JsonNumber ? value.text : undefined;
}
