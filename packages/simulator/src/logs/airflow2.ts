/**
 * Airflow 2.x (2.10) logs: `[asctime] {file.py:N} LEVEL - message` for the scheduler and task logs,
 * Celery's `[asctime: LEVEL/Process] message` for workers. Message templates follow Airflow's
 * scheduler_job_runner.py, base_executor.py, dagrun.py, taskinstance.py, standard_task_runner.py,
 * local_task_job_runner.py and Celery's trace.py/strategy.py.
 */
import { commandList, dagFileName, dagRunRepr, pyStrList, tiKeyRepr, tiRepr } from '../airflow-repr.ts';
import type { LogFileRef } from '../log-sink.ts';
import type { AttemptModel, RunModel, TiModel, WorkerModel } from '../model.ts';
import { airflowAsctime, celeryAsctime, compactDate, pyDatetimeStr, pyFloat, US } from '../time-format.ts';
import type { Component } from '../truth.ts';
import {
  celeryTraceFrames,
  excRepr,
  garbageLine,
  pickFailure,
  pickPrint,
  type TaskFailure,
  tracebackLines,
} from './content.ts';
import type { AttemptEnd, ClusterLogWriter, WriterContext } from './writer.ts';

/** The Celery task name Airflow 2.7–2.10 registers (celery provider 3.x). */
export const CELERY_TASK_NAME_2 = 'airflow.providers.celery.executors.celery_executor_utils.execute_command';

const SJR = 'scheduler_job_runner.py';

/** Writes Airflow 2.x-format logs and counts what it wrote. */
export class Airflow2Logs implements ClusterLogWriter {
  private readonly executorRepr: string;

  constructor(private readonly ctx: WriterContext) {
    this.executorRepr = `CeleryExecutor(parallelism=${ctx.workload.parallelism})`;
  }

  private rec(file: LogFileRef, t: number, src: string, level: string, msg: string, cont: string[] = []): void {
    t = this.ctx.sink.clock(file, t);
    let s = `[${airflowAsctime(t)}] {${src}} ${level} - ${msg}\n`;
    for (const c of cont) s += `${c}\n`;
    this.ctx.sink.write(file, s);
    this.ctx.sink.countLevel(file.component, level);
  }

  private cel(file: LogFileRef, t: number, level: string, proc: string, msg: string, cont: string[] = []): void {
    t = this.ctx.sink.clock(file, t);
    let s = `[${celeryAsctime(t)}: ${level}/${proc}] ${msg}\n`;
    for (const c of cont) s += `${c}\n`;
    this.ctx.sink.write(file, s);
    this.ctx.sink.countLevel(file.component, level);
  }

  private traceback(component: Component, f: TaskFailure): string[] {
    this.ctx.truth.add('Tracebacks', { Component: component });
    return tracebackLines(f);
  }

  private count(name: string, dims: Record<string, string>, n = 1): void {
    this.ctx.truth.add(name, dims, n);
  }

  // ---- scheduler ----

  schedulerStarted(t: number, jobId: number): void {
    const f = this.ctx.scheduler;
    this.rec(f, t, `${SJR}:891`, 'INFO', 'Starting the scheduler');
    this.rec(f, t, `${SJR}:898`, 'INFO', 'Processing each file at most -1 times');
    this.rec(f, t + 2000, `${SJR}:1769`, 'INFO', 'Adopting or resetting orphaned tasks for active dag runs');
    this.rec(f, t + 2000, 'base_job_runner.py:68', 'INFO', `Job ${jobId} started as SchedulerJob`);
  }

  candidates(t: number, tis: TiModel[], activeByDag: Map<string, number>): void {
    const f = this.ctx.scheduler;
    this.rec(
      f,
      t,
      `${SJR}:423`,
      'INFO',
      `${tis.length} tasks up for execution:`,
      tis.map((ti) => `\t${tiRepr(ti)}`),
    );
    for (const ti of tis) {
      const dag = ti.run.dag;
      this.rec(
        f,
        t,
        `${SJR}:491`,
        'INFO',
        `DAG ${dag.dagId} has ${activeByDag.get(dag.dagId) ?? 0}/${dag.maxActiveTasks ?? 16} running and queued tasks`,
      );
    }
  }

