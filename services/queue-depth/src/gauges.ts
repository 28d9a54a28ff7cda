import { ACTIVE_TASK_STATES } from '@windsock/airflow';
import type { BrokerReading } from './broker-reader.ts';
import type { WorkerPoolConfig } from './config.ts';
import { desiredWorkers, type QueueDemand } from './desired-workers.ts';
import type { MetadbReading } from './metadb-reader.ts';

/** One published value: the service's whole output is a list of these per poll. */
export interface QueueDepthGauge {
  name: QueueDepthMetricName;
  unit: 'Count' | 'Seconds' | 'None';
  dimensions: Record<string, string>;
  value: number;
}

/**
 * The public contract (README "Metrics"): every metric this service publishes, its unit and its
 * dimensions (besides Cluster, which every Windsock metric carries).
 */
export const QUEUE_DEPTH_METRICS = {
  TaskInstances: {
    unit: 'Count',
    dimensions: ['Queue', 'State'],
    meaning:
      'Task instances in a Celery queue and active state (scheduled, queued, running, deferred, up_for_retry, up_for_reschedule, restarting).',
  },
  TaskInstancesByPool: {
    unit: 'Count',
    dimensions: ['Pool', 'State'],
    meaning: 'Task instances in an Airflow pool and active state.',
  },
  OldestQueuedTaskAgeSeconds: {
    unit: 'Seconds',
    dimensions: ['Queue'],
    meaning:
      'Seconds since the longest-waiting queued task of the queue was queued (0 when none is queued): the "stuck in queued" alarm.',
  },
  SchedulerHeartbeatAgeSeconds: {
    unit: 'Seconds',
    dimensions: [],
    meaning: 'Seconds since the newest SchedulerJob heartbeat in `job` (absent when no scheduler ever ran).',
  },
  PoolOpenSlots: {
    unit: 'Count',
    dimensions: ['Pool'],
    meaning:
      'Open slots of a pool as Airflow computes them (slots - running - queued [- deferred]); absent for unlimited pools (slots = -1).',
  },
  BrokerQueueLength: {
    unit: 'Count',
    dimensions: ['Queue'],
    meaning:
      "Messages waiting in the queue's Redis lists (kombu priority sub-queues included), not yet taken by a worker.",
  },
  BrokerUnackedMessages: {
    unit: 'Count',
    dimensions: [],
    meaning: 'Messages workers have taken but not acknowledged (kombu `unacked` hash), all queues.',
  },
  DesiredWorkers: {
    unit: 'Count',
    dimensions: ['WorkerPool'],
    meaning: "clamp(ceil((queued + running) / concurrency), min, max) over the worker pool's queues.",
  },
  MetadbUp: {
    unit: 'None',
    dimensions: [],
    meaning:
      '1 when the last poll read the metadb, 0 when it failed or timed out (then no metadb number is published).',
  },
  BrokerUp: {
    unit: 'None',
    dimensions: [],
    meaning:
      '1 when the last poll read the broker, 0 when it failed (then no broker number is published). Absent without a broker URL.',
  },
} as const satisfies Record<
  string,
  { unit: 'Count' | 'Seconds' | 'None'; dimensions: readonly string[]; meaning: string }
>;

/** A metric name of the public contract. */
export type QueueDepthMetricName = keyof typeof QUEUE_DEPTH_METRICS;

/** The Queue dimension of task instances Airflow stored without a queue (NULL). */
export const NO_QUEUE = '(none)';

/** What one poll learned; a dependency that failed is `undefined` (and its numbers are not published). */
export interface PollOutcome {
  metadb?: MetadbReading;
  /** Absent when no broker is configured. */
  brokerUp?: boolean;
  broker?: BrokerReading;
  /** Queues that get explicit zeros: configured, worker pools', and seen earlier. */
  queues: readonly string[];
  workerPools: readonly WorkerPoolConfig[];
}

