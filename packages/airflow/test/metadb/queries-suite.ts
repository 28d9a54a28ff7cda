/**
 * The metadb query specification, run once per Airflow schema version (one test file each, so the two
 * million-row databases are built in parallel by the runner).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createDatabase } from '../../../../test/helpers/stack.ts';
import {
  ACTIVE_TASK_INSTANCES_SQL,
  ACTIVE_TASK_STATES,
  type ActiveTaskInstanceSummary,
  type ActiveTaskInstances,
  type AirflowSchemaVersion,
  countTaskInstancesByPoolAndState,
  countTaskInstancesByQueueAndState,
  DEFAULT_LOG_FILENAME_TEMPLATE,
  detectAirflowSchemaVersion,
  LOG_TEMPLATE_FOR_DAG_RUN_SQL,
  loadAirflowSchema,
  logTemplateForDagRun,
  type MetadbClient,
  NEWEST_SCHEDULER_HEARTBEAT_SQL,
  newestSchedulerHeartbeat,
  OLDEST_QUEUED_TASK_BY_QUEUE_SQL,
  oldestQueuedTaskByQueue,
  POOL_SLOTS_SQL,
  PRE_2_3_LOG_TEMPLATE,
  poolSlots,
  RUNNING_TASKS_BY_HOSTNAME_SQL,
  readActiveTaskInstances,
  runningTasksByHostname,
  SCHEDULER_JOB_TYPE,
  summariseActiveTaskInstances,
  TASK_INSTANCE_BY_IDENTITY_SQL,
  TASK_INSTANCES_BY_POOL_AND_STATE_SQL,
  TASK_INSTANCES_BY_QUEUE_AND_STATE_SQL,
  taskAttemptState,
} from '../../src/index.ts';
import {
  type ActiveRow,
  activeRows,
  HISTORY,
  historyRows,
  historyState,
  insertActive,
  insertHistory,
  insertSchedulerJobs,
  NOW,
  seqScannedRelations,
} from './fill.ts';

const ACTIVE_COUNT = 1500;
const SCHEDULER_AGE_SECONDS = 42;

function tally<K>(rows: ActiveRow[], key: (r: ActiveRow) => K | undefined, weight: (r: ActiveRow) => number = () => 1) {
  const m = new Map<string, number>();
  for (const r of rows) {
    const k = key(r);
    if (k === undefined) continue;
    const s = JSON.stringify(k);
    m.set(s, (m.get(s) ?? 0) + weight(r));
  }
  return m;
}

/** Pools of the test: default_pool from `db migrate`, a limited one that counts deferred, an unlimited one (retired_pool has no row). */
async function insertPools(client: MetadbClient): Promise<void> {
  await client.query(`INSERT INTO slot_pool (pool, slots, description, include_deferred) VALUES
    ('db_pool', 40, 'databases', true), ('api_pool', -1, 'unlimited', false)`);
}

const POOL_TOTALS: Record<string, { total: number; includeDeferred: boolean }> = {
  default_pool: { total: 128, includeDeferred: false },
  db_pool: { total: 40, includeDeferred: true },
  api_pool: { total: Number.POSITIVE_INFINITY, includeDeferred: false },
};

/** The four per-question reads (four passes over the active rows), as the single pass summarises them. */
async function perQuestionReads(client: MetadbClient): Promise<ActiveTaskInstanceSummary> {
  return {
    byQueueAndState: await countTaskInstancesByQueueAndState(client),
    byPoolAndState: await countTaskInstancesByPoolAndState(client),
    oldestQueued: await oldestQueuedTaskByQueue(client, NOW),
    pools: await poolSlots(client),
  };
}

/** The same answers from one pass over the active rows plus slot_pool. */
async function singlePassRead(client: MetadbClient): Promise<ActiveTaskInstanceSummary> {
  return summariseActiveTaskInstances(await readActiveTaskInstances(client), NOW);
}

/** A summary with every list in one fixed order (SQL returns groups in any order). */
function canonical(s: ActiveTaskInstanceSummary): ActiveTaskInstanceSummary {
  const sorted = <T>(rows: T[]) =>
    rows
      .map((r) => [JSON.stringify(r), r] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, r]) => r);
  return {
    byQueueAndState: sorted(s.byQueueAndState),
    byPoolAndState: sorted(s.byPoolAndState),
    oldestQueued: sorted(s.oldestQueued),
    pools: sorted(s.pools),
  };
}

