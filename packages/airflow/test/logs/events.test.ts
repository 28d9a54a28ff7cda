import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  extractEvents,
  formatHeartbeatToken,
  type LogEvent,
  parseHeartbeatToken,
  parseTaskCommand,
  parseTaskInstanceKey,
  parseTaskInstanceReprs,
  SentToExecutorDedupe,
  taskInstanceKey,
} from '../../src/index.ts';
import { summariseLines } from './summarise.ts';

const H = (msg: string, level = 'INFO') => `[2024-05-01T10:00:00.000+0000] {x.py:1} ${level} - ${msg}`;
const RUN = 'manual__2024-05-01T10:00:00+00:00';

function eventsOf(lines: string[]): LogEvent[] {
  return summariseLines(lines).records.flatMap((r) => [...extractEvents(r)]);
}

describe('task-instance identity from each line shape', () => {
  it('TaskInstanceKey repr, including quotes Python switches for a single quote', () => {
    const ti = parseTaskInstanceKey(
      `TaskInstanceKey(dag_id='etl', task_id="it's", run_id='${RUN}', try_number=3, map_index=7)`,
    );
    assert.deepEqual(ti, {
      key: taskInstanceKey('etl', "it's", RUN, 7),
      dagId: 'etl',
      taskId: "it's",
      runId: RUN,
      mapIndex: 7,
      tryNumber: 3,
    });
  });

  it('<TaskInstance: ...> reprs give the same key as the TaskInstanceKey for the same TI (dotted task ids too)', () => {
    const [plain, mapped] = parseTaskInstanceReprs(
      `[<TaskInstance: etl.grp.load ${RUN} [scheduled]>, <TaskInstance: etl.grp.load ${RUN} map_index=4 [None]>]`,
    );
    assert.equal(plain!.key, taskInstanceKey('etl', 'grp.load', RUN, -1));
    assert.equal(mapped!.key, taskInstanceKey('etl', 'grp.load', RUN, 4));
    assert.equal(mapped!.mapIndex, 4);
  });

  it('the executor command list gives dag, task, run and --map-index', () => {
    const ti = parseTaskCommand(
      `['airflow', 'tasks', 'run', 'etl', 'grp.load', '${RUN}', '--local', '--subdir', 'DAGS_FOLDER/etl.py', '--map-index', '4']`,
    );
    assert.equal(ti!.key, taskInstanceKey('etl', 'grp.load', RUN, 4));
    assert.equal(parseTaskCommand("['airflow', 'dags', 'list']"), undefined);
  });
});

