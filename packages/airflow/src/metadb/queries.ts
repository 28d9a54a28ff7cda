/**
 * The metadb reads Windsock's services make. Every query that touches `task_instance` filters on
 * `state` first so PostgreSQL drives it through Airflow's own `ti_state` index (or a key): its cost
 * follows the number of active task instances, never the history. Airflow has no index on `queue`,
 * and Windsock never adds one to a user's database.
 */
import type { MetadbClient } from './client.ts';
import type { AirflowSchemaVersion } from './schema.ts';
import { ACTIVE_TASK_STATES, type ActiveTaskState, SCHEDULER_JOB_TYPE } from './states.ts';

function ageSeconds(at: Date | null, now: Date): number | null {
  if (!at) return null;
  return Math.max(0, (now.getTime() - at.getTime()) / 1000);
}

/** `slot_pool.slots` as a number: -1 is Airflow's "unlimited", a NULL counts as no slots. */
function totalSlots(slots: number | null): number {
  return slots === -1 ? Number.POSITIVE_INFINITY : Number(slots ?? 0);
}

/** `Pool.slots_stats`'s open slots: total minus the slots of running, queued (and counted deferred) task instances. */
function openSlots(total: number, running: number, queued: number, countedDeferred: number): number {
  return total - running - queued - countedDeferred;
}

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(String(value));
}

/** SQL of {@link countTaskInstancesByQueueAndState}; `$1` is the list of states. */
export const TASK_INSTANCES_BY_QUEUE_AND_STATE_SQL = `
SELECT queue, state, count(*)::int AS count
FROM task_instance
WHERE state = ANY($1::varchar[])
GROUP BY queue, state`;

/** Task instances in one queue and state. `queue` is null for rows Airflow wrote without one. */
export interface QueueStateCount {
  queue: string | null;
  state: ActiveTaskState;
  count: number;
}

/**
 * Task instances per (queue, state) for the active states: the seed's queue-depth query, driven by
 * `ti_state` instead of a scan. Only non-zero pairs come back; the caller adds explicit zeros.
 *
 * @example const rows = await countTaskInstancesByQueueAndState(pool)
 */
export async function countTaskInstancesByQueueAndState(
  client: MetadbClient,
  states: readonly ActiveTaskState[] = ACTIVE_TASK_STATES,
): Promise<QueueStateCount[]> {
  const { rows } = await client.query<QueueStateCount>(TASK_INSTANCES_BY_QUEUE_AND_STATE_SQL, [[...states]]);
  return rows.map((r) => ({ queue: r.queue, state: r.state, count: Number(r.count) }));
}

/** SQL of {@link countTaskInstancesByPoolAndState}; `$1` is the list of states. */
export const TASK_INSTANCES_BY_POOL_AND_STATE_SQL = `
SELECT pool, state, count(*)::int AS count, coalesce(sum(pool_slots), 0)::int AS slots
FROM task_instance
WHERE state = ANY($1::varchar[])
GROUP BY pool, state`;

/** Task instances (and the pool slots they ask for) in one pool and state. */
export interface PoolStateCount {
  pool: string;
  state: ActiveTaskState;
  count: number;
  slots: number;
}

/** Task instances per (pool, state) for the active states, with the pool slots they take. */
export async function countTaskInstancesByPoolAndState(
  client: MetadbClient,
  states: readonly ActiveTaskState[] = ACTIVE_TASK_STATES,
): Promise<PoolStateCount[]> {
  const { rows } = await client.query<PoolStateCount>(TASK_INSTANCES_BY_POOL_AND_STATE_SQL, [[...states]]);
  return rows.map((r) => ({ pool: r.pool, state: r.state, count: Number(r.count), slots: Number(r.slots) }));
}

/** SQL of {@link oldestQueuedTaskByQueue}. */
export const OLDEST_QUEUED_TASK_BY_QUEUE_SQL = `
SELECT queue, min(queued_dttm) AS oldest_queued_at, count(*)::int AS queued
FROM task_instance
WHERE state = 'queued'
GROUP BY queue`;

/** The longest-waiting queued task instance of a queue (`queued_dttm` is set when the scheduler queues it). */
export interface OldestQueuedTask {
  queue: string | null;
  oldestQueuedAt: Date | null;
  /** Seconds since `oldestQueuedAt`, measured at `now`; null when no queued row has `queued_dttm`. */
  ageSeconds: number | null;
  queued: number;
}

/**
 * Age of the oldest queued task per queue: the "stuck in queued" signal.
 *
 * @param now the instant ages are measured at (the simulator passes its virtual clock).
 */