  poolFull(t: number, pool: string, open: number): void {
    this.rec(
      this.ctx.scheduler,
      t,
      `${SJR}:459`,
      'INFO',
      `Not scheduling since there are ${open} open slots in pool ${pool}`,
    );
  }

  queued(t: number, tis: TiModel[]): void {
    this.rec(
      this.ctx.scheduler,
      t,
      `${SJR}:603`,
      'INFO',
      'Setting the following tasks to queued state:',
      tis.map((ti) => `\t${tiRepr(ti, 'scheduled')}`),
    );
    for (const _ of tis) this.count('TasksQueued', { Component: 'scheduler' });
  }

  enqueued(t: number, tis: TiModel[]): void {
    const f = this.ctx.scheduler;
    this.rec(
      f,
      t,
      `${SJR}:673`,
      'INFO',
      `Trying to enqueue tasks: [${tis.map((ti) => tiRepr(ti, 'scheduled')).join(', ')}] for executor: ${this.executorRepr}`,
    );
    for (const ti of tis) {
      this.rec(
        f,
        t,
        `${SJR}:651`,
        'INFO',
        `Sending ${tiKeyRepr(ti)} to CeleryExecutor with priority ${ti.priorityWeight} and queue ${ti.queue}`,
      );
      this.rec(f, t, 'base_executor.py:146', 'INFO', `Adding to queue: ${pyStrList(commandList(ti))}`);
      this.count('TasksSentToExecutor', { Component: 'scheduler', Queue: ti.queue });
    }
  }

  executorEvent(t: number, ti: TiModel, tryNumber: number, state: string): void {
    this.rec(
      this.ctx.scheduler,
      t,
      `${SJR}:766`,
      'INFO',
      `Received executor event with state ${state} for task instance ${tiKeyRepr(ti, tryNumber)}`,
    );
    this.count('ExecutorEvents', { Component: 'scheduler', State: state.toUpperCase() });
  }

  externalId(t: number, ti: TiModel, celeryId: string): void {
    this.rec(this.ctx.scheduler, t, `${SJR}:794`, 'INFO', `Setting external_id for ${tiRepr(ti)} to ${celeryId}`);
  }

  tiFinished(t: number, ti: TiModel, tryNumber: number, executorState: string): void {
    const d = (us: number | null) => (us === null ? 'None' : pyDatetimeStr(us));
    const msg =
      `TaskInstance Finished: dag_id=${ti.run.dag.dagId}, task_id=${ti.taskId}, run_id=${ti.run.runId}, ` +
      `map_index=${ti.mapIndex}, run_start_date=${d(ti.startDateUs)}, run_end_date=${d(ti.endDateUs)}, ` +
      `run_duration=${ti.durationS === null ? 'None' : pyFloat(ti.durationS)}, state=${ti.state}, ` +
      `executor=${this.executorRepr}, executor_state=${executorState}, try_number=${tryNumber}, ` +
      `max_tries=${ti.maxTries}, job_id=${ti.jobId ?? 'None'}, pool=${ti.pool}, queue=${ti.queue}, ` +
      `priority_weight=${ti.priorityWeight}, operator=${ti.operator}, queued_dttm=${d(ti.queuedDttmUs)}, ` +
      `queued_by_job_id=${ti.queuedByJobId ?? 'None'}, pid=${ti.pid ?? 'None'}`;
    this.rec(this.ctx.scheduler, t, `${SJR}:803`, 'INFO', msg);
    this.count('TaskInstancesFinished', {
      Component: 'scheduler',
      State: String(ti.state).toUpperCase(),
      Queue: ti.queue,
    });
  }

