/**
 * Airflow 3.x logs: structlog console lines for the scheduler and workers
 * (`2025-01-06T00:00:01.123456Z [info     ] event [logger] key=value loc=file.py:N`, 3.1 form) and
 * JSON-lines task logs (`{"timestamp":...,"level":...,"event":...,"logger":...}`).
 */
import { dagFileName, dagRunRepr, tiKeyRepr, tiRepr } from '../airflow-repr.ts';
import type { LogFileRef } from '../log-sink.ts';
import type { AttemptModel, RunModel, TiModel, WorkerModel } from '../model.ts';
import { isoMicrosZ, pyDatetimeStr, pyFloat, US } from '../time-format.ts';
import { excRepr, garbageLine, type PyException, pickFailure, pickPrint, tracebackLines } from './content.ts';
import type { AttemptEnd, ClusterLogWriter, WriterContext } from './writer.ts';

/** The Celery task name of Airflow 3 (`execute_workload`, named explicitly by the provider). */
export const CELERY_TASK_NAME_3 = 'execute_workload';

const SCHED_LOGGER = 'airflow.jobs.scheduler_job_runner.SchedulerJobRunner';
const SJR = 'scheduler_job_runner.py';

type KV = Record<string, string | number>;

/** Writes Airflow 3.x-format logs and counts what it wrote. */
export class Airflow3Logs implements ClusterLogWriter {
  private readonly executorRepr: string;

  constructor(private readonly ctx: WriterContext) {
    this.executorRepr = `CeleryExecutor(parallelism=${ctx.workload.parallelism})`;
  }

  /** One structlog console record; `after` lines (an exception) follow the rendered line. */
  private con(
    file: LogFileRef,
    t: number,
    level: 'info' | 'warning' | 'error',
    event: string,
    logger: string,
    loc: string,
    kv: KV = {},
    after: string[] = [],
  ): void {
    const pairs = Object.keys(kv)
      .sort()
      .map((k) => ` ${k}=${kv[k]}`)
      .join('');
    t = this.ctx.sink.clock(file, t);
    let s = `${isoMicrosZ(t)} [${level.padEnd(9)}] ${event.padEnd(30)} [${logger}]${pairs} loc=${loc}\n`;
    for (const a of after) s += `${a}\n`;
    this.ctx.sink.write(file, s);
    this.ctx.sink.countLevel(file.component, level);
  }

  private json(
    file: LogFileRef,
    t: number,
    level: string,
    event: string,
    logger: string,
    extra: Record<string, unknown> = {},
  ): void {
    t = this.ctx.sink.clock(file, t);
    const rec = { timestamp: isoMicrosZ(t), level, event, logger, ...extra };
    this.ctx.sink.write(file, `${JSON.stringify(rec)}\n`);
    this.ctx.sink.countLevel(file.component, level);
  }

  private count(name: string, dims: Record<string, string>, n = 1): void {
    this.ctx.truth.add(name, dims, n);
  }

  // ---- scheduler ----

  schedulerStarted(t: number, jobId: number): void {
    const f = this.ctx.scheduler;
    this.con(f, t, 'info', 'Starting the scheduler', SCHED_LOGGER, `${SJR}:1010`);
    this.con(
      f,
      t + 2000,
      'info',
      'Adopting or resetting orphaned tasks for active dag runs',
      SCHED_LOGGER,
      `${SJR}:2113`,
    );
    this.con(
      f,
      t + 2000,
      'info',
      `Job ${jobId} started as SchedulerJob`,
      'airflow.jobs.base_job_runner.BaseJobRunner',
      'base_job_runner.py:70',
    );
  }

  candidates(t: number, tis: TiModel[], activeByDag: Map<string, number>): void {
    const f = this.ctx.scheduler;
    const lines = [`${tis.length} tasks up for execution:`, ...tis.map((ti) => `\t${tiRepr(ti)}`)];
    this.con(f, t, 'info', lines.join('\n'), SCHED_LOGGER, `${SJR}:445`);
    for (const ti of tis) {
      const dag = ti.run.dag;
      this.con(
        f,
        t,
        'info',
        `DAG ${dag.dagId} has ${activeByDag.get(dag.dagId) ?? 0}/${dag.maxActiveTasks ?? 16} running and queued tasks`,
        SCHED_LOGGER,
        `${SJR}:517`,
      );
    }
  }