/** What any summary of a database filled with `active` must say, computed from the rows in TypeScript. */
function assertSummary(s: ActiveTaskInstanceSummary, active: ActiveRow[], how: string) {
  assert.deepEqual(
    new Map(s.byQueueAndState.map((r) => [JSON.stringify([r.queue, r.state]), r.count])),
    tally(active, (r) => [r.queue, r.state]),
    `${how}: task instances per (queue, state)`,
  );

  assert.deepEqual(
    new Map(s.byPoolAndState.map((r) => [JSON.stringify([r.pool, r.state]), r.count])),
    tally(active, (r) => [r.pool, r.state]),
    `${how}: task instances per (pool, state)`,
  );
  assert.deepEqual(
    new Map(s.byPoolAndState.map((r) => [JSON.stringify([r.pool, r.state]), r.slots])),
    tally(
      active,
      (r) => [r.pool, r.state],
      (r) => r.poolSlots,
    ),
    `${how}: pool slots asked per (pool, state)`,
  );

  const queued = active.filter((r) => r.state === 'queued');
  // null: the queue has queued rows but none with queued_dttm, so no age can be told
  const expectedOldest = new Map<string, number | null>();
  for (const r of queued) {
    const age = r.queuedAt ? (NOW.getTime() - r.queuedAt.getTime()) / 1000 : null;
    const before = expectedOldest.get(r.queue) ?? null;
    expectedOldest.set(r.queue, age === null ? before : Math.max(before ?? 0, age));
  }
  assert.deepEqual(
    new Map(s.oldestQueued.map((o) => [o.queue, o.ageSeconds])),
    expectedOldest,
    `${how}: oldest queued age per queue`,
  );
  assert.deepEqual(
    new Map(s.oldestQueued.map((o) => [o.queue, o.queued])),
    new Map([...tally(queued, (r) => r.queue)].map(([k, v]) => [JSON.parse(k) as string, v])),
    `${how}: queued task instances per queue`,
  );

  assert.deepEqual(s.pools.map((p) => p.pool).sort(), Object.keys(POOL_TOTALS).sort());
  for (const p of s.pools) {
    const mine = active.filter((r) => r.pool === p.pool);
    const sum = (state: string) => mine.filter((r) => r.state === state).reduce((n, r) => n + r.poolSlots, 0);
    const { total, includeDeferred } = POOL_TOTALS[p.pool]!;
    const open = total - sum('running') - sum('queued') - (includeDeferred ? sum('deferred') : 0);
    assert.equal(p.totalSlots, total, `${how}: total slots of ${p.pool}`);
    assert.equal(p.includeDeferred, includeDeferred);
    assert.equal(p.openSlots, open, `${how}: open slots of ${p.pool}`);
    assert.equal(p.runningSlots, sum('running'));
    assert.equal(p.queuedSlots, sum('queued'));
    assert.equal(p.deferredSlots, sum('deferred'));
    assert.equal(p.scheduledSlots, sum('scheduled'));
  }
}

/**
 * The single pass gives exactly what the four queries give on the same database, and the fixture
 * holds the cases where they could differ, so the comparison means something.
 */
async function assertSinglePassMatches(client: MetadbClient) {
  const four = await perQuestionReads(client);
  const read = await readActiveTaskInstances(client);
  assert.deepEqual(canonical(summariseActiveTaskInstances(read, NOW)), canonical(four));

  // the cases are really there
  assert.ok(four.pools.some((p) => p.includeDeferred && p.deferredSlots > 0 && Number.isFinite(p.openSlots)));
  assert.ok(four.pools.some((p) => p.totalSlots === Number.POSITIVE_INFINITY && p.openSlots === p.totalSlots));
  assert.ok(
    four.oldestQueued.some((o) => o.ageSeconds === null && o.queued > 0),
    'a queue with no queued_dttm',
  );
  assert.ok(
    four.byPoolAndState.some((r) => !four.pools.some((p) => p.pool === r.pool)),
    'a pool without slot_pool row',
  );

  // and a single wrong number anywhere in the pass shows: the comparison can fail
  const perturbed: [string, (r: ActiveTaskInstances) => void][] = [
    [
      'one more queued task in a group',
      (r) => {
        r.groups.find((g) => g.state === 'queued')!.count += 1;
      },
    ],
    [
      'one more deferred slot in the include_deferred pool',
      (r) => {
        r.groups.find((g) => g.state === 'deferred' && g.pool === 'db_pool')!.slots += 1;
      },
    ],
    [
      'the oldest queued_dttm lost',
      (r) => {
        const dated = r.groups.filter((g) => g.oldestQueuedAt);
        dated.sort((a, b) => a.oldestQueuedAt!.getTime() - b.oldestQueuedAt!.getTime());
        dated[0]!.oldestQueuedAt = null;
      },
    ],
    [
      'the unlimited pool read as 0 slots',
      (r) => {
        r.pools.find((p) => p.pool === 'api_pool')!.totalSlots = 0;
      },
    ],
    [
      'include_deferred ignored',
      (r) => {
        r.pools.find((p) => p.pool === 'db_pool')!.includeDeferred = false;
      },
    ],
  ];
  for (const [what, change] of perturbed) {
    const copy: ActiveTaskInstances = {
      groups: read.groups.map((g) => ({ ...g })),
      pools: read.pools.map((p) => ({ ...p })),
    };
    change(copy);
    assert.throws(
      () => assert.deepEqual(canonical(summariseActiveTaskInstances(copy, NOW)), canonical(four)),
      assert.AssertionError,
      `the comparison misses: ${what}`,
    );
  }
}

