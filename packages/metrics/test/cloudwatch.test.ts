/**
 * CloudWatchSink against moto through a recording proxy: what arrives (read back with
 * GetMetricStatistics) and what was sent (request bodies as the proxy received them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Registry } from 'prom-client';
import { type FaultProxy, startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { testStack, useAwsEnv } from '../../../test/helpers/stack.ts';
import { MAX_REQUEST_BYTES } from '../src/cloudwatch/batch.ts';
import { CloudWatchSink, type MetricDatum, Metrics } from '../src/index.ts';
import { readBack, readClient, sentRequests, uniqueNamespace } from './cloudwatch-helpers.ts';

let proxy: FaultProxy;
let reader: CloudWatchClient;

before(async () => {
  const stack = await testStack();
  await useAwsEnv();
  proxy = await startFaultProxy(stack.motoUrl);
  reader = readClient(stack.motoUrl);
});
after(async () => {
  reader?.destroy();
  await proxy?.close();
});

function sink(registry = new Registry()): CloudWatchSink {
  return new CloudWatchSink({ endpoint: proxy.url, region: 'us-east-1', registry });
}

describe('CloudWatchSink against moto', () => {
  test('aggregates per series over the interval: counter sums, last gauge, distribution Values/Counts', async () => {
    const ns = uniqueNamespace('agg');
    const s = sink();
    const metrics = new Metrics({ namespace: ns, sinks: [s], defaultDimensions: { Cluster: 'test' } });
    const increments = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    for (const n of increments) metrics.counter('TasksSent', { Queue: 'default' }).add(n);
    for (const v of [3, 7, 5]) metrics.gauge('QueueDepth', { Queue: 'default' }, 'Count').set(v);
    const observations = [0.5, 0.5, 1.5, 0.5, 2, 1.5];
    for (const v of observations) metrics.observe('PollDuration', {}, 'Seconds', v);
    // A statistic set joins the same series' observations.
    s.write([
      {
        namespace: ns,
        name: 'PollDuration',
        unit: 'Seconds',
        kind: 'distribution',
        dimensions: { Cluster: 'test' },
        statistics: { sampleCount: 4, sum: 10, min: 1, max: 4 },
        timestamp: Date.now(),
      },
    ]);
    const before = proxy.requests.length;
    const report = await s.flush();
    const sent = sentRequests({ ...proxy, requests: proxy.requests.slice(before) });

    assert.equal(sent.length, 1, 'one request for one interval');
    assert.equal(report.requests, 1);
    assert.equal(report.sent, 4, 'counter + gauge + Values/Counts datum + StatisticValues datum');
    const data = sent[0]!.MetricData;
    const counter = data.find((d) => d.MetricName === 'TasksSent')!;
    assert.equal(counter.Value, 55);
    const values = data.find((d) => d.MetricName === 'PollDuration' && d.Values)!;
    const counts = new Map(values.Values!.map((v, i) => [v, values.Counts![i]]));
    assert.deepEqual(Object.fromEntries(counts), { 0.5: 3, 1.5: 2, 2: 1 });

    const tasks = await readBack(reader, ns, 'TasksSent', { Cluster: 'test', Queue: 'default' });
    assert.equal(
      tasks.sum,
      increments.reduce((a, b) => a + b, 0),
    );
    assert.equal(tasks.sampleCount, 1, 'ten adds aggregate into one datum');
    const depth = await readBack(reader, ns, 'QueueDepth', { Cluster: 'test', Queue: 'default' });
    assert.deepEqual([depth.sum, depth.sampleCount], [5, 1], 'the gauge sends its last value only');
    const poll = await readBack(reader, ns, 'PollDuration', { Cluster: 'test' });
    assert.equal(poll.sampleCount, observations.length + 4);
    assert.equal(poll.sum, observations.reduce((a, b) => a + b, 0) + 10);
    assert.deepEqual([poll.min, poll.max], [0.5, 4]);
    await s.close();
  });

  test('a distribution with 400 distinct values goes as Values/Counts datums of at most 150', async () => {
    const ns = uniqueNamespace('values');
    const s = sink();
    const now = Date.now();
    const values = Array.from({ length: 400 }, (_, i) => i + 1);
    s.write(
      values.map(
        (v): MetricDatum => ({
          namespace: ns,
          name: 'Lag',
          unit: 'Seconds',
          kind: 'distribution',
          dimensions: {},
          value: v,
          timestamp: now,
        }),
      ),
    );
    const before = proxy.requests.length;
    await s.flush();
    const data = sentRequests({ ...proxy, requests: proxy.requests.slice(before) }).flatMap((r) => r.MetricData);
    assert.deepEqual(
      data.map((d) => d.Values?.length),
      [150, 150, 100],
    );
    const back = await readBack(reader, ns, 'Lag');
    assert.equal(back.sampleCount, 400);
    assert.equal(back.sum, (400 * 401) / 2);
    await s.close();
  });

  test('2,500 distinct series go in exactly 3 requests of at most 1000 datums and 1 MB', async () => {
    const ns = uniqueNamespace('series');
    const registry = new Registry();
    const s = sink(registry);
    const now = Date.now();
    const datums: MetricDatum[] = Array.from({ length: 2500 }, (_, i) => ({
      namespace: ns,
      name: 'QueuedTasks',
      unit: 'Count',
      kind: 'gauge',
      dimensions: { Queue: `queue-${i}`, Pool: `pool-${i % 7}` },
      value: i,
      timestamp: now,
    }));
    s.write(datums);
    const before = proxy.requests.length;
    const report = await s.flush();
    const sent = sentRequests({ ...proxy, requests: proxy.requests.slice(before) });

    assert.equal(sent.length, 3);
    assert.equal(report.requests, 3);
    assert.deepEqual(
      sent.map((r) => r.MetricData.length),
      [1000, 1000, 500],
    );
    for (const r of sent) assert.ok(r.bytes <= MAX_REQUEST_BYTES, `request of ${r.bytes} bytes`);
    const queues = new Set(
      sent.flatMap((r) => r.MetricData.map((d) => d.Dimensions!.find((x) => x.Name === 'Queue')!.Value)),
    );
    assert.equal(queues.size, 2500, 'every series sent once');
    const metric = await registry.getSingleMetricAsString('windsock_cloudwatch_requests_total');
    assert.match(metric, /windsock_cloudwatch_requests_total\{outcome="success"\} 3/);
    for (const i of [0, 1234, 2499]) {
      const back = await readBack(reader, ns, 'QueuedTasks', { Queue: `queue-${i}`, Pool: `pool-${i % 7}` });
      assert.deepEqual([back.sum, back.sampleCount], [i, 1], `series ${i}`);
    }
    await s.close();
  });

  test('long dimension values split requests at 1 MB, packed close to the limit', async () => {
    const ns = uniqueNamespace('bytes');
    const s = sink();
    const now = Date.now();
    const seriesCount = 120;
    const datums: MetricDatum[] = Array.from({ length: seriesCount }, (_, i) => {
      const dimensions: Record<string, string> = {};
      for (let d = 0; d < 30; d++) dimensions[`Dim${d}`] = `${i}-${d}-`.padEnd(1024, 'x');
      return { namespace: ns, name: 'Wide', unit: 'Count', kind: 'counter', dimensions, value: i + 1, timestamp: now };
    });
    s.write(datums);
    const before = proxy.requests.length;
    const report = await s.flush();
    const sent = sentRequests({ ...proxy, requests: proxy.requests.slice(before) });

    const totalBytes = sent.reduce((a, r) => a + r.bytes, 0);
    assert.ok(totalBytes > 3 * MAX_REQUEST_BYTES, `the data (${totalBytes} bytes) needs several requests`);
    assert.equal(
      sent.reduce((a, r) => a + r.MetricData.length, 0),
      seriesCount,
    );
    assert.equal(report.sent, seriesCount);
    for (const r of sent) assert.ok(r.bytes <= MAX_REQUEST_BYTES, `request of ${r.bytes} bytes is within 1 MB`);
    // No more requests than a perfect packing needs, plus one for the rounding of whole datums.
    assert.ok(
      sent.length <= Math.ceil(totalBytes / MAX_REQUEST_BYTES) + 1,
      `${sent.length} requests for ${totalBytes} bytes`,
    );
    const last = datums[seriesCount - 1]!;
    const back = await readBack(reader, ns, 'Wide', last.dimensions as Record<string, string>);
    assert.equal(back.sum, seriesCount);
    await s.close();
  });

  test('non-ASCII dimension values are escaped and a timestamp CloudWatch would refuse is dropped alone', async () => {
    const ns = uniqueNamespace('ascii');
    const registry = new Registry();
    const s = sink(registry);
    const now = Date.now();
    const base = { namespace: ns, name: 'DagRuns', unit: 'Count', kind: 'counter', value: 1, timestamp: now } as const;
    s.write([
      { ...base, dimensions: { Dag: 'café_étl' } },
      { ...base, dimensions: { Dag: 'plain' }, value: 2 },
      { ...base, dimensions: { Dag: 'stale' }, timestamp: now - 21 * 24 * 3600_000 },
    ]);
    const before = proxy.requests.length;
    const report = await s.flush();
    const sent = sentRequests({ ...proxy, requests: proxy.requests.slice(before) });
    assert.deepEqual([report.sent, report.dropped], [2, 1]);
    assert.deepEqual(sent[0]!.MetricData.map((d) => d.Dimensions![0]!.Value).sort(), ['caf\\u00e9_\\u00e9tl', 'plain']);
    assert.equal((await readBack(reader, ns, 'DagRuns', { Dag: 'caf\\u00e9_\\u00e9tl' })).sum, 1);
    assert.equal((await readBack(reader, ns, 'DagRuns', { Dag: 'plain' })).sum, 2);
    assert.match(await registry.metrics(), /windsock_metrics_dropped_total\{sink="cloudwatch",reason="invalid"\} 1/);
    await s.close();
  });
});
