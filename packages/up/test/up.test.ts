/**
 * `windsock up` with three real services in one process (queue-depth on a metadb with Airflow's
 * tables and a Redis broker, log-metrics following task logs, log-shipper shipping them to S3 on
 * moto): one HTTP port answers for all, SIGTERM drains all three within the grace period and no
 * metric is lost (the lines written just before the signal are counted in the EMF file);
 * a service that fails at start is reported on /readyz and in the log while the others run on.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { loadAirflowSchema } from '@windsock/airflow';
import pg from 'pg';
import { awsEnv, createDatabase, freePort, testStack } from '../../../test/helpers/stack.ts';

const BIN = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));
const QUEUED = 3;
let db: Awaited<ReturnType<typeof createDatabase>>;
let dir: string;
let aws: Record<string, string>;
let s3: S3Client;
let bucket: string;
let redisUrl: string;

before(async () => {
  const stack = await testStack();
  redisUrl = `${stack.redisUrl.replace(/\/\d+$/, '')}/11`;
  aws = await awsEnv();
  dir = mkdtempSync(join(tmpdir(), 'ws-up-'));
  db = await createDatabase('up');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await loadAirflowSchema(c, '2.10');
  await c.query(`
    INSERT INTO dag_run (dag_id, run_id, execution_date, run_type, clear_number, state)
      VALUES ('d', 'r', now(), 'manual', 0, 'running');
    INSERT INTO task_instance (task_id, dag_id, run_id, map_index, state, pool, pool_slots, queue, queued_dttm)
      SELECT 't' || i, 'd', 'r', -1, 'queued', 'default_pool', 1, 'etl', now() - interval '90 seconds'
      FROM generate_series(1, ${QUEUED}) AS i;`);
  await c.end();
  s3 = new S3Client({
    region: aws.AWS_REGION,
    endpoint: aws.AWS_ENDPOINT_URL,
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  bucket = `ws-up-${Date.now().toString(36)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

after(async () => {
  await db?.drop();
  s3?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Up {
  proc: ChildProcess;
  url: string;
  log: () => string;
  exited: Promise<number | null>;
}

async function up(name: string, env: Record<string, string>): Promise<Up> {
  const port = await freePort();
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_') && !k.startsWith('AWS_'),
    ),
  );
  const proc = spawn(process.execPath, [BIN, 'up'], {
    env: {
      ...clean,
      ...aws,
      NODE_NO_WARNINGS: '1',
      WINDSOCK_STATE_DIR: join(dir, name, 'state'),
      WINDSOCK_HTTP__PORT: String(port),
      WINDSOCK_LEADER__ENABLED: 'false',
      WINDSOCK_AIRFLOW__DATABASE_URL: db.url,
      WINDSOCK_AIRFLOW__BROKER_URL: redisUrl,
      WINDSOCK_METRICS__SINKS: 'emf',
      WINDSOCK_METRICS__EMF_PATH: join(dir, name, 'metrics.emf'),
      // Only the drain's flush publishes: a metric the shutdown loses is missing from the file.
      WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS: '3600',
      WINDSOCK_SHUTDOWN_GRACE_SECONDS: '20',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, url: `http://127.0.0.1:${port}`, log: () => out, exited };
}

/** Polls /readyz until `want(body)`; fails with the process's log if it exits first. */
async function readyz(u: Up, want: (status: number, body: ReadyBody) => boolean): Promise<ReadyBody> {
  let gone = false;
  void u.exited.then(() => {
    gone = true;
  });
  for (;;) {
    if (gone) assert.fail(`windsock up exited early:\n${u.log()}`);
    try {
      const res = await fetch(`${u.url}/readyz`);
      const body = (await res.json()) as ReadyBody;
      if (want(res.status, body)) return body;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface ReadyBody {
  ready: boolean;
  checks: Record<string, true | string>;
}

/** Sums of each metric over every EMF record of the file. */
function emfTotals(path: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    for (const d of rec._aws.CloudWatchMetrics)
      for (const m of d.Metrics) {
        const v = rec[m.Name];
        const n = typeof v === 'number' ? v : Array.isArray(v) ? v.reduce((a: number, b: number) => a + b, 0) : 0;
        totals.set(m.Name, (totals.get(m.Name) ?? 0) + n);
      }
  }
  return totals;
}

const REL = 'dag_id=d/run_id=r/task_id=t1/attempt=1.log';

/** Appends `errors` ERROR records (and the task's end line when `end`) to the task log; returns what it wrote. */
function taskLog(base: string, errors: number, end: boolean): string {
  let content = '';
  for (let i = 0; i < errors; i++) content += `[2025-01-01T00:00:0${i % 10}.000+0000] {x.py:1} ERROR - failure ${i}\n`;
  if (end) content += '[2025-01-01T00:00:09.000+0000] {x.py:2} INFO - Task exited with return code 0\n';
  mkdirSync(dirname(join(base, REL)), { recursive: true });
  appendFileSync(join(base, REL), content);
  return content;
}

test('three services in one process: one port for all; SIGTERM drains all, no metric lost', async () => {
  const base = join(dir, 'ok', 'logs');
  // The task log exists at start (both followers know it); more is written just before SIGTERM.
  const before = taskLog(base, 2, false);
  const u = await up('ok', {
    WINDSOCK_SERVICES: 'queue-depth,log-metrics,log-shipper',
    WINDSOCK_AIRFLOW__BASE_LOG_FOLDER: base,
    WINDSOCK_AIRFLOW__REMOTE_BASE_LOG_FOLDER: `s3://${bucket}/logs`,
    WINDSOCK_LOG_METRICS__INPUTS: JSON.stringify([{ path: `${base}/**/*.log` }]),
    WINDSOCK_LOG_METRICS__START_POSITION: 'beginning',
  });
  const ready = await readyz(u, (status) => status === 200);
  assert.ok(
    Object.keys(ready.checks).some((k) => k.startsWith('queue-depth')),
    `queue-depth's checks on the shared /readyz: ${JSON.stringify(ready.checks)}`,
  );
  const status = (await (await fetch(`${u.url}/status`)).json()) as { services: Record<string, unknown> };
  assert.equal(Object.keys(status.services).length, 3, `one /status for all: ${JSON.stringify(status)}`);
  const metrics = await (await fetch(`${u.url}/metrics`)).text();
  assert.equal((await fetch(`${u.url}/healthz`)).status, 200);
  assert.ok(metrics.length > 0);

  // Lines written just before the signal must be counted and shipped by the drain.
  const content = before + taskLog(base, 5, true);
  const ERRORS = 2 + 5;
  u.proc.kill('SIGTERM');
  const code = await u.exited;
  assert.equal(code, 0, `clean exit within the grace period:\n${u.log()}`);
  assert.doesNotMatch(u.log(), /grace period exceeded/);

  const totals = emfTotals(join(dir, 'ok', 'metrics.emf'));
  assert.equal(totals.get('LogErrors'), ERRORS, `log-metrics' count flushed at the drain: ${[...totals]}`);
  assert.ok(totals.has('QueuedTasks') || [...totals.keys()].some((k) => /Queue|Task/.test(k)), 'queue-depth flushed');
  const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `logs/${REL}` }));
  // log-shipper's stop finishes the uploads in flight and keeps its journal; bytes written after its
  // last live upload stay in the local file (not deleted) and go up at its next start.
  const shipped = (await obj.Body?.transformToString()) ?? '';
  assert.ok(shipped.length >= before.length && content.startsWith(shipped), 'S3 holds a whole-line prefix of the log');
  assert.equal(readFileSync(join(base, REL), 'utf8'), content, 'nothing unshipped was deleted');
});

