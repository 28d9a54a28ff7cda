import { pythonIsoformat } from './dates.ts';
import { compileJinja, dottedPath, type Expr, type Node, namesIn, TemplateError } from './jinja.ts';
import { applySpec, compilePythonFormat, type FormatPart } from './python-format.ts';

/** Airflow 2.3-2.x default `[logging] log_filename_template`. */
export const AIRFLOW2_LOG_FILENAME_TEMPLATE =
  'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/' +
  '{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}attempt={{ try_number }}.log';

/** Airflow 3.x default: the worker renders it with only `ti` in scope, hence the `default`. */
export const AIRFLOW3_LOG_FILENAME_TEMPLATE =
  'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/' +
  '{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}attempt={{ try_number|default(ti.try_number) }}.log';

/** The pre-2.3 template, still row 1 of `log_template` on upgraded databases. */
export const PRE_2_3_LOG_FILENAME_TEMPLATE = '{{ ti.dag_id }}/{{ ti.task_id }}/{{ ts }}/{{ try_number }}.log';

/**
 * Who renders the template, which decides the variables in scope:
 * - `airflow2`: 2.x worker and webserver, `FileTaskHandler._render_filename` with the full task context
 *   (`ti`, `try_number`, `ts`, `ds`, `ts_nodash`, `execution_date`, `logical_date`, `run_id`, `dag_run`, ...);
 *   `str.format` templates get dag_id, task_id, run_id, data_interval_start/end, execution_date, try_number.
 * - `airflow3-reader`: 3.x api-server reading logs (local or S3), `_render_filename` with only `ti`, `ts`
 *   (logical_date, or run_after when it is null) and `try_number`; `str.format` gets logical_date instead of
 *   execution_date.
 * - `airflow3-writer`: 3.x scheduler choosing the file the worker writes (`ExecuteTask.make`), with only
 *   `ti` and the template from config; `str.format` gets dag_id, task_id, logical_date, try_number.
 */
export type LogPathContext = 'airflow2' | 'airflow3-reader' | 'airflow3-writer';

/** The task-instance facts a log path can be rendered from. */
export interface LogPathTaskInstance {
  dagId: string;
  taskId: string;
  runId: string;
  /** -1 (the default) for an unmapped task. */
  mapIndex?: number;
  tryNumber: number;
  /** The run's logical_date (`execution_date` in 2.x); text keeps microseconds that a Date would lose. */
  logicalDate?: Date | string | null;
  /** 3.x: used for `ts` when logicalDate is null. */
  runAfter?: Date | string | null;
  dataIntervalStart?: Date | string | null;
  dataIntervalEnd?: Date | string | null;
}

/** Options for rendering. */
export interface RenderLogFilenameOptions {
  context: LogPathContext;
  /**
   * How `{{ execution_date }}`-style datetime objects print: pendulum 2 `str()` uses `T`
   * (`2024-01-01T00:00:00+00:00`), pendulum 3 a space. Which one a 2.x install has depends on its
   * constraints (`pip show pendulum` on a worker). Default 2.
   */
  pendulumMajor?: 2 | 3;
}

/** What a log path says about its task instance; fields a template does not carry are absent. */
export interface ParsedLogPath {
  dagId?: string;
  taskId?: string;
  runId?: string;
  /** -1 when the path has no map index (the `{% if ti.map_index >= 0 %}` block rendered nothing). */
  mapIndex: number;
  tryNumber?: number;
  /** The `ts` part (the logical date, as Python's isoformat) of templates that use it. */
  ts?: string;
  /** Set for a triggerer log: `<task log path>.trigger.<triggerer job id>.log`. */
  triggererJobId?: number;
  trigger: boolean;
}

const UNDEFINED = Symbol('undefined');
// A variable Airflow would have but the caller did not supply (e.g. no logicalDate): rendering it is an error.
const MISSING = Symbol('missing');
class PyDate {
  constructor(readonly iso: string) {}
}
type Obj = { readonly [attr: string]: Value };
type Value = string | number | boolean | null | typeof UNDEFINED | typeof MISSING | PyDate | Obj;

