/**
 * From readings to gauges: explicit zeros, no numbers from a failed dependency, desired workers,
 * and the README's metric table matching what the code publishes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ACTIVE_TASK_STATES } from '@windsock/airflow';
import type { WorkerPoolConfig } from '../src/config.ts';
import { desiredWorkers } from '../src/desired-workers.ts';
import { pollGauges, QUEUE_DEPTH_METRICS, type QueueDepthGauge } from '../src/gauges.ts';
import type { MetadbReading } from '../src/metadb-reader.ts';

const reading: MetadbReading = {
  schemaVersion: '3',
  byQueueAndState: [
    { queue: 'default', state: 'queued', count: 20 },
    { queue: 'default', state: 'running', count: 13 },
    { queue: 'etl', state: 'deferred', count: 2 },
  ],
  byPoolAndState: [{ pool: 'default_pool', state: 'queued', count: 20, slots: 20 }],
  oldestQueued: [{ queue: 'default', oldestQueuedAt: new Date(0), ageSeconds: 42.5, queued: 20 }],
  scheduler: { jobId: 1, hostname: 's', state: 'running', latestHeartbeat: new Date(0), ageSeconds: 3 },
  pools: [
    {
      pool: 'default_pool',
      totalSlots: 128,
      includeDeferred: false,
      runningSlots: 0,
      queuedSlots: 20,
      deferredSlots: 0,
      scheduledSlots: 0,
      openSlots: 108,
    },
    {
      pool: 'unlimited',
      totalSlots: Number.POSITIVE_INFINITY,
      includeDeferred: false,
      runningSlots: 0,
      queuedSlots: 0,
      deferredSlots: 0,
      scheduledSlots: 0,
      openSlots: Number.POSITIVE_INFINITY,
    },
  ],
};

const pool = (p: Partial<WorkerPoolConfig>): WorkerPoolConfig => ({
  name: 'w',
  queues: ['default'],
  concurrency: 16,
  min: 0,
  max: 10,
  ...p,
});

function value(gauges: QueueDepthGauge[], name: string, dims: Record<string, string> = {}): number | undefined {
  return gauges.find((g) => g.name === name && Object.entries(dims).every(([k, v]) => g.dimensions[k] === v))?.value;
}

describe('pollGauges', () => {
  test('every configured and seen queue gets every active state, zeros included', () => {
    const gauges = pollGauges({ metadb: reading, queues: ['default', 'idle'], workerPools: [] });
    for (const queue of ['default', 'idle', 'etl']) {
      for (const state of ACTIVE_TASK_STATES) {
        assert.notEqual(value(gauges, 'TaskInstances', { Queue: queue, State: state }), undefined, `${queue}/${state}`);
      }
    }
    assert.equal(value(gauges, 'TaskInstances', { Queue: 'default', State: 'queued' }), 20);
    assert.equal(value(gauges, 'TaskInstances', { Queue: 'idle', State: 'queued' }), 0);
    assert.equal(value(gauges, 'TaskInstances', { Queue: 'etl', State: 'deferred' }), 2);
    assert.equal(gauges.filter((g) => g.name === 'TaskInstances').length, 3 * ACTIVE_TASK_STATES.length);
    assert.equal(value(gauges, 'OldestQueuedTaskAgeSeconds', { Queue: 'default' }), 42.5);
    assert.equal(value(gauges, 'OldestQueuedTaskAgeSeconds', { Queue: 'idle' }), 0);
    assert.equal(value(gauges, 'MetadbUp'), 1);
  });

  test('pools get every state, finite open slots only', () => {
    const gauges = pollGauges({ metadb: reading, queues: [], workerPools: [] });
    assert.equal(value(gauges, 'TaskInstancesByPool', { Pool: 'default_pool', State: 'queued' }), 20);
    assert.equal(value(gauges, 'TaskInstancesByPool', { Pool: 'unlimited', State: 'running' }), 0);
    assert.equal(value(gauges, 'PoolOpenSlots', { Pool: 'default_pool' }), 108);
    assert.equal(value(gauges, 'PoolOpenSlots', { Pool: 'unlimited' }), undefined);
    assert.equal(value(gauges, 'SchedulerHeartbeatAgeSeconds'), 3);
  });

  test('a failed metadb publishes MetadbUp = 0 and no metadb number at all', () => {
    const gauges = pollGauges({
      queues: ['default'],
      workerPools: [pool({})],
      brokerUp: true,
      broker: { queueLengths: new Map([['default', 4]]), unacked: 1 },
    });
    assert.deepEqual(gauges.map((g) => g.name).sort(), [
      'BrokerQueueLength',
      'BrokerUnackedMessages',
      'BrokerUp',
      'MetadbUp',
    ]);
    assert.equal(value(gauges, 'MetadbUp'), 0);
    assert.equal(value(gauges, 'BrokerQueueLength', { Queue: 'default' }), 4);
  });

  test('a failed broker publishes BrokerUp = 0 and no broker number; no broker configured publishes neither', () => {
    const down = pollGauges({ metadb: reading, queues: ['default'], workerPools: [], brokerUp: false });
    assert.equal(value(down, 'BrokerUp'), 0);
    assert.equal(value(down, 'BrokerQueueLength', { Queue: 'default' }), undefined);
    assert.equal(value(down, 'BrokerUnackedMessages'), undefined);
    const none = pollGauges({ metadb: reading, queues: ['default'], workerPools: [] });
    assert.equal(value(none, 'BrokerUp'), undefined);
  });
});

describe('desiredWorkers', () => {
  const demand = new Map([
    ['default', { queued: 20, running: 13 }],
    ['etl', { queued: 1, running: 0 }],
  ]);
  test('ceil((queued + running) / concurrency) over the pool queues', () => {
    assert.equal(desiredWorkers(pool({}), demand), Math.ceil(33 / 16));
    assert.equal(desiredWorkers(pool({ queues: ['default', 'etl'] }), demand), Math.ceil(34 / 16));
  });
  test('clamped to min and max', () => {
    assert.equal(desiredWorkers(pool({ max: 2, concurrency: 1 }), demand), 2);
    assert.equal(desiredWorkers(pool({ queues: ['idle'], min: 1 }), demand), 1);
    assert.equal(desiredWorkers(pool({ queues: ['idle'], min: 0 }), demand), 0);
  });
  test('published per worker pool from the metadb counts', () => {
    const gauges = pollGauges({
      metadb: reading,
      queues: [],
      workerPools: [pool({ name: 'a', concurrency: 8 }), pool({ name: 'b', queues: ['etl'], min: 1 })],
    });
    assert.equal(value(gauges, 'DesiredWorkers', { WorkerPool: 'a' }), Math.ceil(33 / 8));
    assert.equal(value(gauges, 'DesiredWorkers', { WorkerPool: 'b' }), 1);
  });
});

test("the README's metric table is exactly the published contract", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = readme.split('<!-- metrics-table:start -->')[1]?.split('<!-- metrics-table:end -->')[0] ?? '';
  const rows = block
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').map((c) => c.trim()));
  const documented = rows.map(([, name, unit, dims, meaning]) => ({
    name: name!.replaceAll('`', ''),
    unit,
    dims: dims ? dims.split(', ') : [],
    meaning,
  }));
  const expected = Object.entries(QUEUE_DEPTH_METRICS).map(([name, m]) => ({
    name,
    unit: m.unit,
    dims: [...m.dimensions],
    meaning: m.meaning,
  }));
  assert.deepEqual(documented, expected);
});
