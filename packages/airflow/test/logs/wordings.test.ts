/**
 * Every counted message in the wording each Airflow minor (2.2 to 3.x) and the Celery versions
 * they pin print it, one line each in its real format (the table in packages/airflow/README.md,
 * "Counted messages per version"): the event and its state are read from each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractEvents, type LogEvent, type LogRecord, RecordAssembler } from '../../src/index.ts';

function eventsOf(lines: string[]): LogEvent[] {
  const records: LogRecord[] = [];
  const asm = new RecordAssembler((r) => records.push(r));
  for (const l of lines) asm.push(l);
  asm.flush();
  return records.flatMap((r) => [...extractEvents(r)]);
}

const KEY22 =
  "TaskInstanceKey(dag_id='etl', task_id='load', run_id='scheduled__2021-11-01T00:00:00+00:00', try_number=1)";
const KEY23 =
  "TaskInstanceKey(dag_id='etl', task_id='load', run_id='scheduled__2022-05-01T00:00:00+00:00', try_number=1, map_index=-1)";
const REPR = '<TaskInstance: etl.load scheduled__2024-01-01T00:00:00+00:00 [scheduled]>';

/** [version, line(s), expected event kind, expected detail (state / source / outcome)]. */
const CASES: [string, string[], LogEvent['kind'], string][] = [
  // --- sent to executor ---
  [
    '2.2-2.5 Sending (scheduler_job.py, comma ms)',
    [
      `[2021-11-02 10:00:01,234] {scheduler_job.py:535} INFO - Sending ${KEY22} to executor with priority 2 and queue default`,
    ],
    'sent-to-executor',
    'sending',
  ],
  [
    '2.3-2.5 Sending (map_index in the key)',
    [
      `[2022-05-01T10:00:01.234+0000] {scheduler_job.py:550} INFO - Sending ${KEY23} to executor with priority 2 and queue default`,
    ],
    'sent-to-executor',
    'sending',
  ],
  [
    '2.6-2.9 Sending (scheduler_job_runner.py)',
    [
      `[2023-09-01T10:00:01.234+0000] {scheduler_job_runner.py:636} INFO - Sending ${KEY23} to executor with priority 2 and queue default`,
    ],
    'sent-to-executor',
    'sending',
  ],
  [
    '2.10 Sending (executor named)',
    [
      `[2024-09-01T10:00:01.234+0000] {scheduler_job_runner.py:680} INFO - Sending ${KEY23} to CeleryExecutor with priority 2 and queue default`,
    ],
    'sent-to-executor',
    'sending',
  ],
  [
    '2.2-2.10 Adding to queue',
    [
      "[2021-11-02 10:00:01,235] {base_executor.py:82} INFO - Adding to queue: ['airflow', 'tasks', 'run', 'etl', 'load', 'scheduled__2021-11-01T00:00:00+00:00', '--local', '--subdir', 'DAGS_FOLDER/etl.py']",
    ],
    'sent-to-executor',
    'adding-to-queue',
  ],
  [
    '2.10 Trying to enqueue',
    [
      `[2024-09-01T10:00:01.230+0000] {scheduler_job_runner.py:662} INFO - Trying to enqueue tasks: [${REPR}] for executor: CeleryExecutor(parallelism=32)`,
    ],
    'sent-to-executor',
    'trying-to-enqueue',
  ],
  [
    '3.x Trying to enqueue (structlog console)',
    [
      `2025-06-01T10:00:01.230000Z [info     ] Trying to enqueue tasks: [${REPR}] for executor: CeleryExecutor(parallelism=32) [airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:740`,
    ],
    'sent-to-executor',
    'trying-to-enqueue',
  ],
  // --- queued ---
  [
    '2.2-2.10 Setting ... queued state',
    [
      '[2021-11-02 10:00:01,200] {scheduler_job.py:474} INFO - Setting the following tasks to queued state:',
      `\t${REPR}`,
    ],
    'queued',
    '',
  ],
  [
    '3.x Setting ... queued state',
    [
      '2025-06-01T10:00:01.200000Z [info     ] Setting the following tasks to queued state:',
      `\t${REPR} [airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:650`,
    ],
    'queued',
    '',
  ],
  // --- executor events ---
  [
    '2.2-2.6 Executor reports execution',
    [
      '[2021-11-02 10:00:09,000] {scheduler_job.py:600} INFO - Executor reports execution of etl.load run_id=scheduled__2021-11-01T00:00:00+00:00 exited with status success for try_number 1',
    ],
    'executor-event',
    'SUCCESS',
  ],
  [
    '2.3 Executor reports execution (enum str)',
    [
      '[2022-05-01T10:00:09.000+0000] {scheduler_job.py:599} INFO - Executor reports execution of etl.load run_id=scheduled__2022-05-01T00:00:00+00:00 exited with status TaskInstanceState.FAILED for try_number 1',
    ],
    'executor-event',
    'FAILED',
  ],
  [
    '2.7-2.10 Received executor event',
    [
      `[2023-09-01T10:00:09.000+0000] {scheduler_job_runner.py:696} INFO - Received executor event with state queued for task instance ${KEY23}`,
    ],
    'executor-event',
    'QUEUED',
  ],
  [
    '3.x Received executor event',
    [
      `2025-06-01T10:00:09.000000Z [info     ] Received executor event with state success for task instance ${KEY23} [airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:800`,
    ],
    'executor-event',
    'SUCCESS',
  ],
  [
    'repr of the state enum',
    [
      `[2023-09-01T10:00:09.000+0000] {scheduler_job_runner.py:696} INFO - Received executor event with state <TaskInstanceState.UP_FOR_RETRY: 'up_for_retry'> for task instance ${KEY23}`,
    ],
    'executor-event',
    'UP_FOR_RETRY',
  ],
  // --- TaskInstance Finished ---
  [
    '2.2 TaskInstance Finished (no map_index)',
    [
      '[2021-11-02 10:00:09,010] {scheduler_job.py:610} INFO - TaskInstance Finished: dag_id=etl, task_id=load, run_id=scheduled__2021-11-01T00:00:00+00:00, run_start_date=2021-11-02 10:00:02+00:00, run_end_date=2021-11-02 10:00:08+00:00, run_duration=6.0, state=success, executor_state=success, try_number=1, max_tries=0, job_id=7, pool=default_pool, queue=default, priority_weight=2, operator=PythonOperator',
    ],
    'task-instance-finished',
    'SUCCESS',
  ],
  [
    '2.3-2.9 TaskInstance Finished',
    [
      '[2023-09-01T10:00:09.010+0000] {scheduler_job_runner.py:733} INFO - TaskInstance Finished: dag_id=etl, task_id=load, run_id=scheduled__2023-09-01T00:00:00+00:00, map_index=-1, run_start_date=2023-09-01 10:00:02+00:00, run_end_date=2023-09-01 10:00:08+00:00, run_duration=6.0, state=up_for_retry, executor_state=failed, try_number=1, max_tries=2, job_id=7, pool=default_pool, queue=default, priority_weight=2, operator=PythonOperator, queued_dttm=2023-09-01 10:00:01+00:00, queued_by_job_id=1, pid=123',
    ],
    'task-instance-finished',
    'UP_FOR_RETRY',
  ],
  [
    '2.10 TaskInstance Finished (executor=)',
    [
      '[2024-09-01T10:00:09.010+0000] {scheduler_job_runner.py:760} INFO - TaskInstance Finished: dag_id=etl, task_id=load, run_id=scheduled__2024-09-01T00:00:00+00:00, map_index=-1, run_start_date=2024-09-01 10:00:02+00:00, run_end_date=2024-09-01 10:00:08+00:00, run_duration=6.0, state=failed, executor=CeleryExecutor(parallelism=32), executor_state=failed, try_number=3, max_tries=2, job_id=7, pool=default_pool, queue=default, priority_weight=2, operator=PythonOperator, queued_dttm=2024-09-01 10:00:01+00:00, queued_by_job_id=1, pid=123',
    ],
    'task-instance-finished',
    'FAILED',
  ],
  [
    '3.x TaskInstance Finished (scheduled_dttm, missing space)',
    [
      '2025-06-01T10:00:09.010000Z [info     ] TaskInstance Finished: dag_id=etl, task_id=load, run_id=scheduled__2025-06-01T00:00:00+00:00, map_index=-1, run_start_date=2025-06-01 10:00:02+00:00, run_end_date=2025-06-01 10:00:08+00:00, run_duration=6.0, state=success, executor=CeleryExecutor(parallelism=32), executor_state=success, try_number=1, max_tries=0, pool=default_pool, queue=default, priority_weight=2, operator=PythonOperator, queued_dttm=2025-06-01 10:00:01+00:00, scheduled_dttm=2025-06-01 10:00:00+00:00,queued_by_job_id=1, pid=123 [airflow.jobs.scheduler_job_runner.SchedulerJobRunner] loc=scheduler_job_runner.py:830',
    ],
    'task-instance-finished',
    'SUCCESS',
  ],
  // --- task-log markers ---
  [
    '2.0-2.1 Marking (no space after the period)',
    [
      '[2021-05-01 10:00:08,000] {taskinstance.py:1192} INFO - Marking task as SUCCESS.dag_id=etl, task_id=load, execution_date=20210501T000000, start_date=20210501T100002, end_date=20210501T100008',
    ],
    'task-state-marked',
    'SUCCESS',
  ],
  [
    '2.2-2.5 Marking (execution_date)',
    [
      '[2021-11-02 10:00:08,000] {taskinstance.py:1219} INFO - Marking task as UP_FOR_RETRY. dag_id=etl, task_id=load, execution_date=20211101T000000, start_date=20211102T100002, end_date=20211102T100008',
    ],
    'task-state-marked',
    'UP_FOR_RETRY',
  ],
  [
    '2.3-2.5 Marking a mapped task',
    [
      '[2022-05-01T10:00:08.000+0000] {taskinstance.py:1395} INFO - Marking task as SUCCESS. dag_id=etl, task_id=load, map_index=3, execution_date=20220501T000000, start_date=20220501T100002, end_date=20220501T100008',
    ],
    'task-state-marked',
    'SUCCESS',
  ],
  [
    '2.6-2.10 Marking (run_id)',
    [
      '[2024-09-01T10:00:08.000+0000] {taskinstance.py:352} INFO - Marking task as FAILED. dag_id=etl, task_id=load, run_id=scheduled__2024-09-01T00:00:00+00:00, execution_date=20240901T000000, start_date=20240901T100002, end_date=20240901T100008',
    ],
    'task-state-marked',
    'FAILED',
  ],
  // --- 3.x supervisor ---
  [
    '3.x Task finished (supervisor)',
    [
      '2025-06-01T10:00:08.500000Z [info     ] Task finished                  [supervisor] duration=6.1 exit_code=0 final_state=success loc=supervisor.py:1710',
    ],
    'task-final-state',
    'SUCCESS',
  ],
  // --- Celery 5.x (pinned by Airflow 2.2+; same text since Celery 4) ---
  [
    'Celery received',
    [
      '[2024-09-01 10:00:01,300: INFO/MainProcess] Task airflow.providers.celery.executors.celery_executor_utils.execute_command[8b4d75ee-648e-4a33-acc7-0addc7bcdfd5] received',
    ],
    'celery-task',
    'received',
  ],
  [
    'Celery received (2.2-2.6 module path)',
    [
      '[2021-11-02 10:00:01,300: INFO/MainProcess] Task airflow.executors.celery_executor.execute_command[8b4d75ee-648e-4a33-acc7-0addc7bcdfd5] received',
    ],
    'celery-task',
    'received',
  ],
  [
    'Celery succeeded',
    [
      '[2024-09-01 10:00:08,300: INFO/ForkPoolWorker-1] Task airflow.providers.celery.executors.celery_executor_utils.execute_command[8b4d75ee-648e-4a33-acc7-0addc7bcdfd5] succeeded in 7.0s: None',
    ],
    'celery-task',
    'succeeded',
  ],
  [
    'Celery raised unexpected',
    [
      "[2024-09-01 10:00:08,300: ERROR/ForkPoolWorker-1] Task airflow.providers.celery.executors.celery_executor_utils.execute_command[8b4d75ee-648e-4a33-acc7-0addc7bcdfd5] raised unexpected: AirflowException('Celery command failed on host: worker-1 with celery_task_id 8b4d75ee')",
    ],
    'celery-task',
    'failed',
  ],
  [
    'Celery INTERNAL ERROR',
    [
      '[2024-09-01 10:00:08,300: CRITICAL/MainProcess] Task airflow.providers.celery.executors.celery_executor_utils.execute_command[8b4d75ee-648e-4a33-acc7-0addc7bcdfd5] INTERNAL ERROR: OSError()',
    ],
    'celery-task',
    'failed',
  ],
  [
    'Celery retry',
    [
      '[2024-09-01 10:00:08,300: INFO/ForkPoolWorker-1] Task airflow.providers.celery.executors.celery_executor_utils.execute_command[8b4d75ee-648e-4a33-acc7-0addc7bcdfd5] retry: Retry in 5s',
    ],
    'celery-task',
    'retried',
  ],
];

describe('counted messages, in the wording of each Airflow minor and Celery version', () => {
  for (const [version, lines, kind, detail] of CASES) {
    it(`${version}: ${kind}${detail ? ` ${detail}` : ''}`, () => {
      const events = eventsOf(lines).filter((e) => e.kind === kind);
      assert.equal(events.length, 1, JSON.stringify(eventsOf(lines)));
      const e = events[0]!;
      const got =
        e.kind === 'sent-to-executor' ? e.source : e.kind === 'celery-task' ? e.outcome : 'state' in e ? e.state : '';
      assert.equal(got, detail);
    });
  }
});
