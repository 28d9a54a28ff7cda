/**
 * Worker pools: the one config shape the scaler and queue-depth's `DesiredWorkers` share (the
 * top-level `workerPools` list), and the demand/desired formula both use. Imports no driver: the
 * CLI loads it for every command.
 */
import { ConfigError, type ConfigSection, defineSection, field, z } from '@windsock/core';

/** Backends a pool can run on (`ecs` is the scaler's next backend; `none` only sizes, never acts). */
export const BACKEND_TYPES = ['docker', 'ecs'] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

const backend = z
  .object({
    type: field(z.string().min(1), 'Where the pool runs: docker (containers on one host) or ecs (an ECS service).', {
      example: 'docker',
    }),
    template: field(
      z.string().min(1).optional(),
      'docker: the container the pool is made from (name or id): image, command, env, mounts, labels.',
      { example: 'airflow-worker-1' },
    ),
    dockerHost: field(z.string().min(1).optional(), 'docker: the engine (socket path or DOCKER_HOST-style URL).', {
      example: 'unix:///var/run/docker.sock',
    }),
    cluster: field(z.string().min(1).optional(), 'ecs: the cluster name or ARN.', { example: 'airflow' }),
    service: field(z.string().min(1).optional(), 'ecs: the worker service name.', { example: 'airflow-worker' }),
  })
  .strict();

const workerPool = z
  .object({
    name: field(z.string().min(1).max(255), 'Worker pool name: the WorkerPool dimension (e.g. the ECS service).', {
      example: 'workers-default',
    }),
    queues: field(z.array(z.string().min(1)).min(1), 'Celery queues this pool consumes (`airflow celery worker -q`).', {
      example: '["default"]',
    }),
    backend: backend.optional(),
    concurrency: field(
      z.number().int().positive().optional(),
      'Tasks one worker runs at once ([celery] worker_concurrency). Default: workerPoolDefaults.concurrency.',
      { example: '16' },
    ),
    min: field(z.number().int().min(0).default(0), 'Fewest workers.', { example: '1' }),
    max: field(z.number().int().min(0), 'Most workers.', { example: '10' }),
    maxStepOut: field(z.number().int().positive().optional(), 'Most workers added in one decision (default: max).', {
      example: '4',
    }),
    scaleInStabilisationSeconds: field(
      z.number().min(0).default(120),
      'Scale in only after the desired count stayed below the current one this long.',
      { example: '120' },
    ),
    scaleOutCooldownSeconds: field(z.number().min(0).default(0), 'Fewest seconds between two scale-outs.', {
      example: '0',
    }),
    scaleInCooldownSeconds: field(
      z.number().min(0).default(0),
      'Fewest seconds after a scale-out before exits are granted again.',
      { example: '30' },
    ),
  })
  .strict()
  .refine((p) => p.min <= p.max, { message: 'min must not exceed max' });

/** A worker pool as configured. */
export type WorkerPoolConfig = z.output<typeof workerPool>;

/** A worker pool with every default filled in. */
export interface WorkerPool extends Omit<WorkerPoolConfig, 'concurrency' | 'maxStepOut'> {
  concurrency: number;
  maxStepOut: number;
}

/** The top-level `workerPools` list: a section of its own, shared by queue-depth and the scaler. */
export const workerPoolsSection: ConfigSection & { schema: z.ZodDefault<z.ZodArray<typeof workerPool>> } = {
  key: 'workerPools',
  schema: field(
    z.array(workerPool).default([]),
    'Worker pools: DesiredWorkers = clamp(ceil((running + max(queued, broker backlog)) / concurrency), min, max), and what the scaler scales.',
    {
      example:
        '[{"name":"workers-default","queues":["default"],"min":1,"max":10,"backend":{"type":"docker","template":"airflow-worker"}}]',
    },
  ),
};

/** Defaults for every pool: `workerPoolDefaults.concurrency` follows Airflow's worker_concurrency. */
export const workerPoolDefaultsSection = defineSection('workerPoolDefaults', {
  concurrency: field(
    z.number().int().positive().default(16),
    "Tasks one worker runs at once, for pools that do not say ([celery] worker_concurrency; Airflow's default 16).",
    { example: '16', fallbackEnv: ['AIRFLOW__CELERY__WORKER_CONCURRENCY'] },
  ),
});

