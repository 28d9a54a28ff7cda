/**
 * Test data for the metadb queries: a large terminal history made inside PostgreSQL with
 * generate_series (fast), and a small set of active rows built here in TypeScript, so every expected
 * count is computed from this list and never from the SQL under test.
 */
import type { AirflowSchemaVersion, MetadbClient } from '../../src/index.ts';

export const QUEUES = ['default', 'etl', 'ml', 'reports', 'high_mem'] as const;
/** The last pool has no slot_pool row (Airflow lets tasks name a pool that was deleted). */
export const POOLS = ['default_pool', 'db_pool', 'api_pool', 'retired_pool'] as const;
export const ACTIVE = ['scheduled', 'queued', 'running', 'deferred', 'up_for_retry', 'up_for_reschedule', 'restarting'];
/** The terminal state of history row (task t, run r): the same rule the SQL below uses. */
export const HISTORY_STATES = ['success', 'success', 'success', 'failed', 'skipped', 'upstream_failed'];
export const historyState = (t: number, r: number) => HISTORY_STATES[(t + r) % HISTORY_STATES.length]!;

export interface HistoryShape {
  dags: number;
  runsPerDag: number;
  tasksPerRun: number;
}

/** 50 DAGs x 1000 runs x 21 tasks = 1,050,000 terminal task instances. */
export const HISTORY: HistoryShape = { dags: 50, runsPerDag: 1000, tasksPerRun: 21 };
export const historyRows = (h: HistoryShape) => h.dags * h.runsPerDag * h.tasksPerRun;

/** The instant the active rows are written relative to; ages are measured from it. */
export const NOW = new Date('2026-03-01T12:00:00.000Z');

export interface ActiveRow {
  dagId: string;
  runId: string;
  taskId: string;
  state: string;
  queue: string;
  pool: string;
  poolSlots: number;
  hostname: string;
  queuedAt: Date | null;
  heartbeatAt: Date | null;
  tryNumber: number;
}

/** A deterministic spread of active task instances over states, queues, pools and workers. */
export function activeRows(count: number): ActiveRow[] {
  const rows: ActiveRow[] = [];
  for (let i = 0; i < count; i++) {
    const state = ACTIVE[i % ACTIVE.length]!;
    const running = state === 'running';
    const queue = QUEUES[(i * 3) % QUEUES.length]!;
    // Queued rows without queued_dttm (written by an older scheduler, or by hand): none of high_mem's
    // have one, half of etl's do, so both "no age at all" and "min ignores the nulls" are exercised.
    const noQueuedAt = state === 'queued' && (queue === 'high_mem' || (queue === 'etl' && i % 2 === 0));
    rows.push({
      dagId: `active_dag_${i % 7}`,
      runId: `manual__${Math.floor(i / 40)}`,
      taskId: `task_${i}`,
      state,
      queue,
      pool: POOLS[(i >> 1) % POOLS.length]!,
      poolSlots: 1 + (i % 3 === 0 ? 1 : 0),
      hostname: running ? `worker-${i % 4}` : '',
      // queued rows wait from 10 s up to ~count s: the oldest of each queue is known in advance
      queuedAt: (state === 'queued' && !noQueuedAt) || running ? new Date(NOW.getTime() - (10 + i) * 1000) : null,
      heartbeatAt: running ? new Date(NOW.getTime() - (i % 13) * 1000) : null,
      tryNumber: 1 + (i % 2),
    });
  }
  return rows;
}