export async function oldestQueuedTaskByQueue(
  client: MetadbClient,
  now: Date = new Date(),
): Promise<OldestQueuedTask[]> {
  const { rows } = await client.query<{ queue: string | null; oldest_queued_at: unknown; queued: number }>(
    OLDEST_QUEUED_TASK_BY_QUEUE_SQL,
  );
  return rows.map((r) => {
    const at = toDate(r.oldest_queued_at);
    return { queue: r.queue, oldestQueuedAt: at, ageSeconds: ageSeconds(at, now), queued: Number(r.queued) };
  });
}

/** SQL of {@link newestSchedulerHeartbeat}; `$1` is the job type. */
export const NEWEST_SCHEDULER_HEARTBEAT_SQL = `
SELECT id, hostname, state, latest_heartbeat
FROM job
WHERE job_type = $1 AND latest_heartbeat IS NOT NULL
ORDER BY latest_heartbeat DESC
LIMIT 1`;

/** The most recent scheduler heartbeat row of `job`. */
export interface SchedulerHeartbeat {
  jobId: number;
  hostname: string | null;
  state: string | null;
  latestHeartbeat: Date;
  ageSeconds: number;
}

/**
 * The newest SchedulerJob heartbeat (through the `job_type_heart` index), or null when no scheduler
 * ever ran. Its age is what on-call alarms on: a dead scheduler keeps its last row, so the age grows.
 */
export async function newestSchedulerHeartbeat(
  client: MetadbClient,
  now: Date = new Date(),
): Promise<SchedulerHeartbeat | null> {
  const { rows } = await client.query<{
    id: number;
    hostname: string | null;
    state: string | null;
    latest_heartbeat: unknown;
  }>(NEWEST_SCHEDULER_HEARTBEAT_SQL, [SCHEDULER_JOB_TYPE]);
  const row = rows[0];
  if (!row) return null;
  const at = toDate(row.latest_heartbeat)!;
  return {
    jobId: Number(row.id),
    hostname: row.hostname,
    state: row.state,
    latestHeartbeat: at,
    ageSeconds: ageSeconds(at, now)!,
  };
}

/** SQL of {@link poolSlots}. */
export const POOL_SLOTS_SQL = `
WITH usage AS (
  SELECT pool, state, coalesce(sum(pool_slots), 0)::int AS slots
  FROM task_instance
  WHERE state = ANY(ARRAY['running', 'queued', 'deferred', 'scheduled']::varchar[])
  GROUP BY pool, state
)
SELECT p.pool, p.slots AS total_slots, p.include_deferred,
  coalesce(sum(u.slots) FILTER (WHERE u.state = 'running'), 0)::int AS running_slots,
  coalesce(sum(u.slots) FILTER (WHERE u.state = 'queued'), 0)::int AS queued_slots,
  coalesce(sum(u.slots) FILTER (WHERE u.state = 'deferred'), 0)::int AS deferred_slots,
  coalesce(sum(u.slots) FILTER (WHERE u.state = 'scheduled'), 0)::int AS scheduled_slots
FROM slot_pool p
LEFT JOIN usage u ON u.pool = p.pool
WHERE p.pool IS NOT NULL
GROUP BY p.pool, p.slots, p.include_deferred`;

/** A pool's slots as Airflow's `Pool.slots_stats` computes them. */
export interface PoolSlots {
  pool: string;
  /** `slot_pool.slots`; Infinity for -1 (Airflow's "unlimited"). */
  totalSlots: number;
  includeDeferred: boolean;
  runningSlots: number;
  queuedSlots: number;
  deferredSlots: number;
  scheduledSlots: number;
  /** total - running - queued (- deferred when the pool includes deferred); may be negative when over-committed. */
  openSlots: number;
}

/**
 * Open slots per pool, the way Airflow computes them: slots taken are the summed `pool_slots` of
 * running and queued task instances, plus deferred ones when `include_deferred` is set.
 */
export async function poolSlots(client: MetadbClient): Promise<PoolSlots[]> {
  const { rows } = await client.query<{
    pool: string;
    total_slots: number | null;
    include_deferred: boolean;
    running_slots: number;
    queued_slots: number;
    deferred_slots: number;
    scheduled_slots: number;
  }>(POOL_SLOTS_SQL);
  return rows.map((r) => {
    const total = totalSlots(r.total_slots);
    const running = Number(r.running_slots);
    const queued = Number(r.queued_slots);
    const deferred = Number(r.deferred_slots);
    const open = openSlots(total, running, queued, r.include_deferred ? deferred : 0);
    return {
      pool: r.pool,
      totalSlots: total,
      includeDeferred: r.include_deferred,
      runningSlots: running,
      queuedSlots: queued,
      deferredSlots: deferred,
      scheduledSlots: Number(r.scheduled_slots),
      openSlots: open,
    };
  });
}