  stateMismatch(t: number, ti: TiModel, executorState: string): void {
    this.rec(
      this.ctx.scheduler,
      t,
      `${SJR}:850`,
      'ERROR',
      `Executor ${this.executorRepr} reported that the task instance ${tiRepr(ti)} finished with state ` +
        `${executorState}, but the task instance's state attribute is ${ti.state}. Learn more: ` +
        'https://airflow.apache.org/docs/apache-airflow/stable/troubleshooting.html#task-state-changed-externally',
    );
  }

  zombies(t: number, list: { ti: TiModel; attempt: AttemptModel }[], limitUs: number): void {
    const f = this.ctx.scheduler;
    this.rec(
      f,
      t,
      `${SJR}:1936`,
      'WARNING',
      `Failing (${list.length}) jobs without heartbeat after ${pyDatetimeStr(limitUs)}`,
    );
    for (const { ti, attempt } of list) {
      const map = ti.mapIndex >= 0 ? `, 'Map Index': ${ti.mapIndex}` : '';
      const info =
        `{'DAG Id': '${ti.run.dag.dagId}', 'Task Id': '${ti.taskId}', 'Run Id': '${ti.run.runId}'${map}, ` +
        `'Hostname': '${attempt.worker?.spec.hostname ?? ''}', 'External Executor Id': '${attempt.celeryId}'}`;
      this.rec(
        f,
        t,
        `${SJR}:1977`,
        'ERROR',
        `Detected zombie job: {'full_filepath': '/opt/airflow/dags/${dagFileName(ti)}', 'processor_subdir': ` +
          `'/opt/airflow/dags', 'msg': "${info}", 'simple_task_instance': ` +
          `<airflow.models.taskinstance.SimpleTaskInstance object at 0x7f3c${(attempt.pid * 4096).toString(16).padStart(8, '0')}>, ` +
          `'is_failure_callback': True}`,
      );
    }
  }

  dagRunFinished(t: number, run: RunModel): void {
    const f = this.ctx.scheduler;
    const repr = dagRunRepr({ run }, 'running');
    if (run.state === 'success') this.rec(f, t, 'dagrun.py:854', 'INFO', `Marking run ${repr} successful`);
    else this.rec(f, t, 'dagrun.py:830', 'ERROR', `Marking run ${repr} failed`);
    const end = run.endDateUs ?? t;
    this.rec(
      f,
      t,
      'dagrun.py:905',
      'INFO',
      `DagRun Finished: dag_id=${run.dag.dagId}, execution_date=${pyDatetimeStr(run.logicalDateUs)}, ` +
        `run_id=${run.runId}, run_start_date=${pyDatetimeStr(run.startDateUs)}, run_end_date=${pyDatetimeStr(end)}, ` +
        `run_duration=${pyFloat((end - run.startDateUs) / US)}, state=${run.state}, ` +
        `external_trigger=${run.runType === 'manual' ? 'True' : 'False'}, run_type=${run.runType}, ` +
        `data_interval_start=${pyDatetimeStr(run.logicalDateUs)}, data_interval_end=${pyDatetimeStr(run.logicalDateUs)}, ` +
        `dag_hash=${run.dag.dagId.length.toString(16).padStart(32, '0')}`,
    );
  }

  // ---- worker ----

  private workerFile(w: WorkerModel): LogFileRef {
    return { rel: w.logRel, component: 'worker' };
  }

  workerStarted(t: number, w: WorkerModel): void {
    const f = this.workerFile(w);
    this.cel(f, t, 'INFO', 'MainProcess', 'Connected to redis://redis:6379/0');
    this.cel(f, t + 3000, 'INFO', 'MainProcess', 'mingle: searching for neighbors');
    this.cel(f, t + 1_010_000, 'INFO', 'MainProcess', 'mingle: all alone');
    this.cel(f, t + 1_020_000, 'INFO', 'MainProcess', `celery@${w.spec.hostname} ready.`);
  }

  received(t: number, a: AttemptModel): void {
    if (!a.worker) return;
    this.cel(this.workerFile(a.worker), t, 'INFO', 'MainProcess', `Task ${CELERY_TASK_NAME_2}[${a.celeryId}] received`);
    this.count('CeleryTasksReceived', { Component: 'worker' });
  }

