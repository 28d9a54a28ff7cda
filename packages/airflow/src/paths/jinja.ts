/**
 * The subset of Jinja that `log_filename_template` needs, compiled once and rendered many times:
 * `{{ expr }}`, `{% if %}/{% elif %}/{% else %}/{% endif %}`, `{# comments #}`, whitespace control
 * (`{%-`, `-%}`, `{{-`, `-}}`), dotted names, int/str/None/True/False literals, comparisons, `and`,
 * `or`, `not`, unary minus and the filters `default`/`d`, `replace`, `lower`, `upper`, `string`, `int`,
 * `trim`. Anything else is rejected at compile time with the construct named, rather than rendered
 * differently from Airflow.
 */

export type Expr =
  | { type: 'name'; name: string }
  | { type: 'attr'; target: Expr; attr: string }
  | { type: 'literal'; value: string | number | boolean | null }
  | { type: 'neg'; operand: Expr }
  | { type: 'not'; operand: Expr }
  | { type: 'bool'; op: 'and' | 'or'; left: Expr; right: Expr }
  | { type: 'compare'; op: '==' | '!=' | '>=' | '<=' | '>' | '<'; left: Expr; right: Expr }
  | { type: 'filter'; name: string; target: Expr; args: Expr[] };

export type Node =
  | { type: 'text'; text: string }
  | { type: 'output'; expr: Expr }
  | { type: 'if'; branches: { test: Expr | null; body: Node[] }[] };

