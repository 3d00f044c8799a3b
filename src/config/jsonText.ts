import { formatFieldPath } from './issueText.js';

/**
 * Strict JSON for config files: JSON.parse semantics, plus (a) a syntax error names the line and column
 * and (b) a key given twice in one object is an error (JSON.parse would silently keep the last one,
 * hiding a typo the same way an unknown key would).
 */

export type JsonTextResult =
  | { ok: true; value: unknown }
  | { ok: false; line: number; column: number; message: string };

const MAX_DEPTH = 256;

class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'end of file';
  const c = text[i]!;
  return /[\x00-\x1f]/.test(c) ? `character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(c);
}

/** Validates the syntax of JSON text; throws JsonSyntaxError at the first problem. */
function scan(text: string): void {
  let i = 0;
  const path: PropertyKey[] = [];

  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (what: string, at = i): never => {
    let hint = '';
    if (text[at] === '/' && (text[at + 1] === '/' || text[at + 1] === '*')) hint = ' (comments are not allowed in JSON)';
    else if (text[at] === "'") hint = ' (JSON strings use double quotes)';
    throw new JsonSyntaxError(at, `${what}, found ${describeChar(text, at)}${hint}`);
  };

  const string = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c < 0x20) fail('unescaped control character in a string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape in a string', i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape in a string', i);
      } else i++;
    }
    return fail('unterminated string', start);
  };

  const number = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('expected a value');
    i += m![0].length;
  };

  let depth = 0;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (++depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
      if (c === '{') object();
      else array();
      depth--;
      return;
    }
    if (c === '"') {
      string();
      return;
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    fail('expected a value');
  };

  const object = () => {
    i++;
    const seen = new Set<string>();
    ws();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      if (text[i] === '}') throw new JsonSyntaxError(i, 'trailing comma before "}"');
      if (text[i] !== '"') fail('expected a property name in double quotes');
      const keyAt = i;
      const key = string();
      if (seen.has(key)) {
        throw new JsonSyntaxError(keyAt, `${formatFieldPath([...path, key])}: key given twice in one object`);
      }
      seen.add(key);
      ws();
      if (text[i] !== ':') fail('expected ":" after a property name');
      i++;
      path.push(key);
      value();
      path.pop();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return;
      }
      fail('expected "," or "}" after a property value');
    }
  };

  const array = () => {
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (let n = 0; ; n++) {
      ws();
      if (text[i] === ']') throw new JsonSyntaxError(i, 'trailing comma before "]"');
      path.push(n);
      value();
      path.pop();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return;
      }
      fail('expected "," or "]" after an array element');
    }
  };

  ws();
  if (i >= text.length) throw new JsonSyntaxError(i, 'the file is empty');
  value();
  ws();
  if (i < text.length) fail('expected the end of the file after the top-level value');
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Parses config JSON (a leading UTF-8 BOM is ignored). Never throws. */
export function parseJsonText(text: string): JsonTextResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    scan(body);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { ok: false, ...lineColumn(body, err.offset), message: err.message };
  }
  return { ok: true, value: JSON.parse(body) as unknown };
}