// Every name and attribute Windsock can render; a template using anything else is rejected, not guessed.
const OBJECT_ATTRS: Record<string, readonly string[]> = {
  ti: ['dag_id', 'task_id', 'run_id', 'map_index', 'try_number'],
  task_instance: ['dag_id', 'task_id', 'run_id', 'map_index', 'try_number'],
  dag_run: ['run_id', 'logical_date', 'execution_date', 'data_interval_start', 'data_interval_end'],
  task: ['task_id'],
  dag: ['dag_id'],
};
const PLAIN_NAMES = [
  'try_number',
  'ts',
  'ds',
  'ts_nodash',
  'ds_nodash',
  'ts_nodash_with_tz',
  'execution_date',
  'logical_date',
  'run_id',
  'data_interval_start',
  'data_interval_end',
];
const CONTEXT_NAMES: Record<LogPathContext, ReadonlySet<string>> = {
  airflow2: new Set([...Object.keys(OBJECT_ATTRS), ...PLAIN_NAMES]),
  'airflow3-reader': new Set(['ti', 'ts', 'try_number']),
  'airflow3-writer': new Set(['ti']),
};
const FORMAT_FIELDS: Record<LogPathContext, readonly string[]> = {
  airflow2: ['dag_id', 'task_id', 'run_id', 'data_interval_start', 'data_interval_end', 'execution_date', 'try_number'],
  'airflow3-reader': [
    'dag_id',
    'task_id',
    'run_id',
    'data_interval_start',
    'data_interval_end',
    'logical_date',
    'try_number',
  ],
  'airflow3-writer': ['dag_id', 'task_id', 'logical_date', 'try_number'],
};

function validateNames(nodes: Node[]): void {
  const visit = (list: Node[]): void => {
    for (const n of list) {
      if (n.type === 'output') check(n.expr);
      else if (n.type === 'if')
        for (const b of n.branches) {
          if (b.test) check(b.test);
          visit(b.body);
        }
    }
  };
  const check = (e: Expr): void => {
    for (const path of namesIn(e)) {
      const [base, attr, ...more] = path.split('.');
      const attrs = OBJECT_ATTRS[base!];
      if (attrs) {
        if (attr === undefined) throw new TemplateError(`"{{ ${base} }}" renders an object; use one of its attributes`);
        if (!attrs.includes(attr) || more.length > 0) {
          throw new TemplateError(`"${path}" is not supported (supported on ${base}: ${attrs.join(', ')})`);
        }
      } else if (PLAIN_NAMES.includes(base!)) {
        if (attr !== undefined) throw new TemplateError(`"${path}": attributes of ${base} are not supported`);
      } else {
        throw new TemplateError(
          `variable "${base}" is not in Airflow's log filename context (supported: ${[...CONTEXT_NAMES.airflow2].join(', ')})`,
        );
      }
    }
  };
  visit(nodes);
}

function dateValue(v: Date | string | null | undefined, nullValue: Value): Value {
  if (v === undefined) return MISSING;
  return v === null ? nullValue : new PyDate(pythonIsoformat(v));
}