/** Creates the dag_runs of the active rows and inserts them (2.x: with a LocalTaskJob row per running TI). */
export async function insertActive(
  client: MetadbClient,
  version: AirflowSchemaVersion,
  rows: ActiveRow[],
): Promise<void> {
  const runs = [...new Map(rows.map((r) => [`${r.dagId}\u0000${r.runId}`, r])).values()];
  const dateCol = version === '3' ? 'logical_date, run_after' : 'execution_date';
  const dateVals = version === '3' ? '$3::timestamptz, $3::timestamptz' : '$3::timestamptz';
  for (const [k, r] of runs.entries()) {
    await client.query(
      `INSERT INTO dag_run (dag_id, run_id, ${dateCol}, run_type, state, log_template_id)
       VALUES ($1, $2, ${dateVals}, 'manual', 'running', 2)`,
      [r.dagId, r.runId, new Date(NOW.getTime() - k * 60_000)],
    );
  }
  const jobIds: (number | null)[] = [];
  for (const r of rows) {
    if (version === '2.10' && r.state === 'running') {
      const { rows: job } = await client.query<{ id: number }>(
        `INSERT INTO job (dag_id, state, job_type, start_date, latest_heartbeat, hostname)
         VALUES ($1, 'running', 'LocalTaskJob', $2, $3, $4) RETURNING id`,
        [r.dagId, r.queuedAt, r.heartbeatAt, r.hostname],
      );
      jobIds.push(job[0]!.id);
    } else {
      jobIds.push(null);
    }
  }
  const heartbeatCol = version === '3' ? 'last_heartbeat_at' : 'job_id';
  const heartbeatVal = version === '3' ? 'x.hb' : 'x.job';
  const idCol = version === '3' ? 'id, ' : '';
  const idVal = version === '3' ? 'gen_random_uuid(), ' : '';
  await client.query(
    `INSERT INTO task_instance (${idCol}dag_id, run_id, task_id, map_index, state, queue, pool, pool_slots, hostname,
       queued_dttm, try_number, max_tries, priority_weight, ${heartbeatCol})
     SELECT ${idVal}x.dag_id, x.run_id, x.task_id, -1, x.state, x.queue, x.pool, x.slots, x.hostname,
       x.queued, x.try, 1, 1, ${heartbeatVal}
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
       $9::timestamptz[], $10::int[], $11::timestamptz[], $12::int[])
       AS x(dag_id, run_id, task_id, state, queue, pool, slots, hostname, queued, try, hb, job)`,
    [
      rows.map((r) => r.dagId),
      rows.map((r) => r.runId),
      rows.map((r) => r.taskId),
      rows.map((r) => r.state),
      rows.map((r) => r.queue),
      rows.map((r) => r.pool),
      rows.map((r) => r.poolSlots),
      rows.map((r) => r.hostname),
      rows.map((r) => r.queuedAt),
      rows.map((r) => r.tryNumber),
      rows.map((r) => r.heartbeatAt),
      jobIds,
    ],
  );
}

/**
 * The terminal history: `dags x runsPerDag` successful dag_runs (every 50th without a log_template_id,
 * like runs created before 2.3), their task instances in terminal states, and a `job` history: (2.x) one
 * finished LocalTaskJob row per 5 task instances, (3.x) 30,000 finished scheduler/triggerer/processor rows.
 */
