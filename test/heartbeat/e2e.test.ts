/**
 * The heartbeat end to end, judged from outside Airflow: the DAG's per-queue probes and final task
 * run as real Celery tasks (Debian's python3-celery) on a real worker over a real Redis, each probe
 * routed to its own queue; the final task logs the success token at its Airflow task-log path;
 * log-metrics (the real daemon) counts it and sends HeartbeatSuccess, HeartbeatLatencySeconds and
 * HeartbeatQueuePickupSeconds to moto's CloudWatch through the SDK; `windsock heartbeat alarm
 * --apply` lands the alarm there, and a bad alarm is refused before any request.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { startFaultProxy } from '../helpers/faultproxy.ts';
import { awsEnv, privateRedis, testStack, useAwsEnv } from '../helpers/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/windsock.mjs');
const QUEUES = ['default', 'gpu'];
const cluster = `hb-${randomBytes(3).toString('hex')}`;
const namespace = `WindsockHB${randomBytes(3).toString('hex')}`;
const runId = 'scheduled__2026-12-02T10:00:00+00:00';

let redis: Awaited<ReturnType<typeof privateRedis>>;
let worker: ChildProcess | undefined;
let workerLog = '';
let dir: string;
let env: Record<string, string>;

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k, v]) => v !== undefined && !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_'),
    ),
  ) as Record<string, string>;
}

before(async () => {
  await testStack();
  await useAwsEnv();
  redis = await privateRedis();
  dir = mkdtempSync(join(tmpdir(), 'ws-hb-e2e-'));
  env = { ...cleanEnv(), ...(await awsEnv()) };
  const pyEnv = {
    PATH: '/usr/bin:/bin',
    BROKER: redis.url,
    WINDSOCK_DAGS: join(ROOT, 'dags'),
    PYTHONPATH: join(ROOT, 'test/heartbeat'),
  };
  worker = spawn(
    '/usr/bin/python3',
    [
      '-m',
      'celery',
      '-A',
      'celery_heartbeat_app',
      'worker',
      '-Q',
      QUEUES.join(','),
      '--pool',
      'solo',
      '-n',
      'hbworker@%h',
      '--without-gossip',
      '--without-mingle',
    ],
    { env: pyEnv, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  worker.stdout?.on('data', (d) => (workerLog += d));
  worker.stderr?.on('data', (d) => (workerLog += d));
});

after(async () => {
  worker?.kill('SIGTERM');
  await redis?.stop().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What the scheduler would do: one probe per queue, then the final task with their results. */
function runDag(logPath: string): { token: string; results: Array<{ queue: string; pickup_seconds: number }> } {
  const script = `
import json, os, sys
from datetime import datetime, timezone
sys.path.insert(0, os.environ['PYTHONPATH'])
from celery_heartbeat_app import app, queue_probe, success_token
run_started = datetime.now(timezone.utc).isoformat()
probes = [queue_probe.apply_async(args=[q, datetime.now(timezone.utc).isoformat()], queue=q) for q in ${JSON.stringify(QUEUES)}]
results = [p.get(timeout=120) for p in probes]
token = success_token.apply_async(args=[results, ${JSON.stringify(cluster)}, ${JSON.stringify(runId)}, run_started, ${JSON.stringify(logPath)}], queue='default').get(timeout=120)
print(json.dumps({"token": token, "results": results}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], {
    env: {
      PATH: '/usr/bin:/bin',
      BROKER: redis.url,
      WINDSOCK_DAGS: join(ROOT, 'dags'),
      PYTHONPATH: join(ROOT, 'test/heartbeat'),
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `${r.stderr}\nworker:\n${workerLog}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

async function statistic(cw: CloudWatchClient, name: string, dims: Record<string, string>, stat: 'Sum' | 'Maximum') {
  const now = Date.now();
  const out = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: name,
      Dimensions: Object.entries({ Cluster: cluster, Component: 'task', ...dims }).map(([Name, Value]) => ({
        Name,
        Value,
      })),
      StartTime: new Date(now - 30 * 60_000),
      EndTime: new Date(now + 10 * 60_000),
      Period: 3600,
      Statistics: [stat],
    }),
  );
  return (out.Datapoints ?? []).reduce((a, d) => (stat === 'Sum' ? a + (d.Sum ?? 0) : Math.max(a, d.Maximum ?? 0)), 0);
}

