/**
 * An Airflow task as the CeleryExecutor puts it in Redis: a kombu envelope (`virtual.Channel.
 * prepare_message` + `basic_publish`) around a Celery protocol 2 message (`celery/app/amqp.py`
 * `as_task_v2`). Airflow calls `apply_async(args=..., queue=q)` with no exchange, so Celery publishes
 * to the anonymous exchange ('') with routing key `q`, priority 0, delivery_mode 2.
 *
 * 2.x sends `execute_command` with the `airflow tasks run ...` command list; 3.x sends
 * `execute_workload` with the ExecuteTask workload as a JSON string.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { queueKeyForPriority } from './kombu-keys.ts';
import { type PyJson, PyTuple, type PyValue, pythonJsonDumps, saferepr } from './python-text.ts';

/** The Celery task name Airflow 2.7–2.10 (Celery provider 3.x) registers for a task command. */
export const EXECUTE_COMMAND_TASK = 'airflow.providers.celery.executors.celery_executor_utils.execute_command';

/** The Celery task name Airflow 3 registers (`@app.task(name="execute_workload")`). */
export const EXECUTE_WORKLOAD_TASK = 'execute_workload';

/** Celery's default `argsrepr_maxsize` / `kwargsrepr_maxsize`. */
export const CELERY_REPR_MAXSIZE = 1024;

/** The task instance part of Airflow 3's ExecuteTask workload (`airflow/executors/workloads.py`). */
export interface WorkloadTaskInstance {
  id: string;
  dag_version_id: string;
  task_id: string;
  dag_id: string;
  run_id: string;
  try_number: number;
  map_index: number;
  pool_slots: number;
  queue: string;
  priority_weight: number;
  parent_context_carrier: Record<string, PyJson> | null;
  context_carrier: Record<string, PyJson> | null;
}

/** Airflow 3's ExecuteTask workload, in pydantic's field order (which `model_dump_json` keeps). */
export interface ExecuteTaskWorkload {
  token: string;
  dag_rel_path: string;
  bundle_info: { name: string; version: string | null };
  log_path: string | null;
  ti: WorkloadTaskInstance;
  type: 'ExecuteTask';
}

/** Airflow's identity of the task a message runs. */
export interface AirflowTaskIdentity {
  dagId: string;
  taskId: string;
  runId: string;
  mapIndex: number;
  /** Carried by 3.x workloads; a 2.x command has no try number (the worker reads it from the TI). */
  tryNumber: number | null;
  /** The task instance uuid (3.x). */
  tiId: string | null;
}

/** Options shared by both message kinds. */
export interface CeleryEnvelopeOptions {
  /** The Celery queue (= routing key and Redis list). */
  queue: string;
  /** Celery task id; Airflow stores it as `task_instance.external_executor_id`. Default: a new uuid4. */
  celeryTaskId?: string;
  /** kombu delivery tag. Default: a new uuid4. */
  deliveryTag?: string;
  /** The publishing app's `oid` (Celery's `reply_to`). Default: a new uuid4. */
  replyTo?: string;
  /** Celery's `origin` header, `gen<pid>@<host>` by default. */
  origin?: string;
  /** Message priority 0–9 (Airflow sets none, so 0): picks the priority LIST. */
  priority?: number;
  /** Override the task name (e.g. the short `execute_command` of newer providers on Airflow 2). */
  taskName?: string;
  /**
   * Celery of the publisher: '5.3' (default: 5.3 and later, what Airflow 2.10 and 3.x install) adds the
   * `replaced_task_nesting`, `stamped_headers` and `stamps` headers that '5.2' does not write.
   */
  celeryVersion?: '5.2' | '5.3';
}

/** What to build: a 2.x command or a 3.x workload. */
export type AirflowCeleryTask =
  | ({ kind: 'execute_command'; command: string[] } & CeleryEnvelopeOptions)
  | ({ kind: 'execute_workload'; workload: ExecuteTaskWorkload } & CeleryEnvelopeOptions);

/** A built message: the Redis LIST key to LPUSH to (before `global_keyprefix`) and the exact value. */
export interface BuiltCeleryMessage {
  key: string;
  payload: string;
  celeryTaskId: string;
  deliveryTag: string;
}

