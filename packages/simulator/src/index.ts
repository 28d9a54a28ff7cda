/** @windsock/simulator: a deterministic Airflow + Celery cluster on real PostgreSQL and Redis. */

export { simulateCommand } from './command.ts';
export { demoCommand, runDemo } from './demo.ts';
export { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';
export { CELERY_TASK_NAME_2 } from './logs/airflow2.ts';
export { CELERY_TASK_NAME_3 } from './logs/airflow3.ts';
export type { ClusterLogWriter } from './logs/writer.ts';
export { SCHEDULER_LOG, TASK_LOG_DIR, workerLogRel } from './logs/writer.ts';
export { presetWorkload, type SimulatedAirflowVersion, Simulator, type SimulatorOptions } from './simulator.ts';
export { type Component, PLAIN_COUNTERS, type TruthMetric } from './truth.ts';
export type { DepthSnapshot, GroundTruth, KilledTask } from './truth-report.ts';
export {
  type BurstSpec,
  burstyWorkload,
  type DagSpec,
  type DurationSpec,
  demoWorkload,
  type IdleGapSpec,
  type NoiseSpec,
  type PoolSpec,
  type PresetOptions,
  steadyWorkload,
  type TaskSpec,
  taskInstancesPerRun,
  WORKLOAD_PRESETS,
  type WorkerSpec,
  type Workload,
} from './workload.ts';
