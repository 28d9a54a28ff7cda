import { parseHeartbeatToken } from './heartbeat.ts';
import { parseTaskCommand, parseTaskInstanceKey, parseTaskInstanceReprs, taskInstanceRef } from './task-instance.ts';
import type { LogEvent, LogRecord, StateName } from './types.ts';

const NO_EVENTS: readonly LogEvent[] = Object.freeze([]);
const TRACEBACK_EVENT: LogEvent = Object.freeze({ kind: 'traceback' });
const scratch: LogEvent[] = [];

// 2.10: `Sending %s to %s with priority %s and queue %s`; 2.7-2.9: `Sending %s to executor with priority ...`.
const SENDING = /^Sending (TaskInstanceKey\(.*?\)) to .*? with priority -?\d+ and queue (.*)$/;
// The state prints as its value (`success`), or, where an enum's str() leaked, `TaskInstanceState.SUCCESS`
// or its repr `<TaskInstanceState.SUCCESS: 'success'>`.
const EXECUTOR_EVENT =
  /^(?:Received executor event|Executor received event) with state <?(?:(?:TaskInstanceState|State)\.)?(\w+)/;
// Before PR #30859: `Executor reports execution of %s.%s run_id=%s exited with status %s for try_number %s`.
const EXECUTOR_REPORTS =
  /^Executor reports execution of (\S+) (run_id|execution_date)=(.+?) exited with status <?(?:(?:TaskInstanceState|State)\.)?(\w+)/;
// 1.10-2.1 printed `Marking task as SUCCESS.dag_id=...` (no space after the period); 2.2+ `SUCCESS. dag_id=`.
const MARKING =
  /Marking task as ([A-Za-z_]+)\. ?dag_id=([^,]*), task_id=([^,]*)(?:, run_id=([^,]*))?(?:, map_index=(\d+))?/;
const CELERY = /^Task ([^\s[]+)\[([^\]\s]+)\] (received$|succeeded in |raised unexpected|INTERNAL ERROR|retry:)/;
const FINAL_STATE = /(?:^|\s)final_state=(?:<?TaskInstanceState\.)?([A-Za-z_]+)/;
const EXIT_CODE = /(?:^|\s)exit_code=(-?\d+)/;
const TI_ID = /(?:^|\s)task_instance_id=([0-9a-fA-F-]{36})/;

/** States as the counters publish them: upper case whatever the log printed (`success`, `State.SUCCESS`). */
export function normaliseState(text: string): StateName {
  // An enum's repr: `<TaskInstanceState.SUCCESS: 'success'>`.
  if (text.charCodeAt(0) === 60) {
    const m = /^<[\w.]*?\.?(\w+)(?::[^>]*)?>$/.exec(text);
    if (m) return m[1]!.toUpperCase();
  }
  const dot = text.lastIndexOf('.');
  return (dot === -1 ? text : text.slice(dot + 1)).toUpperCase();
}

/** The value of `key=` in a `k=v, k=v` list (`,` or `, ` separated; 3.x drops a space in one place). */
function field(text: string, key: string): string | undefined {
  let at = text.indexOf(key);
  while (at !== -1) {
    const before = at === 0 ? 44 : text.charCodeAt(at - 1);
    if ((before === 44 || before === 32) && text.charCodeAt(at + key.length) === 61) {
      const start = at + key.length + 1;
      const end = text.indexOf(',', start);
      return (end === -1 ? text.slice(start) : text.slice(start, end)).trim();
    }
    at = text.indexOf(key, at + key.length);
  }
  return undefined;
}

function finishedEvent(rest: string): LogEvent | undefined {
  const state = field(rest, 'state');
  if (state === undefined) return undefined;
  const event: Extract<LogEvent, { kind: 'task-instance-finished' }> = {
    kind: 'task-instance-finished',
    state: normaliseState(state),
  };
  const dagId = field(rest, 'dag_id');
  const taskId = field(rest, 'task_id');
  const runId = field(rest, 'run_id');
  if (dagId !== undefined && taskId !== undefined && runId !== undefined) {
    const mapIndex = Number(field(rest, 'map_index') ?? '-1');
    const tryNumber = field(rest, 'try_number');
    event.ti = taskInstanceRef(
      dagId,
      taskId,
      runId,
      Number.isFinite(mapIndex) ? mapIndex : -1,
      tryNumber === undefined || !/^\d+$/.test(tryNumber) ? undefined : Number(tryNumber),
    );
  }
  const queue = field(rest, 'queue');
  if (queue !== undefined && queue !== 'None') event.queue = queue;
  const executorState = field(rest, 'executor_state');
  if (executorState !== undefined) event.executorState = normaliseState(executorState);
  return event;
}

/** The whole text of a record: the header message and, for multi-line records, the continuation lines. */
function recordText(record: LogRecord): string {
  return record.continuation.length === 0
    ? record.header.message
    : `${record.header.message}\n${record.continuation.join('\n')}`;
}