describe('extractEvents', () => {
  it('upper-cases states whatever the log printed', () => {
    const events = eventsOf([
      H(
        `Received executor event with state up_for_retry for task instance TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=1, map_index=-1)`,
      ),
      H('Executor reports execution of d.t run_id=r exited with status success for try_number 1'),
      H(
        'Executor reports execution of d.t execution_date=2021-01-01 00:00:00+00:00 exited with status failed for try_number 1',
      ),
    ]);
    assert.deepEqual(
      events.map((e) => (e.kind === 'executor-event' ? [e.state, e.ti?.key] : [])),
      [
        ['UP_FOR_RETRY', taskInstanceKey('d', 't', 'r', -1)],
        ['SUCCESS', taskInstanceKey('d', 't', 'r', -1)],
        ['FAILED', undefined],
      ],
    );
  });

  it('TaskInstance Finished carries state, queue, executor state and the TI, in 2.x and 3.x wording', () => {
    const [v2, v3, v23] = eventsOf([
      H(
        `TaskInstance Finished: dag_id=d, task_id=t, run_id=${RUN}, map_index=2, run_start_date=2024-05-01 10:00:05+00:00, run_end_date=None, run_duration=None, state=failed, executor_state=failed, try_number=2, max_tries=1, job_id=9, pool=default_pool, queue=gpu, priority_weight=1, operator=BashOperator, queued_dttm=None, queued_by_job_id=1, pid=None`,
      ),
      H(
        `TaskInstance Finished: dag_id=d, task_id=t, run_id=${RUN}, map_index=-1, run_start_date=None, run_end_date=None, run_duration=None, state=success, executor=CeleryExecutor(parallelism=32), executor_state=success, try_number=1, max_tries=0, pool=p, queue=default, priority_weight=1, operator=EmptyOperator, queued_dttm=None, scheduled_dttm=None,queued_by_job_id=1, pid=7`,
      ),
      H(`Task Finished: dag_id=d, task_id=t, run_id=${RUN}, state=skipped`),
    ]);
    assert.deepEqual(v2, {
      kind: 'task-instance-finished',
      state: 'FAILED',
      ti: { key: taskInstanceKey('d', 't', RUN, 2), dagId: 'd', taskId: 't', runId: RUN, mapIndex: 2, tryNumber: 2 },
      queue: 'gpu',
      executorState: 'FAILED',
    });
    assert.equal(v3?.kind === 'task-instance-finished' && v3.queue, 'default');
    assert.equal(v3?.kind === 'task-instance-finished' && v3.state, 'SUCCESS');
    assert.equal(v23?.kind === 'task-instance-finished' && v23.state, 'SKIPPED');
  });

  it('Marking task as X counts with any lead text, with and without run_id and map_index', () => {
    const events = eventsOf([
      H(
        `Immediate failure requested. Marking task as FAILED. dag_id=d, task_id=t, run_id=${RUN}, map_index=3, execution_date=20240501T100000, start_date=, end_date=20240501T100001`,
      ),
      H(
        'Marking task as SKIPPED. dag_id=d, task_id=t, execution_date=20240501T100000, start_date=20240501T100000, end_date=20240501T100001',
      ),
      H('Marking task instance <TaskInstance: d.t r [queued]> stuck in queued as failed.'),
    ]);
    assert.deepEqual(
      events.map((e) => (e.kind === 'task-state-marked' ? [e.state, e.ti?.key] : [e.kind])),
      [
        ['FAILED', taskInstanceKey('d', 't', RUN, 3)],
        ['SKIPPED', undefined],
      ],
    );
  });

  it('a task marked twice counts twice (every marker line counts)', () => {
    const events = eventsOf([
      H('Marking task as UP_FOR_RETRY. dag_id=d, task_id=t, run_id=r, execution_date=x, start_date=, end_date='),
      H('Marking task as FAILED. dag_id=d, task_id=t, run_id=r, execution_date=x, start_date=, end_date='),
    ]);
    assert.deepEqual(
      events.map((e) => e.kind === 'task-state-marked' && e.state),
      ['UP_FOR_RETRY', 'FAILED'],
    );
  });

  it('Airflow 3 final_state in console fields, enum reprs, and JSON lines', () => {
    const events = eventsOf([
      '2026-04-13T17:31:57.950000Z [info     ] Task finished                  [supervisor] duration=6.5 exit_code=0 final_state=failed task_instance_id=0196f0a4-1111-7222-8333-944445555666 loc=supervisor.py:1945',
      "2026-04-13T17:31:57.950000Z [info     ] Task finished                  [supervisor] exit_code=-9 final_state=<TaskInstanceState.UP_FOR_RETRY: 'up_for_retry'>",
      '2026-04-13T17:31:57.950000Z [info     ] Task finished                  [supervisor] exit_code=1 final_state=SERVER_TERMINATED',
      '{"timestamp":"2026-04-13T17:31:57Z","level":"info","event":"Task finished","logger":"supervisor","exit_code":0,"final_state":"success"}',
      '2026-04-13T17:31:57.950000Z [info     ] Task finished without state [x]',
    ]);
    assert.deepEqual(
      events.map((e) => (e.kind === 'task-final-state' ? [e.state, e.exitCode] : [e.kind])),
      [
        ['FAILED', 0],
        ['UP_FOR_RETRY', -9],
        ['SERVER_TERMINATED', 1],
        ['SUCCESS', 0],
      ],
    );
    assert.equal(
      events[0]!.kind === 'task-final-state' && events[0]!.taskInstanceId,
      '0196f0a4-1111-7222-8333-944445555666',
    );
  });

  it("Celery's received / succeeded / raised unexpected / INTERNAL ERROR / retry, not raised expected", () => {
    const t = (id: string) => `execute_command[${id}]`;
    const events = eventsOf([
      `[2024-05-01 10:00:00,000: INFO/MainProcess] Task ${t('a')} received`,
      `[2024-05-01 10:00:00,000: INFO/ForkPoolWorker-1] Task ${t('a')} succeeded in 1.0s: None`,
      `[2024-05-01 10:00:00,000: ERROR/ForkPoolWorker-1] Task ${t('b')} raised unexpected: AirflowException('x')`,
      `[2024-05-01 10:00:00,000: CRITICAL/ForkPoolWorker-1] Task ${t('c')} INTERNAL ERROR: KeyError('y')`,
      `[2024-05-01 10:00:00,000: INFO/ForkPoolWorker-1] Task ${t('d')} raised expected: Ignore()`,
      `[2024-05-01 10:00:00,000: INFO/ForkPoolWorker-1] Task ${t('e')} retry: Retry in 5s`,
      `[2024-05-01 10:00:00,000: INFO/MainProcess] Task ${t('f')} received by someone`,
    ]);
    assert.deepEqual(
      events.map((e) => (e.kind === 'celery-task' ? `${e.outcome}:${e.celeryTaskId}` : e.kind)),
      ['received:a', 'succeeded:a', 'failed:b', 'failed:c', 'retried:e'],
    );
  });
});

