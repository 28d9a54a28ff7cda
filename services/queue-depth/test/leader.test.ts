/**
 * Two replicas on one metadb: only the leader publishes, the follower publishes nothing but is
 * ready, and when the leader stops the follower takes over; never both at once.
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
const services: QueueDepthService[] = [];

before(async () => {
  db = await createDatabase('qdleader');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await loadAirflowSchema(c, '3');
  await c.end();
});

after(async () => {
  for (const s of services) await s.stop().catch(() => undefined);
  await db?.drop();
});

function replica(name: string) {
  const recorder = new RecordingSink();
  const { logger } = capturedLogger(name);
  const { service } = testService(
    {
      'airflow.databaseUrl': db.url,
      'queueDepth.intervalSeconds': 0.2,
      'leader.intervalSeconds': 0.2,
      'metrics.sinks': [],
    },
    logger,
    [recorder],
  );
  services.push(service);
  return { service, recorder };
}

test('only the leader publishes; the follower is ready and takes over when the leader stops', async () => {
  const a = replica('replica-a');
  const b = replica('replica-b');
  await a.service.start();
  await b.service.start();
  const runs = (s: QueueDepthService) => (s.status() as { job: { runs: number } }).job.runs;
  await waitUntil('both replicas ran ten intervals', () => runs(a.service) >= 10 && runs(b.service) >= 10, 60_000);

  const [leader, follower] = a.recorder.writes.length > 0 ? [a, b] : [b, a];
  assert.ok(leader.recorder.since(0, 'MetadbUp').length >= 5, 'the leader publishes every poll');
  assert.equal(follower.recorder.writes.length, 0, 'the follower published nothing');
  assert.deepEqual(await follower.service.readiness(), { metadb: true });
  assert.equal((follower.service.status() as { role: string }).role, 'follower');

  await leader.service.stop();
  const lastOfLeader = leader.recorder.writes.at(-1)!.atMs;
  // How fast the follower takes over (within one leader interval) is measured by the queue-depth
  // bench, not asserted here: a loaded machine delays timers, not the order of events.
  await waitUntil('the follower takes over', () => follower.recorder.since(0, 'MetadbUp').length >= 3, 60_000);
  const firstOfFollower = follower.recorder.writes[0]!.atMs;
  assert.ok(firstOfFollower >= lastOfLeader, 'never both publishing');
  assert.equal((follower.service.status() as { role: string }).role, 'leader');
});
