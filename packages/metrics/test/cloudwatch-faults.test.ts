/**
 * CloudWatchSink under faults injected by a proxy in front of moto: throttling, 5xx, resets and
 * timeouts are retried with nothing lost; an outage longer than the buffer loses an exact,
 * reported number of datums; a request CloudWatch rejects is dropped and counted, not retried.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Registry } from 'prom-client';
import { type FaultProxy, faultSequence, startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { testStack, useAwsEnv } from '../../../test/helpers/stack.ts';
import { CloudWatchSink, type CloudWatchSinkOptions, METRICS_DROPPED, type MetricDatum } from '../src/index.ts';
import { memoryLogger, readBack, readClient, sentRequests, uniqueNamespace } from './cloudwatch-helpers.ts';

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

function sink(extra: Partial<CloudWatchSinkOptions> = {}): CloudWatchSink {
  return new CloudWatchSink({
    endpoint: proxy.url,
    region: 'us-east-1',
    retryBaseMs: 5,
    retryCapMs: 50,
    requestTimeoutMs: 500,
    ...extra,
  });
}

/** Applies `faults` to the next requests, counting from now. */
function scriptNext(faults: Parameters<typeof faultSequence>[0]): void {
  const start = proxy.requests.length;
  const seq = faultSequence(faults);
  proxy.setScript((i, req) => seq(i - start, req));
}

function counterData(ns: string, name: string, series: number, value: (i: number) => number): MetricDatum[] {
  const now = Date.now();
  return Array.from({ length: series }, (_, i) => ({
    namespace: ns,
    name,
    unit: 'Count',
    kind: 'counter',
    dimensions: { Series: String(i) },
    value: value(i),
    timestamp: now,
  }));
}