/** Assertions on query results that hold for any database filled with `active` (and any history). */
async function assertResults(client: MetadbClient, version: AirflowSchemaVersion, active: ActiveRow[]) {
  assertSummary(await perQuestionReads(client), active, 'four queries');
  assertSummary(await singlePassRead(client), active, 'single pass');

  const heartbeat = await newestSchedulerHeartbeat(client, NOW);
  assert.ok(heartbeat, 'a scheduler heartbeat is found');
  assert.equal(heartbeat.hostname, 'scheduler-1');
  assert.equal(heartbeat.ageSeconds, SCHEDULER_AGE_SECONDS);

  const hosts = await runningTasksByHostname(client, version);
  const running = active.filter((r) => r.state === 'running');
  assert.deepEqual(
    new Map(hosts.map((h) => [JSON.stringify([h.hostname, h.queue]), h.running])),
    tally(running, (r) => [r.hostname, r.queue]),
    'running task instances per (hostname, queue)',
  );
  for (const h of hosts) {
    const stalest = Math.min(
      ...running.filter((r) => r.hostname === h.hostname && r.queue === h.queue).map((r) => r.heartbeatAt!.getTime()),
    );
    assert.equal(h.oldestHeartbeatAt?.getTime(), stalest, `stalest heartbeat on ${h.hostname}/${h.queue}`);
  }
}

