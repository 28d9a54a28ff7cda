/**
 * docker/iam/*.json: valid JSON policies of the shape the evaluator understands, and for the services
 * run here against moto through a recording proxy (log-shipper --once with a multipart upload and
 * tags, run twice so the second finds the objects there; log-metrics and queue-depth under `windsock up`,
 * whose drain flushes to CloudWatch), every AWS call they made is allowed by
 * their own policy, and every action the policy grants was used or is listed below with the reason.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { loadAirflowSchema } from '@windsock/airflow';
import pg from 'pg';
import { type FaultProxy, startFaultProxy } from '../helpers/faultproxy.ts';
import { awsEnv, createDatabase, freePort, testStack } from '../helpers/stack.ts';
import { DOCKER, fill, PLACEHOLDERS, ROOT } from './helpers.ts';
import {
  type AwsCall,
  allowingStatements,
  callsOf,
  checkPolicyShape,
  grantedActions,
  type Policy,
} from './iam-eval.ts';

const BIN = join(ROOT, 'bin', 'windsock.mjs');
const BUCKET = `ws-iam-${Date.now().toString(36)}`;
const VALUES: Record<string, string> = {
  ...PLACEHOLDERS,
  LOG_BUCKET: BUCKET,
  LOG_PREFIX: 'logs',
  NAMESPACE: 'Windsock',
};

/** Granted but not called in these runs, and why the grant stays. */
const JUSTIFIED: Record<string, Record<string, string>> = {
  'log-shipper': {
    's3:ListBucket': 'without it S3 answers a HEAD of a missing key with 403 instead of 404 (first upload of a file)',
    's3:AbortMultipartUpload': 'a multipart upload that failed is aborted so its parts stop costing storage',
  },
};

const policy = (name: string): Policy =>
  JSON.parse(fill(readFileSync(join(DOCKER, 'iam', `${name}.json`), 'utf8'), VALUES)) as Policy;

let dir: string;
let aws: Record<string, string>;
const recorded = new Map<string, AwsCall[]>();

async function recording(name: string, run: (env: Record<string, string>) => Promise<void>): Promise<void> {
  const proxy: FaultProxy = await startFaultProxy(aws.AWS_ENDPOINT_URL as string);
  try {
    await run({ ...aws, AWS_ENDPOINT_URL: proxy.url });
  } finally {
    await proxy.close();
  }
  recorded.set(
    name,
    proxy.requests.flatMap((r) => callsOf(r, VALUES.ACCOUNT_ID as string, VALUES.REGION as string)),
  );
}

function spawnWindsock(args: string[], env: Record<string, string>): { proc: ChildProcess; done: Promise<string> } {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_') && !k.startsWith('AWS_'),
    ),
  );
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...clean, NODE_NO_WARNINGS: '1', WINDSOCK_HTTP__ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  const done = new Promise<string>((resolve, reject) =>
    proc.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`windsock ${args[0]} exited ${code}:\n${out}`)),
    ),
  );
  return { proc, done };
}