function supervisorFinalState(record: LogRecord): LogEvent | undefined {
  const h = record.header;
  let state: string | undefined;
  let exitCode: number | undefined;
  let tiId: string | undefined;
  if (h.json) {
    const v = h.json.final_state;
    if (typeof v === 'string') state = v;
    if (typeof h.json.exit_code === 'number') exitCode = h.json.exit_code;
    if (typeof h.json.task_instance_id === 'string') tiId = h.json.task_instance_id;
  } else {
    const m = FINAL_STATE.exec(h.fields);
    if (m) state = m[1];
    const e = EXIT_CODE.exec(h.fields);
    if (e) exitCode = Number(e[1]);
    const t = TI_ID.exec(h.fields);
    if (t) tiId = t[1];
  }
  if (state === undefined) return undefined;
  const event: Extract<LogEvent, { kind: 'task-final-state' }> = {
    kind: 'task-final-state',
    state: normaliseState(state),
  };
  if (exitCode !== undefined) event.exitCode = exitCode;
  if (tiId !== undefined) event.taskInstanceId = tiId;
  return event;
}

function eventsFromT(record: LogRecord, message: string, out: LogEvent[]): void {
  if (message.startsWith('Trying to enqueue tasks: ')) {
    for (const ti of parseTaskInstanceReprs(message))
      out.push({ kind: 'sent-to-executor', source: 'trying-to-enqueue', ti });
    return;
  }
  if (message.startsWith('TaskInstance Finished: ') || message.startsWith('Task Finished: ')) {
    const e = finishedEvent(message.slice(message.indexOf(': ') + 2));
    if (e) out.push(e);
    return;
  }
  if (message.startsWith('Task finished')) {
    const e = supervisorFinalState(record);
    if (e) out.push(e);
    return;
  }
  const m = CELERY.exec(message);
  if (!m) return;
  const word = m[3]!;
  const outcome =
    word === 'received'
      ? 'received'
      : word === 'retry:'
        ? 'retried'
        : word.startsWith('succeeded')
          ? 'succeeded'
          : 'failed';
  out.push({ kind: 'celery-task', outcome, taskName: m[1]!, celeryTaskId: m[2]! });
}

function executorEvent(message: string, out: LogEvent[]): void {
  const m = EXECUTOR_EVENT.exec(message);
  if (m) {
    const event: Extract<LogEvent, { kind: 'executor-event' }> = {
      kind: 'executor-event',
      state: normaliseState(m[1]!),
    };
    const ti = parseTaskInstanceKey(message);
    if (ti) event.ti = ti;
    out.push(event);
    return;
  }
  const old = EXECUTOR_REPORTS.exec(message);
  if (old) {
    const event: Extract<LogEvent, { kind: 'executor-event' }> = {
      kind: 'executor-event',
      state: normaliseState(old[4]!),
    };
    if (old[2] === 'run_id') {
      const dagTask = old[1]!;
      const dot = dagTask.indexOf('.');
      const ti = taskInstanceRef(
        dot === -1 ? dagTask : dagTask.slice(0, dot),
        dot === -1 ? '' : dagTask.slice(dot + 1),
        old[3]!,
        -1,
      );
      event.ti = ti;
    }
    out.push(event);
  }
}

function marking(message: string, out: LogEvent[]): void {
  const m = MARKING.exec(message);
  if (!m) return;
  const event: Extract<LogEvent, { kind: 'task-state-marked' }> = {
    kind: 'task-state-marked',
    state: normaliseState(m[1]!),
  };
  if (m[4] !== undefined) event.ti = taskInstanceRef(m[2]!, m[3]!, m[4], m[5] === undefined ? -1 : Number(m[5]));
  out.push(event);
}

/**
 * The events one record tells, in line order. Most records tell none, and then the shared empty array
 * is returned without allocating. Dispatch is on the message's first character, so a record pays for at
 * most a couple of `startsWith` checks and one `indexOf('Marking task as ')` unless it is an event.
 */
export function extractEvents(record: LogRecord): readonly LogEvent[] {
  const message = record.header.message;
  // One scratch list, copied only when a record tells something (no per-record closure or array).
  const out = scratch;
  if (out.length !== 0) out.length = 0;
  switch (message.charCodeAt(0)) {
    case 83: // S
      if (message.startsWith('Sending ')) {
        const m = SENDING.exec(message);
        const ti = m ? parseTaskInstanceKey(m[1]!) : undefined;
        if (m && ti) out.push({ kind: 'sent-to-executor', source: 'sending', ti, queue: m[2]! });
      } else if (message.startsWith('Setting the following tasks to queued state:')) {
        for (const ti of parseTaskInstanceReprs(recordText(record))) out.push({ kind: 'queued', ti });
      }
      break;
    case 65: // A
      if (message.startsWith('Adding to queue: ')) {
        const ti = parseTaskCommand(message);
        if (ti) out.push({ kind: 'sent-to-executor', source: 'adding-to-queue', ti });
      }
      break;
    case 84: // T
      eventsFromT(record, message, out);
      break;
    case 82: // R
    case 69: // E
      executorEvent(message, out);
      break;
    case 87: // W
      if (message.startsWith('WINDSOCK_HEARTBEAT_OK')) {
        const fields = parseHeartbeatToken(message);
        if (fields) {
          const event: Extract<LogEvent, { kind: 'heartbeat' }> = { kind: 'heartbeat', fields };
          if (fields.queue !== undefined) event.queue = fields.queue;
          if (fields.hostname !== undefined) event.hostname = fields.hostname;
          out.push(event);
        }
      }
      break;
  }
  if (message.indexOf('Marking task as ') !== -1) marking(message, out);
  for (let i = 0; i < record.tracebacks; i++) out.push(TRACEBACK_EVENT);
  return out.length === 0 ? NO_EVENTS : out.slice();
}