/** Declares the whole suite for one schema version. */
export function describeQueries(version: AirflowSchemaVersion): void {
  describe(`metadb queries on Airflow ${version} with ${historyRows(HISTORY).toLocaleString('en')} history rows`, () => {
    let db: Awaited<ReturnType<typeof createDatabase>>;
    let client: pg.Client;
    const active = activeRows(ACTIVE_COUNT);

    before(async () => {
      db = await createDatabase(`ws_af_q${version.replace('.', '')}`);
      client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await loadAirflowSchema(client, version);
      await insertPools(client);
      await insertHistory(client, version, HISTORY);
      await insertActive(client, version, active);
      await insertSchedulerJobs(client, SCHEDULER_AGE_SECONDS);
      await client.query('ANALYZE');
    });
    after(async () => {
      await client?.end();
      await db?.drop();
    });

    test('the history is really there: over a million task instances, almost all terminal', async () => {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM task_instance');
      assert.equal(rows[0]!.n, historyRows(HISTORY) + ACTIVE_COUNT);
      assert.ok(rows[0]!.n >= 1_000_000);
      assert.equal(await detectAirflowSchemaVersion(client), version);
    });

    test('every query returns what the inserted active rows say', async () => {
      await assertResults(client, version, active);
    });

    test('the single pass over the active rows gives exactly what the four per-question queries give', async () => {
      await assertSinglePassMatches(client);
    });

    const plans: [string, string, unknown[]][] = [
      ['single pass over the active rows', ACTIVE_TASK_INSTANCES_SQL, [[...ACTIVE_TASK_STATES]]],
      ['per (queue, state)', TASK_INSTANCES_BY_QUEUE_AND_STATE_SQL, [[...ACTIVE_TASK_STATES]]],
      ['per (pool, state)', TASK_INSTANCES_BY_POOL_AND_STATE_SQL, [[...ACTIVE_TASK_STATES]]],
      ['oldest queued per queue', OLDEST_QUEUED_TASK_BY_QUEUE_SQL, []],
      ['pool open slots', POOL_SLOTS_SQL, []],
      ['running per hostname', RUNNING_TASKS_BY_HOSTNAME_SQL[version], []],
      ['attempt by identity', TASK_INSTANCE_BY_IDENTITY_SQL[version], ['dag_7', 'task_3', 'scheduled__500', -1]],
    ];
    for (const [name, sql, params] of plans) {
      test(`${name}: the plan reads task_instance through an index, never a sequential scan`, async () => {
        const scanned = await seqScannedRelations(client, sql, params);
        assert.ok(!scanned.includes('task_instance'), `Seq Scan on task_instance in: ${sql}`);
        assert.ok(!scanned.includes('job'), `Seq Scan on job in: ${sql}`);
      });
    }

    test("the seed's naive per-queue query does scan task_instance (so the plan check can fail)", async () => {
      const naive = "SELECT state, count(*) FROM task_instance WHERE queue = 'etl' GROUP BY state";
      assert.ok((await seqScannedRelations(client, naive)).includes('task_instance'));
    });

    test('newest scheduler heartbeat: read through job_type_heart, not a scan of job', async () => {
      const scanned = await seqScannedRelations(client, NEWEST_SCHEDULER_HEARTBEAT_SQL, [SCHEDULER_JOB_TYPE]);
      assert.deepEqual(scanned, []);
    });

    test('log template of a dag_run: read by dag_run key, task_instance untouched', async () => {
      const scanned = await seqScannedRelations(client, LOG_TEMPLATE_FOR_DAG_RUN_SQL, ['dag_3', 'scheduled__7']);
      assert.ok(!scanned.includes('dag_run') && !scanned.includes('task_instance'), scanned.join(','));
    });

    test('attempt state by identity: the history row says what the generator wrote', async () => {
      const t = 4;
      const r = 517;
      const state = await taskAttemptState(client, version, {
        dagId: 'dag_9',
        taskId: `task_${t}`,
        runId: `scheduled__${r}`,
        mapIndex: -1,
        tryNumber: 1,
      });
      assert.ok(state);
      assert.equal(state.state, historyState(t, r));
      assert.equal(state.currentTryNumber, 1);
      assert.equal(state.attemptFinished, true);
      assert.equal(state.hostname, `old-worker-${t % 9}`);
      if (version === '3') assert.match(state.id ?? '', /^[0-9a-f-]{36}$/);
      else assert.equal(state.id, null);
    });

    test('attempt state: a running attempt is not finished, an earlier attempt of it is', async () => {
      const row = active.find((r) => r.state === 'running' && r.tryNumber === 2)!;
      const identity = { dagId: row.dagId, taskId: row.taskId, runId: row.runId, mapIndex: -1 };
      const current = await taskAttemptState(client, version, { ...identity, tryNumber: 2 });
      assert.equal(current?.state, 'running');
      assert.equal(current?.attemptFinished, false);
      const earlier = await taskAttemptState(client, version, { ...identity, tryNumber: 1 });
      assert.equal(earlier?.attemptFinished, true);
      const waiting = active.find((r) => r.state === 'up_for_reschedule')!;
      const sensor = await taskAttemptState(client, version, {
        dagId: waiting.dagId,
        taskId: waiting.taskId,
        runId: waiting.runId,
        mapIndex: -1,
        tryNumber: waiting.tryNumber,
      });
      assert.equal(sensor?.attemptFinished, false, 'a rescheduled sensor writes to the same attempt again');
      const missing = await taskAttemptState(client, version, { ...identity, taskId: 'no_such_task', tryNumber: 1 });
      assert.equal(missing, null);
    });

    test('log template: a run keeps its row, a pre-2.3 run (no log_template_id) falls back to row 1', async () => {
      const current = await logTemplateForDagRun(client, 'dag_3', 'scheduled__7');
      assert.deepEqual(current && { id: current.id, filename: current.filename, fallback: current.fallback }, {
        id: 2,
        filename: DEFAULT_LOG_FILENAME_TEMPLATE[version],
        fallback: false,
      });
      const old = await logTemplateForDagRun(client, 'dag_3', 'scheduled__50');
      assert.equal(old?.id, 1);
      assert.equal(old?.filename, PRE_2_3_LOG_TEMPLATE[version].filename);
      assert.equal(old?.fallback, true);
      assert.equal(await logTemplateForDagRun(client, 'dag_3', 'no_such_run'), null);
    });
  });

  test(`Airflow ${version}: the same queries give the same answers on the embedded PostgreSQL (PGlite)`, async () => {
    const db = await PGlite.create();
    try {
      await loadAirflowSchema(db, version);
      await insertPools(db);
      const active = activeRows(300);
      await insertActive(db, version, active);
      await insertSchedulerJobs(db, SCHEDULER_AGE_SECONDS);
      await assertResults(db, version, active);
      await assertSinglePassMatches(db);
    } finally {
      await db.close();
    }
  });
}
