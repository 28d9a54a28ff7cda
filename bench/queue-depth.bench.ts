/**
 * queue-depth bench: the poll (through the service's own reader: one pass over the active task
 * instances, slot_pool, the scheduler heartbeat) against the seed's naive
 * `SELECT state, count(*) FROM task_instance WHERE queue = $1 GROUP BY state` per queue, side by
 * side in one run, on a task_instance of 10,000,000 history rows (terminal states over two years,
 * 200 DAGs, 5 queues) plus 10,000 active rows, with Airflow's own indexes only. The four
 * per-question queries the poll made before the single pass are measured too, as the reference.
 *
 *   node --import tsx bench/queue-depth.bench.ts [--schema 2.10|3] [--rebuild] [--polls 200] [--naive-rounds 8]
 *
 * The database (`windsock_bench_qd_<schema>` on the test stack's PostgreSQL) is built once with
 * INSERT ... SELECT generate_series (a few minutes) and reused by later runs.
 */
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import {
  ACTIVE_TASK_INSTANCES_SQL,
  ACTIVE_TASK_STATES,
  type AirflowSchemaVersion,
  countTaskInstancesByPoolAndState,
  countTaskInstancesByQueueAndState,
  loadAirflowSchema,
  NEWEST_SCHEDULER_HEARTBEAT_SQL,
  newestSchedulerHeartbeat,
  oldestQueuedTaskByQueue,
  poolSlots,
  readActiveTaskInstances,
  SCHEDULER_JOB_TYPE,
  summariseActiveTaskInstances,
} from '@windsock/airflow';
import { silentLogger } from '@windsock/core';
import pg from 'pg';
import { MetadbReader } from '../services/queue-depth/src/metadb-reader.ts';
import { QueueDepthPoller } from '../services/queue-depth/src/poller.ts';
import { testStack } from '../test/helpers/stack.ts';

const { values: args } = parseArgs({
  options: {
    schema: { type: 'string', default: '2.10' },
    rebuild: { type: 'boolean', default: false },
    polls: { type: 'string', default: '200' },
    'naive-rounds': { type: 'string', default: '8' },
  },
});
const schema = args.schema as AirflowSchemaVersion;
if (schema !== '2.10' && schema !== '3') throw new Error(`--schema must be 2.10 or 3, got ${args.schema}`);

const HISTORY_ROWS = 10_000_000;
const ACTIVE_ROWS = 10_000;
const DAGS = 200;
const DAYS = 730;
const QUEUES = ['default', 'etl', 'reports', 'ml', 'gpu'];
const BUILD_VERSION = 2; // bump when the generated data changes
const dbName = `windsock_bench_qd_${schema.replace('.', '_')}`;

const log = (s: string) => process.stdout.write(`${s}\n`);
const ms = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Queue of a (dag, task) pair: 60% default, 20% etl, 10% reports, 5% ml, 5% gpu. */
const QUEUE_SQL = (dag: string, task: string) => `(CASE
  WHEN (${dag}) % 10 < 6 THEN 'default' WHEN (${dag}) % 10 < 8 THEN 'etl' WHEN (${dag}) % 10 = 8 THEN 'reports'
  WHEN (${task}) % 2 = 0 THEN 'ml' ELSE 'gpu' END)`;
const POOL_SQL = (dag: string) =>
  `(CASE WHEN (${dag}) % 10 = 9 THEN 'gpu_pool' WHEN (${dag}) % 10 = 6 THEN 'etl_pool' ELSE 'default_pool' END)`;