/** The ExecuteTask JSON exactly as pydantic's `model_dump_json()` writes it (compact, field order). */
export function workloadJson(workload: ExecuteTaskWorkload): string {
  const ti = workload.ti;
  return JSON.stringify({
    token: workload.token,
    dag_rel_path: workload.dag_rel_path,
    bundle_info: { name: workload.bundle_info.name, version: workload.bundle_info.version },
    log_path: workload.log_path,
    ti: {
      id: ti.id,
      dag_version_id: ti.dag_version_id,
      task_id: ti.task_id,
      dag_id: ti.dag_id,
      run_id: ti.run_id,
      try_number: ti.try_number,
      map_index: ti.map_index,
      pool_slots: ti.pool_slots,
      queue: ti.queue,
      priority_weight: ti.priority_weight,
      parent_context_carrier: ti.parent_context_carrier,
      context_carrier: ti.context_carrier,
    },
    type: workload.type,
  });
}

/**
 * The Airflow 2.x task command (`TaskInstance.generate_command` for a CeleryExecutor run):
 * `airflow tasks run <dag> <task> <run> --local [--pool p] --subdir <file> [--map-index n]`.
 */
export function airflowTaskCommand(opts: {
  dagId: string;
  taskId: string;
  runId: string;
  mapIndex?: number;
  subdir: string;
  pool?: string;
}): string[] {
  const cmd = ['airflow', 'tasks', 'run', opts.dagId, opts.taskId, opts.runId, '--local'];
  if (opts.pool) cmd.push('--pool', opts.pool);
  cmd.push('--subdir', opts.subdir);
  if (opts.mapIndex !== undefined && opts.mapIndex !== -1) cmd.push('--map-index', String(opts.mapIndex));
  return cmd;
}

/**
 * Builds the Redis LIST value kombu/Celery would LPUSH for this Airflow task, byte for byte (given
 * the same ids). Push it with `LPUSH <globalKeyprefix + key> <payload>`.
 *
 * @example const m = buildAirflowCeleryMessage({ kind: 'execute_command', command, queue: 'default' })
 */