  poolFull(t: number, pool: string, open: number): void {
    this.con(
      this.ctx.scheduler,
      t,
      'info',
      `Not scheduling since there are ${open} open slots in pool ${pool}`,
      SCHED_LOGGER,
      `${SJR}:481`,
    );
  }

  queued(t: number, tis: TiModel[]): void {
    const lines = ['Setting the following tasks to queued state:', ...tis.map((ti) => `\t${tiRepr(ti, 'scheduled')}`)];
    this.con(this.ctx.scheduler, t, 'info', lines.join('\n'), SCHED_LOGGER, `${SJR}:656`);
    for (const _ of tis) this.count('TasksQueued', { Component: 'scheduler' });
  }

  enqueued(t: number, tis: TiModel[]): void {
    this.con(
      this.ctx.scheduler,
      t,
      'info',
      `Trying to enqueue tasks: [${tis.map((ti) => tiRepr(ti, 'scheduled')).join(', ')}] for executor: ${this.executorRepr}`,
      SCHED_LOGGER,
      `${SJR}:740`,
    );
    for (const _ of tis) this.count('TasksSentToExecutor', { Component: 'scheduler' });
  }

  executorEvent(t: number, ti: TiModel, tryNumber: number, state: string): void {
    this.con(
      this.ctx.scheduler,
      t,
      'info',
      `Received executor event with state ${state} for task instance ${tiKeyRepr(ti, tryNumber)}`,
      SCHED_LOGGER,
      `${SJR}:790`,
    );
    this.count('ExecutorEvents', { Component: 'scheduler', State: state.toUpperCase() });
  }

  externalId(t: number, ti: TiModel, celeryId: string): void {
    this.con(
      this.ctx.scheduler,
      t,
      'info',
      `Setting external_id for ${tiRepr(ti)} to ${celeryId}`,
      SCHED_LOGGER,
      `${SJR}:825`,
    );
  }

  tiFinished(t: number, ti: TiModel, tryNumber: number, executorState: string): void {
    const d = (us: number | null) => (us === null ? 'None' : pyDatetimeStr(us));
    // Airflow 3's template has no space before queued_by_job_id; kept as Airflow prints it.
    const msg =
      `TaskInstance Finished: dag_id=${ti.run.dag.dagId}, task_id=${ti.taskId}, run_id=${ti.run.runId}, ` +
      `map_index=${ti.mapIndex}, run_start_date=${d(ti.startDateUs)}, run_end_date=${d(ti.endDateUs)}, ` +
      `run_duration=${ti.durationS === null ? 'None' : pyFloat(ti.durationS)}, state=${ti.state}, ` +
      `executor=${this.executorRepr}, executor_state=${executorState}, try_number=${tryNumber}, ` +
      `max_tries=${ti.maxTries}, pool=${ti.pool}, queue=${ti.queue}, priority_weight=${ti.priorityWeight}, ` +
      `operator=${ti.operator}, queued_dttm=${d(ti.queuedDttmUs)}, scheduled_dttm=${d(ti.scheduledDttmUs)},` +
      `queued_by_job_id=${ti.queuedByJobId ?? 'None'}, pid=${ti.pid ?? 'None'}`;
    this.con(this.ctx.scheduler, t, 'info', msg, SCHED_LOGGER, `${SJR}:836`);
    this.count('TaskInstancesFinished', {
      Component: 'scheduler',
      State: String(ti.state).toUpperCase(),
      Queue: ti.queue,
    });
  }

  stateMismatch(t: number, ti: TiModel, executorState: string): void {
    this.con(
      this.ctx.scheduler,
      t,
      'error',
      `Executor ${this.executorRepr} reported that the task instance ${tiRepr(ti)} finished with state ` +
        `${executorState}, but the task instance's state attribute is ${ti.state}. Learn more: ` +
        'https://airflow.apache.org/docs/apache-airflow/stable/troubleshooting.html#task-state-changed-externally',
      SCHED_LOGGER,
      `${SJR}:895`,
    );
  }