  executing(t: number, a: AttemptModel): void {
    if (!a.worker) return;
    this.cel(
      this.workerFile(a.worker),
      t,
      'INFO',
      `ForkPoolWorker-${a.forkIndex}`,
      `[${a.celeryId}] Executing command in Celery: ${pyStrList(commandList(a.ti))}`,
    );
  }

  workerTaskStart(t: number, a: AttemptModel): void {
    if (!a.worker) return;
    const f = this.workerFile(a.worker);
    const proc = `ForkPoolWorker-${a.forkIndex}`;
    this.cel(f, t, 'INFO', proc, `Filling up the DagBag from /opt/airflow/dags/${dagFileName(a.ti)}`);
    this.cel(f, t + 80_000, 'INFO', proc, `Running ${tiRepr(a.ti, 'queued')} on host ${a.worker.spec.hostname}`);
  }

  celeryDone(t: number, a: AttemptModel, end: AttemptEnd | { kind: 'executor_failure' }): void {
    if (!a.worker) return;
    const f = this.workerFile(a.worker);
    const proc = `ForkPoolWorker-${a.forkIndex}`;
    const runtime = pyFloat((t - a.receivedUs) / US);
    if (end.kind === 'failure' || end.kind === 'executor_failure') {
      if (end.kind === 'executor_failure') {
        const dagErr = `Dag '${a.ti.run.dag.dagId}' could not be found; either it does not exist or it failed to parse.`;
        this.cel(f, t, 'ERROR', proc, `[${a.celeryId}] Failed to execute task ${dagErr}`, [
          ...this.traceback('worker', {
            exc: {
              type: 'airflow.exceptions.AirflowException',
              value: dagErr,
              frames: [
                {
                  filename: '/home/airflow/.local/lib/python3.12/site-packages/airflow/utils/cli.py',
                  lineno: 253,
                  name: 'get_dag',
                  line: 'raise AirflowException(',
                },
              ],
            },
          }),
        ]);
      }
      const msg =
        `Celery command failed on host: ${a.worker.spec.hostname} with celery_task_id ${a.celeryId} ` +
        `(PID: ${a.pid}, Return Code: 256)`;
      this.cel(
        f,
        t,
        'ERROR',
        proc,
        `Task ${CELERY_TASK_NAME_2}[${a.celeryId}] raised unexpected: ${excRepr('AirflowException', msg)}`,
        this.traceback('worker', {
          exc: { type: 'airflow.exceptions.AirflowException', value: msg, frames: celeryTraceFrames() },
        }),
      );
      this.count('CeleryTasksFailed', { Component: 'worker' });
      return;
    }
    this.cel(f, t, 'INFO', proc, `Task ${CELERY_TASK_NAME_2}[${a.celeryId}] succeeded in ${runtime}s: None`);
    this.count('CeleryTasksSucceeded', { Component: 'worker' });
  }

  // ---- task ----

  private taskFile(a: AttemptModel): LogFileRef {
    return { rel: a.logRel, component: 'task' };
  }