/**
 * SQL of {@link readActiveTaskInstances}: one `ti_state` pass over the active rows, grouped by
 * (queue, pool, state), which is all the four reads above need, and the `slot_pool` definitions
 * beside them in the same statement (one round trip); `$1` is the list of states.
 */
export const ACTIVE_TASK_INSTANCES_SQL = `
SELECT 'task_instances' AS kind, queue, pool, state, count(*)::int AS count,
  coalesce(sum(pool_slots), 0)::int AS slots,
  min(queued_dttm) FILTER (WHERE state = 'queued') AS oldest_queued_at,
  NULL::int AS total_slots, NULL::boolean AS include_deferred
FROM task_instance
WHERE state = ANY($1::varchar[])
GROUP BY queue, pool, state
UNION ALL
SELECT 'slot_pool', NULL, pool, NULL, NULL, NULL, NULL, slots, include_deferred
FROM slot_pool
WHERE pool IS NOT NULL`;

/** Active task instances of one (queue, pool, state). */
export interface ActiveTaskInstanceGroup {
  queue: string | null;
  pool: string;
  state: ActiveTaskState;
  count: number;
  /** Summed `pool_slots` of the group. */
  slots: number;
  /** Earliest `queued_dttm` of a queued group; null for other states or when no row has one. */
  oldestQueuedAt: Date | null;
}

/** A pool as `slot_pool` defines it. */
export interface PoolDefinition {
  pool: string;
  /** `slot_pool.slots`; Infinity for -1 (Airflow's "unlimited"). */
  totalSlots: number;
  includeDeferred: boolean;
}

/** One read of every active task instance (grouped) and of the pools they draw slots from. */
export interface ActiveTaskInstances {
  groups: ActiveTaskInstanceGroup[];
  pools: PoolDefinition[];
}

/**
 * Every active task instance in one pass (grouped by queue, pool and state) plus the pool
 * definitions: what {@link summariseActiveTaskInstances} turns into the four per-question answers.
 *
 * @example const summary = summariseActiveTaskInstances(await readActiveTaskInstances(client), now)
 */
export async function readActiveTaskInstances(client: MetadbClient): Promise<ActiveTaskInstances> {
  const { rows } = await client.query<{
    kind: 'task_instances' | 'slot_pool';
    queue: string | null;
    pool: string;
    state: ActiveTaskState;
    count: number;
    slots: number;
    oldest_queued_at: unknown;
    total_slots: number | null;
    include_deferred: boolean;
  }>(ACTIVE_TASK_INSTANCES_SQL, [[...ACTIVE_TASK_STATES]]);
  const out: ActiveTaskInstances = { groups: [], pools: [] };
  for (const r of rows) {
    if (r.kind === 'slot_pool') {
      out.pools.push({ pool: r.pool, totalSlots: totalSlots(r.total_slots), includeDeferred: r.include_deferred });
      continue;
    }
    out.groups.push({
      queue: r.queue,
      pool: r.pool,
      state: r.state,
      count: Number(r.count),
      slots: Number(r.slots),
      oldestQueuedAt: toDate(r.oldest_queued_at),
    });
  }
  return out;
}

/** What the four per-question reads return, derived from one {@link ActiveTaskInstances}. */
export interface ActiveTaskInstanceSummary {
  /** As {@link countTaskInstancesByQueueAndState} returns it. */
  byQueueAndState: QueueStateCount[];
  /** As {@link countTaskInstancesByPoolAndState} returns it. */
  byPoolAndState: PoolStateCount[];
  /** As {@link oldestQueuedTaskByQueue} returns it. */
  oldestQueued: OldestQueuedTask[];
  /** As {@link poolSlots} returns it. */
  pools: PoolSlots[];
}

/**
 * Derives from one {@link readActiveTaskInstances} exactly what the four per-question reads return
 * (rows in no particular order, as from SQL); pure, so it costs no round trip.
 *
 * @param now the instant ages are measured at.
 */
