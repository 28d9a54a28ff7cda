import type { WorkerPoolConfig } from './config.ts';

/** Task instances that need a worker slot now: the demand a worker pool is sized for. */
export interface QueueDemand {
  queued: number;
  running: number;
}

/**
 * Workers a pool needs: clamp(ceil((queued + running) / concurrency), min, max) over the pool's
 * queues. Deferred, scheduled and up_for_retry tasks hold no worker slot, so they are not demand.
 *
 * @example desiredWorkers({ name: 'w', queues: ['default'], concurrency: 16, min: 1, max: 10 }, demandByQueue) // 3
 */
export function desiredWorkers(pool: WorkerPoolConfig, demandByQueue: ReadonlyMap<string, QueueDemand>): number {
  let demand = 0;
  for (const q of pool.queues) {
    const d = demandByQueue.get(q);
    if (d) demand += d.queued + d.running;
  }
  const needed = Math.ceil(demand / pool.concurrency);
  return Math.min(pool.max, Math.max(pool.min, needed));
}
