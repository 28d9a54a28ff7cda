/** The log lines a simulated cluster writes; one implementation per Airflow major version. */
import type { LogFileRef, LogSink } from '../log-sink.ts';
import type { AttemptModel, RunModel, TiModel, WorkerModel } from '../model.ts';
import type { Prng } from '../prng.ts';
import type { TruthCounters } from '../truth.ts';
import type { ResolvedWorkload } from '../workload.ts';

/** Paths (relative to the output folder) of the process logs. */
export const SCHEDULER_LOG = 'scheduler/scheduler.log';
/** A worker's Celery log path. */
export function workerLogRel(hostname: string): string {
  return `worker/${hostname}.log`;
}
/** Task logs live under the base log folder `logs/`. */
export const TASK_LOG_DIR = 'logs';

/** What every writer shares. */
export interface WriterContext {
  sink: LogSink;
  truth: TruthCounters;
  rng: Prng;
  workload: ResolvedWorkload;
  scheduler: LogFileRef;
}

/** How a task attempt ends, as the task log and worker log tell it. */
export type AttemptEnd =
  | { kind: 'success' }
  | { kind: 'failure'; willRetry: boolean }
  | { kind: 'defer'; triggerId: number }
  | { kind: 'reschedule'; rescheduleUs: number };

/** Writes the scheduler, Celery worker and task logs of one Airflow version. */
export interface ClusterLogWriter {
  schedulerStarted(t: number, jobId: number): void;
  candidates(t: number, tis: TiModel[], activeByDag: Map<string, number>): void;
  poolFull(t: number, pool: string, open: number): void;
  queued(t: number, tis: TiModel[]): void;
  enqueued(t: number, tis: TiModel[]): void;
  executorEvent(t: number, ti: TiModel, tryNumber: number, state: string): void;
  externalId(t: number, ti: TiModel, celeryId: string): void;
  tiFinished(t: number, ti: TiModel, tryNumber: number, executorState: string): void;
  stateMismatch(t: number, ti: TiModel, executorState: string): void;
  zombies(t: number, tis: { ti: TiModel; attempt: AttemptModel }[], limitUs: number): void;
  dagRunFinished(t: number, run: RunModel): void;

  workerStarted(t: number, w: WorkerModel): void;
  received(t: number, a: AttemptModel): void;
  executing(t: number, a: AttemptModel): void;
  /** Worker-side lines while the task starts (2.x: DagBag fill and `Running <TI> on host`). */
  workerTaskStart(t: number, a: AttemptModel): void;
  /** The Celery task finished: `succeeded in` or `raised unexpected`. */
  celeryDone(t: number, a: AttemptModel, end: AttemptEnd | { kind: 'executor_failure' }): void;

  taskStart(t: number, a: AttemptModel, firstWrite: boolean): void;
  taskPrint(t: number, a: AttemptModel, index: number): void;
  taskEnd(t: number, a: AttemptModel, end: AttemptEnd): void;
}