export function summariseActiveTaskInstances(
  active: ActiveTaskInstances,
  now: Date = new Date(),
): ActiveTaskInstanceSummary {
  const byQueueAndState = new Map<string, QueueStateCount>();
  const byPoolAndState = new Map<string, PoolStateCount>();
  const oldest = new Map<string | null, { at: Date | null; queued: number }>();
  for (const g of active.groups) {
    const qs = JSON.stringify([g.queue, g.state]);
    const q = byQueueAndState.get(qs);
    if (q) q.count += g.count;
    else byQueueAndState.set(qs, { queue: g.queue, state: g.state, count: g.count });

    const ps = JSON.stringify([g.pool, g.state]);
    const p = byPoolAndState.get(ps);
    if (p) {
      p.count += g.count;
      p.slots += g.slots;
    } else {
      byPoolAndState.set(ps, { pool: g.pool, state: g.state, count: g.count, slots: g.slots });
    }

    if (g.state === 'queued') {
      const o = oldest.get(g.queue) ?? { at: null, queued: 0 };
      o.queued += g.count;
      if (g.oldestQueuedAt && (!o.at || g.oldestQueuedAt < o.at)) o.at = g.oldestQueuedAt;
      oldest.set(g.queue, o);
    }
  }

  const slotsOf = (pool: string, state: ActiveTaskState) =>
    byPoolAndState.get(JSON.stringify([pool, state]))?.slots ?? 0;
  const pools = active.pools.map((def): PoolSlots => {
    const running = slotsOf(def.pool, 'running');
    const queued = slotsOf(def.pool, 'queued');
    const deferred = slotsOf(def.pool, 'deferred');
    return {
      pool: def.pool,
      totalSlots: def.totalSlots,
      includeDeferred: def.includeDeferred,
      runningSlots: running,
      queuedSlots: queued,
      deferredSlots: deferred,
      scheduledSlots: slotsOf(def.pool, 'scheduled'),
      openSlots: openSlots(def.totalSlots, running, queued, def.includeDeferred ? deferred : 0),
    };
  });

  return {
    byQueueAndState: [...byQueueAndState.values()],
    byPoolAndState: [...byPoolAndState.values()],
    oldestQueued: [...oldest].map(([queue, o]) => ({
      queue,
      oldestQueuedAt: o.at,
      ageSeconds: ageSeconds(o.at, now),
      queued: o.queued,
    })),
    pools,
  };
}

/**
 * SQL of {@link runningTasksByHostname} per schema version: 2.x task liveness lives in the
 * LocalTaskJob row (`job_id` -> `job.latest_heartbeat`), 3.x in `task_instance.last_heartbeat_at`.
 */
export const RUNNING_TASKS_BY_HOSTNAME_SQL: Readonly<Record<AirflowSchemaVersion, string>> = {
  '2.10': `
SELECT ti.hostname, ti.queue, count(*)::int AS running, min(j.latest_heartbeat) AS oldest_heartbeat
FROM task_instance ti
LEFT JOIN job j ON j.id = ti.job_id
WHERE ti.state = 'running'
GROUP BY ti.hostname, ti.queue`,
  '3': `
SELECT ti.hostname, ti.queue, count(*)::int AS running, min(ti.last_heartbeat_at) AS oldest_heartbeat
FROM task_instance ti
WHERE ti.state = 'running'
GROUP BY ti.hostname, ti.queue`,
};

/** Running task instances on one worker host and queue: a worker with any is busy and must not be stopped. */
export interface RunningTasksOnHost {
  /** `task_instance.hostname` as the worker reported it ('' when Airflow has not recorded one yet). */
  hostname: string;
  queue: string | null;
  running: number;
  /** The stalest task heartbeat on that host (null when none has been recorded). */
  oldestHeartbeatAt: Date | null;
}

/** Running task instances per (hostname, queue), for the scaler's "which workers are busy". */
export async function runningTasksByHostname(
  client: MetadbClient,
  version: AirflowSchemaVersion,
): Promise<RunningTasksOnHost[]> {
  const { rows } = await client.query<{
    hostname: string | null;
    queue: string | null;
    running: number;
    oldest_heartbeat: unknown;
  }>(RUNNING_TASKS_BY_HOSTNAME_SQL[version]);
  return rows.map((r) => ({
    hostname: r.hostname ?? '',
    queue: r.queue,
    running: Number(r.running),
    oldestHeartbeatAt: toDate(r.oldest_heartbeat),
  }));
}

/** The identity of one task attempt, as a log path carries it. */
export interface TaskAttemptIdentity {
  dagId: string;
  taskId: string;
  runId: string;
  /** -1 for an unmapped task. */
  mapIndex: number;
  /** The attempt number in the log file name (`attempt=N.log`). */
  tryNumber: number;
}