  taskStart(t: number, a: AttemptModel, firstWrite: boolean): void {
    const f = this.taskFile(a);
    const ti = a.ti;
    const noise = this.ctx.workload.noise;
    if (firstWrite && this.ctx.rng.chance(noise.garbageLineRate)) {
      this.ctx.sink.write(f, `${garbageLine(this.ctx.rng)}\n`);
      this.count('UnparsedLines', { Component: 'task' });
    }
    if (firstWrite && this.ctx.rng.chance(noise.starHeaderRate)) {
      this.ctx.sink.write(f, `*** Found local files:\n***   * /opt/airflow/logs/${a.logRel}\n`);
      // Two lines that are neither a record header nor a continuation: UnparsedLines by definition.
      this.count('UnparsedLines', { Component: 'task' }, 2);
    }
    const running = tiRepr(ti, 'queued');
    this.rec(f, t, 'local_task_job_runner.py:123', 'INFO', '::group::Pre task execution logs');
    this.rec(
      f,
      t,
      'taskinstance.py:2612',
      'INFO',
      `Dependencies all met for dep_context=non-requeueable deps ti=${running}`,
    );
    this.rec(
      f,
      t,
      'taskinstance.py:2612',
      'INFO',
      `Dependencies all met for dep_context=requeueable deps ti=${running}`,
    );
    if (a.resumed) {
      this.rec(f, t, 'taskinstance.py:2631', 'INFO', 'Resuming after deferral');
    } else {
      const dashes = '-'.repeat(80);
      this.rec(f, t, 'taskinstance.py:2864', 'INFO', '', [dashes]);
      this.rec(f, t, 'taskinstance.py:2865', 'INFO', `Starting attempt ${a.tryNumber} of ${ti.maxTries + 1}`);
      this.rec(f, t, 'taskinstance.py:2866', 'INFO', '', [dashes]);
    }
    this.rec(
      f,
      t,
      'taskinstance.py:2888',
      'INFO',
      `Executing <Task(${ti.operator}): ${ti.taskId}> on ${pyDatetimeStr(ti.run.logicalDateUs)}`,
    );
    this.rec(f, t + 4000, 'standard_task_runner.py:72', 'INFO', `Started process ${a.pid} to run task`);
    const raw = [
      'airflow',
      'tasks',
      'run',
      ti.run.dag.dagId,
      ti.taskId,
      ti.run.runId,
      '--job-id',
      String(a.jobId),
      '--raw',
      '--subdir',
      `DAGS_FOLDER/${dagFileName(ti)}`,
      '--cfg-path',
      `/tmp/tmp${a.celeryId.slice(0, 8)}`,
    ];
    if (ti.mapIndex >= 0) raw.push('--map-index', String(ti.mapIndex));
    this.rec(f, t + 9000, 'standard_task_runner.py:104', 'INFO', `Running: ${pyStrList(raw)}`);
    this.rec(f, t + 9000, 'standard_task_runner.py:105', 'INFO', `Job ${a.jobId}: Subtask ${ti.taskId}`);
    this.rec(
      f,
      t + 90_000,
      'task_command.py:467',
      'INFO',
      `Running ${tiRepr(ti, 'running')} on host ${a.worker?.spec.hostname}`,
    );
    this.rec(
      f,
      t + 150_000,
      'taskinstance.py:3131',
      'INFO',
      `Exporting env vars: AIRFLOW_CTX_DAG_OWNER='airflow' AIRFLOW_CTX_DAG_ID='${ti.run.dag.dagId}' ` +
        `AIRFLOW_CTX_TASK_ID='${ti.taskId}' AIRFLOW_CTX_EXECUTION_DATE='${pyDatetimeStr(ti.run.logicalDateUs).replace(' ', 'T')}' ` +
        `AIRFLOW_CTX_TRY_NUMBER='${a.tryNumber}' AIRFLOW_CTX_DAG_RUN_ID='${ti.run.runId}'`,
    );
    this.rec(f, t + 150_000, 'taskinstance.py:731', 'INFO', '::endgroup::');
  }

  taskPrint(t: number, a: AttemptModel, index: number): void {
    const f = this.taskFile(a);
    const rng = this.ctx.rng;
    const noise = this.ctx.workload.noise;
    const [first, ...rest] = pickPrint(rng, index);
    if (rng.chance(noise.blankLineRate)) rest.push('');
    this.rec(f, t, 'logging_mixin.py:190', 'INFO', first ?? '', rest);
    if (rng.chance(noise.warningRate)) {
      this.rec(
        f,
        t,
        'logging_mixin.py:190',
        'WARNING',
        `/opt/airflow/dags/${dagFileName(a.ti)}:12 AirflowContextDeprecationWarning: Accessing 'execution_date' ` +
          "from the template is deprecated and will be removed in a future version. Please use 'data_interval_start' " +
          "or 'logical_date' instead.",
      );
    }
    if (rng.chance(noise.errorTextInInfoRate)) {
      this.rec(f, t, 'logging_mixin.py:190', 'INFO', 'API response:', [
        `Error: rate limited, retrying in ${rng.int(1, 9)}s`,
        'Traceback: none (handled)',
      ]);
    }
  }