export async function insertHistory(
  client: MetadbClient,
  version: AirflowSchemaVersion,
  h: HistoryShape,
): Promise<void> {
  const dateCol = version === '3' ? 'logical_date, run_after' : 'execution_date';
  const dateVal = "timestamptz '2024-01-01 00:00+00' + make_interval(hours => r)";
  const dateVals = version === '3' ? `${dateVal}, ${dateVal}` : dateVal;
  await client.query(
    `INSERT INTO dag_run (dag_id, run_id, ${dateCol}, run_type, state, log_template_id)
     SELECT 'dag_' || d, 'scheduled__' || r, ${dateVals}, 'scheduled', 'success',
       CASE WHEN r % 50 = 0 THEN NULL ELSE 2 END
     FROM generate_series(0, ${h.dags - 1}) d, generate_series(0, ${h.runsPerDag - 1}) r`,
  );
  const idCol = version === '3' ? 'id, ' : '';
  const idVal = version === '3' ? 'gen_random_uuid(), ' : '';
  const states = `ARRAY[${HISTORY_STATES.map((s) => `'${s}'`).join(',')}]`;
  await client.query(
    `INSERT INTO task_instance (${idCol}task_id, dag_id, run_id, map_index, state, try_number, max_tries, pool,
       pool_slots, queue, priority_weight, hostname, start_date, end_date, queued_dttm, duration)
     SELECT ${idVal}'task_' || t, 'dag_' || d, 'scheduled__' || r, -1, (${states})[1 + (t + r) % ${HISTORY_STATES.length}],
       1, 1, (ARRAY['default_pool','db_pool','api_pool'])[1 + t % 3], 1,
       (ARRAY['default','etl','ml','reports','high_mem'])[1 + (d + t) % 5], 1, 'old-worker-' || (t % 9),
       timestamptz '2024-01-01 00:00+00' + make_interval(hours => r, secs => t),
       timestamptz '2024-01-01 00:00+00' + make_interval(hours => r, secs => t + 30),
       timestamptz '2024-01-01 00:00+00' + make_interval(hours => r), 30
     FROM generate_series(0, ${h.dags - 1}) d, generate_series(0, ${h.runsPerDag - 1}) r,
       generate_series(0, ${h.tasksPerRun - 1}) t`,
  );
  if (version === '3') {
    // 3.x has no LocalTaskJob; job still grows by one row per scheduler/triggerer/dag-processor start
    await client.query(
      `INSERT INTO job (state, job_type, start_date, end_date, latest_heartbeat, hostname)
       SELECT 'success', (ARRAY['SchedulerJob','TriggererJob','DagProcessorJob'])[1 + n % 3],
         timestamptz '2024-01-01 00:00+00' + make_interval(mins => n),
         timestamptz '2024-01-01 00:00+00' + make_interval(mins => n + 5),
         timestamptz '2024-01-01 00:00+00' + make_interval(mins => n + 5), 'old-host-' || (n % 7)
       FROM generate_series(1, 30000) n`,
    );
  }
  if (version === '2.10') {
    await client.query(
      `INSERT INTO job (dag_id, state, job_type, start_date, end_date, latest_heartbeat, hostname)
       SELECT 'dag_' || (n % ${h.dags}), 'success', 'LocalTaskJob',
         timestamptz '2024-01-01 00:00+00' + make_interval(secs => n),
         timestamptz '2024-01-01 00:00+00' + make_interval(secs => n + 30),
         timestamptz '2024-01-01 00:00+00' + make_interval(secs => n + 25), 'old-worker-' || (n % 9)
       FROM generate_series(1, ${Math.floor(historyRows(h) / 5)}) n`,
    );
  }
}

/** Scheduler rows: an old finished one, one with no heartbeat yet, and the live one `ageSeconds` behind NOW. */
export async function insertSchedulerJobs(client: MetadbClient, ageSeconds: number): Promise<Date> {
  const newest = new Date(NOW.getTime() - ageSeconds * 1000);
  await client.query(
    `INSERT INTO job (state, job_type, start_date, end_date, latest_heartbeat, hostname) VALUES
       ('success', 'SchedulerJob', $1, $1, $1, 'old-scheduler'),
       ('running', 'SchedulerJob', $2, NULL, NULL, 'starting-scheduler'),
       ('running', 'SchedulerJob', $2, NULL, $3, 'scheduler-1'),
       ('running', 'TriggererJob', $2, NULL, $4, 'triggerer-1')`,
    [new Date('2025-01-01T00:00:00Z'), new Date(NOW.getTime() - 3600_000), newest, NOW],
  );
  return newest;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** Every (node type, relation) of an EXPLAIN (FORMAT JSON) plan tree. */
export async function planNodes(client: MetadbClient, sql: string, params: unknown[] = []): Promise<PlanNode[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  const nodes: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    nodes.push(n);
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(rows[0]!['QUERY PLAN'][0].Plan);
  return nodes;
}

/** The relations a plan reads with a sequential scan. */
export async function seqScannedRelations(
  client: MetadbClient,
  sql: string,
  params: unknown[] = [],
): Promise<string[]> {
  return (await planNodes(client, sql, params))
    .filter((n) => n['Node Type'] === 'Seq Scan')
    .map((n) => n['Relation Name'] ?? '?');
}
