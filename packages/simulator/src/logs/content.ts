/** What tasks print and raise: realistic, deterministic content drawn from the log PRNG. */
import type { Prng } from '../prng.ts';

const SITE = '/home/airflow/.local/lib/python3.12/site-packages';

/** One Python exception with the frames that raised it. */
export interface PyException {
  type: string;
  value: string;
  frames: { filename: string; lineno: number; name: string; line: string }[];
  /** Lines printed after the exception line (e.g. psycopg2 DETAIL). */
  extra?: string[];
}

/** A failure: one exception, or a chain where `context` was being handled when `exc` was raised. */
export interface TaskFailure {
  exc: PyException;
  context?: PyException;
}

function taskFrames(dagFile: string, fn: string): PyException['frames'] {
  return [
    {
      filename: `${SITE}/airflow/models/taskinstance.py`,
      lineno: 767,
      name: '_execute_task',
      line: 'result = _execute_callable(context=context, **execute_callable_kwargs)',
    },
    {
      filename: `${SITE}/airflow/operators/python.py`,
      lineno: 238,
      name: 'execute',
      line: 'return_value = self.execute_callable()',
    },
    {
      filename: `/opt/airflow/dags/${dagFile}`,
      lineno: 40 + (fn.length % 30),
      name: fn,
      line: 'raise_for_input(batch)',
    },
  ];
}

/** Picks a failure for a task; `chained` makes it a "During handling of the above exception" chain. */
export function pickFailure(rng: Prng, dagFile: string, taskId: string, chained: boolean): TaskFailure {
  const frames = taskFrames(dagFile, taskId);
  if (chained) {
    return {
      context: {
        type: 'psycopg2.errors.UniqueViolation',
        value: 'duplicate key value violates unique constraint "orders_pkey"',
        extra: [`DETAIL:  Key (id)=(${rng.int(1, 99999)}) already exists.`],
        frames: [
          { filename: `/opt/airflow/dags/${dagFile}`, lineno: 31, name: taskId, line: 'cur.execute(sql, rows)' },
        ],
      },
      exc: { type: 'airflow.exceptions.AirflowException', value: `load of batch ${rng.int(1, 500)} failed`, frames },
    };
  }
  const choice = rng.int(0, 2);
  if (choice === 0) {
    return {
      exc: {
        type: 'ValueError',
        value: `upstream file s3://data-lake/raw/part-${String(rng.int(0, 9999)).padStart(4, '0')}.csv is empty`,
        frames,
      },
    };
  }
  if (choice === 1) return { exc: { type: 'KeyError', value: "'customer_id'", frames } };
  return {
    exc: {
      type: 'requests.exceptions.HTTPError',
      value: '503 Server Error: Service Unavailable for url: https://api.example.com/v1/orders',
      frames,
    },
  };
}

/** The text lines Python prints for an exception (with its chain), starting with `Traceback ...`. */
export function tracebackLines(f: TaskFailure): string[] {
  const one = (e: PyException): string[] => {
    const out = ['Traceback (most recent call last):'];
    for (const fr of e.frames) {
      out.push(`  File "${fr.filename}", line ${fr.lineno}, in ${fr.name}`, `    ${fr.line}`);
    }
    out.push(`${e.type}: ${e.value}`, ...(e.extra ?? []));
    return out;
  };
  if (!f.context) return one(f.exc);
  return [
    ...one(f.context),
    '',
    'During handling of the above exception, another exception occurred:',
    '',
    ...one(f.exc),
  ];
}

/** A `print()` a task makes: first line, and bare continuation lines of a multi-line print. */
export function pickPrint(rng: Prng, i: number): string[] {
  switch (rng.int(0, 4)) {
    case 0:
      return [`processing batch ${i + 1}`];
    case 1:
      return [`fetched ${rng.int(10, 50000)} rows from source`];
    case 2:
      return ['summary:', `  rows_in=${rng.int(100, 9000)}`, `  rows_out=${rng.int(100, 9000)}`];
    case 3:
      return [`wrote s3://data-lake/curated/part-${String(rng.int(0, 9999)).padStart(4, '0')}.parquet`];
    default:
      return [`checkpoint ${i + 1} ok`];
  }
}

/** A garbage line (a torn write, binary junk): a correct parser reports it as unparsed. */
export function garbageLine(rng: Prng): string {
  const junk = ['\u0000\u0001\u0002 ', '#@!%', '~~>', '???'];
  return `${rng.pick(junk)}${rng.u32().toString(36)} torn write ${rng.u32().toString(16)}`;
}

/** The Python repr of an exception instance, as Celery prints it after `raised unexpected:`. */
export function excRepr(type: string, value: string): string {
  const short = type.split('.').pop() ?? type;
  return `${short}('${value.replaceAll("'", "\\'")}')`;
}

/** The frames of Celery's trace for a failing Airflow task (2.x `execute_command`). */
export function celeryTraceFrames(): PyException['frames'] {
  return [
    {
      filename: `${SITE}/celery/app/trace.py`,
      lineno: 453,
      name: 'trace_task',
      line: 'R = retval = fun(*args, **kwargs)',
    },
    {
      filename: `${SITE}/celery/app/trace.py`,
      lineno: 736,
      name: '__protected_call__',
      line: 'return self.run(*args, **kwargs)',
    },
    {
      filename: `${SITE}/airflow/providers/celery/executors/celery_executor_utils.py`,
      lineno: 136,
      name: 'execute_command',
      line: '_execute_in_fork(command_to_exec, celery_task_id)',
    },
    {
      filename: `${SITE}/airflow/providers/celery/executors/celery_executor_utils.py`,
      lineno: 151,
      name: '_execute_in_fork',
      line: 'raise AirflowException(msg)',
    },
  ];
}
