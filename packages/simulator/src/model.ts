/** The simulator's in-memory picture of the cluster; the metadb and Redis mirror it at every tick. */
import { ACTIVE_TASK_STATES, type TaskInstanceState } from '@windsock/airflow';
import type { DagSpec, TaskSpec, WorkerSpec } from './workload.ts';

/** Airflow TaskInstanceState values as the metadb stores them (null = "no status"). */
export type TiStateName = Exclude<TaskInstanceState, null>;

/** The active states queue-depth reports: Airflow's own list, so the simulator's truth can't drift from it. */
export const ACTIVE_STATES = ACTIVE_TASK_STATES;

/** A DAG run. */
export interface RunModel {
  id: number;
  dag: DagSpec;
  runId: string;
  runType: 'scheduled' | 'manual';
  logicalDateUs: number;
  queuedAtUs: number;
  startDateUs: number;
  endDateUs: number | null;
  state: 'running' | 'success' | 'failed';
  tis: TiModel[];
  byTask: Map<string, TiModel[]>;
  /** TIs not yet in a terminal state. */
  unfinished: number;
}

/** What an attempt will do when it runs. */
export type AttemptOutcome = 'success' | 'failure' | 'defer' | 'reschedule' | 'executor_failure';

/** One execution of a TI on a worker (a Celery task). */
export interface AttemptModel {
  ti: TiModel;
  celeryId: string;
  tryNumber: number;
  /** Kombu message JSON as pushed to Redis. */
  message: string;
  deliveryTag: string;
  queue: string;
  worker: WorkerModel | null;
  forkIndex: number;
  pid: number;
  receivedUs: number;
  startUs: number;
  endUs: number;
  outcome: AttemptOutcome;
  /** This execution resumes a deferred task (same try_number, same log file). */
  resumed: boolean;
  killed: boolean;
  done: boolean;
  logRel: string;
  jobId: number | null;
  /** Print events planned between start and end. */
  prints: number;
  /** A redelivered message (visibility timeout) whose TI has moved on: the worker only acks it. */
  redelivered: boolean;
}

/** A task instance (one map index of one task of one run). */
export interface TiModel {
  /** Creation order, the last tie-breaker when the scheduler sorts candidates. */
  seq: number;
  /** Airflow 3 task_instance.id (uuid7); '' on 2.x. */
  uuid: string;
  run: RunModel;
  spec: TaskSpec;
  taskId: string;
  mapIndex: number;
  state: TiStateName | null;
  tryNumber: number;
  maxTries: number;
  queue: string;
  pool: string;
  poolSlots: number;
  priorityWeight: number;
  operator: string;
  startDateUs: number | null;
  endDateUs: number | null;
  durationS: number | null;
  hostname: string;
  pid: number | null;
  jobId: number | null;
  queuedDttmUs: number | null;
  scheduledDttmUs: number | null;
  queuedByJobId: number | null;
  lastHeartbeatUs: number | null;
  externalExecutorId: string | null;
  triggerId: number | null;
  triggerTimeoutUs: number | null;
  nextMethod: string | null;
  updatedAtUs: number;
  /** When an up_for_retry / deferred / up_for_reschedule TI becomes scheduled again. */
  readyAtUs: number | null;
  attempt: AttemptModel | null;
  /** Deferral/reschedule already used in this try (each happens at most once per try). */
  pausedThisTry: boolean;
}

/** A live worker. */
export interface WorkerModel {
  spec: WorkerSpec;
  running: AttemptModel[];
  freeForks: number[];
  logRel: string;
  nextPid: number;
}

/** Identity fields used in reprs and paths. */
export function tiIdentity(ti: TiModel): { dagId: string; taskId: string; runId: string; mapIndex: number } {
  return { dagId: ti.run.dag.dagId, taskId: ti.taskId, runId: ti.run.runId, mapIndex: ti.mapIndex };
}
