/**
 * The leader re-confirms its lock after reading and before publishing: a leader whose lock
 * connection is cut while a poll is in flight publishes nothing for that poll (another replica may
 * already hold the lock and publish the same interval; publishing too would double every sum).
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
let admin: pg.Client | undefined;

before(async () => {
  db = await createDatabase('qdconfirm');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await loadAirflowSchema(c, '3');
  await c.end();
});

after(async () => {
  await admin?.end().catch(() => undefined);
  await service?.stop().catch(() => undefined);
  await db?.drop();
});

interface Status {
  role: string;
  job: { runs: number };
  publishedGauges: number;
  leader: { leader: boolean };
}

test('a leader whose lock connection is cut in the middle of a poll publishes nothing for that poll', async () => {
  const recorder = new RecordingSink();
  const { logger, lines } = capturedLogger('qd-confirm');
  ({ service } = testService(
    {
      'airflow.databaseUrl': db.url,
      'queueDepth.intervalSeconds': 0.2,
      'queueDepth.statementTimeoutMs': 600_000,
      // The elector's own check runs rarely: only the poll's confirm() can notice the cut in time.
      'leader.intervalSeconds': 300,
      'metrics.sinks': [],
    },
    logger,
    [recorder],
  ));
  const status = () => service!.status() as Status;
  await service.start();
  await waitUntil(
    'the replica leads and has published',
    () => status().role === 'leader' && status().publishedGauges > 0,
  );

  // Hold the next poll inside its read: an exclusive lock on task_instance makes its SELECT wait.
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query('BEGIN; LOCK TABLE task_instance IN ACCESS EXCLUSIVE MODE');
  const blockedPoll = async () =>
    (
      await admin!.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'windsock-queue-depth' AND wait_event_type = 'Lock' AND datname = current_database()",
      )
    ).rowCount === 1;
  await waitUntil('a poll is waiting inside its metadb read', blockedPoll);
  const runsBefore = status().job.runs;
  const publishedBefore = status().publishedGauges;
  const writesBefore = recorder.writes.length;

  // Cut the lock's connection while that poll is in flight, and let the elector notice.
  const cut = await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'windsock-leader-queue-depth' AND datname = current_database()",
  );
  assert.equal(cut.rowCount, 1, 'one lock connection was cut');
  await waitUntil('the lock connection is seen lost', () => status().leader.leader === false);
  assert.equal(status().job.runs, runsBefore, 'the poll is still in flight');

  // Let the poll finish its read; it must not publish what it read.
  await admin.query('COMMIT');
  await waitUntil('the in-flight poll finished', () => status().job.runs > runsBefore);
  assert.equal(status().publishedGauges, publishedBefore, 'nothing handed to the sinks for that poll');
  assert.equal(recorder.writes.length, writesBefore, 'no sink received anything after the cut');
  assert.equal(status().role, 'follower');
  assert.ok(
    lines().some((l) => l.msg === 'lost leadership'),
    'the loss of leadership is logged',
  );
});
