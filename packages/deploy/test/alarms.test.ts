/**
 * `windsock alarms plan|apply` against moto through the recording proxy: every recommended alarm
 * passes CloudWatch's limits and is accepted; plan then shows nothing to do, and a changed threshold
 * as one update; an alarm CloudWatch would refuse stops the command before any request is sent.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FaultProxy, startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { awsEnv } from '../../../test/helpers/stack.ts';
import { alarmProblems, recommendedAlarms } from '../src/index.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'windsock.mjs');
const CLUSTER = `al${Date.now().toString(36)}`;
const POOLS = '[{"name":"workers","queues":["default","etl"],"max":8}]';
let proxy: FaultProxy;
let aws: Record<string, string>;

before(async () => {
  aws = await awsEnv();
  proxy = await startFaultProxy(aws.AWS_ENDPOINT_URL as string);
});
after(() => proxy?.close());

/** Runs the CLI without blocking this process (its proxy answers the child's requests). */
function windsock(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('WINDSOCK_') && !k.startsWith('AWS_')),
  );
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      ...clean,
      ...aws,
      AWS_ENDPOINT_URL: proxy.url,
      NODE_NO_WARNINGS: '1',
      WINDSOCK_LOG_LEVEL: 'warn',
      WINDSOCK_CLUSTER: CLUSTER,
      WINDSOCK_WORKER_POOLS: POOLS,
      WINDSOCK_QUEUE_DEPTH__QUEUES: 'default,etl',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr })));
}

const inputs = {
  cluster: 'c',
  namespace: 'Windsock',
  alarms: {
    actions: ['arn:aws:sns:us-east-1:123456789012:oncall'],
    oldestQueuedSeconds: 900,
    schedulerHeartbeatSeconds: 120,
    workersAtMaxMinutes: 30,
    scaleInBlockedMinutes: 60,
    logShipLagSeconds: 300,
  },
  queues: ['default', 'etl'],
  pools: [{ name: 'workers', max: 8 }],
  heartbeat: { dagId: 'windsock_heartbeat', component: 'task', intervalSeconds: 300 },
};

test('every recommended alarm passes the limits, says what to do and chooses TreatMissingData', () => {
  const alarms = recommendedAlarms(inputs);
  assert.deepEqual(alarmProblems(alarms), []);
  // 1 heartbeat + 2 queues + scheduler + metadb + broker + 3 per pool + lag + 9 failure reasons + drops
  assert.equal(alarms.length, 1 + 2 + 1 + 2 + 3 + 1 + 9 + 1);
  assert.equal(new Set(alarms.map((a) => a.AlarmName)).size, alarms.length, 'names are unique');
  for (const a of alarms) {
    assert.ok(a.TreatMissingData, `${a.AlarmName}: TreatMissingData set`);
    assert.ok((a.AlarmDescription ?? '').length > 80, `${a.AlarmName}: a description for on-call`);
    assert.deepEqual(a.AlarmActions, inputs.alarms.actions);
  }
  const byName = new Map(alarms.map((a) => [a.AlarmName, a]));
  assert.equal(byName.get('c-windsock-metadb-down')?.TreatMissingData, 'breaching', 'blind = page');
  assert.equal(byName.get('c-windsock-heartbeat-missing')?.TreatMissingData, 'breaching');
  assert.equal(byName.get('c-windsock-log-ship-lag')?.TreatMissingData, 'notBreaching');
  assert.equal(byName.get('c-windsock-workers-at-max-workers')?.Threshold, 8, 'the pool max from the config');
});

test('alarms apply: moto accepts every alarm; plan then shows none to change, and a new threshold as one update', async () => {
  const applied = await windsock(['alarms', 'apply']);
  assert.equal(applied.status, 0, applied.stderr);
  const n = recommendedAlarms({ ...inputs, cluster: CLUSTER, alarms: { ...inputs.alarms, actions: [] } }).length;
  assert.match(applied.stdout, new RegExp(`${n} to create, 0 to update, 0 unchanged`));
  const puts = proxy.requests.filter((r) =>
    [r.path, String(r.headers['x-amz-target'] ?? ''), r.body.toString('latin1')].some((s) =>
      s.includes('PutMetricAlarm'),
    ),
  );
  assert.equal(puts.length, n);
  assert.ok(puts.every((r) => r.status === 200));

  const plan = await windsock(['alarms', 'plan', '--format', 'json']);
  assert.equal(plan.status, 0, plan.stderr);
  const body = JSON.parse(plan.stdout) as { plan: { change: string }[] };
  assert.ok(
    body.plan.every((p) => p.change === 'unchanged'),
    plan.stdout,
  );

  const changed = await windsock(['alarms', 'plan'], { WINDSOCK_ALARMS__LOG_SHIP_LAG_SECONDS: '600' });
  assert.equal(changed.status, 0, changed.stderr);
  assert.match(
    changed.stdout,
    new RegExp(`~ ${CLUSTER}-windsock-log-ship-lag\\n(\\s+.*\\n)*\\s+Threshold: 300 -> 600`),
  );
  assert.match(changed.stdout, new RegExp(`0 to create, 1 to update, ${n - 1} unchanged \\(plan only\\)`));
});

test('an alarm CloudWatch would refuse stops the command before any request', async () => {
  const before = proxy.requests.length;
  // A valid 240-character cluster name makes alarm names longer than CloudWatch's 255.
  const r = await windsock(['alarms', 'apply'], { WINDSOCK_CLUSTER: 'c'.repeat(240) });
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /CloudWatch would refuse these alarms \(nothing sent\): c+-windsock-heartbeat-missing: AlarmName must be 1-255 characters/,
  );
  assert.equal(proxy.requests.length, before, 'nothing was sent');
});
