/**
 * Task instance states as Airflow stores them in `task_instance.state` (`airflow/utils/state.py`,
 * the same strings in 2.7+ and 3.x; SQL NULL means "no status").
 */

/** The states of a task instance that is waiting, running or about to run again: what queue depth counts. */
export const ACTIVE_TASK_STATES = [
  'scheduled',
  'queued',
  'running',
  'deferred',
  'up_for_retry',
  'up_for_reschedule',
  'restarting',
] as const;

/** One of {@link ACTIVE_TASK_STATES}. */
export type ActiveTaskState = (typeof ACTIVE_TASK_STATES)[number];

/** States after which a task instance never runs again unless cleared. */
export const TERMINAL_TASK_STATES = ['success', 'failed', 'skipped', 'upstream_failed', 'removed'] as const;

/** Any state string Airflow writes (plus `null`, "no status"). */
export type TaskInstanceState = ActiveTaskState | (typeof TERMINAL_TASK_STATES)[number] | null;

/**
 * States whose task instances hold pool slots: Airflow's `EXECUTION_STATES` (running, queued), plus
 * deferred when the pool has `include_deferred` (`models/pool.py` `slots_stats`).
 */
export const SLOT_OCCUPYING_STATES = ['running', 'queued'] as const;

/** The `job.job_type` of the scheduler's heartbeat row (same in 2.x and 3.x). */
export const SCHEDULER_JOB_TYPE = 'SchedulerJob';
