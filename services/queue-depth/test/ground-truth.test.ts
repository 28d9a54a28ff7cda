/**
 * Against the simulator on the real PostgreSQL and Redis, for both Airflow schemas: at several
 * instants (the simulator is paused while we poll) every number of the snapshot equals the
 * simulator's ground truth. The poller logs in as the README's read-only role.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ACTIVE_TASK_STATES } from '@windsock/airflow';
import { silentLogger } from '@windsock/core';
import { type DepthSnapshot, demoWorkload, Simulator } from '@windsock/simulator';
import pg from 'pg';
import { createDatabase, privateRedis } from '../../../test/helpers/stack.ts';
import { BrokerReader } from '../src/broker-reader.ts';
import type { WorkerPoolConfig } from '../src/config.ts';
import type { QueueDepthGauge } from '../src/gauges.ts';
import { MetadbReader } from '../src/metadb-reader.ts';
import { QueueDepthPoller } from '../src/poller.ts';
import { readOnlyRole } from './helpers/fixtures.ts';

const WORKER_POOLS: WorkerPoolConfig[] = [
  { name: 'cpu', queues: ['default', 'reports'], concurrency: 16, min: 1, max: 8 },
  { name: 'gpu', queues: ['gpu'], concurrency: 2, min: 0, max: 3 },
];
const SAMPLES = 6;
const SECONDS_BETWEEN_SAMPLES = 75;
/** pg gives timestamps to the millisecond; the simulator keeps microseconds. */
const AGE_TOLERANCE_SECONDS = 0.002;

function gaugeMap(gauges: QueueDepthGauge[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of gauges) {
    const dims = Object.entries(g.dimensions)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    m.set(`${g.name}{${dims}}`, g.value);
  }
  return m;
}

/** The gauges a correct poll must produce for this ground truth, by key. */
function expectedFrom(truth: DepthSnapshot): Map<string, number> {
  const m = new Map<string, number>();
  m.set('MetadbUp{}', 1);
  m.set('BrokerUp{}', 1);
  for (const [queue, states] of Object.entries(truth.taskInstances)) {
    for (const s of ACTIVE_TASK_STATES) m.set(`TaskInstances{Queue=${queue},State=${s}}`, states[s] ?? 0);
    // The simulator reports "none queued" as null; the service publishes 0 (nothing waits).
    m.set(`OldestQueuedTaskAgeSeconds{Queue=${queue}}`, truth.oldestQueuedAgeSeconds[queue] ?? 0);
  }
  for (const [pool, states] of Object.entries(truth.taskInstancesByPool)) {
    for (const s of ACTIVE_TASK_STATES) m.set(`TaskInstancesByPool{Pool=${pool},State=${s}}`, states[s] ?? 0);
  }
  for (const [pool, open] of Object.entries(truth.poolOpenSlots)) m.set(`PoolOpenSlots{Pool=${pool}}`, open);
  m.set('SchedulerHeartbeatAgeSeconds{}', truth.schedulerHeartbeatAgeSeconds);
  for (const [queue, n] of Object.entries(truth.broker.queues)) m.set(`BrokerQueueLength{Queue=${queue}}`, n);
  m.set('BrokerUnackedMessages{}', truth.broker.unacked);
  for (const p of WORKER_POOLS) {
    let demand = 0;
    for (const q of p.queues) demand += (truth.taskInstances[q]?.queued ?? 0) + (truth.taskInstances[q]?.running ?? 0);
    m.set(`DesiredWorkers{WorkerPool=${p.name}}`, Math.min(p.max, Math.max(p.min, Math.ceil(demand / p.concurrency))));
  }
  return m;
}