function buildScope(ti: LogPathTaskInstance, context: LogPathContext): Map<string, Value> {
  const mapIndex = ti.mapIndex ?? -1;
  const tiObj: Obj = {
    dag_id: ti.dagId,
    task_id: ti.taskId,
    run_id: ti.runId,
    map_index: mapIndex,
    try_number: ti.tryNumber,
  };
  const scope = new Map<string, Value>([['ti', tiObj]]);
  if (context === 'airflow3-writer') return scope;
  scope.set('try_number', ti.tryNumber);
  // 2.x logical_date is never null; the 3.x reader uses run_after for runs without one.
  const tsSource = context === 'airflow3-reader' ? (ti.logicalDate ?? ti.runAfter) : ti.logicalDate;
  const ts = dateValue(tsSource === null ? undefined : tsSource, null);
  scope.set('ts', ts instanceof PyDate ? ts.iso : ts);
  if (context === 'airflow3-reader') return scope;
  const logical = dateValue(ti.logicalDate === null ? undefined : ti.logicalDate, null);
  const start = dateValue(ti.dataIntervalStart, null);
  const end = dateValue(ti.dataIntervalEnd, null);
  scope.set('task_instance', tiObj);
  scope.set('run_id', ti.runId);
  scope.set('execution_date', logical);
  scope.set('logical_date', logical);
  scope.set('data_interval_start', start);
  scope.set('data_interval_end', end);
  scope.set('dag_run', {
    run_id: ti.runId,
    logical_date: logical,
    execution_date: logical,
    data_interval_start: start,
    data_interval_end: end,
  });
  scope.set('task', { task_id: ti.taskId });
  scope.set('dag', { dag_id: ti.dagId });
  if (logical instanceof PyDate) {
    const iso = logical.iso;
    const ds = iso.slice(0, 10);
    scope.set('ds', ds);
    scope.set('ds_nodash', ds.replaceAll('-', ''));
    scope.set('ts_nodash', iso.slice(0, 19).replaceAll('-', '').replaceAll(':', ''));
    scope.set('ts_nodash_with_tz', iso.replaceAll('-', '').replaceAll(':', ''));
  } else {
    for (const name of ['ds', 'ds_nodash', 'ts_nodash', 'ts_nodash_with_tz']) scope.set(name, MISSING);
  }
  return scope;
}

function pyStr(v: Value, pendulumMajor: 2 | 3): string {
  if (v === UNDEFINED || v === MISSING) return '';
  if (v === null) return 'None';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof PyDate) return pendulumMajor === 3 ? v.iso.replace('T', ' ') : v.iso;
  throw new TemplateError('cannot render an object as text');
}

function truthy(v: Value): boolean {
  return !(v === UNDEFINED || v === MISSING || v === null || v === false || v === 0 || v === '');
}

class Evaluator {
  constructor(
    private readonly scope: Map<string, Value>,
    private readonly pendulumMajor: 2 | 3,
  ) {}

  eval(e: Expr): Value {
    switch (e.type) {
      case 'literal':
        return e.value;
      case 'name':
        return this.present(e.name, this.scope.has(e.name) ? this.scope.get(e.name)! : UNDEFINED);
      case 'attr': {
        const target = this.eval(e.target);
        if (target === UNDEFINED) {
          // jinja2's Undefined raises on attribute access, and so does Airflow's render.
          throw new TemplateError(`"${dottedPath(e.target) ?? 'value'}" is undefined in this context`);
        }
        if (typeof target !== 'object' || target === null || target instanceof PyDate) {
          throw new TemplateError(`cannot read attribute "${e.attr}"`);
        }
        return this.present(`${dottedPath(e.target)}.${e.attr}`, e.attr in target ? target[e.attr]! : UNDEFINED);
      }
      case 'neg': {
        const v = this.eval(e.operand);
        if (typeof v !== 'number') throw new TemplateError('unary "-" needs a number');
        return -v;
      }
      case 'not':
        return !truthy(this.eval(e.operand));
      case 'bool': {
        const left = this.eval(e.left);
        if (e.op === 'and') return truthy(left) ? this.eval(e.right) : left;
        return truthy(left) ? left : this.eval(e.right);
      }
      case 'compare':
        return this.compare(e.op, this.eval(e.left), this.eval(e.right));
      case 'filter':
        return this.filter(e);
    }
  }

  private present(name: string, v: Value): Value {
    if (v === MISSING) {
      throw new TemplateError(
        `the template uses "${name}", which needs the run's dates: pass logicalDate (and data intervals)`,
      );
    }
    return v;
  }

  private compare(op: string, a: Value, b: Value): boolean {
    if (op === '==') return a === b;
    if (op === '!=') return a !== b;
    const bothNumbers = typeof a === 'number' && typeof b === 'number';
    const bothStrings = typeof a === 'string' && typeof b === 'string';
    if (!bothNumbers && !bothStrings) throw new TemplateError(`cannot compare ${pyStrSafe(a)} ${op} ${pyStrSafe(b)}`);
    const x = a as number | string;
    const y = b as number | string;
    return op === '>=' ? x >= y : op === '<=' ? x <= y : op === '>' ? x > y : x < y;
  }

