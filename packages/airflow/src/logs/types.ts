/** A log level normalised from any of the formats (Python levelname, structlog name, Celery). */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

/**
 * Which grammar recognised a header line.
 * - `airflow2`: `[ts] {file.py:NN} LEVEL - msg` (2.x `log_format`, also the UI-pasted `[2023-09-13, 12:26:31 BST]`).
 * - `airflow-mwaa`: the Airflow 1.10 / MWAA double-brace form `[ts] {{file.py:NN}} LEVEL - msg`.
 * - `airflow2-simple`: `simple_log_format`, `ts LEVEL - msg`.
 * - `airflow3-console`: structlog's console renderer, `ts [info     ] event [logger] k=v loc=f.py:N`.
 * - `airflow2-json`: 2.x `JSONFormatter` lines (`asctime`, `levelname`, `message`, ...).
 * - `airflow3-json`: 3.x task-log JSON lines (`timestamp`, `level`, `event`, ...).
 * - `celery`: `[ts: LEVEL/Process] msg`; `celery-task`: `[ts: LEVEL/Process] name[id]: msg`.
 * - `gunicorn`: the webserver's `[ts] [pid] [LEVEL] msg`; `uvicorn`: `LEVEL:` padded to column 10, then `msg`.
 * - `bare-traceback`: a traceback printed with no header (a process crashing to stderr); it has no level.
 */
export type LogFormatId =
  | 'airflow2'
  | 'airflow-mwaa'
  | 'airflow2-simple'
  | 'airflow3-console'
  | 'airflow2-json'
  | 'airflow3-json'
  | 'celery'
  | 'celery-task'
  | 'gunicorn'
  | 'uvicorn'
  | 'bare-traceback';

/** What a header line says, before any continuation lines are joined to it. */
export interface LogRecordHeader {
  format: LogFormatId;
  /** The timestamp exactly as printed (not parsed: see `parseLogTimestamp`). */
  timestamp: string;
  /** Null only for `bare-traceback`. */
  level: LogLevel | null;
  /** `file.py:NN` (2.x), the logger name (3.x, JSON), the process name (Celery), or the pid (gunicorn). */
  logger: string;
  /** The message text on the header line (for 3.x console lines: the event, without `[logger] k=v`). */
  message: string;
  /** 3.x console: the `key=value ... loc=f.py:N` tail after `[logger]` (empty when absent). */
  fields: string;
  /** Celery task form: the task name and id from `name[id]: msg`. */
  celeryTaskName?: string;
  celeryTaskId?: string;
  /** JSON lines: the decoded object, kept for event extraction (state keys, error_detail). */
  json?: Record<string, unknown>;
}

/** A header line plus its continuation lines: one log record. */
export interface LogRecord {
  header: LogRecordHeader;
  /** Same as `header.level`; null for a bare traceback. */
  level: LogLevel | null;
  /** Physical lines after the header (ANSI, CR and process-manager prefix removed), blank lines included. */
  continuation: string[];
  /** Traceback chains in this record: a chained traceback ("During handling of ...") counts once. */
  tracebacks: number;
  /** The process-manager prefix the lines carried (`scheduler` for `scheduler | ...`), or ''. */
  prefix: string;
  /** Physical lines that made this record (header included). */
  lineCount: number;
}

/** How one physical line was classified. */
export type LineKind = 'header' | 'continuation' | 'traceback' | 'blank' | 'unparsed';

/**
 * Why a non-empty line is unparsed. `text` is anything else: bare print output, lines of an unknown
 * format, an indented line with no record open.
 */
export type UnparsedReason = 'ui-header' | 'access-log' | 'text' | 'invalid-utf8' | 'binary';

/**
 * A task instance as a log line names it. `key` is `dag_id.task_id` + `\u001f` + run_id + `\u001f` +
 * map_index, the same whichever line told it (the `<TaskInstance: dag.task ...>` repr cannot split a
 * dotted dag_id from a task-group task_id, so the key keeps them joined the way the repr does).
 */
export interface TaskInstanceRef {
  key: string;
  /** Best effort when the line only has the repr: split at the first `.`. */
  dagId: string;
  taskId: string;
  runId: string;
  mapIndex: number;
  tryNumber?: number;
}

/** Upper-case task-instance state as the counters publish it (`SUCCESS`, `UP_FOR_RETRY`, ...). */
export type StateName = string;

/** Something a record tells that log-metrics counts. */
export type LogEvent =
  | {
      kind: 'sent-to-executor';
      /** Which line: 2.x `Sending ...`, 2.x `Adding to queue: [...]`, 2.10/3.x `Trying to enqueue tasks: [...]`. */
      source: 'sending' | 'adding-to-queue' | 'trying-to-enqueue';
      ti: TaskInstanceRef;
      queue?: string;
    }
  | { kind: 'queued'; ti: TaskInstanceRef }
  | { kind: 'executor-event'; state: StateName; ti?: TaskInstanceRef }
  | { kind: 'task-instance-finished'; state: StateName; ti?: TaskInstanceRef; queue?: string; executorState?: string }
  | { kind: 'task-state-marked'; state: StateName; ti?: TaskInstanceRef }
  | { kind: 'task-final-state'; state: StateName; exitCode?: number; taskInstanceId?: string }
  | {
      kind: 'celery-task';
      outcome: 'received' | 'succeeded' | 'failed' | 'retried';
      taskName: string;
      celeryTaskId: string;
    }
  | { kind: 'heartbeat'; fields: Record<string, string>; queue?: string; hostname?: string }
  | { kind: 'traceback' };