describe('heartbeat token', () => {
  it('round-trips fields and exposes queue and hostname', () => {
    const token = formatHeartbeatToken({ v: 1, queue: 'gpu', hostname: 'worker-2', probes_ok: 7 });
    assert.equal(token, 'WINDSOCK_HEARTBEAT_OK v=1 queue=gpu hostname=worker-2 probes_ok=7');
    const [event] = eventsOf([H(token)]);
    assert.deepEqual(event, {
      kind: 'heartbeat',
      fields: { v: '1', queue: 'gpu', hostname: 'worker-2', probes_ok: '7' },
      queue: 'gpu',
      hostname: 'worker-2',
    });
  });

  it('only a message that starts with the token counts', () => {
    assert.deepEqual(parseHeartbeatToken('WINDSOCK_HEARTBEAT_OK'), {});
    for (const text of [
      'Done. Returned value was: WINDSOCK_HEARTBEAT_OK',
      "Running command: ['echo', 'WINDSOCK_HEARTBEAT_OK']",
      'WINDSOCK_HEARTBEAT_OKAY',
      'WINDSOCK_HEARTBEAT_OK queue',
      'WINDSOCK_HEARTBEAT_OK Queue=x',
    ]) {
      assert.equal(parseHeartbeatToken(text), undefined, text);
    }
    assert.throws(() => formatHeartbeatToken({ queue: 'a b' }), /whitespace/);
  });
});

describe('SentToExecutorDedupe', () => {
  it('counts one send per TI across Trying/Sending/Adding, and again for the next try after an executor event', () => {
    const key = (t: number) => `TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=${t}, map_index=-1)`;
    const lines = [
      H('Trying to enqueue tasks: [<TaskInstance: d.t r [scheduled]>] for executor: CeleryExecutor(parallelism=32)'),
      H(`Sending ${key(1)} to CeleryExecutor with priority 1 and queue default`),
      H("Adding to queue: ['airflow', 'tasks', 'run', 'd', 't', 'r', '--local']"),
      H(`Received executor event with state queued for task instance ${key(1)}`),
      H(`Received executor event with state failed for task instance ${key(1)}`),
      H(`Sending ${key(2)} to CeleryExecutor with priority 1 and queue default`),
      H("Adding to queue: ['airflow', 'tasks', 'run', 'd', 't', 'r', '--local']"),
      H(`Sending ${key(3)} to CeleryExecutor with priority 1 and queue default`),
    ];
    const dedupe = new SentToExecutorDedupe();
    const counted = eventsOf(lines).filter((e) => dedupe.observe(e));
    // try 1 once, try 2 once (released by the executor events), try 3: a different try number counts.
    assert.deepEqual(
      counted.map((e) => e.kind === 'sent-to-executor' && e.source),
      ['trying-to-enqueue', 'sending', 'sending'],
    );
    assert.equal(counted[1]!.kind === 'sent-to-executor' && counted[1]!.queue, 'default');
  });

  it('stays bounded when nothing is ever reported back', () => {
    const dedupe = new SentToExecutorDedupe(10);
    for (let i = 0; i < 100; i++) {
      dedupe.observe({
        kind: 'sent-to-executor',
        source: 'sending',
        ti: { key: `k${i}`, dagId: 'd', taskId: 't', runId: 'r', mapIndex: -1 },
      });
    }
    assert.equal(dedupe.size, 10);
  });
});