  private filter(e: Extract<Expr, { type: 'filter' }>): Value {
    const v = this.eval(e.target);
    const args = e.args.map((a) => this.eval(a));
    switch (e.name) {
      case 'default':
      case 'd': {
        const replaceFalsy = args.length > 1 && truthy(args[1]!);
        if (v === UNDEFINED || (replaceFalsy && !truthy(v))) return args.length > 0 ? args[0]! : '';
        return v;
      }
      case 'replace': {
        const [from, to, count] = args;
        const text = pyStr(v, this.pendulumMajor);
        const f = pyStr(from ?? '', this.pendulumMajor);
        const t = pyStr(to ?? '', this.pendulumMajor);
        if (typeof count === 'number') {
          let out = text;
          let at = 0;
          for (let i = 0; i < count; i++) {
            const found = out.indexOf(f, at);
            if (found === -1) break;
            out = out.slice(0, found) + t + out.slice(found + f.length);
            at = found + t.length;
          }
          return out;
        }
        return text.split(f).join(t);
      }
      case 'lower':
        return pyStr(v, this.pendulumMajor).toLowerCase();
      case 'upper':
        return pyStr(v, this.pendulumMajor).toUpperCase();
      case 'trim':
        return pyStr(v, this.pendulumMajor).trim();
      case 'string':
        return pyStr(v, this.pendulumMajor);
      case 'int': {
        if (typeof v === 'number') return Math.trunc(v);
        const n = Number.parseInt(pyStr(v, this.pendulumMajor), 10);
        return Number.isNaN(n) ? 0 : n;
      }
      default:
        throw new TemplateError(`filter "${e.name}" is not supported`);
    }
  }

  render(nodes: Node[]): string {
    let out = '';
    for (const n of nodes) {
      if (n.type === 'text') out += n.text;
      else if (n.type === 'output') out += pyStr(this.eval(n.expr), this.pendulumMajor);
      else {
        for (const b of n.branches) {
          if (b.test === null || truthy(this.eval(b.test))) {
            out += this.render(b.body);
            break;
          }
        }
      }
    }
    return out;
  }
}

function pyStrSafe(v: Value): string {
  return v === UNDEFINED || v === MISSING
    ? 'an undefined value'
    : typeof v === 'object' && v !== null
      ? 'an object'
      : JSON.stringify(v);
}

type Field = 'dagId' | 'taskId' | 'runId' | 'mapIndex' | 'tryNumber' | 'ts';
const FIELD_OF_PATH: Record<string, Field> = {
  'ti.dag_id': 'dagId',
  'task_instance.dag_id': 'dagId',
  'dag.dag_id': 'dagId',
  dag_id: 'dagId',
  'ti.task_id': 'taskId',
  'task_instance.task_id': 'taskId',
  'task.task_id': 'taskId',
  task_id: 'taskId',
  'ti.run_id': 'runId',
  'task_instance.run_id': 'runId',
  'dag_run.run_id': 'runId',
  run_id: 'runId',
  'ti.map_index': 'mapIndex',
  'task_instance.map_index': 'mapIndex',
  'ti.try_number': 'tryNumber',
  'task_instance.try_number': 'tryNumber',
  try_number: 'tryNumber',
  ts: 'ts',
};

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The field an output expression renders, if the rendered text gives the value back unchanged. */
function invertibleField(expr: Expr): Field | undefined {
  let e = expr;
  // `default(...)` keeps the value when it is defined, which it is wherever the template renders it.
  while (e.type === 'filter' && (e.name === 'default' || e.name === 'd' || e.name === 'string')) e = e.target;
  const path = dottedPath(e);
  return path === undefined ? undefined : FIELD_OF_PATH[path];
}

interface PathPattern {
  regex: RegExp;
  groups: (Field | undefined)[];
}

function capturePattern(field: Field | undefined): string {
  if (field === 'mapIndex') return '(-?\\d+)';
  if (field === 'tryNumber') return '(\\d+)';
  return '([^/]*?)';
}