  zombies(t: number, list: { ti: TiModel; attempt: AttemptModel }[], limitUs: number): void {
    const f = this.ctx.scheduler;
    this.con(
      f,
      t,
      'warning',
      `Failing ${list.length} TIs without heartbeat after ${pyDatetimeStr(limitUs)}`,
      SCHED_LOGGER,
      `${SJR}:2208`,
    );
    for (const { ti, attempt } of list) {
      this.con(
        f,
        t,
        'error',
        `Detected a task instance without a heartbeat: ${tiRepr(ti)} (See https://airflow.apache.org/docs/` +
          'apache-airflow/stable/core-concepts/tasks.html#task-instance-heartbeat-timeout)',
        SCHED_LOGGER,
        `${SJR}:2245`,
        { hostname: attempt.worker?.spec.hostname ?? '', ti_id: ti.uuid },
      );
    }
  }

  dagRunFinished(t: number, run: RunModel): void {
    const f = this.ctx.scheduler;
    const repr = dagRunRepr({ run }, 'running');
    const logger = 'airflow.models.dagrun.DagRun';
    if (run.state === 'success') this.con(f, t, 'info', `Marking run ${repr} successful`, logger, 'dagrun.py:1120');
    else this.con(f, t, 'error', `Marking run ${repr} failed`, logger, 'dagrun.py:1090');
    const end = run.endDateUs ?? t;
    this.con(
      f,
      t,
      'info',
      `DagRun Finished: dag_id=${run.dag.dagId}, logical_date=${pyDatetimeStr(run.logicalDateUs)}, ` +
        `run_id=${run.runId}, run_start_date=${pyDatetimeStr(run.startDateUs)}, run_end_date=${pyDatetimeStr(end)}, ` +
        `run_duration=${pyFloat((end - run.startDateUs) / US)}, state=${run.state}, run_type=${run.runType}, ` +
        `data_interval_start=${pyDatetimeStr(run.logicalDateUs)}, data_interval_end=${pyDatetimeStr(run.logicalDateUs)},`,
      logger,
      'dagrun.py:1176',
    );
  }

  // ---- worker ----

  private workerFile(w: WorkerModel): LogFileRef {
    return { rel: w.logRel, component: 'worker' };
  }

  workerStarted(t: number, w: WorkerModel): void {
    const f = this.workerFile(w);
    this.con(
      f,
      t,
      'info',
      'Connected to redis://redis:6379/0',
      'celery.worker.consumer.connection',
      'connection.py:22',
    );
    this.con(f, t + 3000, 'info', 'mingle: searching for neighbors', 'celery.worker.consumer.mingle', 'mingle.py:40');
    this.con(f, t + 1_010_000, 'info', 'mingle: all alone', 'celery.worker.consumer.mingle', 'mingle.py:49');
    this.con(f, t + 1_020_000, 'info', `celery@${w.spec.hostname} ready.`, 'celery.apps.worker', 'worker.py:176');
  }

  received(t: number, a: AttemptModel): void {
    if (!a.worker) return;
    this.con(
      this.workerFile(a.worker),
      t,
      'info',
      `Task ${CELERY_TASK_NAME_3}[${a.celeryId}] received`,
      'celery.worker.strategy',
      'strategy.py:161',
    );
    this.count('CeleryTasksReceived', { Component: 'worker' });
  }

  executing(t: number, a: AttemptModel): void {
    if (!a.worker) return;
    const ti = a.ti;
    const tiText =
      `TaskInstance(id=UUID('${ti.uuid}'), task_id='${ti.taskId}', dag_id='${ti.run.dag.dagId}', ` +
      `run_id='${ti.run.runId}', try_number=${a.tryNumber}, map_index=${ti.mapIndex}, pool_slots=${ti.poolSlots}, ` +
      `queue='${ti.queue}', priority_weight=${ti.priorityWeight}, executor_config=None, ` +
      'parent_context_carrier={}, context_carrier={}, queued_dttm=None)';
    this.con(
      this.workerFile(a.worker),
      t,
      'info',
      `[${a.celeryId}] Executing workload in Celery: token='eyJ***' ti=${tiText} ` +
        `dag_rel_path=PurePosixPath('${dagFileName(ti)}') bundle_info=BundleInfo(name='dags-folder', version=None) ` +
        `log_path='${a.logRel.replace(/^logs\//, '')}' type='ExecuteTask'`,
      'airflow.providers.celery.executors.celery_executor_utils',
      'celery_executor_utils.py:162',
    );
  }

