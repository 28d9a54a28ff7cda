import type { MetadbClient } from './client.ts';
import type { AirflowSchemaVersion } from './schema.ts';

/** A DAG's row in `dag`: whether it is paused and its schedule as Airflow stored it. */
export interface DagScheduleRow {
  paused: boolean | null;
  /** 2.x `schedule_interval` (JSON text), 3.x `timetable_summary`. */
  schedule: string | null;
}

/** One `dag_run` row (the columns both schemas share). */
export interface DagRunRow {
  runId: string;
  state: string | null;
  queuedAt: Date | null;
  startDate: Date | null;
  endDate: Date | null;
}

/** One `task_instance` row of a run. */
export interface RunTaskRow {
  taskId: string;
  mapIndex: number;
  state: string | null;
  tryNumber: number | null;
  startDate: Date | null;
  endDate: Date | null;
  hostname: string | null;
  queue: string | null;
}

/** SQL of {@link dagSchedule}, per schema: 3.0 replaced `schedule_interval` with `timetable_summary`. */
export const DAG_SCHEDULE_SQL: Record<AirflowSchemaVersion, string> = {
  '2.10': 'SELECT is_paused, schedule_interval AS schedule FROM dag WHERE dag_id = $1',
  '3': 'SELECT is_paused, timetable_summary AS schedule FROM dag WHERE dag_id = $1',
};

/**
 * A DAG's runs, newest first, by the column each schema indexes with dag_id: 2.x
 * `(dag_id, execution_date)`, 3.x `run_after` (logical_date is null for some 3.x runs). `$2` is an
 * optional state filter, `$3` the limit.
 */
export const DAG_RUNS_SQL: Record<AirflowSchemaVersion, string> = {
  '2.10': `SELECT run_id, state, queued_at, start_date, end_date FROM dag_run
WHERE dag_id = $1 AND ($2::varchar IS NULL OR state = $2)
ORDER BY execution_date DESC LIMIT $3`,
  '3': `SELECT run_id, state, queued_at, start_date, end_date FROM dag_run
WHERE dag_id = $1 AND ($2::varchar IS NULL OR state = $2)
ORDER BY run_after DESC LIMIT $3`,
};

/** SQL of {@link runTasks} (the same on both schemas). */
export const RUN_TASKS_SQL = `SELECT task_id, map_index, state, try_number, start_date, end_date, hostname, queue
FROM task_instance WHERE dag_id = $1 AND run_id = $2 ORDER BY task_id, map_index`;

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(String(value));
}

/** The DAG's `dag` row, or null when the DAG was never parsed into this metadb. */
export async function dagSchedule(
  client: MetadbClient,
  version: AirflowSchemaVersion,
  dagId: string,
): Promise<DagScheduleRow | null> {
  const { rows } = await client.query<{ is_paused: boolean | null; schedule: string | null }>(
    DAG_SCHEDULE_SQL[version],
    [dagId],
  );
  const row = rows[0];
  return row ? { paused: row.is_paused, schedule: row.schedule } : null;
}

/** The newest `limit` runs of a DAG (only those in `state` when given), newest first. */
export async function dagRuns(
  client: MetadbClient,
  version: AirflowSchemaVersion,
  dagId: string,
  opts: { state?: string; limit?: number } = {},
): Promise<DagRunRow[]> {
  const { rows } = await client.query<Record<string, unknown>>(DAG_RUNS_SQL[version], [
    dagId,
    opts.state ?? null,
    opts.limit ?? 1,
  ]);
  return rows.map((r) => ({
    runId: String(r.run_id),
    state: (r.state as string | null) ?? null,
    queuedAt: toDate(r.queued_at),
    startDate: toDate(r.start_date),
    endDate: toDate(r.end_date),
  }));
}

/** Every task instance of one run. */
export async function runTasks(client: MetadbClient, dagId: string, runId: string): Promise<RunTaskRow[]> {
  const { rows } = await client.query<Record<string, unknown>>(RUN_TASKS_SQL, [dagId, runId]);
  return rows.map((r) => ({
    taskId: String(r.task_id),
    mapIndex: Number(r.map_index),
    state: (r.state as string | null) ?? null,
    tryNumber: r.try_number === null ? null : Number(r.try_number),
    startDate: toDate(r.start_date),
    endDate: toDate(r.end_date),
    hostname: (r.hostname as string | null) ?? null,
    queue: (r.queue as string | null) ?? null,
  }));
}
