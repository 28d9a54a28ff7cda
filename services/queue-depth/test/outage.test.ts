/**
 * Outages: a private PostgreSQL is restarted and a private Redis stopped for a while under the
 * running service. It keeps running, says up = 0 with one log line per outage (not one per poll),
 * publishes no stale depth (neither to its sinks nor on /metrics), and recovers by itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { demoWorkload, Simulator } from '@windsock/simulator';
import { freePort, startPostgres, startRedis, stopPostgres } from '../../../test/helpers/stack.ts';
import type { QueueDepthService } from '../src/service.ts';
import { capturedLogger, RecordingSink, waitUntil } from './helpers/fixtures.ts';
import { testService } from './helpers/service.ts';

const METADB_NUMBERS = new Set([
  'TaskInstances',
  'TaskInstancesByPool',
  'OldestQueuedTaskAgeSeconds',
  'SchedulerHeartbeatAgeSeconds',
  'PoolOpenSlots',
  'DesiredWorkers',
]);
const BROKER_NUMBERS = new Set(['BrokerQueueLength', 'BrokerUnackedMessages']);

let pgDir: string;
let pgPort: number;
let redisDir: string;
let redisPort: number;
let redisPid = 0;
let outDir: string;
let service: QueueDepthService | undefined;

function stopRedis(): void {
  try {
    process.kill(redisPid, 'SIGKILL');
  } catch {
    // already gone
  }
}

before(async () => {
  pgDir = mkdtempSync(join(tmpdir(), 'ws-qd-pg-'));
  pgPort = await freePort();
  await startPostgres(pgDir, pgPort);
  redisDir = mkdtempSync(join(tmpdir(), 'ws-qd-redis-'));
  redisPort = await freePort();
  redisPid = await startRedis(redisDir, redisPort);
  outDir = mkdtempSync(join(tmpdir(), 'ws-qd-sim-'));
});

after(async () => {
  await service?.stop();
  stopRedis();
  stopPostgres(pgDir, 'immediate');
  for (const d of [pgDir, redisDir, outDir]) if (d) rmSync(d, { recursive: true, force: true });
});

test('PostgreSQL restarted and Redis stopped mid-run: up = 0, one log line each, no stale depth, recovery', async () => {
  const databaseUrl = `postgresql://postgres@127.0.0.1:${pgPort}/postgres`;
  const brokerUrl = `redis://127.0.0.1:${redisPort}/0`;
  // A cluster with work in flight, then frozen: the depth the service must report is fixed.
  const sim = new Simulator({
    version: '3',
    seed: 11,
    workload: demoWorkload({ taskInstancesPerHour: 6000 }),
    outDir,
    databaseUrl,
    redisUrl: brokerUrl,
  });
  await sim.runFor(120);
  const truth = sim.truth().depth;
  await sim.close();
  const queuedDefault = truth.taskInstances.default?.queued ?? 0;
  const runningDefault = truth.taskInstances.default?.running ?? 0;
  assert.ok(queuedDefault + runningDefault > 0, 'the frozen cluster has work in the default queue');

  const recorder = new RecordingSink();
  const { logger, lines } = capturedLogger();
  const built = testService(
    {
      'airflow.databaseUrl': databaseUrl,
      'airflow.brokerUrl': brokerUrl,
      'queueDepth.intervalSeconds': 0.25,
      'queueDepth.statementTimeoutMs': 1000,
      'queueDepth.brokerTimeoutMs': 500,
      'leader.intervalSeconds': 0.25,
      'metrics.sinks': ['prometheus'],
    },
    logger,
    [recorder],
  );
  service = built.service;
  const registry = built.registry;
  const latest = (name: string, dims: Record<string, string> = {}) =>
    recorder.writes
      .filter((w) => w.datum.name === name && Object.entries(dims).every(([k, v]) => w.datum.dimensions[k] === v))
      .at(-1)?.datum.value;
  const depthIsRight = () =>
    latest('TaskInstances', { Queue: 'default', State: 'queued' }) === queuedDefault &&
    latest('TaskInstances', { Queue: 'default', State: 'running' }) === runningDefault;

  await service.start();
  await waitUntil('first publish', () => latest('MetadbUp') === 1 && latest('BrokerUp') === 1 && depthIsRight());

  // --- PostgreSQL goes away (fast shutdown ends every session, the leader lock's too) and comes back.
  const pgStoppedAt = Date.now();
  stopPostgres(pgDir, 'fast');
  await waitUntil('MetadbUp = 0', () => recorder.since(pgStoppedAt, 'MetadbUp').some((d) => d.value === 0));
  const downFrom = recorder.writes.find(
    (w) => w.atMs >= pgStoppedAt && w.datum.name === 'MetadbUp' && w.datum.value === 0,
  )!.atMs;
  const runsBefore = (service.status() as { job: { runs: number } }).job.runs;
  await new Promise((r) => setTimeout(r, 2000));
  const runsDuring = (service.status() as { job: { runs: number } }).job.runs - runsBefore;
  assert.ok(runsDuring >= 4, `the service kept polling while PostgreSQL was down (${runsDuring} polls)`);
  const during = recorder.since(downFrom);
  assert.deepEqual(
    during.filter((d) => METADB_NUMBERS.has(d.name)).map((d) => d.name),
    [],
    'no metadb number published while it is down',
  );
  assert.ok(during.filter((d) => d.name === 'MetadbUp').every((d) => d.value === 0));
  const scrape = await registry.metrics();
  assert.doesNotMatch(scrape, /^windsock_task_instances\{/m, '/metrics serves no stale depth');
  assert.match(scrape, /^windsock_metadb_up\{cluster="airflow"\} 0$/m);

  await startPostgres(pgDir, pgPort);
  const pgBackAt = Date.now();
  await waitUntil(
    'metadb recovered',
    () => recorder.since(pgBackAt, 'MetadbUp').some((d) => d.value === 1) && depthIsRight(),
  );
  assert.match(await registry.metrics(), /^windsock_task_instances\{.*queue="default",state="queued"\} \d+$/m);

  // --- Redis goes away for a while and comes back on the same port.
  const redisStoppedAt = Date.now();
  stopRedis();
  await waitUntil('BrokerUp = 0', () => recorder.since(redisStoppedAt, 'BrokerUp').some((d) => d.value === 0));
  const brokerDownFrom = recorder.writes.find(
    (w) => w.atMs >= redisStoppedAt && w.datum.name === 'BrokerUp' && w.datum.value === 0,
  )!.atMs;
  await new Promise((r) => setTimeout(r, 1500));
  const brokerDuring = recorder.since(brokerDownFrom);
  assert.deepEqual(
    brokerDuring.filter((d) => BROKER_NUMBERS.has(d.name)).map((d) => d.name),
    [],
  );
  assert.ok(
    brokerDuring.some((d) => d.name === 'TaskInstances'),
    'the metadb numbers keep coming while only the broker is down',
  );
  redisPid = await startRedis(redisDir, redisPort);
  const redisBackAt = Date.now();
  await waitUntil('broker recovered', () => recorder.since(redisBackAt, 'BrokerUp').some((d) => d.value === 1));
  await waitUntil('broker numbers again', () => recorder.since(redisBackAt, 'BrokerQueueLength').length > 0);

  // --- One line at the start of each outage and one at its end, however many polls failed.
  const msgs = lines().map((l) => String(l.msg));
  assert.equal(msgs.filter((m) => m.startsWith('metadb unreachable')).length, 1, msgs.join('\n'));
  assert.equal(msgs.filter((m) => m.startsWith('metadb reachable again after')).length, 1, msgs.join('\n'));
  assert.equal(msgs.filter((m) => m.startsWith('broker unreachable')).length, 1, msgs.join('\n'));
  assert.equal(msgs.filter((m) => m.startsWith('broker reachable again after')).length, 1, msgs.join('\n'));
  const recovered = lines().find((l) => String(l.msg).startsWith('metadb reachable again'))!;
  assert.ok(Number(recovered.outageSeconds) > 0 && Number(recovered.failedPolls) >= 4, JSON.stringify(recovered));
  assert.equal((service.status() as { job: { failures: number } }).job.failures, 0, 'no poll ever threw');
});
