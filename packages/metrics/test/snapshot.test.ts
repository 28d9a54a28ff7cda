/**
 * JsonSnapshotSink: the `--once --format json` contract.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { JsonSnapshotSink, Metrics } from '../src/index.ts';

test('counters are summed over the run, gauges keep their last value, sorted by name then dimensions', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => {
    text += c;
  });
  const sink = new JsonSnapshotSink({ stream: out });
  const metrics = new Metrics({ namespace: 'Windsock', sinks: [sink] });
  // Written in an order unlike the sorted one, across two flushes.
  metrics.gauge('QueueDepth', { Queue: 'gpu' }, 'Count').set(8);
  metrics.counter('TasksFailed', { Queue: 'gpu' }).add(1);
  metrics.counter('TasksFailed', { Queue: 'default' }).add(2);
  metrics.gauge('QueueDepth', { Queue: 'default' }, 'Count').set(5);
  await metrics.flush();
  metrics.counter('TasksFailed', { Queue: 'default' }).add(3);
  metrics.gauge('QueueDepth', { Queue: 'default' }, 'Count').set(2);
  metrics.counter('TasksFailed', { Queue: 'default', Pool: 'a' }).add(1);
  for (const v of [3, 1, 2]) metrics.observe('PollDuration', {}, 'Seconds', v);
  await metrics.close();

  assert.ok(text.endsWith('}\n'));
  const doc = JSON.parse(text);
  assert.deepEqual(doc, {
    metrics: [
      {
        name: 'PollDuration',
        unit: 'Seconds',
        kind: 'distribution',
        dimensions: {},
        value: 6,
        count: 3,
        min: 1,
        max: 3,
      },
      { name: 'QueueDepth', unit: 'Count', kind: 'gauge', dimensions: { Queue: 'default' }, value: 2 },
      { name: 'QueueDepth', unit: 'Count', kind: 'gauge', dimensions: { Queue: 'gpu' }, value: 8 },
      { name: 'TasksFailed', unit: 'Count', kind: 'counter', dimensions: { Pool: 'a', Queue: 'default' }, value: 1 },
      { name: 'TasksFailed', unit: 'Count', kind: 'counter', dimensions: { Queue: 'default' }, value: 5 },
      { name: 'TasksFailed', unit: 'Count', kind: 'counter', dimensions: { Queue: 'gpu' }, value: 1 },
    ],
  });
});

test('the same data written in another order renders byte for byte the same', () => {
  const rows = [
    ['B', { Z: '1', A: '2' }, 1],
    ['A', { Q: 'x' }, 2],
    ['B', { A: '1' }, 3],
    ['A', { Q: 'w' }, 4],
  ] as const;
  const render = (order: readonly (typeof rows)[number][]) => {
    const sink = new JsonSnapshotSink();
    const metrics = new Metrics({ namespace: 'N', sinks: [sink], now: () => 0 });
    for (const [name, dims, v] of order) metrics.counter(name, { ...dims }).add(v);
    return sink.render();
  };
  const a = render(rows);
  const b = render([...rows].reverse());
  assert.equal(a, b);
  assert.deepEqual(
    JSON.parse(a).metrics.map((m: { name: string; dimensions: object }) => `${m.name}${JSON.stringify(m.dimensions)}`),
    ['A{"Q":"w"}', 'A{"Q":"x"}', 'B{"A":"1"}', 'B{"A":"2","Z":"1"}'],
  );
});
