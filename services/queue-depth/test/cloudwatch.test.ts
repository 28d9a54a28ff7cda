/**
 * What reaches CloudWatch (moto, through the real SDK, read back with GetMetricStatistics): explicit
 * zeros for an idle queue, the real counts for a busy one, one PutMetricData request per poll.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { ACTIVE_TASK_STATES } from '@windsock/airflow';
import { type DepthSnapshot, demoWorkload, Simulator } from '@windsock/simulator';
import { createDatabase, privateRedis, testStack, useAwsEnv } from '../../../test/helpers/stack.ts';
import { capturedLogger, waitUntil } from './helpers/fixtures.ts';
import { testService } from './helpers/service.ts';

const namespace = `WindsockQD${randomBytes(4).toString('hex')}`;
const cluster = 'cw-test';
let db: Awaited<ReturnType<typeof createDatabase>>;
let redis: Awaited<ReturnType<typeof privateRedis>>;
let outDir: string;
let truth: DepthSnapshot;

before(async () => {
  await testStack();
  await useAwsEnv();
  db = await createDatabase('qdcw');
  redis = await privateRedis();
  outDir = mkdtempSync(join(tmpdir(), 'ws-qd-cw-'));
  const sim = new Simulator({
    version: '2.10',
    seed: 3,
    workload: demoWorkload({ taskInstancesPerHour: 6000 }),
    outDir,
    databaseUrl: db.url,
    redisUrl: redis.url,
  });
  await sim.runFor(90);
  truth = sim.truth().depth;
  await sim.close();
});

after(async () => {
  try {
    await redis?.stop();
  } catch {
    // the helper may race redis' own shutdown when removing its folder
  }
  await db?.drop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

async function maximum(cw: CloudWatchClient, name: string, dims: Record<string, string>): Promise<number[]> {
  const now = Date.now();
  const out = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: name,
      Dimensions: Object.entries({ Cluster: cluster, ...dims }).map(([Name, Value]) => ({ Name, Value })),
      StartTime: new Date(now - 10 * 60_000),
      EndTime: new Date(now + 10 * 60_000),
      Period: 60,
      Statistics: ['Maximum', 'Minimum'],
    }),
  );
  return (out.Datapoints ?? []).flatMap((d) => [d.Maximum as number, d.Minimum as number]);
}

test('CloudWatch gets explicit zeros for idle queues and the real counts for busy ones', async () => {
  const { logger } = capturedLogger();
  const { service, registry } = testService(
    {
      cluster,
      'airflow.databaseUrl': db.url,
      'airflow.brokerUrl': redis.url,
      'queueDepth.queues': ['default', 'idle_queue'],
      'queueDepth.intervalSeconds': 0.5,
      'metrics.sinks': ['cloudwatch'],
      'metrics.namespace': namespace,
    },
    logger,
  );
  const requests = async () => {
    const m = (await registry.getSingleMetric('windsock_cloudwatch_requests_total')?.get())?.values ?? [];
    return m.reduce((s, v) => s + v.value, 0);
  };
  const polls = () => (service.status() as { job: { runs: number } }).job.runs;
  await service.start();
  await waitUntil('three polls', () => polls() >= 3);
  await service.stop();
  const pollCount = polls();
  const sent = await requests();
  // One request per poll (the last poll's flush is the one close() sends).
  assert.ok(sent >= pollCount - 1 && sent <= pollCount + 1, `${sent} PutMetricData requests for ${pollCount} polls`);

  const cw = new CloudWatchClient({});
  for (const state of ACTIVE_TASK_STATES) {
    const values = await maximum(cw, 'TaskInstances', { Queue: 'idle_queue', State: state });
    assert.ok(values.length > 0, `idle_queue/${state} has datapoints`);
    assert.ok(
      values.every((v) => v === 0),
      `idle_queue/${state} is an explicit 0: ${values}`,
    );
  }
  assert.deepEqual(new Set(await maximum(cw, 'OldestQueuedTaskAgeSeconds', { Queue: 'idle_queue' })), new Set([0]));
  assert.deepEqual(new Set(await maximum(cw, 'BrokerQueueLength', { Queue: 'idle_queue' })), new Set([0]));
  const running = truth.taskInstances.default?.running ?? 0;
  assert.ok(running > 0, 'the default queue has running tasks');
  assert.deepEqual(
    new Set(await maximum(cw, 'TaskInstances', { Queue: 'default', State: 'running' })),
    new Set([running]),
  );
  assert.deepEqual(new Set(await maximum(cw, 'MetadbUp', {})), new Set([1]));
});
