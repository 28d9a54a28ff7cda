/**
 * Dashboards against the real things: `windsock up` (queue-depth, log-metrics, log-shipper) on the
 * test stack publishes to a real Prometheus (Debian's, private port and folder, scraping /metrics)
 * and to moto's CloudWatch. Every Prometheus-flavour query of every dashboard parses in that
 * Prometheus, and those on metrics of the running services return data; every CloudWatch-flavour
 * query on their metrics names a metric and dimension set that exists in moto; the CloudWatch
 * dashboards are accepted by PutDashboard. (scaler and container-stats do not run here: their
 * queries are checked to parse and, in the catalog test, against their code.)
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { CloudWatchClient, GetDashboardCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { loadAirflowSchema } from '@windsock/airflow';
import { loadConfig } from '@windsock/core';
import { DASHBOARDS, grafanaDashboard, metric } from '@windsock/deploy';
import pg from 'pg';
import { awsEnv, createDatabase, freePort, testStack } from '../helpers/stack.ts';
import { allSections, ROOT } from './helpers.ts';

const BIN = join(ROOT, 'bin', 'windsock.mjs');
const CLUSTER = `dash${Date.now().toString(36)}`;
const NAMESPACE = `WindsockDash${Date.now().toString(36)}`;
const RUNNING = new Set(['queue-depth', 'log-metrics', 'log-shipper']);
let dir: string;
let aws: Record<string, string>;
let db: Awaited<ReturnType<typeof createDatabase>>;
let windsock: ChildProcess | undefined;
let prometheus: ChildProcess | undefined;
let promUrl: string;
let cw: CloudWatchClient;
let log = '';

const clean = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_') && !k.startsWith('AWS_'),
    ),
  );

async function until<T>(what: string, f: () => Promise<T | undefined>, tries = 300): Promise<T> {
  for (let i = 0; i < tries; i++) {
    if (windsock?.exitCode !== null && windsock?.exitCode !== undefined) assert.fail(`windsock up exited:\n${log}`);
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`timed out waiting for ${what}\n${log}`);
}

async function promQuery(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

const POOLS = '[{"name":"workers","queues":["default"],"concurrency":16,"max":4}]';

/** Whether queueDepth.workerPools is still a key queue-depth reads (the config accepts it). */
function queueDepthOwnPools(): boolean {
  try {
    loadConfig({ sections: allSections(), env: { WINDSOCK_QUEUE_DEPTH__WORKER_POOLS: POOLS } });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  const stack = await testStack();
  aws = await awsEnv();
  dir = mkdtempSync(join(tmpdir(), 'ws-dash-'));
  db = await createDatabase('dash');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await loadAirflowSchema(c, '2.10');
  await c.query(
    "INSERT INTO job (state, job_type, latest_heartbeat, start_date) VALUES ('running', 'SchedulerJob', now(), now())",
  );
  await c.end();
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const s3 = new S3Client({ region: 'us-east-1', endpoint: aws.AWS_ENDPOINT_URL, forcePathStyle: true, credentials });
  const bucket = `ws-dash-${Date.now().toString(36)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  cw = new CloudWatchClient({ region: 'us-east-1', endpoint: aws.AWS_ENDPOINT_URL, credentials });

  // Task logs with errors, a traceback and the heartbeat token, shipped and counted.
  const base = join(dir, 'logs');
  const task = join(base, 'dag_id=d/run_id=r/task_id=t/attempt=1.log');
  mkdirSync(dirname(task), { recursive: true });
  appendFileSync(
    task,
    [
      '[2025-01-01T00:00:00.000+0000] {x.py:1} ERROR - boom',
      'Traceback (most recent call last):',
      '  File "x.py", line 1, in <module>',
      'ValueError: x',
      '[2025-01-01T00:00:01.000+0000] {x.py:1} WARNING - careful',
      '[2025-01-01T00:00:02.000+0000] {x.py:1} INFO - WINDSOCK_HEARTBEAT_OK queue=default',
      '[2025-01-01T00:00:09.000+0000] {x.py:2} INFO - Task exited with return code 0',
      '',
    ].join('\n'),
  );
  // A scheduler log line for the task outcomes panel.
  const scheduler = join(base, 'scheduler', 'latest', 'd.py.log');
  mkdirSync(dirname(scheduler), { recursive: true });
  appendFileSync(
    scheduler,
    '[2025-01-01T00:00:03.000+0000] {scheduler_job_runner.py:700} INFO - TaskInstance Finished: dag_id=d, task_id=t, run_id=r, map_index=-1, run_start_date=2025-01-01 00:00:00+00:00, run_end_date=2025-01-01 00:00:02+00:00, run_duration=2.0, state=success, executor=CeleryExecutor(parallelism=32), executor_state=success, try_number=1, max_tries=0, job_id=1, pool=default_pool, queue=default, priority_weight=1, operator=BashOperator, queued_dttm=2025-01-01 00:00:00+00:00, queued_by_job_id=1, pid=1\n',
  );
  const port = await freePort();
  windsock = spawn(process.execPath, [BIN, 'up'], {
    env: {
      ...clean(),
      ...aws,
      NODE_NO_WARNINGS: '1',
      WINDSOCK_SERVICES: 'queue-depth,log-metrics,log-shipper',
      WINDSOCK_CLUSTER: CLUSTER,
      WINDSOCK_HTTP__PORT: String(port),
      WINDSOCK_LEADER__ENABLED: 'false',
      WINDSOCK_STATE_DIR: join(dir, 'state'),
      WINDSOCK_AIRFLOW__DATABASE_URL: db.url,
      WINDSOCK_AIRFLOW__BROKER_URL: `${stack.redisUrl.replace(/\/\d+$/, '')}/13`,
      WINDSOCK_AIRFLOW__BASE_LOG_FOLDER: base,
      WINDSOCK_AIRFLOW__REMOTE_BASE_LOG_FOLDER: `s3://${bucket}/logs`,
      WINDSOCK_LOG_METRICS__INPUTS: JSON.stringify([{ path: `${base}/**/*.log` }]),
      WINDSOCK_LOG_SHIPPER__TASK_LOG_EXCLUDE: '["scheduler/**"]',
      WINDSOCK_LOG_METRICS__START_POSITION: 'beginning',
      WINDSOCK_METRICS__SINKS: 'prometheus,cloudwatch',
      WINDSOCK_METRICS__NAMESPACE: NAMESPACE,
      WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS: '1',
      WINDSOCK_QUEUE_DEPTH__INTERVAL_SECONDS: '1',
      WINDSOCK_WORKER_POOLS: POOLS,
      // Before queue-depth read the shared workerPools it had its own key; set it where it still exists.
      ...(queueDepthOwnPools() ? { WINDSOCK_QUEUE_DEPTH__WORKER_POOLS: POOLS } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  windsock.stdout?.on('data', (d) => {
    log += d;
  });
  windsock.stderr?.on('data', (d) => {
    log += d;
  });

  // Debian's Prometheus, private folder and port, scraping windsock every second.
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(
    cfg,
    `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: windsock\n    static_configs: [{targets: ['127.0.0.1:${port}']}]\n`,
  );
  prometheus = spawn(
    '/usr/bin/prometheus',
    [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.on('data', () => undefined);
  // Data: queue-depth's gauges, log-metrics' and log-shipper's counters, each scraped at least twice.
  await until('Prometheus to hold two samples of each running service', async () => {
    const r = await promQuery(
      `count_over_time(windsock_metadb_up{cluster="${CLUSTER}"}[1m]) >= 2 and on() count_over_time(windsock_log_errors_total{cluster="${CLUSTER}"}[1m]) >= 2 and on() count_over_time(windsock_log_shipped_bytes_total{cluster="${CLUSTER}"}[1m]) >= 2 and on() count_over_time(windsock_task_instances_finished_total{cluster="${CLUSTER}"}[1m]) >= 2 and on() count_over_time(windsock_desired_workers{cluster="${CLUSTER}"}[1m]) >= 2`,
    );
    return r.data && r.data.result.length > 0 ? true : undefined;
  });
});

after(async () => {
  for (const p of [windsock, prometheus]) p?.kill('SIGTERM');
  await Promise.all(
    [windsock, prometheus].map((p) => (p && p.exitCode === null ? new Promise((r) => p.on('exit', r)) : undefined)),
  );
  cw?.destroy();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The services whose metrics a query names (cAdvisor's belong to container-stats). */
function owners(panelMetrics: string[]): Set<string> {
  const { SERVICES } = DASHBOARD_CATALOG;
  return new Set(
    panelMetrics.map((m) => SERVICES.find((s) => s.metrics.some((x) => x.name === m))?.service ?? 'container-stats'),
  );
}
const DASHBOARD_CATALOG = await import('@windsock/deploy');

test('every Prometheus-flavour query parses in a real Prometheus; those on running services return data', async (t) => {
  const empty: string[] = [];
  const notExercised: string[] = [];
  let withData = 0;
  for (const d of DASHBOARDS) {
    const g = grafanaDashboard(d, 'prometheus');
    for (const p of g.panels)
      for (const t of p.targets) {
        const expr = String(t.expr).replaceAll('$cluster', CLUSTER);
        const r = await promQuery(expr);
        assert.equal(r.status, 'success', `${g.uid} panel ${p.id} ${t.refId}: ${expr}: ${r.error}`);
        const def = d.panels.find((x) => x.id === p.id)?.queries.find((x) => x.refId === t.refId);
        const names = def && 'metric' in def ? [def.metric] : [];
        const running = names.length > 0 && [...owners(names)].every((o) => RUNNING.has(o));
        if (!running) continue;
        if ((r.data?.result.length ?? 0) > 0) {
          withData++;
          continue;
        }
        // A failure counter has no series until something fails: its name is the catalog test's to check.
        const family = await promQuery(`count({__name__=~"${String(t.expr).match(/windsock_\w+/)?.[0]}(_bucket)?"})`);
        if (metric(names[0] as string).kind === 'counter' && (family.data?.result.length ?? 0) === 0) {
          notExercised.push(`${g.uid} panel ${p.id} ${t.refId}`);
          continue;
        }
        empty.push(`${g.uid} panel ${p.id} ${t.refId}: ${expr}`);
      }
  }
  t.diagnostic(
    `${withData} queries returned data; counters with nothing to count in this run: ${notExercised.join(', ') || 'none'}`,
  );
  assert.deepEqual(empty, [], 'queries on running services without data');
  assert.ok(notExercised.length <= 2, `only the failure/retry counters may be absent: ${notExercised}`);
  assert.ok(withData >= 10, `${withData} queries returned data`);
});

test("every CloudWatch-flavour query on the running services' metrics names a metric and dimension set in moto", async () => {
  const published = new Map<string, Set<string>>();
  await until('metrics in moto', async () => {
    const r = await cw.send(new ListMetricsCommand({ Namespace: NAMESPACE }));
    for (const m of r.Metrics ?? []) {
      const set = published.get(m.MetricName as string) ?? new Set<string>();
      set.add(
        (m.Dimensions ?? [])
          .map((x) => x.Name)
          .sort()
          .join(','),
      );
      published.set(m.MetricName as string, set);
    }
    return published.has('LogShippedBytes') && published.has('LogErrors') && published.has('MetadbUp')
      ? true
      : undefined;
  });
  let checked = 0;
  for (const d of DASHBOARDS) {
    const g = grafanaDashboard(d, 'cloudwatch');
    for (const p of g.panels)
      for (const t of p.targets) {
        const name = String(t.metricName);
        const service = owners([name]);
        if (![...service].every((o) => RUNNING.has(o))) continue;
        // Counters with nothing to count this run are not published: the catalog test covers their names.
        if (!published.has(name) && metric(name).kind !== 'gauge') continue;
        const sets = published.get(name);
        assert.ok(sets, `${g.uid} panel ${p.id}: ${name} is not in moto (published: ${[...published.keys()]})`);
        const wanted = Object.keys(t.dimensions as Record<string, string>)
          .sort()
          .join(',');
        const spec = metric(name);
        const allowed = [spec.dimensions, [...spec.dimensions, ...(spec.optional ?? [])]].map((x) =>
          [...x].sort().join(','),
        );
        assert.ok(allowed.includes(wanted), `${name}: the query's dimensions ${wanted} are not the catalog's`);
        assert.ok(
          [...sets].some((s) => allowed.includes(s)),
          `${g.uid} panel ${p.id}: ${name} is published with [${[...sets].join(' | ')}], the dashboard asks [${wanted}]`,
        );
        checked++;
      }
  }
  assert.ok(checked >= 8, `${checked} CloudWatch queries checked`);
});

test('windsock dashboards apply: moto accepts every CloudWatch dashboard body', async () => {
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [BIN, 'dashboards', 'apply'], {
      env: {
        ...clean(),
        ...aws,
        NODE_NO_WARNINGS: '1',
        WINDSOCK_CLUSTER: CLUSTER,
        WINDSOCK_METRICS__NAMESPACE: NAMESPACE,
      },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(out.code, 0, out.stderr);
  const names = out.stdout.trim().split('\n');
  assert.equal(names.length, DASHBOARDS.length);
  for (const n of names) {
    const got = await cw.send(new GetDashboardCommand({ DashboardName: n }));
    const body = JSON.parse(got.DashboardBody as string) as { widgets: { properties: { metrics: unknown[] } }[] };
    assert.ok(body.widgets.length > 0 && body.widgets.every((w) => w.properties.metrics.length > 0), n);
  }
});
