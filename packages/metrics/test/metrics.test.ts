/**
 * The Metrics facade and the datum limits: bad input fails at the point of adding with an error
 * that says what is wrong; sinks given bad datums directly drop and count them instead.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import {
  createSinks,
  EmfSink,
  type FlushReport,
  JsonSnapshotSink,
  type MetricDatum,
  type MetricSink,
  Metrics,
  MetricValidationError,
  PrometheusSink,
} from '../src/index.ts';

function snapshotMetrics(): { metrics: Metrics; sink: JsonSnapshotSink } {
  const sink = new JsonSnapshotSink();
  return { metrics: new Metrics({ namespace: 'Windsock', sinks: [sink] }), sink };
}

describe('validation at the point of adding', () => {
  const { metrics } = snapshotMetrics();
  const cases: [string, () => unknown, RegExp][] = [
    ['empty name', () => metrics.counter(''), /metric name must be 1-255/],
    ['blank name', () => metrics.counter('   '), /not only whitespace/],
    [
      '31 dimensions',
      () => metrics.counter('Wide', Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`D${i}`, 'v']))),
      /31 dimensions; CloudWatch allows at most 30/,
    ],
    [
      'empty dimension value',
      () => metrics.counter('X', { Queue: '' }),
      /dimension Queue must have a non-empty string value/,
    ],
    [
      'dimension value too long',
      () => metrics.counter('X', { Queue: 'q'.repeat(1025) }),
      /at most 1024 printable characters \(got 1025\)/,
    ],
    ['dimension name starting with a colon', () => metrics.counter('X', { ':q': 'v' }), /not starting with ':'/],
    ['unknown unit', () => metrics.gauge('X', {}, 'Minutes' as never), /not a CloudWatch unit/],
    ['NaN', () => metrics.gauge('X').set(Number.NaN), /finite number, got NaN/],
    ['Infinity', () => metrics.observe('X', {}, 'Seconds', Number.POSITIVE_INFINITY), /finite number, got Infinity/],
    ['negative counter increment', () => metrics.counter('X').add(-1), /a counter only goes up/],
    ['AWS/ namespace', () => new Metrics({ namespace: 'AWS/ECS', sinks: [] }), /must not start with "AWS\/"/],
  ];
  for (const [what, fn, message] of cases) {
    test(`rejects ${what}`, () => {
      assert.throws(fn, (err: Error) => err instanceof MetricValidationError && message.test(err.message));
    });
  }
  test('accepts the limits themselves: 30 dimensions, 1024-character values', () => {
    const dims = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`D${i}`, 'v'.repeat(1024)]));
    assert.doesNotThrow(() => metrics.counter('Wide', dims).add(1));
  });
});

describe('Metrics facade', () => {
  test('default dimensions join every series; a series own dimension wins', () => {
    const sink = new JsonSnapshotSink();
    const metrics = new Metrics({
      namespace: 'N',
      sinks: [sink],
      defaultDimensions: { Cluster: 'prod', Queue: 'all' },
    });
    metrics.counter('C', { Queue: 'default' }).add(2);
    assert.deepEqual(sink.snapshot().metrics[0]?.dimensions, { Cluster: 'prod', Queue: 'default' });
  });

  test('flush fans out to every sink, and one failing sink does not stop the others', async () => {
    const failing: MetricSink = {
      name: 'broken',
      write() {},
      flush: () => Promise.reject(new Error('disk full')),
      close: async () => {},
    };
    const seen: MetricDatum[] = [];
    const recording: MetricSink = {
      name: 'recording',
      write: (d) => seen.push(...d),
      flush: async (): Promise<FlushReport> => ({
        sink: 'recording',
        sent: seen.length,
        pending: 0,
        dropped: 0,
        requests: 0,
        retries: 0,
        errors: [],
      }),
      close: async () => {},
    };
    const metrics = new Metrics({ namespace: 'N', sinks: [failing, recording], now: () => 1234 });
    metrics.gauge('G', { A: 'b' }, 'Bytes').set(10);
    const reports = await metrics.flush();
    assert.deepEqual(
      reports.map((r) => [r.sink, r.sent, r.errors]),
      [
        ['broken', 0, ['disk full']],
        ['recording', 1, []],
      ],
    );
    assert.deepEqual(seen, [
      { namespace: 'N', name: 'G', unit: 'Bytes', kind: 'gauge', dimensions: { A: 'b' }, value: 10, timestamp: 1234 },
    ]);
  });

  test('startAutoFlush flushes on its own until close()', async () => {
    let flushes = 0;
    const sink: MetricSink = {
      name: 'counting',
      write() {},
      flush: async () => {
        flushes++;
        return { sink: 'counting', sent: 0, pending: 0, dropped: 0, requests: 0, retries: 0, errors: [] };
      },
      close: async () => {},
    };
    const metrics = new Metrics({ namespace: 'N', sinks: [sink] });
    metrics.startAutoFlush(20);
    // Wait for three flushes however slow the machine is (timers fire late under load).
    const deadline = Date.now() + 30_000;
    while (flushes < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await metrics.close();
    const seen = flushes;
    assert.ok(seen >= 3, `flushed only ${seen} times at a 20 ms interval`);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(flushes, seen, 'no flush after close()');
  });

  test('sinks drop and count bad datums written to them directly, without throwing', async () => {
    const registry = new Registry();
    const sink = new JsonSnapshotSink({ registry });
    const bad: MetricDatum = {
      namespace: 'N',
      name: 'X',
      unit: 'Count',
      kind: 'counter',
      dimensions: {},
      value: Number.NaN,
      timestamp: 0,
    };
    assert.doesNotThrow(() => sink.write([bad, { ...bad, value: 1 }]));
    const report = await sink.flush();
    assert.equal(report.dropped, 1);
    assert.equal(sink.snapshot().metrics.length, 1);
  });
});

describe('createSinks', () => {
  test('makes the named sinks once each, sharing the registry', () => {
    const registry = new Registry();
    const sinks = createSinks({
      sinks: ['prometheus', 'emf', 'json', 'emf'],
      registry,
      emf: { stream: process.stderr },
    });
    assert.deepEqual(
      sinks.map((s) => s.name),
      ['prometheus', 'emf', 'json'],
    );
    assert.ok(sinks[0] instanceof PrometheusSink && sinks[1] instanceof EmfSink);
    assert.ok(registry.getSingleMetric('windsock_metrics_dropped_total'));
  });

  test('an unknown sink name is a clear error', () => {
    assert.throws(
      () => createSinks({ sinks: ['cloudwatch', 'statsd'] }),
      /unknown metrics sink "statsd"; use some of: cloudwatch, emf, prometheus, json/,
    );
  });
});