async function build(admin: pg.Client, stackUrl: string): Promise<void> {
  const started = performance.now();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  const c = new pg.Client({ connectionString: stackUrl.replace(/\/[^/]*$/, `/${dbName}`) });
  await c.connect();
  await loadAirflowSchema(c, schema);
  await c.query(
    `SET maintenance_work_mem = '1GB'; SET max_parallel_maintenance_workers = 2; SET synchronous_commit = off`,
  );
  // Bulk load without the indexes and keys, then recreate exactly Airflow's definitions.
  const indexes = (
    await c.query<{ def: string; name: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'task_instance'
       AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'task_instance'::regclass)`,
    )
  ).rows;
  const constraints = (
    await c.query<{ name: string; def: string; type: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS def, contype AS type FROM pg_constraint
       WHERE conrelid = 'task_instance'::regclass ORDER BY contype = 'f'`,
    )
  ).rows;
  for (const con of [...constraints].reverse()) await c.query(`ALTER TABLE task_instance DROP CONSTRAINT ${con.name}`);
  for (const ix of indexes) await c.query(`DROP INDEX ${ix.name}`);

  await c.query(`
    INSERT INTO slot_pool (pool, slots, description, include_deferred) VALUES
      ('etl_pool', 64, 'etl', false), ('gpu_pool', 8, 'gpu', true), ('reports_pool', 32, 'reports', false);
    INSERT INTO dag_run (dag_id, run_id, ${schema === '2.10' ? 'execution_date' : 'logical_date, run_after'}, run_type, state, clear_number, start_date, end_date)
      SELECT 'dag_' || lpad(d::text, 3, '0'),
             'scheduled__' || to_char(day, 'YYYY-MM-DD"T"HH24:MI:SS+00:00'),
             day, ${schema === '3' ? 'day,' : ''} 'scheduled', CASE WHEN day >= date_trunc('day', now()) THEN 'running' ELSE 'success' END,
             0, day, CASE WHEN day >= date_trunc('day', now()) THEN NULL ELSE day + interval '2 hours' END
      FROM generate_series(0, ${DAGS - 1}) AS d,
           generate_series(date_trunc('day', now()) - interval '${DAYS} days', date_trunc('day', now()), interval '1 day') AS day;`);
  log(`  dag_run: ${DAGS * (DAYS + 1)} rows (${ms(started)})`);

  const perRun = Math.ceil(HISTORY_ROWS / (DAGS * DAYS));
  const chunk = 1_000_000;
  for (let from = 1; from <= HISTORY_ROWS; from += chunk) {
    const to = Math.min(HISTORY_ROWS, from + chunk - 1);
    // row i -> run r = (i-1)/perRun (dag r % DAGS, day r / DAGS), task k = (i-1) % perRun
    await c.query(`
      INSERT INTO task_instance (${schema === '3' ? 'id, ' : ''}task_id, dag_id, run_id, map_index, start_date, end_date, duration,
        state, try_number, max_tries, hostname, unixname, ${schema === '2.10' ? 'job_id, ' : ''}pool, pool_slots, queue,
        priority_weight, operator, queued_dttm, queued_by_job_id, pid, updated_at, external_executor_id)
      SELECT ${schema === '3' ? 'gen_random_uuid(), ' : ''}'task_' || k, 'dag_' || lpad(dag::text, 3, '0'),
        'scheduled__' || to_char(day, 'YYYY-MM-DD"T"HH24:MI:SS+00:00'), -1,
        day + k * interval '1 minute', day + k * interval '1 minute' + (i % 300) * interval '1 second', (i % 300)::float8,
        CASE WHEN i % 100 < 90 THEN 'success' WHEN i % 100 < 94 THEN 'failed' WHEN i % 100 < 98 THEN 'skipped' ELSE 'upstream_failed' END,
        1, 1, 'worker-' || (i % 20) || '.ecs.internal', 'airflow', ${schema === '2.10' ? 'i, ' : ''}${POOL_SQL('dag')}, 1,
        ${QUEUE_SQL('dag', 'k')}, 1 + (k % 5), 'PythonOperator', day + k * interval '1 minute' - interval '5 seconds',
        1, 1000 + i % 30000, day + k * interval '1 minute' + (i % 300) * interval '1 second',
        substr(md5(i::text), 1, 8) || '-' || substr(md5(i::text), 9, 4) || '-4' || substr(md5(i::text), 14, 3) || '-a' || substr(md5(i::text), 18, 3) || '-' || substr(md5(i::text), 21, 12)
      FROM (
        SELECT i, ((i - 1) / ${perRun}) % ${DAGS} AS dag, (i - 1) % ${perRun} AS k,
               date_trunc('day', now()) - interval '${DAYS} days' + (((i - 1) / ${perRun}) / ${DAGS}) * interval '1 day' AS day
        FROM generate_series(${from}, ${to}) AS i
      ) s`);
    log(`  task_instance history: ${to.toLocaleString()} rows (${ms(started)})`);
  }

  // The active rows belong to today's runs: 50 tasks for each of the 200 DAGs.
  await c.query(`
    INSERT INTO task_instance (${schema === '3' ? 'id, ' : ''}task_id, dag_id, run_id, map_index, start_date, state, try_number, max_tries,
      hostname, unixname, pool, pool_slots, queue, priority_weight, operator, queued_dttm, queued_by_job_id, updated_at)
    SELECT ${schema === '3' ? 'gen_random_uuid(), ' : ''}'task_' || k, 'dag_' || lpad(dag::text, 3, '0'),
      'scheduled__' || to_char(date_trunc('day', now()), 'YYYY-MM-DD"T"HH24:MI:SS+00:00'), -1,
      CASE WHEN st IN ('running', 'deferred', 'restarting') THEN now() - (i % 600) * interval '1 second' END,
      st, 1, 1, CASE WHEN st = 'running' THEN 'worker-' || (i % 20) || '.ecs.internal' ELSE '' END, 'airflow',
      ${POOL_SQL('dag')}, 1, ${QUEUE_SQL('dag', 'k')}, 1 + (k % 5), 'PythonOperator',
      CASE WHEN st IN ('queued', 'running') THEN now() - (i % 900) * interval '1 second' END, 1, now()
    FROM (
      SELECT i, (i - 1) % ${DAGS} AS dag, (i - 1) / ${DAGS} AS k,
        CASE WHEN i % 20 < 3 THEN 'scheduled' WHEN i % 20 < 8 THEN 'queued' WHEN i % 20 < 14 THEN 'running'
             WHEN i % 20 < 16 THEN 'deferred' WHEN i % 20 < 18 THEN 'up_for_retry' WHEN i % 20 < 19 THEN 'up_for_reschedule'
             ELSE 'restarting' END AS st
      FROM generate_series(1, ${ACTIVE_ROWS}) AS i
    ) s`);
  log(`  task_instance active: ${ACTIVE_ROWS.toLocaleString()} rows (${ms(started)})`);

  await c.query(`
    INSERT INTO job (dag_id, state, job_type, start_date, end_date, latest_heartbeat, executor_class, hostname, unixname)
      SELECT 'dag_' || lpad((i % ${DAGS})::text, 3, '0'), 'success', '${schema === '2.10' ? 'LocalTaskJob' : 'TriggererJob'}',
             now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '30 seconds',
             now() - i * interval '1 minute' + interval '30 seconds', NULL, 'worker-' || (i % 20), 'airflow'
      FROM generate_series(1, 1000000) AS i;
    INSERT INTO job (state, job_type, start_date, latest_heartbeat, executor_class, hostname, unixname)
      SELECT CASE WHEN i = 1 THEN 'running' ELSE 'failed' END, '${SCHEDULER_JOB_TYPE}', now() - i * interval '1 day',
             now() - i * interval '1 day' + interval '5 seconds', 'CeleryExecutor', 'scheduler-' || i, 'airflow'
      FROM generate_series(1, 50) AS i;`);
  log(`  job: 1,000,050 rows (${ms(started)})`);

  for (const con of constraints.filter((x) => x.type !== 'f')) {
    await c.query(`ALTER TABLE task_instance ADD CONSTRAINT ${con.name} ${con.def}`);
  }
  for (const ix of indexes) await c.query(ix.def);
  for (const con of constraints.filter((x) => x.type === 'f')) {
    await c.query(`ALTER TABLE task_instance ADD CONSTRAINT ${con.name} ${con.def}`);
  }
  log(`  Airflow's keys and indexes recreated (${ms(started)})`);
  await c.query('VACUUM ANALYZE');
  await c.query(`CREATE TABLE bench_meta (build_version int, history_rows int, active_rows int, built_at timestamptz);
    INSERT INTO bench_meta VALUES (${BUILD_VERSION}, ${HISTORY_ROWS}, ${ACTIVE_ROWS}, now())`);
  await c.end();
  log(`  built in ${ms(started)}`);
}