/** The queue names a metadb reading mentions. */
export function queuesIn(reading: MetadbReading): string[] {
  const out = new Set<string>();
  for (const r of reading.byQueueAndState) out.add(r.queue ?? NO_QUEUE);
  for (const r of reading.oldestQueued) out.add(r.queue ?? NO_QUEUE);
  return [...out];
}

/**
 * Turns one poll into gauges. Every queue in `queues` (and every queue the metadb mentions) gets a
 * value for every active state, zeros included: an idle queue reads 0, while a failed read publishes
 * only its up = 0 gauge and nothing else, so nobody mistakes missing data for an empty queue.
 */
export function pollGauges(outcome: PollOutcome): QueueDepthGauge[] {
  const out: QueueDepthGauge[] = [];
  const add = (name: QueueDepthMetricName, dimensions: Record<string, string>, value: number) =>
    out.push({ name, unit: QUEUE_DEPTH_METRICS[name].unit, dimensions, value });

  const m = outcome.metadb;
  add('MetadbUp', {}, m ? 1 : 0);
  if (m) {
    const queues = new Set<string>([...outcome.queues, ...queuesIn(m)]);
    const byQueue = new Map<string, Map<string, number>>();
    for (const q of queues) byQueue.set(q, new Map(ACTIVE_TASK_STATES.map((s) => [s, 0])));
    for (const r of m.byQueueAndState) {
      const states = byQueue.get(r.queue ?? NO_QUEUE)!;
      states.set(r.state, (states.get(r.state) ?? 0) + r.count);
    }
    for (const [queue, states] of byQueue) {
      for (const [state, count] of states) add('TaskInstances', { Queue: queue, State: state }, count);
    }

    const oldest = new Map<string, number | null>();
    for (const r of m.oldestQueued) oldest.set(r.queue ?? NO_QUEUE, r.ageSeconds);
    for (const queue of queues) {
      const age = oldest.has(queue) ? oldest.get(queue) : 0;
      // Queued rows without queued_dttm have no age: say nothing rather than a reassuring 0.
      if (age !== null && age !== undefined) add('OldestQueuedTaskAgeSeconds', { Queue: queue }, age);
    }

    const byPool = new Map<string, Map<string, number>>();
    const poolStates = () => new Map<string, number>(ACTIVE_TASK_STATES.map((s) => [s, 0]));
    for (const p of m.pools) byPool.set(p.pool, poolStates());
    for (const r of m.byPoolAndState) {
      let states = byPool.get(r.pool);
      if (!states) {
        states = poolStates();
        byPool.set(r.pool, states);
      }
      states.set(r.state, (states.get(r.state) ?? 0) + r.count);
    }
    for (const [pool, states] of byPool) {
      for (const [state, count] of states) add('TaskInstancesByPool', { Pool: pool, State: state }, count);
    }
    // An unlimited pool (slots = -1) has no finite number of open slots to publish.
    for (const p of m.pools) if (Number.isFinite(p.openSlots)) add('PoolOpenSlots', { Pool: p.pool }, p.openSlots);

    if (m.scheduler) add('SchedulerHeartbeatAgeSeconds', {}, m.scheduler.ageSeconds);

    const demand = new Map<string, QueueDemand>();
    for (const [queue, states] of byQueue) {
      demand.set(queue, { queued: states.get('queued') ?? 0, running: states.get('running') ?? 0 });
    }
    for (const pool of outcome.workerPools)
      add('DesiredWorkers', { WorkerPool: pool.name }, desiredWorkers(pool, demand));
  }

  if (outcome.brokerUp !== undefined) {
    add('BrokerUp', {}, outcome.brokerUp && outcome.broker ? 1 : 0);
    const b = outcome.broker;
    if (outcome.brokerUp && b) {
      for (const [queue, length] of b.queueLengths) add('BrokerQueueLength', { Queue: queue }, length);
      add('BrokerUnackedMessages', {}, b.unacked);
    }
  }
  return out;
}
