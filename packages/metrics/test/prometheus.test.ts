/**
 * PrometheusSink: Prometheus naming conventions, values converted to base units, and output that
 * `promtool check metrics` accepts without a single lint problem.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { testStack } from '../../../test/helpers/stack.ts';
import { labelName, type MetricDatum, Metrics, PrometheusSink, prometheusName } from '../src/index.ts';
import { snakeCase } from '../src/prometheus-names.ts';

describe('Prometheus names', () => {
  test('snake_case, windsock_ prefix, base-unit suffix, _total on counters', () => {
    const cases: [Parameters<typeof prometheusName>, string][] = [
      [['TasksFailed', 'counter', 'Count'], 'windsock_tasks_failed_total'],
      [['TaskDuration', 'distribution', 'Milliseconds'], 'windsock_task_duration_seconds'],
      [['SchedulerHeartbeatAge', 'gauge', 'Seconds'], 'windsock_scheduler_heartbeat_age_seconds'],
      [['BytesShipped', 'counter', 'Bytes'], 'windsock_bytes_shipped_bytes_total'],
      [['UploadedBytes', 'counter', 'Bytes'], 'windsock_uploaded_bytes_total'],
      [['CPUUtilization', 'gauge', 'Percent'], 'windsock_cpu_utilization_ratio'],
      [['NetworkRx', 'gauge', 'Megabits/Second'], 'windsock_network_rx_bytes_per_second'],
      [['RunningTaskCount', 'gauge', 'Count'], 'windsock_running_task_count_current'],
      [['windsock_lines_total', 'counter', 'Count'], 'windsock_lines_total'],
      [['log.lines-read', 'counter', 'None'], 'windsock_log_lines_read_total'],
    ];
    for (const [args, want] of cases) assert.equal(prometheusName(...args), want, args[0]);
    assert.equal(snakeCase('HTTPRequestCount'), 'http_request_count');
    assert.equal(labelName('TaskQueue'), 'task_queue');
    assert.equal(labelName('2xx'), '_2xx');
  });
});

describe('PrometheusSink', () => {
  test('counters are cumulative, gauges keep the last value, values in base units', async () => {
    const registry = new Registry();
    const metrics = new Metrics({ namespace: 'Windsock', sinks: [new PrometheusSink({ registry })] });
    metrics.counter('TasksFailed', { Queue: 'default' }).add(2);
    metrics.counter('TasksFailed', { Queue: 'default' }).add(3);
    await metrics.flush();
    metrics.counter('TasksFailed', { Queue: 'default' }).add(4);
    metrics.gauge('SchedulerHeartbeatAge', {}, 'Milliseconds').set(9000);
    metrics.gauge('SchedulerHeartbeatAge', {}, 'Milliseconds').set(1500);
    metrics.gauge('WorkerCpu', { TaskQueue: 'gpu' }, 'Percent').set(50);
    const text = await registry.metrics();
    assert.match(text, /^windsock_tasks_failed_total\{queue="default"\} 9$/m, 'cumulative across flushes');
    assert.match(text, /^windsock_scheduler_heartbeat_age_seconds 1\.5$/m);
    assert.match(text, /^windsock_worker_cpu_ratio\{task_queue="gpu"\} 0\.5$/m);
  });

  test('distributions are histograms; a statistic set keeps its exact count and sum', async () => {
    const registry = new Registry();
    const sink = new PrometheusSink({ registry });
    const base = {
      namespace: 'Windsock',
      name: 'PollDuration',
      unit: 'Seconds',
      kind: 'distribution',
      dimensions: { Job: 'queue-depth' },
      timestamp: 0,
    } as const;
    sink.write([
      { ...base, value: 0.003 },
      { ...base, value: 0.2 },
      { ...base, value: 7 },
      { ...base, statistics: { sampleCount: 4, sum: 2, min: 0.1, max: 0.9 } },
    ]);
    const text = await registry.metrics();
    assert.match(text, /^# TYPE windsock_poll_duration_seconds histogram$/m);
    assert.match(text, /^windsock_poll_duration_seconds_count\{job="queue-depth"\} 7$/m);
    assert.match(text, /^windsock_poll_duration_seconds_sum\{job="queue-depth"\} 9\.203$/m);
    assert.match(text, /^windsock_poll_duration_seconds_bucket\{le="0\.005",job="queue-depth"\} 1$/m);
    assert.match(text, /^windsock_poll_duration_seconds_bucket\{le="\+Inf",job="queue-depth"\} 7$/m);
  });

  test('a datum that would change a metric type or label set is dropped and counted', async () => {
    const registry = new Registry();
    const sink = new PrometheusSink({ registry });
    const d: MetricDatum = {
      namespace: 'W',
      name: 'Depth',
      unit: 'Count',
      kind: 'gauge',
      dimensions: { Queue: 'a' },
      value: 1,
      timestamp: 0,
    };
    sink.write([d, { ...d, dimensions: { Pool: 'p' } }, { ...d, kind: 'counter', name: 'Depth_total' }]);
    sink.write([
      { ...d, name: 'Lines', kind: 'counter' },
      { ...d, name: 'Lines', kind: 'counter', dimensions: {} },
    ]);
    const report = await sink.flush();
    assert.equal(report.sent, 3);
    assert.equal(report.dropped, 2, 'Depth with another label set; Lines with another label set');
    assert.match(await registry.metrics(), /windsock_metrics_dropped_total\{sink="prometheus",reason="conflict"\} 2/);
  });

  test('the exposition passes promtool check metrics with no lint problem', async () => {
    const { bin } = await testStack();
    const registry = new Registry();
    const metrics = new Metrics({
      namespace: 'Windsock',
      sinks: [new PrometheusSink({ registry })],
      defaultDimensions: { Cluster: 'prod' },
    });
    metrics.counter('TasksFailed', { Queue: 'default' }).add(3);
    metrics.counter('TracebacksSeen', { Component: 'scheduler' }).add();
    metrics.counter('BytesUploaded', {}, 'Bytes').add(1024);
    metrics.gauge('QueuedTasks', { Queue: 'default', Pool: 'default_pool' }, 'Count').set(12);
    metrics.gauge('RunningTaskCount', {}, 'Count').set(3);
    metrics.gauge('OldestQueuedAge', {}, 'Milliseconds').set(42_000);
    metrics.gauge('MemoryUsage', { ContainerName: 'worker' }, 'Kilobytes').set(2048);
    metrics.gauge('CpuUtilization', { ContainerName: 'worker' }, 'Percent').set(37.5);
    metrics.gauge('NetworkReceive', { Interface: 'eth0' }, 'Bytes/Second').set(1e6);
    metrics.gauge('LinesRate', {}, 'Count/Second').set(120);
    metrics.observe('PollDuration', { Job: 'queue-depth' }, 'Seconds', 0.12);
    metrics.observe('LogBatchSize', {}, 'Bytes', 300_000);
    metrics.observe('HeartbeatLatency', {}, 'Milliseconds', 75_000);
    metrics.observe('TasksPerPoll', {}, 'Count', 17);
    // The sinks' own drop counter shares the registry and must pass too: a second sink cannot
    // take over a metric the first one registered.
    new PrometheusSink({ registry, name: 'second' }).write([
      { namespace: 'W', name: 'TasksFailed', unit: 'Count', kind: 'counter', dimensions: {}, value: 1, timestamp: 0 },
    ]);
    assert.match(await registry.metrics(), /windsock_metrics_dropped_total\{sink="second",reason="conflict"\} 1/);
    const text = await registry.metrics();
    const r = spawnSync(bin.promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.error, undefined);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', `promtool found problems:\n${r.stdout}${r.stderr}\n---\n${text}`);
    assert.equal(r.status, 0);
    assert.ok(text.split('\n').filter((l) => l.startsWith('# TYPE ')).length >= 15);
  });
});