async function ensureDatabase(stackUrl: string): Promise<string> {
  const url = stackUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const admin = new pg.Client({ connectionString: stackUrl });
  await admin.connect();
  try {
    let reusable = false;
    if (!args.rebuild) {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
      if (exists.rowCount) {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        const meta = await c
          .query<{ build_version: number }>('SELECT build_version FROM bench_meta')
          .catch(() => ({ rows: [] as { build_version: number }[] }));
        await c.end();
        reusable = meta.rows[0]?.build_version === BUILD_VERSION;
      }
    }
    if (reusable) log(`reusing database ${dbName} (pass --rebuild to regenerate it)`);
    else {
      log(
        `building database ${dbName}: ${HISTORY_ROWS.toLocaleString()} history + ${ACTIVE_ROWS.toLocaleString()} active task instances`,
      );
      await build(admin, stackUrl);
    }
  } finally {
    await admin.end();
  }
  return url;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function summary(samples: number[]): { p50: number; p99: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

const NAIVE_SQL = 'SELECT state, count(*) FROM task_instance WHERE queue = $1 GROUP BY state';

async function main(): Promise<void> {
  const stack = await testStack();
  const url = await ensureDatabase(stack.pgUrl);
  const c = new pg.Client({ connectionString: url });
  await c.connect();

  const facts = (
    await c.query<{ total: string; active: string; size: string; pg: string }>(
      `SELECT (SELECT count(*) FROM task_instance) AS total,
              (SELECT count(*) FROM task_instance WHERE state = ANY($1::varchar[])) AS active,
              pg_size_pretty(pg_total_relation_size('task_instance')) AS size, current_setting('server_version') AS pg`,
      [[...ACTIVE_TASK_STATES]],
    )
  ).rows[0]!;
  const indexes = (
    await c.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'task_instance' ORDER BY 1`,
    )
  ).rows.map((r) => r.indexname);
  log(
    `\nPostgreSQL ${facts.pg}; task_instance: ${Number(facts.total).toLocaleString()} rows (${Number(facts.active).toLocaleString()} active), ${facts.size} with indexes`,
  );
  log(`indexes on task_instance (Airflow ${schema}'s own, none added): ${indexes.join(', ')}`);

  const reader = new MetadbReader({
    databaseUrl: url,
    statementTimeoutMs: 30_000,
    version: 'auto',
    logger: silentLogger(),
  });
  const poller = new QueueDepthPoller({
    metadb: reader,
    config: { queues: QUEUES, workerPools: [], maxQueues: 100 },
    logger: silentLogger(),
  });

  const pollOnce = async () => {
    const t0 = performance.now();
    const snap = await poller.poll();
    const took = performance.now() - t0;
    if (!snap.metadb) throw new Error(`poll failed: ${JSON.stringify(poller.status().metadb)}`);
    return took;
  };
  // The poll as it was before the single pass: four task_instance queries, same transaction shape.
  const before = new pg.Client({ connectionString: url, application_name: 'windsock-bench-four-queries' });
  await before.connect();
  const fourQueriesOnce = async () => {
    const t0 = performance.now();
    await before.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = 30000');
    await countTaskInstancesByQueueAndState(before);
    await countTaskInstancesByPoolAndState(before);
    const at = new Date();
    await oldestQueuedTaskByQueue(before, at);
    await newestSchedulerHeartbeat(before, at);
    await poolSlots(before);
    await before.query('COMMIT');
    return performance.now() - t0;
  };
  // What one round trip costs on this machine: the floor under every statement of the poll.
  const roundTripOnce = async () => {
    const t0 = performance.now();
    await before.query('SELECT 1');
    return performance.now() - t0;
  };
  const naiveOnce = async () => {
    const perQuery: number[] = [];
    const t0 = performance.now();
    for (const q of QUEUES) {
      const t = performance.now();
      await c.query(NAIVE_SQL, [q]);
      perQuery.push(performance.now() - t);
    }
    return { total: performance.now() - t0, perQuery };
  };

  // The single pass must say what the four queries say on this database too (same instant, any row order).
  {
    const at = new Date();
    const key = (r: object) => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
    const sorted = (rows: object[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const single = summariseActiveTaskInstances(await readActiveTaskInstances(c), at);
    const four = {
      byQueueAndState: await countTaskInstancesByQueueAndState(c),
      byPoolAndState: await countTaskInstancesByPoolAndState(c),
      oldestQueued: await oldestQueuedTaskByQueue(c, at),
      pools: await poolSlots(c),
    };
    for (const k of ['byQueueAndState', 'byPoolAndState', 'oldestQueued', 'pools'] as const) {
      assert.deepStrictEqual(
        sorted(single[k]),
        sorted(four[k]),
        `the single pass and the four queries disagree on ${k}`,
      );
    }
    log(
      `single pass = four queries on this database: ${single.byQueueAndState.length} (queue, state), ${single.byPoolAndState.length} (pool, state), ${single.oldestQueued.length} queues queued, ${single.pools.length} pools`,
    );
  }

  // Warm both paths (buffers, plans, the connection pool), then interleave them so they share conditions.
  for (let i = 0; i < 10; i++) {
    await pollOnce();
    await fourQueriesOnce();
  }
  await naiveOnce();
  const polls = Number(args.polls);
  const naiveRounds = Number(args['naive-rounds']);
  const pollMs: number[] = [];
  const fourQueriesMs: number[] = [];
  const roundTripMs: number[] = [];
  const naiveSetMs: number[] = [];
  const naiveQueryMs: number[] = [];
  const started = performance.now();
  for (let round = 0; round < naiveRounds; round++) {
    for (let i = 0; i < Math.ceil(polls / naiveRounds); i++) {
      pollMs.push(await pollOnce());
      fourQueriesMs.push(await fourQueriesOnce());
      roundTripMs.push(await roundTripOnce());
    }
    const n = await naiveOnce();
    naiveSetMs.push(n.total);
    naiveQueryMs.push(...n.perQuery);
  }
  log(`measured in ${ms(started)}\n`);

  const poll = summary(pollMs);
  const four = summary(fourQueriesMs);
  const roundTrip = summary(roundTripMs);
  const naiveSet = summary(naiveSetMs);
  const naiveOne = summary(naiveQueryMs);
  const f = (x: number) => `${x.toFixed(2)} ms`.padStart(12);
  log('| what | n | p50 | p99 |');
  log('|---|---|---|---|');
  log(
    `| poll (through MetadbReader): one pass over the active task instances + slot_pool + scheduler heartbeat | ${poll.n} | ${f(poll.p50)} | ${f(poll.p99)} |`,
  );
  log(
    `| reference: the poll before the single pass (queue/state, pool/state, oldest queued, pool slots: 4 task_instance passes; + scheduler) | ${four.n} | ${f(four.p50)} | ${f(four.p99)} |`,
  );
  log(`| reference: one round trip (SELECT 1) | ${roundTrip.n} | ${f(roundTrip.p50)} | ${f(roundTrip.p99)} |`);
  log(
    `| naive: the seed's query for each of the ${QUEUES.length} queues | ${naiveSet.n} | ${f(naiveSet.p50)} | ${f(naiveSet.p99)} |`,
  );
  log(`| naive: one queue | ${naiveOne.n} | ${f(naiveOne.p50)} | ${f(naiveOne.p99)} |`);
  log('');
  log(`ratio (naive per-queue set p50 / poll p50): ${(naiveSet.p50 / poll.p50).toFixed(0)}x`);
  log(`ratio (naive single-queue p50 / poll p50): ${(naiveOne.p50 / poll.p50).toFixed(0)}x`);
  log(`ratio (four per-question queries p50 / poll p50): ${(four.p50 / poll.p50).toFixed(1)}x`);
  log(
    `target: poll p50 < 20 ms -> ${poll.p50 < 20 ? 'met' : 'NOT met'}; >= 100x faster -> ${naiveSet.p50 / poll.p50 >= 100 ? 'met' : 'NOT met'}`,
  );

  const states = [...ACTIVE_TASK_STATES];
  const plans: [string, string, unknown[]][] = [
    ['poll: one pass over the active task instances, with slot_pool', ACTIVE_TASK_INSTANCES_SQL, [states]],
    ['poll: newest scheduler heartbeat', NEWEST_SCHEDULER_HEARTBEAT_SQL, [SCHEDULER_JOB_TYPE]],
    ["naive: the seed's query (queue 'default')", NAIVE_SQL, ['default']],
  ];
  let seqScans = 0;
  for (const [title, sql, params] of plans) {
    const res = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    const text = res.rows.map((r) => r['QUERY PLAN']).join('\n');
    if (title.startsWith('poll') && /Seq Scan on task_instance/.test(text)) seqScans++;
    log(`\n-- EXPLAIN (ANALYZE, BUFFERS): ${title}\n${text}`);
  }
  log(`\npoll queries with a sequential scan of task_instance: ${seqScans}`);
  await before.end();
  await reader.close();
  await c.end();
}

await main();