/** The effective `workerPoolDefaults` section. */
export type WorkerPoolDefaults = z.output<typeof workerPoolDefaultsSection.schema>;

/**
 * Pools with defaults filled in, after the checks the schema cannot make: a name used twice, a queue
 * in two pools (its demand would be counted twice). Throws one ConfigError naming the key.
 */
export function resolveWorkerPools(
  pools: readonly WorkerPoolConfig[],
  defaults: WorkerPoolDefaults = { concurrency: 16 },
): WorkerPool[] {
  const owner = new Map<string, string>();
  const names = new Set<string>();
  return pools.map((p) => {
    if (names.has(p.name)) throw new ConfigError(`workerPools: the name "${p.name}" is used twice`);
    names.add(p.name);
    for (const q of p.queues) {
      const other = owner.get(q);
      if (other) {
        throw new ConfigError(
          `workerPools: queue "${q}" is in both "${other}" and "${p.name}"; each queue belongs to one worker pool`,
        );
      }
      owner.set(q, p.name);
    }
    return { ...p, concurrency: p.concurrency ?? defaults.concurrency, maxStepOut: p.maxStepOut ?? Math.max(1, p.max) };
  });
}

/**
 * What the scaler additionally needs of every pool: a backend it knows, with its target. Throws one
 * ConfigError naming the pool and what to write.
 */
export function checkScalablePools(pools: readonly WorkerPool[]): void {
  if (pools.length === 0) {
    throw new ConfigError(
      'workerPools is empty: the scaler needs at least one pool. Example: [{"name":"workers","queues":["default"],"max":10,"backend":{"type":"docker","template":"airflow-worker"}}]',
    );
  }
  for (const p of pools) {
    const b = p.backend;
    if (!b) {
      throw new ConfigError(
        `workerPools: pool "${p.name}" has no backend; add backend: {type: docker, template: <container>} or {type: ecs, cluster, service}`,
      );
    }
    if (!(BACKEND_TYPES as readonly string[]).includes(b.type)) {
      throw new ConfigError(
        `workerPools: pool "${p.name}" has unknown backend "${b.type}"; known backends: ${BACKEND_TYPES.join(', ')}`,
      );
    }
    if (b.type === 'docker' && !b.template) {
      throw new ConfigError(
        `workerPools: pool "${p.name}" (backend docker) needs backend.template: the container its workers are made from`,
      );
    }
    if (b.type === 'ecs' && (!b.cluster || !b.service)) {
      throw new ConfigError(`workerPools: pool "${p.name}" (backend ecs) needs backend.cluster and backend.service`);
    }
  }
}

/** Task instances that need a worker slot now, per queue. */
export interface QueueDemand {
  queued: number;
  running: number;
  /** Messages waiting in the broker's queue (optional: the metadb alone is enough). */
  brokerBacklog?: number;
}

/**
 * Slots a pool needs: running + max(queued, broker backlog) over its queues. A queued task instance
 * and its broker message are the same work, so they are not added: the broker backlog only counts
 * when it exceeds the queued rows (messages the metadb does not know of). Deferred, scheduled and
 * up_for_retry tasks hold no worker slot, so they are not demand.
 */
export function poolDemand(pool: Pick<WorkerPool, 'queues'>, demandByQueue: ReadonlyMap<string, QueueDemand>): number {
  let demand = 0;
  for (const q of pool.queues) {
    const d = demandByQueue.get(q);
    if (d) demand += d.running + Math.max(d.queued, d.brokerBacklog ?? 0);
  }
  return demand;
}

/**
 * Workers a pool needs: clamp(ceil(demand / concurrency), min, max).
 *
 * @example desiredWorkers({ queues: ['default'], concurrency: 16, min: 1, max: 10 }, demandByQueue) // 3
 */
export function desiredWorkers(
  pool: Pick<WorkerPool, 'queues' | 'concurrency' | 'min' | 'max'>,
  demandByQueue: ReadonlyMap<string, QueueDemand>,
): number {
  return clampWorkers(pool, Math.ceil(poolDemand(pool, demandByQueue) / pool.concurrency));
}

/** clamp(n, min, max). */
export function clampWorkers(pool: Pick<WorkerPool, 'min' | 'max'>, n: number): number {
  return Math.min(pool.max, Math.max(pool.min, n));
}