async function outcomes(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('windsock_cloudwatch_requests_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.outcome), v.value]));
}

describe('CloudWatchSink under faults', () => {
  test('throttling, 503, a reset and a timeout are retried and nothing is lost', async () => {
    const ns = uniqueNamespace('retry');
    const registry = new Registry();
    // A timeout long enough that moto on a loaded machine answers the final, unfaulted attempt in time.
    const s = sink({ registry, requestTimeoutMs: 3000 });
    s.write(counterData(ns, 'Retried', 5, (i) => (i + 1) * 10));
    scriptNext([{ kind: 'throttle' }, { kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'timeout' }]);
    const before = proxy.requests.length;
    const report = await s.flush();
    proxy.setScript(() => undefined);

    assert.deepEqual(
      proxy.requests.slice(before).map((r) => r.fault),
      ['throttle', 'status', 'reset', 'timeout', 'pass'],
    );
    assert.deepEqual([report.requests, report.retries, report.sent, report.dropped, report.pending], [5, 4, 5, 0, 0]);
    assert.deepEqual(await outcomes(registry), {
      throttled: 1,
      server_error: 1,
      network_error: 2,
      success: 1,
    });
    for (let i = 0; i < 5; i++) {
      const back = await readBack(reader, ns, 'Retried', { Series: String(i) });
      assert.deepEqual([back.sum, back.sampleCount], [(i + 1) * 10, 1], `series ${i} arrived exactly once`);
    }
    await s.close();
  });

  test('a slow answer within the timeout is not retried', async () => {
    const ns = uniqueNamespace('slow');
    const s = sink({ requestTimeoutMs: 2000 });
    s.write(counterData(ns, 'Slow', 1, () => 7));
    scriptNext([{ kind: 'slow', delayMs: 300 }]);
    const report = await s.flush();
    proxy.setScript(() => undefined);
    assert.deepEqual([report.requests, report.retries, report.sent], [1, 0, 1]);
    assert.equal((await readBack(reader, ns, 'Slow', { Series: '0' })).sum, 7);
    await s.close();
  });

  test('an outage longer than the buffer drops exactly the oldest overflow, and reports it', async () => {
    const ns = uniqueNamespace('outage');
    const registry = new Registry();
    const logger = memoryLogger();
    const maxBufferedDatums = 250;
    const perFlush = 100;
    const flushesDown = 4;
    const s = sink({ registry, logger, maxBufferedDatums, maxRetries: 1 });
    let down = true;
    proxy.setScript(() => (down ? { kind: 'status', status: 503 } : undefined));

    const reports = [];
    for (let f = 0; f < flushesDown; f++) {
      s.write(counterData(ns, `Flush${f}`, perFlush, (i) => i + 1));
      reports.push(await s.flush());
    }
    const written = perFlush * flushesDown;
    const expectedDropped = written - maxBufferedDatums;
    assert.equal(
      reports.reduce((a, r) => a + r.dropped, 0),
      expectedDropped,
    );
    assert.equal(reports.at(-1)!.pending, maxBufferedDatums);
    const logged = logger.lines
      .filter((l) => (l.obj as { reason?: string }).reason === 'buffer_full')
      .reduce((a, l) => a + (l.obj as { dropped: number }).dropped, 0);
    assert.equal(logged, expectedDropped, 'the log lines carry the exact count');
    assert.ok(logger.lines.some((l) => l.msg.includes(`dropped ${perFlush} datums (buffer_full)`)));

    down = false;
    const before = proxy.requests.length;
    const recovered = await s.flush();
    proxy.setScript(() => undefined);
    assert.deepEqual([recovered.sent, recovered.pending, recovered.dropped], [maxBufferedDatums, 0, 0]);
    const sent = sentRequests({ ...proxy, requests: proxy.requests.slice(before) });
    const names = sent.flatMap((r) => r.MetricData.map((d) => d.MetricName));
    assert.equal(names.filter((n) => n !== METRICS_DROPPED).length, maxBufferedDatums);
    // The oldest went first: all of flush 0 and the first half of flush 1.
    assert.equal(names.filter((n) => n === 'Flush0').length, 0);
    assert.equal(names.filter((n) => n === 'Flush1').length, maxBufferedDatums - 2 * perFlush);

    const droppedMetric = await registry.getSingleMetric('windsock_metrics_dropped_total')!.get();
    assert.deepEqual(
      droppedMetric.values.map((v) => [v.labels.sink, v.labels.reason, v.value]),
      [['cloudwatch', 'buffer_full', expectedDropped]],
    );
    const cwDropped = await readBack(reader, ns, METRICS_DROPPED, { Sink: 'cloudwatch' });
    assert.equal(cwDropped.sum, expectedDropped, 'CloudWatch gets MetricsDropped too');
    assert.equal((await readBack(reader, ns, 'Flush0', { Series: '5' })).datapoints, 0);
    assert.equal((await readBack(reader, ns, 'Flush1', { Series: '99' })).sum, 100);
    assert.equal((await readBack(reader, ns, 'Flush3', { Series: '0' })).sum, 1);
    await s.close();
  });

  test('a request CloudWatch rejects (400) is dropped and counted, not retried', async () => {
    const ns = uniqueNamespace('rejected');
    const registry = new Registry();
    const logger = memoryLogger();
    const s = sink({ registry, logger });
    s.write(counterData(ns, 'Rejected', 3, () => 1));
    scriptNext([
      {
        kind: 'status',
        status: 400,
        contentType: 'application/x-amz-json-1.0',
        body: JSON.stringify({ __type: 'InvalidParameterValue', message: 'The value for parameter is invalid' }),
      },
    ]);
    const report = await s.flush();
    proxy.setScript(() => undefined);
    assert.deepEqual([report.requests, report.retries, report.dropped, report.pending], [1, 0, 3, 0]);
    assert.deepEqual(await outcomes(registry), { client_error: 1 });
    assert.ok(logger.lines.some((l) => l.level === 'error' && l.msg.includes('dropped 3 datums (rejected)')));
    await s.close();
  });

  test('close() gives up at its deadline and counts what it could not send', async () => {
    const ns = uniqueNamespace('deadline');
    const registry = new Registry();
    const s = sink({ registry, closeTimeoutMs: 300, maxRetries: 100 });
    s.write(counterData(ns, 'Late', 4, () => 1));
    proxy.setScript(() => ({ kind: 'status', status: 503 }));
    const before = proxy.requests.length;
    await s.close();
    proxy.setScript(() => undefined);
    // It gave up at its deadline: far fewer attempts than the 100 retries it was allowed (counted in
    // requests, not milliseconds: a loaded machine is slow, not a hundred backoffs slow).
    const attempts = proxy.requests.length - before;
    assert.ok(attempts >= 1 && attempts < 20, `close() made ${attempts} attempts before giving up`);
    const dropped = await registry.getSingleMetric('windsock_metrics_dropped_total')!.get();
    assert.deepEqual(
      dropped.values.map((v) => [v.labels.reason, v.value]),
      [['shutdown', 4]],
    );
  });
});
