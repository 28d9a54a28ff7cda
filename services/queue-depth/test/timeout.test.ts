/**
 * A metadb that answers too slowly (here: task_instance locked by another session) is a timing-out
 * poll: MetadbUp = 0 within the statement_timeout, no depth, polls do not pile up, and the service
 * recovers by itself when the database is fast again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadAirflowSchema } from '@windsock/airflow';
import pg from 'pg';
import { createDatabase } from '../../../test/helpers/stack.ts';
import type { QueueDepthService } from '../src/service.ts';
import { capturedLogger, RecordingSink, waitUntil } from './helpers/fixtures.ts';
import { testService } from './helpers/service.ts';

let db: Awaited<ReturnType<typeof createDatabase>>;
let service: QueueDepthService | undefined;

before(async () => {
  db = await createDatabase('qdtimeout');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await loadAirflowSchema(c, '2.10');
  await c.end();
});

after(async () => {
  await service?.stop();
  await db?.drop();
});

test('a poll slower than statement_timeout gives MetadbUp = 0 and no depth, then recovers', async () => {
  const recorder = new RecordingSink();
  const { logger, lines } = capturedLogger();
  const statementTimeoutMs = 300;
  ({ service } = testService(
    {
      'airflow.databaseUrl': db.url,
      'queueDepth.intervalSeconds': 0.2,
      'queueDepth.statementTimeoutMs': statementTimeoutMs,
      'leader.enabled': false,
      'metrics.sinks': [],
    },
    logger,
    [recorder],
  ));
  await service.start();
  await waitUntil('first good poll', () => recorder.since(0, 'TaskInstances').length > 0);

  const locker = new pg.Client({ connectionString: db.url });
  await locker.connect();
  await locker.query('BEGIN; LOCK TABLE task_instance IN ACCESS EXCLUSIVE MODE');
  const lockedAt = Date.now();
  await waitUntil('MetadbUp = 0', () => recorder.since(lockedAt, 'MetadbUp').some((d) => d.value === 0));
  const downFrom = recorder.writes.find(
    (w) => w.atMs >= lockedAt && w.datum.name === 'MetadbUp' && w.datum.value === 0,
  )!.atMs;
  // Polls keep ending while the lock is still held: each is cut by statement_timeout (the outage
  // line below names it), none waits for the lock. Counted in polls, not in milliseconds.
  await waitUntil(
    'three more polls end while the lock is held',
    () => recorder.since(lockedAt, 'MetadbUp').filter((d) => d.value === 0).length >= 4,
    60_000,
  );
  const waiting = await locker.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'windsock-queue-depth' AND wait_event_type = 'Lock'`,
  );
  assert.ok(waiting.rows[0]!.n <= 1, `${waiting.rows[0]!.n} polls waiting on the lock: they pile up`);
  assert.deepEqual(
    recorder
      .since(downFrom)
      .filter((d) => d.name !== 'MetadbUp')
      .map((d) => d.name),
    [],
    'no depth while the metadb times out',
  );
  // A server-side kill of a poll in flight (what a PostgreSQL restart does to it) fails that poll only.
  // Tried until one poll was caught waiting on the lock (a count of tries would depend on the
  // machine's speed: under load the polls are further apart).
  let terminated = 0;
  await waitUntil(
    'a poll in flight terminated by the server',
    async () => {
      // pg_stat_activity is a snapshot taken once per transaction (the locker's is still open, and
      // read it above): without clearing it, every try would look at the same stale poll.
      await locker.query('SELECT pg_stat_clear_snapshot()');
      const r = await locker.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
         WHERE application_name = 'windsock-queue-depth' AND wait_event_type = 'Lock'`,
      );
      terminated += r.rows.filter((x) => x.ok).length;
      return terminated > 0;
    },
    60_000,
  );
  await locker.query('ROLLBACK');
  await locker.end();

  const freeAt = Date.now();
  await waitUntil('recovered', () => recorder.since(freeAt, 'MetadbUp').some((d) => d.value === 1));
  const msgs = lines().map((l) => String(l.msg));
  const down = msgs.filter((m) => m.startsWith('metadb unreachable'));
  assert.equal(down.length, 1, msgs.join('\n'));
  assert.match(down[0]!, /statement timeout/);
  assert.equal(msgs.filter((m) => m.startsWith('metadb reachable again')).length, 1);
});