  workerTaskStart(t: number, a: AttemptModel): void {
    if (!a.worker) return;
    this.con(
      this.workerFile(a.worker),
      t,
      'info',
      'Secrets backends loaded for worker',
      'supervisor',
      'supervisor.py:1931',
      {
        backend_classes: "['EnvironmentVariablesBackend']",
        count: 1,
      },
    );
  }

  celeryDone(t: number, a: AttemptModel, end: AttemptEnd | { kind: 'executor_failure' }): void {
    if (!a.worker) return;
    const f = this.workerFile(a.worker);
    if (end.kind === 'executor_failure') {
      this.con(f, t - 6000, 'warning', 'Server error', 'airflow.sdk.api.client', 'client.py:735', { detail: 'None' });
      this.con(f, t - 2000, 'info', 'Process exited', 'supervisor', 'supervisor.py:709', {
        exit_code: -9,
        pid: a.pid,
        signal_sent: 'SIGKILL',
      });
      const exc: PyException = {
        type: 'airflow.sdk.api.client.ServerResponseError',
        value: 'Server error',
        frames: [
          {
            filename: '/home/airflow/.local/lib/python3.12/site-packages/celery/app/trace.py',
            lineno: 453,
            name: 'trace_task',
            line: 'R = retval = fun(*args, **kwargs)',
          },
          {
            filename: '/home/airflow/.local/lib/python3.12/site-packages/airflow/sdk/api/client.py',
            lineno: 735,
            name: 'request',
            line: 'raise ServerResponseError.from_response(e.response)',
          },
        ],
      };
      this.ctx.truth.add('Tracebacks', { Component: 'worker' });
      this.con(
        f,
        t,
        'error',
        `Task ${CELERY_TASK_NAME_3}[${a.celeryId}] raised unexpected: ${excRepr('ServerResponseError', 'Server error')}`,
        'celery.app.trace',
        'trace.py:267',
        {},
        tracebackLines({ exc }),
      );
      this.count('CeleryTasksFailed', { Component: 'worker' });
      return;
    }
    const finalState =
      end.kind === 'success'
        ? 'success'
        : end.kind === 'failure'
          ? end.willRetry
            ? 'up_for_retry'
            : 'failed'
          : end.kind === 'defer'
            ? 'deferred'
            : 'up_for_reschedule';
    this.con(f, t - 3000, 'info', 'Task finished', 'supervisor', 'supervisor.py:1710', {
      duration: pyFloat((t - 3000 - a.startUs) / US),
      exit_code: end.kind === 'failure' ? 1 : 0,
      final_state: finalState,
      task_instance_id: a.ti.uuid,
    });
    this.count('TaskFinalState', { Component: 'worker', State: finalState.toUpperCase() });
    this.con(
      f,
      t,
      'info',
      `Task ${CELERY_TASK_NAME_3}[${a.celeryId}] succeeded in ${pyFloat((t - a.receivedUs) / US)}s: None`,
      'celery.app.trace',
      'trace.py:128',
    );
    this.count('CeleryTasksSucceeded', { Component: 'worker' });
  }

  // ---- task (JSON lines) ----

  private taskFile(a: AttemptModel): LogFileRef {
    return { rel: a.logRel, component: 'task' };
  }

