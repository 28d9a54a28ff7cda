/** The shapes of the ground-truth JSON (documented in the README). */
import type { TruthMetric } from './truth.ts';

/** Queue depth and broker state at one instant, equal to what PostgreSQL and Redis hold then. */
export interface DepthSnapshot {
  at: string;
  atMicros: number;
  /** Task instances per queue and active state, with explicit zeros for every known queue. */
  taskInstances: Record<string, Record<string, number>>;
  /** Task instances per pool and active state. */
  taskInstancesByPool: Record<string, Record<string, number>>;
  /** Age of the oldest queued TI per queue (now - queued_dttm), null when none is queued. */
  oldestQueuedAgeSeconds: Record<string, number | null>;
  /** slots - (queued + running [+ deferred when the pool counts them]) pool_slots. */
  poolOpenSlots: Record<string, number>;
  /** now - the SchedulerJob's latest_heartbeat. */
  schedulerHeartbeatAgeSeconds: number;
  /** LLEN per queue (all messages are priority 0, so the bare key) and HLEN unacked. */
  broker: { queues: Record<string, number>; unacked: number };
  /** Celery tasks held by live workers (received and not yet finished). */
  celeryTasksOnWorkers: number;
}

/** A task that ran on a worker when the worker was removed. */
export interface KilledTask {
  dagId: string;
  taskId: string;
  runId: string;
  mapIndex: number;
  tryNumber: number;
  hostname: string;
  queue: string;
  celeryId: string;
  killedAt: string;
  /** TI state when killed: `running`, or `queued` when the process had not started yet. */
  stateWhenKilled: string;
}

/** Everything the simulator knows it produced. */
export interface GroundTruth {
  version: '2.10' | '3';
  seed: number;
  workload: string;
  startTime: string;
  now: string;
  virtualSeconds: number;
  /** log-metrics counters, in the foundation's metric JSON shape. */
  metrics: TruthMetric[];
  depth: DepthSnapshot;
  tasksKilled: number;
  killedTasks: KilledTask[];
  /** Bytes written per file, by path relative to the output folder. */
  files: Record<string, number>;
  /** Lines written per component. */
  lines: { scheduler: number; worker: number; task: number };
  totals: { dagRuns: number; taskInstances: number; attempts: number; redelivered: number; zombies: number };
  /** Hostnames of the live workers. */
  workers: string[];
}