for (const version of ['2.10', '3'] as const) {
  describe(`Airflow ${version}: snapshots equal the simulator's ground truth`, () => {
    let db: Awaited<ReturnType<typeof createDatabase>>;
    let redis: Awaited<ReturnType<typeof privateRedis>>;
    let role: Awaited<ReturnType<typeof readOnlyRole>>;
    let outDir: string;
    let sim: Simulator;
    let metadb: MetadbReader;
    let broker: BrokerReader;
    let poller: QueueDepthPoller;
    const samples: { expected: Map<string, number>; actual: Map<string, number>; at: string }[] = [];

    before(async () => {
      db = await createDatabase('qdtruth');
      redis = await privateRedis();
      outDir = mkdtempSync(join(tmpdir(), `ws-qd-${version}-`));
      const workload = demoWorkload({ taskInstancesPerHour: 6000 });
      sim = new Simulator({ version, seed: 7, workload, outDir, databaseUrl: db.url, redisUrl: redis.url });
      await sim.init();
      role = await readOnlyRole(db.url);
      metadb = new MetadbReader({
        databaseUrl: role.url,
        statementTimeoutMs: 5000,
        version: 'auto',
        logger: silentLogger(),
      });
      broker = new BrokerReader({ brokerUrl: redis.url, keyPrefix: '', timeoutMs: 3000, logger: silentLogger() });
      poller = new QueueDepthPoller({
        metadb,
        broker,
        config: { queues: [], workerPools: WORKER_POOLS, maxQueues: 100 },
        logger: silentLogger(),
        clock: () => new Date(sim.nowMicros / 1000),
      });
      for (let i = 0; i < SAMPLES; i++) {
        await sim.runFor(SECONDS_BETWEEN_SAMPLES);
        // The simulator does nothing between runFor calls: the database holds exactly its state now.
        const snapshot = await poller.poll();
        samples.push({ expected: expectedFrom(sim.truth().depth), actual: gaugeMap(snapshot.gauges), at: sim.now });
      }
    });

    after(async () => {
      await sim?.close();
      await metadb?.close();
      await broker?.close();
      await role?.drop();
      await redis?.stop();
      await db?.drop();
      if (outDir) rmSync(outDir, { recursive: true, force: true });
    });

    test('the schema version is detected', () => {
      assert.equal(metadb.version(), version);
    });

    test('every published number equals the ground truth, and nothing else is published', () => {
      for (const { expected, actual, at } of samples) {
        for (const [key, want] of expected) {
          const got = actual.get(key);
          assert.notEqual(got, undefined, `${at}: ${key} missing`);
          if (key.includes('AgeSeconds')) {
            assert.ok(
              Math.abs((got as number) - want) <= AGE_TOLERANCE_SECONDS,
              `${at}: ${key} = ${got}, want ${want}`,
            );
          } else assert.equal(got, want, `${at}: ${key}`);
        }
        const extra = [...actual.keys()].filter((k) => !expected.has(k));
        assert.deepEqual(extra, [], `${at}: published beyond the ground truth`);
      }
    });

    test('the samples are not trivial: work waits, runs, defers and reschedules across queues', () => {
      const sum = (pattern: RegExp) => {
        let n = 0;
        for (const s of samples) for (const [k, v] of s.expected) if (pattern.test(k)) n += v;
        return n;
      };
      assert.ok(sum(/^TaskInstances\{Queue=default,State=running\}/) > 0, 'running in default');
      assert.ok(sum(/^TaskInstances\{Queue=gpu,State=/) > 0, 'anything in gpu');
      assert.ok(sum(/^TaskInstances\{.*State=queued\}/) > 0, 'queued');
      assert.ok(sum(/^TaskInstances\{.*State=deferred\}/) > 0, 'deferred');
      assert.ok(sum(/^OldestQueuedTaskAgeSeconds/) > 0, 'a queued age');
      assert.ok(sum(/^BrokerUnackedMessages/) > 0, 'unacked messages');
      assert.ok(sum(/^DesiredWorkers\{WorkerPool=cpu\}/) > SAMPLES, 'more than the minimum of workers at some point');
    });

    test('the README role can read what the poll needs and nothing more, and cannot write', async () => {
      const c = new pg.Client({ connectionString: role.url });
      await c.connect();
      try {
        await assert.rejects(c.query('SELECT count(*) FROM dag_run'), /permission denied/);
        await assert.rejects(
          c.query("UPDATE task_instance SET state = 'failed' WHERE state = 'running'"),
          /read-only transaction|permission denied/,
        );
        await c.query('SET default_transaction_read_only = off');
        await assert.rejects(c.query("UPDATE task_instance SET state = 'failed' WHERE false"), /permission denied/);
      } finally {
        await c.end();
      }
    });
  });
}