/** A template that cannot be compiled, with the reason and where. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

const FILTERS = new Set(['default', 'd', 'replace', 'lower', 'upper', 'string', 'int', 'trim']);

interface Token {
  kind: 'name' | 'num' | 'str' | 'op';
  value: string;
}

function tokenize(src: string, where: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:([A-Za-z_]\w*)|(\d+)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(==|!=|>=|<=|[<>|.(),-]))/y;
  let at = 0;
  while (at < src.length) {
    if (/^\s*$/.test(src.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(src);
    if (!m) throw new TemplateError(`unsupported syntax ${JSON.stringify(src.slice(at).trim())} in ${where}`);
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ kind: 'name', value: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'num', value: m[2] });
    else if (m[3] !== undefined || m[4] !== undefined)
      out.push({ kind: 'str', value: (m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1') });
    else out.push({ kind: 'op', value: m[5]! });
  }
  return out;
}

class ExprParser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly where: string,
  ) {}

  parseAll(): Expr {
    const e = this.or();
    if (this.i < this.tokens.length) this.fail(`unexpected ${JSON.stringify(this.tokens[this.i]!.value)}`);
    return e;
  }

  private fail(why: string): never {
    throw new TemplateError(`${why} in ${this.where}`);
  }

  private peek(value: string): boolean {
    const t = this.tokens[this.i];
    return t !== undefined && (t.kind === 'op' || t.kind === 'name') && t.value === value;
  }

  private take(value: string): void {
    if (!this.peek(value)) this.fail(`expected ${JSON.stringify(value)}`);
    this.i++;
  }

  private or(): Expr {
    let left = this.and();
    while (this.peek('or')) {
      this.i++;
      left = { type: 'bool', op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.peek('and')) {
      this.i++;
      left = { type: 'bool', op: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.peek('not')) {
      this.i++;
      return { type: 'not', operand: this.not() };
    }
    return this.compare();
  }

  private compare(): Expr {
    const left = this.unary();
    const t = this.tokens[this.i];
    if (t?.kind === 'op' && ['==', '!=', '>=', '<=', '>', '<'].includes(t.value)) {
      this.i++;
      return { type: 'compare', op: t.value as '==', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Expr {
    if (this.peek('-')) {
      this.i++;
      return { type: 'neg', operand: this.unary() };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.peek('.')) {
        this.i++;
        const t = this.tokens[this.i++];
        if (t?.kind !== 'name') this.fail('expected an attribute name after "."');
        e = { type: 'attr', target: e, attr: t.value };
      } else if (this.peek('|')) {
        this.i++;
        const t = this.tokens[this.i++];
        if (t?.kind !== 'name') this.fail('expected a filter name after "|"');
        if (!FILTERS.has(t.value)) {
          this.fail(`filter "${t.value}" is not supported (supported: ${[...FILTERS].join(', ')})`);
        }
        const args: Expr[] = [];
        if (this.peek('(')) {
          this.i++;
          while (!this.peek(')')) {
            args.push(this.or());
            if (!this.peek(')')) this.take(',');
          }
          this.i++;
        }
        e = { type: 'filter', name: t.value, target: e, args };
      } else if (this.peek('(')) {
        this.fail('function and method calls are not supported');
      } else {
        return e;
      }
    }
  }

  private primary(): Expr {
    const t = this.tokens[this.i++];
    if (t === undefined) this.fail('expression ends early');
    if (t.kind === 'num') return { type: 'literal', value: Number(t.value) };
    if (t.kind === 'str') return { type: 'literal', value: t.value };
    if (t.kind === 'name') {
      if (t.value === 'None' || t.value === 'none') return { type: 'literal', value: null };
      if (t.value === 'True' || t.value === 'true') return { type: 'literal', value: true };
      if (t.value === 'False' || t.value === 'false') return { type: 'literal', value: false };
      return { type: 'name', name: t.value };
    }
    if (t.value === '(') {
      const e = this.or();
      this.take(')');
      return e;
    }
    return this.fail(`unexpected ${JSON.stringify(t.value)}`);
  }
}

function parseExpr(src: string, where: string): Expr {
  return new ExprParser(tokenize(src, where), where).parseAll();
}

/** Compile a Jinja template string into nodes. Throws {@link TemplateError} on anything outside the subset. */
export function compileJinja(template: string): Node[] {
  // jinja2 drops one trailing newline (keep_trailing_newline=False).
  const src = template.endsWith('\n') ? template.slice(0, -1) : template;
  const root: Node[] = [];
  const stack: { node: Extract<Node, { type: 'if' }>; sawElse: boolean }[] = [];
  const current = (): Node[] => {
    const top = stack[stack.length - 1];
    return top ? top.node.branches[top.node.branches.length - 1]!.body : root;
  };
  const tag = /\{\{(-?)([\s\S]*?)(-?)\}\}|\{%(-?)([\s\S]*?)(-?)%\}|\{#[\s\S]*?#\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = tag.exec(src); m !== null; m = tag.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    const trimBefore = m[1] === '-' || m[4] === '-';
    if (trimBefore) text = text.replace(/\s+$/, '');
    if (text) {
      current().push({ type: 'text', text });
    }
    last = tag.lastIndex;
    trimNext = m[3] === '-' || m[6] === '-';
    const where = `"${m[0]}"`;
    if (m[2] !== undefined) {
      current().push({ type: 'output', expr: parseExpr(m[2], where) });
    } else if (m[5] !== undefined) {
      const stmt = m[5].trim();
      const word = /^\w+/.exec(stmt)?.[0] ?? '';
      const rest = stmt.slice(word.length);
      if (word === 'if') {
        const node: Extract<Node, { type: 'if' }> = {
          type: 'if',
          branches: [{ test: parseExpr(rest, where), body: [] }],
        };
        current().push(node);
        stack.push({ node, sawElse: false });
      } else if (word === 'elif' || word === 'else') {
        const top = stack[stack.length - 1];
        if (!top || top.sawElse) throw new TemplateError(`${where} without a matching {% if %}`);
        if (word === 'else') top.sawElse = true;
        top.node.branches.push({ test: word === 'elif' ? parseExpr(rest, where) : null, body: [] });
      } else if (word === 'endif') {
        if (!stack.pop()) throw new TemplateError(`${where} without a matching {% if %}`);
      } else {
        throw new TemplateError(`statement ${where} is not supported (supported: if, elif, else, endif)`);
      }
    }
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  if (tail) current().push({ type: 'text', text: tail });
  if (stack.length > 0) throw new TemplateError('{% if %} without {% endif %}');
  return root;
}

/** Every dotted name an expression reads (`ti.map_index`, `try_number`), for validation against a context. */
export function namesIn(expr: Expr, out: string[] = []): string[] {
  switch (expr.type) {
    case 'name':
      out.push(expr.name);
      break;
    case 'attr': {
      const path = dottedPath(expr);
      if (path) out.push(path);
      else namesIn(expr.target, out);
      break;
    }
    case 'neg':
    case 'not':
      namesIn(expr.operand, out);
      break;
    case 'bool':
    case 'compare':
      namesIn(expr.left, out);
      namesIn(expr.right, out);
      break;
    case 'filter':
      namesIn(expr.target, out);
      for (const a of expr.args) namesIn(a, out);
      break;
  }
  return out;
}

/** `ti.map_index` for an attribute chain on a name, else undefined. */
export function dottedPath(expr: Expr): string | undefined {
  if (expr.type === 'name') return expr.name;
  if (expr.type === 'attr') {
    const base = dottedPath(expr.target);
    return base === undefined ? undefined : `${base}.${expr.attr}`;
  }
  return undefined;
}