test('per-queue probes run on a real Celery worker, the token reaches log-metrics and CloudWatch', async () => {
  const base = join(dir, 'logs');
  const logPath = join(base, 'dag_id=windsock_heartbeat', `run_id=${runId}`, 'task_id=success_token', 'attempt=1.log');
  const { token, results } = runDag(logPath);
  // each probe ran on the queue it was routed to, and its pickup delay is in the token
  assert.deepEqual(
    results.map((r) => r.queue),
    QUEUES,
  );
  for (const r of results) {
    assert.ok(r.pickup_seconds >= 0 && r.pickup_seconds < 120, `pickup ${r.pickup_seconds}`);
    assert.ok(token.includes(`${r.queue}:${r.pickup_seconds.toFixed(3)}`), token);
  }
  assert.match(
    token,
    new RegExp(
      `^WINDSOCK_HEARTBEAT_OK v=2 cluster=${cluster} run_id=${runId.replace(/[+]/g, '\\+')} latency_seconds=\\d+\\.\\d{3} pickup_seconds=`,
    ),
  );
  assert.ok(readFileSync(logPath, 'utf8').includes(token));
  const latency = Number(/latency_seconds=([\d.]+)/.exec(token)?.[1]);

  const lm = spawn(
    process.execPath,
    [
      BIN,
      'log-metrics',
      `${base}/**/*.log`,
      '--sinks',
      'cloudwatch',
      '--flush-interval',
      '0.5',
      '--state-dir',
      join(dir, 'state'),
      '--start-position',
      'beginning',
    ],
    {
      env: { ...env, WINDSOCK_CLUSTER: cluster, WINDSOCK_METRICS__NAMESPACE: namespace },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let lmLog = '';
  lm.stderr?.on('data', (d) => (lmLog += d));
  const cw = new CloudWatchClient({});
  try {
    for (let i = 0; i < 600 && (await statistic(cw, 'HeartbeatSuccess', {}, 'Sum')) < 1; i++)
      await new Promise((r) => setTimeout(r, 250));
  } finally {
    lm.kill('SIGTERM');
    await new Promise((r) => lm.on('exit', r));
  }
  assert.equal(await statistic(cw, 'HeartbeatSuccess', {}, 'Sum'), 1, lmLog);
  assert.equal(await statistic(cw, 'HeartbeatLatencySeconds', {}, 'Maximum'), latency);
  for (const r of results)
    assert.equal(
      await statistic(cw, 'HeartbeatQueuePickupSeconds', { Queue: r.queue }, 'Maximum'),
      Number(r.pickup_seconds.toFixed(3)),
    );
});

test('windsock heartbeat alarm --apply lands in CloudWatch with TreatMissingData=breaching; a bad one is refused before any request', async () => {
  const stack = await testStack();
  const proxy = await startFaultProxy(stack.motoUrl);
  try {
    const aws = { ...env, AWS_ENDPOINT_URL: proxy.url, WINDSOCK_CLUSTER: cluster };
    const bad = spawnSync(process.execPath, [BIN, 'heartbeat', 'alarm', '--apply'], {
      env: {
        ...aws,
        WINDSOCK_HEARTBEAT__ALARM_ACTIONS: JSON.stringify(
          Array.from({ length: 6 }, (_, i) => `arn:aws:sns:us-east-1:123456789012:t${i}`),
        ),
      },
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(bad.status, 2, `${bad.error ?? ''} ${bad.stderr}`);
    assert.match(bad.stderr, /would be refused by CloudWatch: AlarmActions may list at most 5 ARNs \(got 6\)/);
    assert.equal(proxy.requests.length, 0, 'no request may leave before the alarm is valid');

    await proxy.close();
    const good = spawnSync(process.execPath, [BIN, 'heartbeat', 'alarm', '--apply', '--interval-seconds', '300'], {
      env: {
        ...env,
        WINDSOCK_CLUSTER: cluster,
        WINDSOCK_HEARTBEAT__ALARM_ACTIONS: '["arn:aws:sns:us-east-1:123456789012:oncall"]',
      },
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(good.status, 0, `${good.error ?? ''} ${good.stderr}`);
    const cw = new CloudWatchClient({});
    const { MetricAlarms } = await cw.send(
      new DescribeAlarmsCommand({ AlarmNames: [`${cluster}-windsock-heartbeat-missing`] }),
    );
    const alarm = MetricAlarms?.[0];
    assert.ok(alarm, 'the alarm exists in moto');
    assert.equal(alarm.TreatMissingData, 'breaching');
    assert.equal(alarm.MetricName, 'HeartbeatSuccess');
    assert.equal(alarm.Period, 300);
    assert.equal(alarm.EvaluationPeriods, 2);
    assert.deepEqual(alarm.AlarmActions, ['arn:aws:sns:us-east-1:123456789012:oncall']);
  } finally {
    await proxy.close().catch(() => {});
  }
});