/** `windsock up` until /readyz answers 200, then SIGTERM: the drain's flush publishes what it has. */
async function upUntilReady(aws: Record<string, string>, env: Record<string, string>): Promise<void> {
  const port = await freePort();
  const w = spawnWindsock(['up'], {
    ...aws,
    WINDSOCK_HTTP__ENABLED: 'true',
    WINDSOCK_HTTP__PORT: String(port),
    WINDSOCK_METRICS__SINKS: 'cloudwatch',
    ...env,
  });
  let exited = false;
  w.done
    .catch(() => undefined)
    .finally(() => {
      exited = true;
    });
  for (;;) {
    if (exited) await w.done;
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  w.proc.kill('SIGTERM');
  await w.done;
}

before(async () => {
  const stack = await testStack();
  aws = await awsEnv();
  dir = mkdtempSync(join(tmpdir(), 'ws-iam-'));
  const s3 = new S3Client({
    region: aws.AWS_REGION,
    endpoint: aws.AWS_ENDPOINT_URL,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();

  // log-shipper: a small finished log and one above the multipart threshold, with object tags.
  const base = join(dir, 'logs');
  const small = join(base, 'dag_id=d/run_id=r/task_id=a/attempt=1.log');
  const big = join(base, 'dag_id=d/run_id=r/task_id=b/attempt=1.log');
  const end = '[2025-01-01T00:00:09.000+0000] {x.py:2} INFO - Task exited with return code 0\n';
  for (const f of [small, big]) mkdirSync(dirname(f), { recursive: true });
  writeFileSync(small, `[2025-01-01T00:00:00.000+0000] {x.py:1} ERROR - boom\n${end}`);
  writeFileSync(
    big,
    `${'[2025-01-01T00:00:00.000+0000] {x.py:1} INFO - filler line of a big log\n'.repeat(90_000)}${end}`,
  );
  await recording('log-shipper', async (env) => {
    for (const run of [1, 2])
      await spawnWindsock(['log-shipper', '--once'], {
        ...env,
        // The second run has no journal (a replaced task): it finds the objects already in S3.
        WINDSOCK_STATE_DIR: join(dir, `ls-state-${run}`),
        WINDSOCK_AIRFLOW__BASE_LOG_FOLDER: base,
        WINDSOCK_AIRFLOW__REMOTE_BASE_LOG_FOLDER: `s3://${BUCKET}/logs`,
        WINDSOCK_LOG_SHIPPER__MULTIPART_THRESHOLD_MB: '5',
        WINDSOCK_LOG_SHIPPER__PART_SIZE_MB: '5',
        WINDSOCK_LOG_SHIPPER__TAGS: '{"team":"data"}',
        WINDSOCK_METRICS__SINKS: 'cloudwatch',
      }).done;
  });

  await recording('log-metrics', (env) =>
    upUntilReady(env, {
      WINDSOCK_SERVICES: 'log-metrics',
      WINDSOCK_LOG_METRICS__INPUTS: JSON.stringify([{ path: small }]),
      WINDSOCK_LOG_METRICS__START_POSITION: 'beginning',
      WINDSOCK_STATE_DIR: join(dir, 'lm-state'),
    }),
  );

  const db = await createDatabase('iam');
  try {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await loadAirflowSchema(c, '2.10');
    await c.end();
    await recording('queue-depth', (env) =>
      upUntilReady(env, {
        WINDSOCK_SERVICES: 'queue-depth',
        WINDSOCK_LEADER__ENABLED: 'false',
        WINDSOCK_AIRFLOW__DATABASE_URL: db.url,
        WINDSOCK_AIRFLOW__BROKER_URL: `${stack.redisUrl.replace(/\/\d+$/, '')}/12`,
        WINDSOCK_STATE_DIR: join(dir, 'qd-state'),
      }),
    );
  } finally {
    await db.drop();
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every policy in docker/iam is valid JSON of a shape the evaluator understands', () => {
  for (const f of ['container-stats', 'deploy', 'log-metrics', 'log-shipper', 'queue-depth', 'scaler', 'worker-agent'])
    checkPolicyShape(policy(f));
});

for (const service of ['log-shipper', 'log-metrics', 'queue-depth']) {
  test(`${service}: every AWS call it made is allowed by docker/iam/${service}.json, and nothing more is granted`, () => {
    const p = policy(service);
    const calls = recorded.get(service) ?? [];
    assert.ok(calls.length > 0, 'the run made AWS calls');
    for (const call of calls) {
      assert.ok(
        allowingStatements(p, call).length > 0,
        `${service}: ${call.action} on ${call.resource} ${JSON.stringify(call.context)} (${call.request}) is denied`,
      );
    }
    const used = new Set(calls.map((c) => c.action.toLowerCase()));
    for (const action of grantedActions(p)) {
      assert.ok(!action.includes('*'), `${service}: no wildcard actions (${action})`);
      if (used.has(action.toLowerCase())) continue;
      assert.ok(JUSTIFIED[service]?.[action], `${service}: ${action} is granted but never called (and not justified)`);
    }
  });
}

test('the evaluator denies what the policies do not grant', () => {
  const ls = policy('log-shipper');
  const put = (key: string, context = {}): AwsCall => ({
    action: 's3:PutObject',
    resource: `arn:aws:s3:::${BUCKET}/${key}`,
    context,
    request: 'test',
  });
  assert.ok(allowingStatements(ls, put('logs/dag_id=d/x.log')).length > 0);
  assert.equal(allowingStatements(ls, put('other/x.log')).length, 0, 'outside the log prefix');
  assert.equal(
    allowingStatements(ls, {
      action: 's3:DeleteObject',
      resource: `arn:aws:s3:::${BUCKET}/logs/x`,
      context: {},
      request: 't',
    }).length,
    0,
  );
  const metric = (ns: string): AwsCall => ({
    action: 'cloudwatch:PutMetricData',
    resource: '*',
    context: { 'cloudwatch:namespace': ns },
    request: 't',
  });
  assert.ok(allowingStatements(policy('queue-depth'), metric('Windsock')).length > 0);
  assert.equal(allowingStatements(policy('queue-depth'), metric('AWS/EC2')).length, 0, 'another namespace');
});