function jinjaPattern(nodes: Node[]): PathPattern {
  const groups: (Field | undefined)[] = [];
  const walk = (list: Node[]): string => {
    let out = '';
    for (const n of list) {
      if (n.type === 'text') out += escapeRegex(n.text);
      else if (n.type === 'output') {
        const field = invertibleField(n.expr);
        groups.push(field);
        out += capturePattern(field);
      } else {
        const alternatives = n.branches.map((b) => walk(b.body));
        if (n.branches[n.branches.length - 1]!.test !== null) alternatives.push('');
        out += `(?:${alternatives.join('|')})`;
      }
    }
    return out;
  };
  const body = walk(nodes);
  return { regex: new RegExp(`^${body}$`), groups };
}

function formatPattern(parts: FormatPart[]): PathPattern {
  const groups: (Field | undefined)[] = [];
  let body = '';
  for (const p of parts) {
    if (p.type === 'text') body += escapeRegex(p.text);
    else {
      const field = p.spec ? (p.name === 'try_number' ? 'tryNumber' : undefined) : FIELD_OF_PATH[p.name];
      const named: Field | undefined = p.name === 'execution_date' || p.name === 'logical_date' ? 'ts' : field;
      groups.push(named);
      body += capturePattern(named);
    }
  }
  return { regex: new RegExp(`^${body}$`), groups };
}

const TRIGGER_SUFFIX = /\.trigger(?:\.(\d+)\.log)?$/;

/**
 * A compiled `log_filename_template`: Jinja when the text contains `{{` (Airflow's own test, in
 * `parse_template_string`), Python `str.format` otherwise. Compile once per `log_template` row.
 *
 * @example
 * const t = LogFilenameTemplate.compile(AIRFLOW2_LOG_FILENAME_TEMPLATE);
 * t.render({ dagId: 'etl', taskId: 'load', runId: 'manual__2024-01-01T00:00:00+00:00', mapIndex: 2, tryNumber: 1 },
 *          { context: 'airflow2' });
 * // 'dag_id=etl/run_id=manual__2024-01-01T00:00:00+00:00/task_id=load/map_index=2/attempt=1.log'
 */
export class LogFilenameTemplate {
  private constructor(
    readonly source: string,
    readonly kind: 'jinja' | 'format',
    private readonly nodes: Node[],
    private readonly parts: FormatPart[],
    private readonly pattern: PathPattern,
  ) {}

  /** Compile a template; throws {@link TemplateError} naming the construct Windsock cannot render. */
  static compile(template: string): LogFilenameTemplate {
    if (template.includes('{{')) {
      const nodes = compileJinja(template);
      validateNames(nodes);
      return new LogFilenameTemplate(template, 'jinja', nodes, [], jinjaPattern(nodes));
    }
    const parts = compilePythonFormat(template);
    const known = new Set(FORMAT_FIELDS.airflow2.concat(FORMAT_FIELDS['airflow3-reader']));
    for (const p of parts) {
      if (p.type === 'field' && !known.has(p.name)) {
        throw new TemplateError(`field "{${p.name}}" is not one Airflow passes (supported: ${[...known].join(', ')})`);
      }
    }
    return new LogFilenameTemplate(template, 'format', [], parts, formatPattern(parts));
  }

  /** The path relative to `base_log_folder` that Airflow computes for this task instance and try. */
  render(ti: LogPathTaskInstance, options: RenderLogFilenameOptions): string {
    const pendulumMajor = options.pendulumMajor ?? 2;
    if (this.kind === 'jinja') {
      return new Evaluator(buildScope(ti, options.context), pendulumMajor).render(this.nodes);
    }
    const allowed = FORMAT_FIELDS[options.context];
    let out = '';
    for (const p of this.parts) {
      if (p.type === 'text') {
        out += p.text;
        continue;
      }
      if (!allowed.includes(p.name)) {
        throw new TemplateError(
          `field "{${p.name}}" is not passed to str.format templates in context ${options.context} (Airflow raises KeyError)`,
        );
      }
      out += applySpec(formatValue(p.name, ti, options.context), p.spec);
    }
    return out;
  }