export function buildAirflowCeleryMessage(task: AirflowCeleryTask): BuiltCeleryMessage {
  const celeryTaskId = task.celeryTaskId ?? randomUUID();
  const deliveryTag = task.deliveryTag ?? randomUUID();
  const priority = task.priority ?? 0;
  const name = task.taskName ?? (task.kind === 'execute_command' ? EXECUTE_COMMAND_TASK : EXECUTE_WORKLOAD_TASK);
  // 2.x: apply_async(args=[command]) -> a list; 3.x: apply_async(args=(json,)) -> a tuple
  const args: PyJson[] = task.kind === 'execute_command' ? [task.command] : [workloadJson(task.workload)];
  const argsForRepr: PyValue = task.kind === 'execute_command' ? [task.command] : new PyTuple([args[0] as string]);
  const headers: Record<string, PyJson> = {
    lang: 'py',
    task: name,
    id: celeryTaskId,
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: celeryTaskId,
    parent_id: null,
    argsrepr: saferepr(argsForRepr, CELERY_REPR_MAXSIZE),
    kwargsrepr: '{}',
    origin: task.origin ?? `gen${process.pid}@${hostname()}`,
    ignore_result: false,
  };
  if (task.celeryVersion !== '5.2') {
    headers.replaced_task_nesting = 0;
    headers.stamped_headers = null;
    headers.stamps = {};
  }
  const body = pythonJsonDumps([args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  const envelope: PyJson = {
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties: {
      correlation_id: celeryTaskId,
      reply_to: task.replyTo ?? randomUUID(),
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: task.queue },
      priority,
      body_encoding: 'base64',
      delivery_tag: deliveryTag,
    },
  };
  const key = queueKeyForPriority(task.queue, priority);
  return { key, payload: pythonJsonDumps(envelope), celeryTaskId, deliveryTag };
}

/** A Celery message read back from Redis. */
export interface ParsedCeleryMessage {
  ok: true;
  /** Celery task name (`headers.task`, or the body's `task` in protocol 1). */
  taskName: string;
  celeryTaskId: string;
  /** `delivery_info.routing_key`: the queue for Airflow's messages. */
  routingKey: string | null;
  exchange: string | null;
  priority: number;
  deliveryTag: string | null;
  protocol: 1 | 2;
  /** Set when the task is Airflow's execute_command / execute_workload and its arguments parse. */
  airflow: AirflowTaskIdentity | null;
  /** The decoded positional arguments. */
  args: unknown[];
}

/** A message that could not be read, with why (never thrown: brokers hold foreign messages too). */
export interface UnparsedCeleryMessage {
  ok: false;
  reason: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Airflow identity in a 2.x `airflow tasks run` command list, or null. */
export function parseAirflowTaskCommand(command: unknown): AirflowTaskIdentity | null {
  if (!Array.isArray(command) || !command.every((c) => typeof c === 'string')) return null;
  const at = command.findIndex((c, i) => c === 'tasks' && command[i + 1] === 'run');
  if (at < 0 || command.length < at + 5) return null;
  const [dagId, taskId, runId] = command.slice(at + 2, at + 5) as string[];
  if (!dagId || !taskId || !runId || dagId.startsWith('-')) return null;
  const mi = command.indexOf('--map-index');
  const mapIndex = mi >= 0 ? Number.parseInt(command[mi + 1] ?? '', 10) : -1;
  return { dagId, taskId, runId, mapIndex: Number.isFinite(mapIndex) ? mapIndex : -1, tryNumber: null, tiId: null };
}

/** The Airflow identity in a 3.x ExecuteTask workload JSON string, or null. */
export function parseExecuteTaskWorkload(input: unknown): AirflowTaskIdentity | null {
  if (typeof input !== 'string') return null;
  let w: unknown;
  try {
    w = JSON.parse(input);
  } catch {
    return null;
  }
  if (!isRecord(w) || !isRecord(w.ti)) return null;
  const ti = w.ti;
  if (typeof ti.dag_id !== 'string' || typeof ti.task_id !== 'string' || typeof ti.run_id !== 'string') return null;
  return {
    dagId: ti.dag_id,
    taskId: ti.task_id,
    runId: ti.run_id,
    mapIndex: typeof ti.map_index === 'number' ? ti.map_index : -1,
    tryNumber: typeof ti.try_number === 'number' ? ti.try_number : null,
    tiId: typeof ti.id === 'string' ? ti.id : null,
  };
}

/**
 * Reads a kombu envelope as stored in a Redis queue LIST (or the message part of an `unacked` entry):
 * task name, Celery id, queue, and for Airflow's tasks the dag/task/run/try/map identity. Returns
 * `{ ok: false, reason }` for anything it cannot read (pickle, garbage, other apps' messages).
 */
export function parseCeleryMessage(raw: string | Record<string, unknown>): ParsedCeleryMessage | UnparsedCeleryMessage {
  let envelope: unknown = raw;
  if (typeof raw === 'string') {
    try {
      envelope = JSON.parse(raw);
    } catch {
      return { ok: false, reason: 'not JSON: not a kombu envelope' };
    }
  }
  if (!isRecord(envelope)) return { ok: false, reason: 'not a kombu envelope (expected a JSON object)' };
  const props = isRecord(envelope.properties) ? envelope.properties : {};
  const headers = isRecord(envelope.headers) ? envelope.headers : {};
  const contentType = envelope['content-type'];
  if (contentType !== 'application/json') {
    return {
      ok: false,
      reason: `unsupported content-type ${JSON.stringify(contentType)} (only application/json is read)`,
    };
  }
  if (typeof envelope.body !== 'string') return { ok: false, reason: 'envelope has no string body' };
  let bodyText = envelope.body;
  if (props.body_encoding === 'base64') bodyText = Buffer.from(envelope.body, 'base64').toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { ok: false, reason: 'message body is not JSON' };
  }
  const info = isRecord(props.delivery_info) ? props.delivery_info : {};
  const common = {
    routingKey: typeof info.routing_key === 'string' ? info.routing_key : null,
    exchange: typeof info.exchange === 'string' ? info.exchange : null,
    priority: typeof props.priority === 'number' ? props.priority : 0,
    deliveryTag: typeof props.delivery_tag === 'string' ? props.delivery_tag : null,
  };
  let taskName: unknown;
  let id: unknown;
  let args: unknown;
  let protocol: 1 | 2;
  if (typeof headers.task === 'string') {
    protocol = 2;
    taskName = headers.task;
    id = headers.id;
    args = Array.isArray(body) ? body[0] : undefined;
  } else if (isRecord(body) && typeof body.task === 'string') {
    protocol = 1;
    taskName = body.task;
    id = body.id;
    args = body.args;
  } else {
    return { ok: false, reason: 'not a Celery task message (no task name in headers or body)' };
  }
  if (typeof id !== 'string') return { ok: false, reason: 'Celery task message without a task id' };
  const argList = Array.isArray(args) ? args : [];
  const name = taskName as string;
  let airflow: AirflowTaskIdentity | null = null;
  if (name === 'execute_command' || name.endsWith('.execute_command')) airflow = parseAirflowTaskCommand(argList[0]);
  else if (name === 'execute_workload' || name.endsWith('.execute_workload'))
    airflow = parseExecuteTaskWorkload(argList[0]);
  return { ok: true, taskName: name, celeryTaskId: id, protocol, airflow, args: argList, ...common };
}
