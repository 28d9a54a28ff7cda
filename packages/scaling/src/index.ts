/**
 * @windsock/scaling: worker pools (the shared `workerPools` config and the demand/desired formula)
 * and the scaler's pure per-pool decision. No drivers: safe to load for every command.
 */
export {
  type DeferReason,
  decide,
  initialMemory,
  type PoolDecision,
  type PoolMemory,
  type PoolObservation,
  type ScalingAction,
} from './decide.ts';
export {
  BACKEND_TYPES,
  type BackendType,
  checkScalablePools,
  clampWorkers,
  desiredWorkers,
  poolDemand,
  type QueueDemand,
  resolveWorkerPools,
  type WorkerPool,
  type WorkerPoolConfig,
  type WorkerPoolDefaults,
  workerPoolDefaultsSection,
  workerPoolsSection,
} from './worker-pools.ts';