test('a service that fails at start is reported on /readyz and in the log; the others run and drain', async () => {
  const logs = join(dir, 'fail', 'logs');
  taskLog(logs, 1, false);
  const u = await up('fail', {
    WINDSOCK_SERVICES: 'queue-depth,log-metrics,log-shipper',
    // log-shipper cannot start: its folder does not exist. log-metrics follows another one.
    WINDSOCK_AIRFLOW__BASE_LOG_FOLDER: join(dir, 'fail', 'missing'),
    WINDSOCK_AIRFLOW__REMOTE_BASE_LOG_FOLDER: `s3://${bucket}/fail`,
    WINDSOCK_LOG_METRICS__INPUTS: JSON.stringify([{ path: `${logs}/**/*.log` }]),
    WINDSOCK_LOG_METRICS__START_POSITION: 'beginning',
  });
  const body = await readyz(
    u,
    (status, b) =>
      status === 503 &&
      'log-shipper.start' in b.checks &&
      Object.entries(b.checks).every(([k, v]) => k === 'log-shipper.start' || v === true),
  );
  assert.match(String(body.checks['log-shipper.start']), /^failed: .*baseLogFolder/);
  for (const [k, v] of Object.entries(body.checks)) if (k !== 'log-shipper.start') assert.equal(v, true, k);
  assert.match(u.log(), /"service":"log-shipper".*service failed to start/);
  const status = (await (await fetch(`${u.url}/status`)).json()) as { services: Record<string, unknown> };
  assert.ok(status.services['log-shipper'], JSON.stringify(status));

  const ERRORS = 1 + 4;
  taskLog(logs, 4, true);
  u.proc.kill('SIGTERM');
  const code = await u.exited;
  assert.equal(code, 1, 'the exit code says a service failed');
  assert.doesNotMatch(u.log(), /grace period exceeded/);
  const totals = emfTotals(join(dir, 'fail', 'metrics.emf'));
  assert.equal(totals.get('LogErrors'), ERRORS, 'the running services still drained');
});
