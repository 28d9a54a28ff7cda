/**
 * The shipper's metrics go through @windsock/metrics to the configured sinks, wired from the config as
 * the CLI does: read back as Prometheus text from the registry /metrics serves, and from CloudWatch
 * (moto, through the real SDK) with GetMetricStatistics. Every expected number is computed from the
 * files written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { CloudWatchClient, GetMetricStatisticsCommand, type Statistic } from '@aws-sdk/client-cloudwatch';
import { silentLogger } from '@windsock/core';
import { Registry } from 'prom-client';
import { buildLogShipper, logShipperService } from '../src/service.ts';
import { testConfig } from './helpers/config.ts';
import { getObject, shipperFixture, waitFor } from './helpers/harness.ts';

const END = '[2025-01-01T00:01:00.000+0000] {local_task_job_runner.py:234} INFO - Task exited with return code 0\n';

function writeLog(base: string, rel: string, lines: number): number {
  let text = '';
  for (let i = 0; i < lines; i++) text += `[2025-01-01T00:00:00.000+0000] {bash.py:${i}} INFO - ${rel} line ${i}\n`;
  text += END;
  mkdirSync(dirname(join(base, rel)), { recursive: true });
  writeFileSync(join(base, rel), text);
  return Buffer.byteLength(text);
}

/** The value of one Prometheus sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(m[3]);
  }
  return undefined;
}

test('files, bytes, lag, uploads and backlog reach Prometheus and CloudWatch with the Cluster dimension', async () => {
  const fx = await shipperFixture('metrics');
  const namespace = `WindsockLS${randomBytes(4).toString('hex')}`;
  const cluster = 'ls-metrics';
  const registry = new Registry();
  const config = testConfig(fx, {
    cluster,
    'metrics.sinks': ['cloudwatch', 'prometheus'],
    'metrics.namespace': namespace,
    'metrics.flushIntervalSeconds': 1,
  });
  const parts = buildLogShipper({ config, logger: silentLogger(), registry });
  const service = logShipperService(parts, config.metrics.flushIntervalSeconds * 1000, silentLogger());
  const finished = 7;
  let totalBytes = 0;
  for (let i = 0; i < finished; i++)
    totalBytes += writeLog(fx.base, `dag_id=m/run_id=r/task_id=t${i}/attempt=1.log`, 5 + i * 40);
  // A running task: only its complete lines go up, live.
  const running = 'dag_id=m/run_id=r/task_id=running/attempt=1.log';
  const runningText = '[2025-01-01T00:00:00.000+0000] {bash.py:1} INFO - still going\n'.repeat(3);
  mkdirSync(dirname(join(fx.base, running)), { recursive: true });
  writeFileSync(join(fx.base, running), runningText);
  totalBytes += Buffer.byteLength(runningText);
  try {
    await service.start();
    const prom = async () => registry.metrics();
    assert.ok(
      await waitFor(
        async () => sample(await prom(), 'windsock_log_shipped_bytes_total', { cluster }) === totalBytes,
        15_000,
      ),
      `bytes shipped never reached ${totalBytes}: ${sample(await prom(), 'windsock_log_shipped_bytes_total', { cluster })}`,
    );
    assert.deepEqual(await getObject(fx.s3, fx.bucket, `logs/${running}`), Buffer.from(runningText));
    // It grows: only the growth counts as new bytes.
    appendFileSync(join(fx.base, running), END);
    totalBytes += Buffer.byteLength(END);
    assert.ok(
      await waitFor(
        async () => sample(await prom(), 'windsock_log_files_shipped_total', { cluster }) === finished + 1,
        10_000,
      ),
    );
    // A flush or two at the 1 s interval, then stop: close() sends the rest.
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await service.stop();
  }
  const text = await registry.metrics();
  assert.equal(sample(text, 'windsock_log_shipped_bytes_total', { cluster }), totalBytes);
  assert.equal(sample(text, 'windsock_log_files_shipped_total', { cluster }), finished + 1);
  const finalUploads = sample(text, 'windsock_log_uploads_total', { cluster, kind: 'final' }) ?? 0;
  const liveUploads = sample(text, 'windsock_log_uploads_total', { cluster, kind: 'live' }) ?? 0;
  assert.equal(finalUploads, finished + 1, 'one final upload per file');
  assert.ok(liveUploads >= 1, 'the running task went up live first');
  const lagCount = sample(text, 'windsock_log_ship_lag_seconds_count', { cluster });
  assert.equal(lagCount, finalUploads + liveUploads, 'one lag observation per upload');
  const lagSum = sample(text, 'windsock_log_ship_lag_seconds_sum', { cluster }) ?? -1;
  assert.ok(lagSum >= 0 && lagSum < 30 * lagCount, `lag sum ${lagSum} s`);
  assert.equal(sample(text, 'windsock_log_ship_backlog_files', { cluster }), 0);
  assert.equal(sample(text, 'windsock_log_ship_backlog_bytes', { cluster }), 0);
  const cwRequests = await registry.getSingleMetric('windsock_cloudwatch_requests_total')?.get();
  const sent = (cwRequests?.values ?? [])
    .filter((v) => v.labels.outcome === 'success')
    .reduce((s, v) => s + v.value, 0);
  assert.ok(sent >= 2, `${sent} PutMetricData requests: the periodic flush and the one at stop`);

  const cw = new CloudWatchClient({});
  const stat = async (name: string, statistic: Statistic, dims: Record<string, string> = {}) => {
    const now = Date.now();
    const out = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: namespace,
        MetricName: name,
        Dimensions: Object.entries({ Cluster: cluster, ...dims }).map(([Name, Value]) => ({ Name, Value })),
        StartTime: new Date(now - 10 * 60_000),
        EndTime: new Date(now + 10 * 60_000),
        Period: 3600,
        Statistics: [statistic],
      }),
    );
    return (out.Datapoints ?? []).reduce((s, d) => s + ((d[statistic] as number | undefined) ?? 0), 0);
  };
  assert.equal(await stat('LogShippedBytes', 'Sum'), totalBytes, 'CloudWatch: bytes shipped = the sum of file sizes');
  assert.equal(await stat('LogFilesShipped', 'Sum'), finished + 1);
  assert.equal(await stat('LogUploads', 'Sum', { Kind: 'final' }), finished + 1);
  assert.equal(await stat('LogShipLag', 'SampleCount'), lagCount);
  fx.cleanup();
});

test('a bucket that does not exist: failures by reason, and the backlog holds every byte', async () => {
  const fx = await shipperFixture('metrics-fail');
  const cluster = 'ls-metrics-fail';
  const registry = new Registry();
  const config = testConfig(fx, {
    cluster,
    'metrics.sinks': ['prometheus'],
    'airflow.remoteBaseLogFolder': `s3://${fx.bucket}-missing/logs`,
    'logShipper.retryAttempts': 1,
  });
  const parts = buildLogShipper({ config, logger: silentLogger(), registry });
  const service = logShipperService(parts, 60_000, silentLogger());
  let bytes = 0;
  for (let i = 0; i < 3; i++) bytes += writeLog(fx.base, `dag_id=f/run_id=r/task_id=t${i}/attempt=1.log`, 10 * (i + 1));
  try {
    await service.start();
    assert.ok(
      await waitFor(
        async () =>
          (sample(await registry.metrics(), 'windsock_log_ship_failures_total', { cluster, reason: 'client_error' }) ??
            0) >= 3,
        10_000,
      ),
      'each file failed with a client error (NoSuchBucket)',
    );
    assert.ok(
      await waitFor(
        async () => sample(await registry.metrics(), 'windsock_log_ship_backlog_bytes', { cluster }) === bytes,
        3000,
      ),
      'the backlog gauge holds every byte of the three files',
    );
    const text = await registry.metrics();
    assert.equal(sample(text, 'windsock_log_ship_backlog_files', { cluster }), 3);
    assert.equal(
      sample(text, 'windsock_log_shipped_bytes_total', { cluster }),
      undefined,
      'nothing counted as shipped',
    );
  } finally {
    await service.stop();
    fx.cleanup();
  }
});