/** SQL of {@link taskAttemptState} per version (3.x also returns the TI's uuid). */
export const TASK_INSTANCE_BY_IDENTITY_SQL: Readonly<Record<AirflowSchemaVersion, string>> = {
  '2.10': `
SELECT NULL::text AS id, state, try_number, hostname, start_date, end_date
FROM task_instance
WHERE dag_id = $1 AND task_id = $2 AND run_id = $3 AND map_index = $4`,
  '3': `
SELECT id::text AS id, state, try_number, hostname, start_date, end_date
FROM task_instance
WHERE dag_id = $1 AND task_id = $2 AND run_id = $3 AND map_index = $4`,
};

/** What the metadb says about one attempt of a task instance. */
export interface TaskAttemptState {
  /** The task instance's uuid (3.x); null on 2.x. */
  id: string | null;
  /** The task instance's current state (it belongs to `currentTryNumber`, not necessarily to the asked attempt). */
  state: string | null;
  currentTryNumber: number;
  hostname: string | null;
  startDate: Date | null;
  endDate: Date | null;
  /**
   * True when the asked attempt can write no more log lines: a later attempt exists, or this attempt
   * ended (success, failed, skipped, upstream_failed, removed, up_for_retry). A sensor waiting in
   * up_for_reschedule or a deferred task will write to the same attempt again, so it is not finished.
   */
  attemptFinished: boolean;
}

const ATTEMPT_ENDED_STATES = new Set(['success', 'failed', 'skipped', 'upstream_failed', 'removed', 'up_for_retry']);

/**
 * The state of a task attempt by identity (primary key in 2.x, `task_instance_composite_key` in
 * 3.x), or null when the task instance does not exist (cleared and removed, or a typo in a path).
 */
export async function taskAttemptState(
  client: MetadbClient,
  version: AirflowSchemaVersion,
  attempt: TaskAttemptIdentity,
): Promise<TaskAttemptState | null> {
  const { rows } = await client.query<{
    id: string | null;
    state: string | null;
    try_number: number | null;
    hostname: string | null;
    start_date: unknown;
    end_date: unknown;
  }>(TASK_INSTANCE_BY_IDENTITY_SQL[version], [attempt.dagId, attempt.taskId, attempt.runId, attempt.mapIndex]);
  const row = rows[0];
  if (!row) return null;
  const current = Number(row.try_number ?? 0);
  const finished =
    current > attempt.tryNumber || (current === attempt.tryNumber && ATTEMPT_ENDED_STATES.has(row.state ?? ''));
  return {
    id: row.id,
    state: row.state,
    currentTryNumber: current,
    hostname: row.hostname,
    startDate: toDate(row.start_date),
    endDate: toDate(row.end_date),
    attemptFinished: finished,
  };
}

/** SQL of {@link logTemplateForDagRun}; `$1` dag_id, `$2` run_id. */
export const LOG_TEMPLATE_FOR_DAG_RUN_SQL = `
SELECT lt.id, lt.filename, lt.elasticsearch_id, dr.log_template_id
FROM dag_run dr
LEFT JOIN log_template lt
  ON lt.id = coalesce(dr.log_template_id, (SELECT min(id) FROM log_template))
WHERE dr.dag_id = $1 AND dr.run_id = $2`;

/** The `log_template` row a dag_run's task logs are named with. */
export interface DagRunLogTemplate {
  id: number;
  /** The Jinja `log_filename_template` in force when the run was created. */
  filename: string;
  elasticsearchId: string;
  /** True when the run predates `log_template` (2.3) and Airflow falls back to the first row. */
  fallback: boolean;
}

/**
 * The log filename template of a dag_run (`dag_run.log_template_id` -> `log_template`), with Airflow's
 * fallback to the first row for runs created before 2.3. Null when the run or the template is missing.
 */
export async function logTemplateForDagRun(
  client: MetadbClient,
  dagId: string,
  runId: string,
): Promise<DagRunLogTemplate | null> {
  const { rows } = await client.query<{
    id: number | null;
    filename: string | null;
    elasticsearch_id: string | null;
    log_template_id: number | null;
  }>(LOG_TEMPLATE_FOR_DAG_RUN_SQL, [dagId, runId]);
  const row = rows[0];
  if (!row || row.id === null || row.filename === null) return null;
  return {
    id: Number(row.id),
    filename: row.filename,
    elasticsearchId: row.elasticsearch_id ?? '',
    fallback: row.log_template_id === null,
  };
}
