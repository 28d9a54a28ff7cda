/**
 * The simulator on the real PostgreSQL and Redis: a 10-minute run at 10,000 task instances per hour
 * for each Airflow version, with a worker killed mid-run. Its ground truth must equal what
 * PostgreSQL and Redis hold and what grep-like patterns count in the files it wrote.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createDatabase, privateRedis } from '../../../test/helpers/stack.ts';
import { demoWorkload, type GroundTruth, Simulator } from '../src/index.ts';
import { countAirflow2, countAirflow3, key, listFiles } from './helpers/count-logs.ts';

const ACTIVE = ['scheduled', 'queued', 'running', 'deferred', 'up_for_retry', 'up_for_reschedule', 'restarting'];

for (const version of ['2.10', '3'] as const) {
  describe(`Airflow ${version}: 10 simulated minutes at 10,000 TIs/hour`, () => {
    let db: Awaited<ReturnType<typeof createDatabase>>;
    let redis: Awaited<ReturnType<typeof privateRedis>>;
    let outDir: string;
    let truth: GroundTruth;
    let client: pg.Client;
    let wallSeconds = 0;
    let killedHost = '';

    before(async () => {
      db = await createDatabase('simtest');
      redis = await privateRedis();
      outDir = mkdtempSync(join(tmpdir(), `ws-sim-${version}-`));
      // The demo preset without its bursts, so the rate is the steady 10,000/hour (plus the heartbeat DAG).
      const workload = { ...demoWorkload({ taskInstancesPerHour: 10_000 }), bursts: [], zombieThresholdSeconds: 60 };
      const sim = new Simulator({ version, seed: 42, workload, outDir, databaseUrl: db.url, redisUrl: redis.url });
      const started = performance.now();
      await sim.init();
      await sim.runFor(240);
      // The scaler removes a busy worker (its tasks are killed) and later adds a fresh one.
      const workers = sim.currentWorkers();
      killedHost = workers.find((w) => w.hostname === 'worker-2')!.hostname;
      sim.setWorkers(workers.filter((w) => w.hostname !== killedHost));
      await sim.runFor(120);
      sim.setWorkers([
        ...sim.currentWorkers(),
        { hostname: 'worker-9', queues: ['default', 'reports'], concurrency: 16 },
      ]);
      await sim.runFor(240);
      wallSeconds = (performance.now() - started) / 1000;
      truth = sim.truth();
      await sim.close();
      client = new pg.Client({ connectionString: db.url });
      await client.connect();
    });

    after(async () => {
      await client?.end();
      await redis?.stop();
      await db?.drop();
      if (outDir) rmSync(outDir, { recursive: true, force: true });
    });

    test('runs 600 virtual seconds of ~1,700 task instances (wall time printed; speed is for bench/)', (t) => {
      t.diagnostic(`wall time ${wallSeconds.toFixed(1)} s for ${truth.totals.taskInstances} TIs`);
      assert.equal(truth.virtualSeconds, 600);
      // 10,000/hour for 10 minutes is ~1,667 first attempts; Poisson noise stays well inside ±15%.
      assert.ok(
        truth.totals.taskInstances > 1400 && truth.totals.taskInstances < 2000,
        `${truth.totals.taskInstances}`,
      );
    });

    test('task instances per queue and active state equal what PostgreSQL holds', async () => {
      const { rows } = await client.query<{ queue: string; state: string; n: number }>(
        `SELECT queue, state, count(*)::int AS n FROM task_instance WHERE state = ANY($1::text[]) GROUP BY queue, state`,
        [ACTIVE],
      );
      const fromDb: Record<string, Record<string, number>> = {};
      for (const r of rows) {
        fromDb[r.queue] ??= {};
        fromDb[r.queue]![r.state] = r.n;
      }
      let nonZero = 0;
      for (const [queue, states] of Object.entries(truth.depth.taskInstances)) {
        for (const s of ACTIVE) {
          assert.equal(fromDb[queue]?.[s] ?? 0, states[s], `${queue}/${s}`);
          nonZero += states[s]!;
        }
      }
      assert.ok(nonZero > 10, 'the run ends with work in flight');
      for (const q of Object.keys(fromDb)) assert.ok(q in truth.depth.taskInstances, `queue ${q} known to the truth`);
      const totals = await client.query<{ tis: number; runs: number }>(
        'SELECT (SELECT count(*)::int FROM task_instance) AS tis, (SELECT count(*)::int FROM dag_run) AS runs',
      );
      assert.equal(totals.rows[0]!.tis, truth.totals.taskInstances);
      assert.equal(totals.rows[0]!.runs, truth.totals.dagRuns);
    });

    test('per-pool depth, open slots, oldest queued age and scheduler heartbeat match the metadb', async () => {
      const pools = await client.query<{ pool: string; open: number }>(
        `SELECT p.pool, p.slots - coalesce(sum(ti.pool_slots) FILTER (WHERE ti.state IN ('queued','running')
            OR (ti.state = 'deferred' AND p.include_deferred)), 0)::int AS open
         FROM slot_pool p LEFT JOIN task_instance ti ON ti.pool = p.pool GROUP BY p.pool, p.slots, p.include_deferred`,
      );
      for (const r of pools.rows) assert.equal(r.open, truth.depth.poolOpenSlots[r.pool], `pool ${r.pool}`);
      const oldest = await client.query<{ queue: string; age: number }>(
        `SELECT queue, extract(epoch FROM ($1::timestamptz - min(queued_dttm)))::float8 AS age
         FROM task_instance WHERE state = 'queued' GROUP BY queue`,
        [truth.now],
      );
      for (const r of oldest.rows) assert.ok(Math.abs(r.age - truth.depth.oldestQueuedAgeSeconds[r.queue]!) < 1e-6);
      const hb = await client.query<{ age: number }>(
        `SELECT extract(epoch FROM ($1::timestamptz - max(latest_heartbeat)))::float8 AS age FROM job
         WHERE job_type = 'SchedulerJob'`,
        [truth.now],
      );
      assert.ok(Math.abs(hb.rows[0]!.age - truth.depth.schedulerHeartbeatAgeSeconds) < 1e-6);
      assert.ok(truth.depth.schedulerHeartbeatAgeSeconds <= 5);
    });

    test('final states in the metadb equal the success markers the logs carry', async () => {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM task_instance WHERE state = 'success'",
      );
      const marked =
        version === '2.10'
          ? truth.metrics.find((m) => m.name === 'TaskStateMarked' && m.dimensions.State === 'SUCCESS')
          : truth.metrics.find((m) => m.name === 'TaskFinalState' && m.dimensions.State === 'SUCCESS');
      assert.ok(rows[0]!.n > 1000);
      assert.equal(rows[0]!.n, marked?.value);
    });

    test('running task instances carry hostname, pid, start date and liveness as Airflow writes them', async () => {
      const liveness = version === '2.10' ? "j.state = 'running' AND j.job_type = 'LocalTaskJob'" : 'true';
      const join2 = version === '2.10' ? 'LEFT JOIN job j ON j.id = ti.job_id' : 'LEFT JOIN (SELECT 1) j ON true';
      const { rows } = await client.query<{ hostname: string; ok: boolean }>(
        `SELECT ti.hostname, (ti.pid IS NOT NULL AND ti.start_date IS NOT NULL AND ti.queued_dttm IS NOT NULL
            AND ti.queued_by_job_id IS NOT NULL
            -- the scheduler records the Celery task id at its next loop after sending, so a task that
            -- started within that second may not have it yet
            AND (ti.external_executor_id IS NOT NULL OR ti.queued_dttm > $1::timestamptz - interval '2 seconds')
            AND ${version === '2.10' ? liveness : 'ti.last_heartbeat_at IS NOT NULL'}) AS ok
         FROM task_instance ti ${join2} WHERE ti.state = 'running'`,
        [truth.now],
      );
      assert.ok(rows.length > 0);
      for (const r of rows) {
        assert.ok(r.ok, `running TI on ${r.hostname} is missing fields`);
        assert.notEqual(r.hostname, killedHost, 'no TI still runs on the killed worker');
      }
    });

    test('tasks on the removed worker are killed, then failed or retried as zombies', async () => {
      assert.ok(truth.tasksKilled > 0);
      assert.equal(truth.killedTasks.length, truth.tasksKilled);
      const running = truth.killedTasks.filter((k) => k.stateWhenKilled === 'running');
      assert.equal(truth.totals.zombies, running.length);
      for (const k of running) {
        const { rows } = await client.query<{ state: string; try_number: number }>(
          'SELECT state, try_number FROM task_instance WHERE dag_id = $1 AND task_id = $2 AND run_id = $3 AND map_index = $4',
          [k.dagId, k.taskId, k.runId, k.mapIndex],
        );
        assert.ok(rows[0], `${k.dagId}.${k.taskId}`);
        assert.ok(rows[0].state !== 'running' || rows[0].try_number > k.tryNumber, `${k.taskId} was not left running`);
      }
      const sched = listFiles(outDir).includes('scheduler/scheduler.log');
      assert.ok(sched);
    });

    test('broker queue lengths and unacked messages equal what Redis holds', async () => {
      const r = new Redis(redis.url);
      try {
        for (const [q, n] of Object.entries(truth.depth.broker.queues)) assert.equal(await r.llen(q), n, `LLEN ${q}`);
        assert.equal(await r.hlen('unacked'), truth.depth.broker.unacked);
        assert.equal(await r.zcard('unacked_index'), truth.depth.broker.unacked);
        // Messages of killed tasks stay unacked until the visibility timeout.
        assert.ok(truth.depth.broker.unacked >= truth.depth.celeryTasksOnWorkers + truth.tasksKilled);
        const raw = (await r.hvals('unacked'))[0];
        assert.ok(raw);
        const [message, exchange, routingKey] = JSON.parse(raw) as [
          { headers: { task: string }; body: string; properties: { delivery_info: { routing_key: string } } },
          string,
          string,
        ];
        assert.equal(exchange, '');
        assert.equal(message.properties.delivery_info.routing_key, routingKey);
        const taskName = message.headers.task;
        assert.ok(taskName.endsWith(version === '2.10' ? 'execute_command' : 'execute_workload'));
        const body = JSON.parse(Buffer.from(message.body, 'base64').toString('utf8')) as unknown[];
        assert.equal(body.length, 3);
      } finally {
        r.disconnect();
      }
    });

    test('bytes per file equal the files on disk', () => {
      const onDisk = listFiles(outDir);
      assert.deepEqual(onDisk, Object.keys(truth.files).sort());
      for (const rel of onDisk) assert.equal(statSync(join(outDir, rel)).size, truth.files[rel], rel);
      assert.ok(onDisk.filter((f) => f.startsWith('logs/')).length > 1000);
      assert.ok(onDisk.includes(`worker/${killedHost}.log`) && onDisk.includes('worker/worker-9.log'));
    });

    test('every counter equals what grep-like patterns count in the files', () => {
      const counted = version === '2.10' ? countAirflow2(outDir) : countAirflow3(outDir);
      const expected = new Map(truth.metrics.map((m) => [key(m.name, m.dimensions), m.value]));
      assert.deepEqual(Object.fromEntries([...counted].sort()), Object.fromEntries([...expected].sort()));
      const names = new Set(truth.metrics.map((m) => m.name));
      for (const n of ['TasksSentToExecutor', 'TasksQueued', 'ExecutorEvents', 'TaskInstancesFinished', 'LogErrors']) {
        assert.ok(names.has(n), n);
      }
      for (const n of ['LogWarnings', 'Tracebacks', 'HeartbeatSuccess', 'UnparsedLines', 'CeleryTasksFailed']) {
        assert.ok(names.has(n), n);
      }
      assert.ok(names.has(version === '2.10' ? 'TaskStateMarked' : 'TaskFinalState'));
    });
  });
}