  /**
   * Read a relative log path back into the task instance it belongs to, or null when the path does not
   * have this template's shape. A trigger log (`<path>.trigger.<job id>.log`) parses to its task's path
   * with `trigger` set. Values that a filter changed (`run_id|replace(':', '-')`) are not reported.
   */
  parse(relativePath: string): ParsedLogPath | null {
    let path = relativePath.startsWith('./') ? relativePath.slice(2) : relativePath;
    let trigger = false;
    let triggererJobId: number | undefined;
    const t = TRIGGER_SUFFIX.exec(path);
    if (t) {
      trigger = true;
      if (t[1] !== undefined) triggererJobId = Number(t[1]);
      path = path.slice(0, t.index);
    }
    const m = this.pattern.regex.exec(path);
    if (!m) return null;
    const values = new Map<Field, string>();
    for (let i = 0; i < this.pattern.groups.length; i++) {
      const field = this.pattern.groups[i];
      const v = m[i + 1];
      if (field === undefined || v === undefined) continue;
      const previous = values.get(field);
      if (previous !== undefined && previous !== v) return null;
      values.set(field, v);
    }
    const out: ParsedLogPath = { mapIndex: -1, trigger };
    if (triggererJobId !== undefined) out.triggererJobId = triggererJobId;
    const dagId = values.get('dagId');
    if (dagId !== undefined) out.dagId = dagId;
    const taskId = values.get('taskId');
    if (taskId !== undefined) out.taskId = taskId;
    const runId = values.get('runId');
    if (runId !== undefined) out.runId = runId;
    const mapIndex = values.get('mapIndex');
    if (mapIndex !== undefined) out.mapIndex = Number(mapIndex);
    const tryNumber = values.get('tryNumber');
    if (tryNumber !== undefined) out.tryNumber = Number(tryNumber);
    const ts = values.get('ts');
    if (ts !== undefined) out.ts = ts;
    return out;
  }
}

function formatValue(name: string, ti: LogPathTaskInstance, context: LogPathContext): string | number {
  const iso = (v: Date | string | null | undefined): string =>
    v === null || v === undefined ? '' : pythonIsoformat(v);
  switch (name) {
    case 'dag_id':
      return ti.dagId;
    case 'task_id':
      return ti.taskId;
    case 'run_id':
      return ti.runId;
    case 'try_number':
      return ti.tryNumber;
    case 'data_interval_start':
      return iso(ti.dataIntervalStart);
    case 'data_interval_end':
      return iso(ti.dataIntervalEnd);
    default: {
      // execution_date (2.x) / logical_date (3.x); the 3.x reader falls back to run_after.
      const date = context === 'airflow3-reader' ? (ti.logicalDate ?? ti.runAfter) : ti.logicalDate;
      if (date === null || date === undefined) {
        throw new TemplateError(`"{${name}}" needs the run's logical date, which this task instance lacks`);
      }
      return pythonIsoformat(date);
    }
  }
}

const cache = new Map<string, LogFilenameTemplate>();

function compiled(template: string): LogFilenameTemplate {
  let t = cache.get(template);
  if (!t) {
    t = LogFilenameTemplate.compile(template);
    if (cache.size >= 256) cache.clear();
    cache.set(template, t);
  }
  return t;
}

/** Render `template` for one task instance (compiled templates are cached). See {@link LogFilenameTemplate}. */
export function renderLogFilename(
  template: string,
  ti: LogPathTaskInstance,
  options: RenderLogFilenameOptions,
): string {
  return compiled(template).render(ti, options);
}

/** Parse a relative log path with `template` (compiled templates are cached). See {@link LogFilenameTemplate.parse}. */
export function parseLogFilename(template: string, relativePath: string): ParsedLogPath | null {
  return compiled(template).parse(relativePath);
}

/**
 * The triggerer's log for a deferred task: `<task log path>.trigger.<triggerer job id>.log`
 * (`FileTaskHandler.add_triggerer_suffix`; without a job id Airflow writes `<path>.trigger`).
 */
export function triggerLogPath(taskLogPath: string, triggererJobId?: number): string {
  return triggererJobId ? `${taskLogPath}.trigger.${triggererJobId}.log` : `${taskLogPath}.trigger`;
}