  taskEnd(t: number, a: AttemptModel, end: AttemptEnd): void {
    const f = this.taskFile(a);
    const ti = a.ti;
    const map = ti.mapIndex >= 0 ? `map_index=${ti.mapIndex}, ` : '';
    const ids = `dag_id=${ti.run.dag.dagId}, task_id=${ti.taskId}, run_id=${ti.run.runId}, ${map}`;
    const dates = `execution_date=${compactDate(ti.run.logicalDateUs)}, start_date=${compactDate(a.startUs)}`;
    const exit = (code: string) =>
      this.rec(f, t + 60_000, 'local_task_job_runner.py:266', 'INFO', `Task exited with return code ${code}`);
    switch (end.kind) {
      case 'success': {
        if (ti.run.dag.heartbeat) {
          this.rec(
            f,
            t,
            'logging_mixin.py:190',
            'INFO',
            `WINDSOCK_HEARTBEAT_OK dag_id=${ti.run.dag.dagId} run_id=${ti.run.runId} task_id=${ti.taskId} ` +
              `queue=${ti.queue} hostname=${a.worker?.spec.hostname}`,
          );
          // The token names its queue, so every worker pool proves it is alive on its own series.
          this.count('HeartbeatSuccess', { Component: 'task', Queue: ti.queue });
        }
        this.rec(f, t, 'python.py:240', 'INFO', 'Done. Returned value was: None');
        this.rec(f, t, 'taskinstance.py:340', 'INFO', '::group::Post task execution logs');
        this.rec(
          f,
          t,
          'taskinstance.py:352',
          'INFO',
          `Marking task as SUCCESS. ${ids}${dates}, end_date=${compactDate(t)}`,
        );
        this.count('TaskStateMarked', { Component: 'task', State: 'SUCCESS' });
        exit('0');
        this.rec(
          f,
          t + 90_000,
          'taskinstance.py:3895',
          'INFO',
          '0 downstream tasks scheduled from follow-on schedule check',
        );
        return;
      }
      case 'failure': {
        const failure = pickFailure(
          this.ctx.rng,
          dagFileName(ti),
          ti.taskId,
          this.ctx.rng.chance(this.ctx.workload.noise.chainedTracebackRate),
        );
        this.rec(f, t, 'taskinstance.py:3310', 'ERROR', 'Task failed with exception', this.traceback('task', failure));
        const state = end.willRetry ? 'UP_FOR_RETRY' : 'FAILED';
        this.rec(
          f,
          t,
          'taskinstance.py:1225',
          'INFO',
          `Marking task as ${state}. ${ids}${dates}, end_date=${compactDate(t)}`,
        );
        this.count('TaskStateMarked', { Component: 'task', State: state });
        this.rec(
          f,
          t + 20_000,
          'standard_task_runner.py:124',
          'ERROR',
          `Failed to execute job ${a.jobId} for task ${ti.taskId} (${failure.exc.value}; ${a.pid})`,
        );
        exit('1');
        this.rec(
          f,
          t + 90_000,
          'taskinstance.py:3895',
          'INFO',
          '0 downstream tasks scheduled from follow-on schedule check',
        );
        return;
      }
      case 'defer': {
        this.rec(f, t, 'taskinstance.py:288', 'INFO', `Pausing task as DEFERRED. ${ids}${dates}`);
        exit('100 (task deferral)');
        return;
      }
      case 'reschedule': {
        this.rec(f, t, 'taskinstance.py:2723', 'INFO', 'Rescheduling task, marking task as UP_FOR_RESCHEDULE');
        this.count('TaskStateMarked', { Component: 'task', State: 'UP_FOR_RESCHEDULE' });
        exit('0');
        return;
      }
    }
  }
}