  taskStart(t: number, a: AttemptModel, firstWrite: boolean): void {
    const f = this.taskFile(a);
    const noise = this.ctx.workload.noise;
    if (firstWrite && this.ctx.rng.chance(noise.garbageLineRate)) {
      this.ctx.sink.write(f, `${garbageLine(this.ctx.rng)}\n`);
      this.count('UnparsedLines', { Component: 'task' });
    }
    if (firstWrite && this.ctx.rng.chance(noise.starHeaderRate)) {
      this.ctx.sink.write(f, `*** Found local files:\n***   * /opt/airflow/logs/${a.logRel.replace(/^logs\//, '')}\n`);
      // Two lines that are neither a record header nor a continuation: UnparsedLines by definition.
      this.count('UnparsedLines', { Component: 'task' }, 2);
    }
    this.json(
      f,
      t,
      'info',
      'DAG bundles loaded: dags-folder',
      'airflow.dag_processing.bundles.manager.DagBundlesManager',
    );
    this.json(
      f,
      t + 2000,
      'info',
      `Filling up the DagBag from /opt/airflow/dags/${dagFileName(a.ti)}`,
      'airflow.models.dagbag.DagBag',
    );
    if (a.resumed) this.json(f, t + 5000, 'info', 'Resuming after deferral', 'task');
  }

  taskPrint(t: number, a: AttemptModel, index: number): void {
    const f = this.taskFile(a);
    const rng = this.ctx.rng;
    const noise = this.ctx.workload.noise;
    // The supervisor captures stdout line by line: a multi-line print is one record per line.
    for (const line of pickPrint(rng, index)) this.json(f, t, 'info', line, 'task', { chan: 'stdout' });
    if (rng.chance(noise.warningRate)) {
      this.json(
        f,
        t,
        'warning',
        'The `airflow.operators.python.PythonOperator` class is deprecated. Please use ' +
          "`'airflow.providers.standard.operators.python.PythonOperator'`.",
        'py.warnings',
        { category: 'DeprecatedImportWarning', filename: `/opt/airflow/dags/${dagFileName(a.ti)}`, lineno: 3 },
      );
    }
    if (rng.chance(noise.errorTextInInfoRate)) {
      this.json(f, t, 'info', `API response:\nError: rate limited, retrying in ${rng.int(1, 9)}s`, 'task', {
        chan: 'stdout',
      });
    }
  }

  taskEnd(t: number, a: AttemptModel, end: AttemptEnd): void {
    const f = this.taskFile(a);
    const ti = a.ti;
    switch (end.kind) {
      case 'success':
        if (ti.run.dag.heartbeat) {
          this.json(
            f,
            t,
            'info',
            `WINDSOCK_HEARTBEAT_OK dag_id=${ti.run.dag.dagId} run_id=${ti.run.runId} task_id=${ti.taskId} ` +
              `queue=${ti.queue} hostname=${a.worker?.spec.hostname}`,
            'task',
            { chan: 'stdout' },
          );
          // The token names its queue, so every worker pool proves it is alive on its own series.
          this.count('HeartbeatSuccess', { Component: 'task', Queue: ti.queue });
        }
        this.json(
          f,
          t,
          'info',
          'Done. Returned value was: None',
          'airflow.task.operators.airflow.providers.standard.operators.python.PythonOperator',
        );
        return;
      case 'failure': {
        const failure = pickFailure(
          this.ctx.rng,
          dagFileName(ti),
          ti.taskId,
          this.ctx.rng.chance(this.ctx.workload.noise.chainedTracebackRate),
        );
        const detail = (e: PyException, isCause: boolean) => ({
          exc_type: e.type.split('.').pop(),
          exc_value: e.value,
          exc_notes: [],
          syntax_error: null,
          is_cause: isCause,
          frames: e.frames.map((fr) => ({ filename: fr.filename, lineno: fr.lineno, name: fr.name })),
          is_group: false,
          exceptions: [],
        });
        const errorDetail = [detail(failure.exc, false)];
        if (failure.context) errorDetail.push(detail(failure.context, false));
        this.json(f, t, 'error', 'Task failed with exception', 'task', { error_detail: errorDetail });
        // A structured error_detail is the JSON form of one traceback (a chain is still one).
        this.ctx.truth.add('Tracebacks', { Component: 'task' });
        return;
      }
      case 'defer':
        this.json(f, t, 'info', 'Pausing task as DEFERRED. ', 'task', {
          dag_id: ti.run.dag.dagId,
          task_id: ti.taskId,
          run_id: ti.run.runId,
        });
        return;
      case 'reschedule':
        this.json(f, t, 'info', 'Rescheduling task', 'task', { reschedule_date: isoMicrosZ(end.rescheduleUs) });
        return;
    }
  }
}
