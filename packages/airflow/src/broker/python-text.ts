/**
 * Python's spellings that end up inside a Celery message: `json.dumps` with its default separators and
 * ASCII escaping (kombu's JSON serializer and the Redis envelope), and Celery's `saferepr` (the
 * `argsrepr` header). Byte-identical output is what lets a message built here pass for Celery's own.
 */

/** A JSON value, in the order Python would write its dict keys (insertion order). */
export type PyJson = null | boolean | number | string | PyJson[] | { [key: string]: PyJson | undefined };

function pyJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (code < 0x20 || (code >= 0x7f && code <= 0xffff)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (code > 0xffff) {
      const v = code - 0x10000;
      const hi = 0xd800 + (v >> 10);
      const lo = 0xdc00 + (v & 0x3ff);
      out += `\\u${hi.toString(16)}\\u${lo.toString(16)}`;
    } else out += ch;
  }
  return `${out}"`;
}

/** `json.dumps(value)` as Python writes it: `", "` and `": "` separators, non-ASCII as `\uXXXX`. */
export function pythonJsonDumps(value: PyJson): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot serialise ${value} as JSON`);
    return Number.isInteger(value) ? String(value) : String(value);
  }
  if (typeof value === 'string') return pyJsonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    parts.push(`${pyJsonString(k)}: ${pythonJsonDumps(v)}`);
  }
  return `{${parts.join(', ')}}`;
}

/** A Python tuple, so {@link saferepr} writes `(...)` and the one-element `(x,)`. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** Values {@link saferepr} understands: Python's None/bool/int/str, lists, tuples and dicts. */
export type PyValue = null | boolean | number | string | PyValue[] | PyTuple | { [key: string]: PyValue };

type Token =
  | { kind: 'literal'; value: string; truncate: boolean }
  | { kind: 'quoted'; value: string }
  | { kind: 'plain'; value: string };

function tokens(value: PyValue, level: number, maxlevels: number, out: Token[]): void {
  const lit = (v: string, truncate = false) => out.push({ kind: 'literal', value: v, truncate });
  if (value === null) out.push({ kind: 'plain', value: 'None' });
  else if (value === true || value === false) out.push({ kind: 'plain', value: value ? 'True' : 'False' });
  else if (typeof value === 'number') out.push({ kind: 'plain', value: String(value) });
  else if (typeof value === 'string') out.push({ kind: 'quoted', value });
  else {
    const isTuple = value instanceof PyTuple;
    const items: [string | null, PyValue][] = isTuple
      ? value.items.map((v) => [null, v])
      : Array.isArray(value)
        ? value.map((v) => [null, v])
        : Object.entries(value);
    const [start, end] = isTuple
      ? ['(', items.length === 1 ? ',)' : ')']
      : Array.isArray(value)
        ? ['[', ']']
        : ['{', '}'];
    if (maxlevels && level >= maxlevels) {
      out.push({ kind: 'plain', value: `${start}...${end}` });
      return;
    }
    lit(start);
    items.forEach(([key, v], i) => {
      if (key !== null) {
        out.push({ kind: 'plain', value: `'${key}'` });
        lit(': ', true);
      }
      tokens(v, level + 1, maxlevels, out);
      if (i < items.length - 1) lit(', ', true);
    });
    lit(end);
  }
}

/** Celery's `celery.utils.text.truncate`: cut at `maxlen`, back to the last space, add '...'. */
function truncate(s: string, maxlen: number | null): string {
  if (maxlen && s.length >= maxlen) {
    const head = s.slice(0, maxlen);
    const space = head.lastIndexOf(' ');
    return `${space >= 0 ? head.slice(0, space) : head}...`;
  }
  return s;
}

/**
 * Celery's `saferepr(o, maxlen)` (the streaming, truncating repr behind the `argsrepr` and `kwargsrepr`
 * headers; Celery's default `argsrepr_maxsize` is 1024). Strings are quoted with `'` and only `'` is
 * escaped, as Celery does (not Python's `repr`).
 */
export function saferepr(value: PyValue, maxlen: number | null = null, maxlevels = 3): string {
  const all: Token[] = [];
  tokens(value, 0, maxlevels, all);
  let remaining = maxlen;
  let out = '';
  let i = 0;
  for (; i < all.length; i++) {
    const token = all[i]!;
    if (remaining !== null && remaining <= 0) {
      out += ', ...';
      i++;
      break;
    }
    let text: string;
    if (token.kind === 'literal') text = token.value;
    else if (token.kind === 'quoted') text = `'${truncate(token.value, remaining).replaceAll("'", "\\'")}'`;
    else text = truncate(token.value, remaining);
    out += text;
    if (remaining !== null) remaining -= text.length;
  }
  // Celery closes what is still open with the non-truncating literals left in the stream.
  for (; i < all.length; i++) {
    const token = all[i]!;
    if (token.kind === 'literal' && !token.truncate) out += token.value;
  }
  return out;
}
